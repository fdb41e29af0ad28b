#!/usr/bin/env bash
# What tests/suite-vm.sh needs: QEMU (TCG is enough), the pieces of the
# guest's initramfs (busybox-static, dash, cpio, kmod, and the nft/ip/
# conntrack the guest copies from the host), musl-gcc for ring and the
# static Rust target. Idempotent, non-interactive.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
need=""
for p in qemu-system-x86 busybox-static dash cpio kmod nftables iproute2 conntrack socat musl-tools; do
	dpkg -s "$p" > /dev/null 2>&1 || need="$need $p"
done
if [ -n "$need" ]; then
	apt-get install -y -q --no-install-recommends $need > /dev/null ||
		{ apt-get update -q > /dev/null && apt-get install -y -q --no-install-recommends $need > /dev/null; }
fi
rustup target add x86_64-unknown-linux-musl > /dev/null 2>&1 || true
# The suite downloads Debian's stock kernel with `apt-get download`: it needs
# the package lists.
apt-cache show linux-image-amd64 > /dev/null 2>&1 || apt-get update -q > /dev/null
