#!/usr/bin/env bash
# tests/suite-cross.sh - the crate's unit tests (`cargo test --lib`) built for the five OpenWrt
# targets and run under qemu-user: big-endian MIPS (ath79) catches byte-order bugs in packet code,
# 32-bit MIPS/ARM catch width assumptions. Every target is built with the zig + -Zbuild-std recipe
# of scripts/cross-env.sh. binfmt_misc is not relied on: cargo runs each test binary through
# CARGO_TARGET_<TRIPLE>_RUNNER=qemu-<arch>-static.
#
# Env: SIPWALL_CROSS_ARCHES  subset of OpenWrt arches (default: all five)
#      SIPWALL_STRICT=1      a missing tool is a failure, not a skip (CI)
# Takes ~2 min per target on 2 cores from cold (std + deps + tests), well under a minute warm.
set -uo pipefail
cd "$(dirname "$0")/.."
. scripts/cross-env.sh

skip() {
	if [ "${SIPWALL_STRICT:-0}" = 1 ]; then
		echo "FAIL: suite-cross: $1 (SIPWALL_STRICT=1)"
		exit 1
	fi
	echo "SKIP: suite-cross: $1"
	exit 0
}
[ -x "$XC_VENV/bin/cargo-zigbuild" ] || skip "cargo-zigbuild venv missing at $XC_VENV (run tests/install/cross.sh)"

pass=0
failed=()
for arch in ${SIPWALL_CROSS_ARCHES:-$SIPWALL_ARCHES}; do
	triple=$(triple_of "$arch") || exit 2
	qemu=$(qemu_of "$triple")
	command -v "$qemu" > /dev/null || skip "$qemu not installed (run tests/install/cross.sh)"
	echo "== $arch ($triple) under $qemu"
	start=$(date +%s)
	if (
		xc_env "$triple" test
		# Panics in tests unwind; a backtrace would make every should_panic test slow under qemu.
		RUST_BACKTRACE=0 nice cargo-zigbuild test --locked --lib --target "$triple" "${XC_STD_ARGS[@]}"
	); then
		pass=$((pass + 1))
		echo "== $arch: ok in $(($(date +%s) - start)) s"
	else
		failed+=("$arch")
		echo "== $arch: FAILED after $(($(date +%s) - start)) s"
	fi
done
echo "suite-cross: ${#failed[@]} target(s) failed: ${failed[*]:-none}"
echo "$pass passed, ${#failed[@]} failed"
[ ${#failed[@]} = 0 ]
