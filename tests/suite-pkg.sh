#!/usr/bin/env bash
# tests/suite-pkg.sh - build the OpenWrt packages for all five arches (scripts/build-packages.sh)
# and open every one: layout, control fields, depends per backend, conffiles, maintainer scripts,
# file modes, and the binary's ELF class, byte order, machine, float ABI, static linking, and that
# it runs under qemu-user and prints the Makefile's version. Also: init script is shfmt -sr -s
# clean and parses; the SDK Makefile defines what the OpenWrt build needs.
#
# Env: SIPWALL_PKG_ARCHES  subset of arches (default: all five)
#      SIPWALL_NO_BUILD=1  check the packages already in target/packages
#      SIPWALL_STRICT=1    a missing tool is a failure, not a skip (CI)
#      SIPWALL_APK         apk-tools 3 binary: also build the .apk and check it with apk-tools itself
#                          (adbdump, extract with hash check, install into an empty root). apk-tools 3
#                          is in no registry CI can reach, so without it the .apk part is a NOTE.
# Takes ~8-10 min on 2 cores from cold (five LTO release builds with -Zbuild-std), ~20 s warm.
set -uo pipefail
cd "$(dirname "$0")/.."
. scripts/cross-env.sh

skip() {
	if [ "${SIPWALL_STRICT:-0}" = 1 ]; then
		echo "FAIL: suite-pkg: $1 (SIPWALL_STRICT=1)"
		exit 1
	fi
	echo "SKIP: suite-pkg: $1"
	exit 0
}

for tool in readelf file shfmt python3 qemu-mips-static; do
	command -v "$tool" > /dev/null || skip "$tool not installed (run tests/install/cross.sh)"
done
[ -x "$XC_VENV/bin/cargo-zigbuild" ] || skip "cargo-zigbuild venv missing at $XC_VENV (run tests/install/cross.sh)"

[ -f files/etc/config/sipwall ] || skip "files/etc/config/sipwall (the shipped config) is not in this tree yet"

fail=0
arches=${SIPWALL_PKG_ARCHES:-$SIPWALL_ARCHES}
# One timestamp for the whole run (build-packages.sh and the repackaging check below).
export SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-$(git log -1 --format=%ct 2> /dev/null || echo 0)}

echo "== shell scripts: shfmt -sr -s, sh -n"
for f in files/etc/init.d/sipwall files/etc/uci-defaults/* files/usr/share/sipwall/firewall.include; do
	if shfmt -sr -s -d "$f" > /dev/null && sh -n "$f"; then
		echo "ok   $f"
	else
		shfmt -sr -s -d "$f"
		echo "FAIL $f: not shfmt -sr -s clean or does not parse"
		fail=1
	fi
done
init=files/etc/init.d/sipwall
for needle in '#!/bin/sh /etc/rc.common' 'USE_PROCD=1' 'procd_add_reload_trigger "sipwall"' \
	'procd_set_param reload_signal HUP' 'procd_set_param respawn' 'run --config' 'check-config --config'; do
	if grep -qF -- "$needle" "$init"; then echo "ok   $init has: $needle"; else
		echo "FAIL $init lacks: $needle"
		fail=1
	fi
done
mk=openwrt/sipwall/Makefile
for needle in 'PKG_BUILD_DEPENDS:=rust/host' 'rust-package.mk' '$(RUST_ARCH_DEPENDS)' \
	'define Package/sipwall/conffiles' '$(eval $(call BuildPackage,sipwall))' \
	'$(eval $(call BuildPackage,sipwall-fw3))'; do
	if grep -qF -- "$needle" "$mk"; then echo "ok   $mk has: $needle"; else
		echo "FAIL $mk lacks: $needle"
		fail=1
	fi
done

echo "== init script under a recording procd, with the real sipwall validating real configs"
if cargo build --quiet --bin sipwall; then
	sh tests/pkg/init-script.sh "${CARGO_TARGET_DIR:-$PWD/target}/debug/sipwall" files/etc/config/sipwall || fail=1
	echo "== prerm's safety net: sipwall cleanup after the daemon was killed"
	sh tests/pkg/cleanup.sh "${CARGO_TARGET_DIR:-$PWD/target}/debug/sipwall" || fail=1
else
	echo "FAIL: cargo build (native, for the init script test)"
	fail=1
fi

echo "== build: scripts/build-packages.sh $arches"
start=$(date +%s)
# shellcheck disable=SC2086
if ! scripts/build-packages.sh $arches; then
	echo "FAIL: scripts/build-packages.sh"
	fail=1
fi
echo "build took $(($(date +%s) - start)) s"

echo "== reproducible: packaging the same binary again gives byte-identical .ipk"
first=${arches%% *}
again=$(mktemp -d)
triple=$(triple_of "$first")
if python3 scripts/mkpkg.py --repo "$PWD" --arch "$first" --out "$again" \
	--bin "${CARGO_TARGET_DIR:-$PWD/target}/$triple/release/sipwall" > /dev/null &&
	cmp -s "$again/sipwall_"*"_$first.ipk" "target/packages/$first/sipwall_"*"_$first.ipk"; then
	echo "ok   $first: .ipk rebuilt byte for byte"
else
	echo "FAIL $first: a second packaging run differs"
	fail=1
fi
rm -rf "$again"

echo "== open the packages"
# shellcheck disable=SC2086
python3 tests/pkg/check_packages.py "$PWD" "$PWD/target/packages" $arches || fail=1
exit $fail
