#!/usr/bin/env bash
# scripts/build-packages.sh [ARCH...] - cross-build static musl release binaries of sipwall and
# assemble installable OpenWrt packages in target/packages/<arch>/, without the OpenWrt SDK.
#
# ARCH is an OpenWrt package arch; default: all five of
#   mips_24kc mipsel_24kc arm_cortex-a7_neon-vfpv4 aarch64_cortex-a53 x86_64
# Needs tests/install/cross.sh once (qemu-user-static, zig + cargo-zigbuild venv, rust-src).
# Env:  SIPWALL_NO_BUILD=1        package the binaries already built (no cargo)
#       SIPWALL_IMMEDIATE_ABORT=1 smallest binaries: panics abort without a message
#       SIPWALL_FEATURES          cargo features (default: the crate's defaults minus toml, tls)
#       CARGO_TARGET_DIR          honoured; packages always go to <repo>/target/packages
#       SOURCE_DATE_EPOCH         mtime inside the archives (default: last commit time)
#       SIPWALL_APK               apk-tools 3 binary: also build .apk (apk v3) with `apk mkpkg`
# Prints one line per arch: binary size and package paths. Exits non-zero if any arch failed.
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/cross-env.sh"
cd "$SIPWALL_ROOT"

arches=${*:-$SIPWALL_ARCHES}
target_dir=${CARGO_TARGET_DIR:-$SIPWALL_ROOT/target}
out=$SIPWALL_ROOT/target/packages
export SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-$(git log -1 --format=%ct 2> /dev/null || echo 0)}

if [ ! -f "${SIPWALL_CONFIG_SRC:-files/etc/config/sipwall}" ]; then
	echo "build-packages: files/etc/config/sipwall is missing (the shipped, disabled config)" >&2
	exit 1
fi

# .apk (OpenWrt 25.12+) needs apk-tools 3 (`apk mkpkg`), which neither Debian 12 nor a package
# registry ships; build it from source (alpinelinux/apk-tools, meson) and point SIPWALL_APK at it.
apk=${SIPWALL_APK:-$(command -v apk || true)}
apk_args=()
if [ -n "$apk" ] && "$apk" --version 2> /dev/null | grep -q '^apk-tools 3'; then
	apk_args=(--apk "$apk")
else
	echo "build-packages: note: no apk-tools 3 found (SIPWALL_APK): building .ipk only, no .apk" >&2
fi

# Cargo features for the router: the crate's defaults minus `toml` (the packages read UCI only;
# the TOML front end costs ~300 KB on MIPS) and minus `tls` (zone downloads run the image's
# uclient-fetch/wget instead of linking rustls, ~780 KB). SIPWALL_FEATURES overrides the list.
features=${SIPWALL_FEATURES-$(python3 -c 'import tomllib
d = tomllib.load(open("Cargo.toml", "rb")).get("features", {}).get("default", [])
print(",".join(f for f in d if f not in ("toml", "tls")))')}

fail=0
for arch in $arches; do
	triple=$(triple_of "$arch")
	bin=$target_dir/$triple/release/sipwall
	start=$(date +%s)
	if [ "${SIPWALL_NO_BUILD:-0}" != 1 ]; then
		if ! (
			xc_env "$triple" release
			nice cargo-zigbuild build --locked --release --target "$triple" "${XC_STD_ARGS[@]}" \
				--no-default-features ${features:+--features "$features"}
		); then
			echo "build-packages: $arch ($triple): cargo build failed" >&2
			fail=1
			continue
		fi
	fi
	if [ ! -f "$bin" ]; then
		echo "build-packages: $arch: no binary at $bin" >&2
		fail=1
		continue
	fi
	rm -rf "${out:?}/$arch"
	pkgs=$(python3 scripts/mkpkg.py --repo "$SIPWALL_ROOT" --arch "$arch" --bin "$bin" --out "$out/$arch" "${apk_args[@]}")
	echo "$arch: binary $(stat -c %s "$bin") bytes, $(($(date +%s) - start)) s;" $pkgs
done
exit $fail
