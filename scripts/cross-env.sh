# scripts/cross-env.sh - sourced by the cross-build scripts: OpenWrt arch <-> Rust triple, the qemu
# runner, and the flags of the zig + cargo-zigbuild + -Zbuild-std recipe (no Docker, no SDK).
#
# Why the flags: mips/mipsel musl are tier 3 (no rust-std to download) and armv7 musl std is not
# always downloadable, so std is built from rust-src (-Zbuild-std, allowed on stable through
# RUSTC_BOOTSTRAP=1). zig supplies musl crt/libc/libunwind (-C link-self-contained=no) and the binary
# is static (+crt-static) so it runs on any OpenWrt release whatever its musl. armv7: -d32 keeps
# scalar FP in d0-d15 so VFPv3-D16-only cores (mvebu Armada 370/XP) do not SIGILL.
# shellcheck shell=bash

SIPWALL_ROOT=${SIPWALL_ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}
XC_VENV=${XC_VENV:-$SIPWALL_ROOT/.venv-xc}
SIPWALL_ARCHES="mips_24kc mipsel_24kc arm_cortex-a7_neon-vfpv4 aarch64_cortex-a53 x86_64"

# OpenWrt package arch -> Rust target triple (as lang/rust/rust-values.mk maps them).
triple_of() {
	case $1 in
	mips_24kc) echo mips-unknown-linux-musl ;;
	mipsel_24kc) echo mipsel-unknown-linux-musl ;;
	arm_cortex-a7_neon-vfpv4) echo armv7-unknown-linux-musleabihf ;;
	aarch64_cortex-a53) echo aarch64-unknown-linux-musl ;;
	x86_64) echo x86_64-unknown-linux-musl ;;
	*)
		echo "unknown OpenWrt arch '$1'; expected one of: $SIPWALL_ARCHES" >&2
		return 1
		;;
	esac
}

qemu_of() {
	case $1 in
	mips-*) echo qemu-mips-static ;;
	mipsel-*) echo qemu-mipsel-static ;;
	arm*) echo qemu-arm-static ;;
	aarch64-*) echo qemu-aarch64-static ;;
	x86_64-*) echo qemu-x86_64-static ;;
	esac
}

# Exports what cargo-zigbuild needs for TRIPLE in MODE (test|release) and sets the array XC_STD_ARGS.
# Every target builds std from source: one recipe for all five, and smaller release binaries.
xc_env() {
	local triple=$1 mode=$2 up flags
	up=$(echo "$triple" | tr 'a-z-' 'A-Z_')
	if [ ! -x "$XC_VENV/bin/cargo-zigbuild" ]; then
		echo "cargo-zigbuild missing in $XC_VENV: run tests/install/cross.sh first" >&2
		return 1
	fi
	export PATH="$XC_VENV/bin:$PATH"
	export RUSTC_BOOTSTRAP=1
	export "CARGO_TARGET_${up}_RUNNER=$(qemu_of "$triple")"
	flags="-C target-feature=+crt-static -C link-self-contained=no"
	case $triple in
	armv7*) flags="$flags -C target-feature=-d32" ;;
	esac
	if [ "$mode" = release ] && [ "${SIPWALL_IMMEDIATE_ABORT:-0}" = 1 ]; then
		flags="$flags -Zunstable-options -Cpanic=immediate-abort"
	fi
	export "CARGO_TARGET_${up}_RUSTFLAGS=$flags"
	if [ "$mode" = test ]; then
		XC_STD_ARGS=(-Zbuild-std)
	else
		XC_STD_ARGS=(-Zbuild-std=std,panic_abort)
	fi
}
