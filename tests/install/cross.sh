#!/usr/bin/env bash
# tests/install/cross.sh - tools for the cross-build, package and qemu suites (idempotent, as root).
#
# qemu-user-static runs the foreign-architecture test binaries; zig (via the PyPI `ziglang` wheel)
# is the cross linker and musl provider for cargo-zigbuild; rust-src lets tier-3 MIPS build std
# with -Zbuild-std; shfmt checks the procd init script the way OpenWrt's SDK action does.
# The Python venv lives under the repo (.venv-xc, gitignored) so nothing is installed globally.
set -euo pipefail
cd "$(dirname "$0")/../.."

ZIG_VER=0.17.0
ZIGBUILD_VER=0.24.0
VENV=${XC_VENV:-$PWD/.venv-xc}

need=()
command -v qemu-mips-static > /dev/null || need+=(qemu-user-static)
command -v file > /dev/null || need+=(file)
command -v readelf > /dev/null || need+=(binutils)
command -v shfmt > /dev/null || need+=(shfmt)
command -v xz > /dev/null || need+=(xz-utils)
python3 -c 'import venv, ensurepip' 2> /dev/null || need+=(python3-venv)
if [ ${#need[@]} -gt 0 ]; then
	export DEBIAN_FRONTEND=noninteractive
	apt-get -o DPkg::Lock::Timeout=900 update
	apt-get -o DPkg::Lock::Timeout=900 install -y --no-install-recommends "${need[@]}"
fi

if [ ! -x "$VENV/bin/cargo-zigbuild" ] || ! "$VENV/bin/python3" -m ziglang version > /dev/null 2>&1; then
	python3 -m venv "$VENV"
	"$VENV/bin/pip" install --quiet "ziglang==$ZIG_VER" "cargo-zigbuild==$ZIGBUILD_VER"
fi

rustup component add rust-src
# Tier-2 musl targets with a downloadable std; the rest (mips, mipsel, maybe armv7) use -Zbuild-std.
for t in aarch64-unknown-linux-musl x86_64-unknown-linux-musl armv7-unknown-linux-musleabihf; do
	rustup target add "$t" 2> /dev/null || echo "note: no prebuilt rust-std for $t; the build uses -Zbuild-std"
done
echo "cross tools ready: $("$VENV/bin/python3" -m ziglang version) zig, $("$VENV/bin/cargo-zigbuild" --version)"
