#!/usr/bin/env bash
# Builds the test VM's initramfs: a static busybox for PID 1's chores, dash
# as /bin/sh (busybox's ash would run its own stripped-down `ip` applet
# instead of iproute2's), the host's nft, ip, conntrack and socat (the
# scenario's UDP peers) with the shared libraries they link (so the guest
# runs whatever distribution the host is), and the kernel modules the
# firewall needs, resolved against the Debian kernel tree with the host's
# kmod and re-indexed so the guest's modprobe and the kernel's module
# autoload work.
#
#   build-initramfs.sh KERNEL_TREE OUT.cpio.gz
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
kdir=${1:?kernel tree (an extracted linux-image .deb)}
out=${2:?output initramfs}
kv=$(ls "$kdir/lib/modules" | head -1)
mods="nfnetlink nf_tables nft_queue nfnetlink_queue nf_conntrack nf_conntrack_netlink
      nft_ct nft_nat nft_chain_nat nf_nat veth virtio_pci 9pnet_virtio 9p"
stage=$(mktemp -d "${TMPDIR:-/tmp}/sipwall-initramfs.XXXXXX")
trap 'rm -rf "$stage"' EXIT

mkdir -p "$stage"/{bin,sbin,usr/bin,usr/sbin,etc,proc,sys,dev,run,tmp,mnt,lib/modules,var}
ln -s ../run "$stage/var/run"

# busybox applets for init's chores (mount, modprobe, poweroff, sleep ...)
cp /bin/busybox "$stage/bin/busybox"
for a in $(/bin/busybox --list); do
	case $a in busybox | ip | sh | ash) continue ;; esac
	ln -sf busybox "$stage/bin/$a"
done
for a in modprobe insmod lsmod poweroff; do ln -sf ../bin/busybox "$stage/sbin/$a"; done

copy_with_libs() { # copy_with_libs HOST_BINARY GUEST_PATH
	install -D -m 0755 "$1" "$stage$2"
	ldd "$1" | awk '/=>/ {print $3} /^\t\/lib/ {print $1}' | while read -r lib; do
		[ -n "$lib" ] && [ -e "$lib" ] || continue
		install -D -m 0755 "$(readlink -f "$lib")" "$stage$lib"
	done
}
copy_with_libs /bin/dash /bin/sh
copy_with_libs "$(command -v nft)" /usr/sbin/nft
copy_with_libs "$(command -v ip)" /usr/sbin/ip
copy_with_libs "$(command -v conntrack)" /usr/sbin/conntrack
copy_with_libs "$(command -v socat)" /usr/bin/socat
[ -e "$stage/lib64/ld-linux-x86-64.so.2" ] || install -D /lib64/ld-linux-x86-64.so.2 "$stage/lib64/ld-linux-x86-64.so.2"
cp /etc/protocols /etc/services "$stage/etc/" 2> /dev/null || true
echo "root:x:0:0:root:/root:/bin/sh" > "$stage/etc/passwd"

# kernel modules and their dependencies
[ -e "$kdir/lib/modules/$kv/modules.dep" ] || depmod -b "$kdir" "$kv"
for m in $mods; do
	modprobe -d "$kdir" -S "$kv" --show-depends "$m" | awk '$1=="insmod"{print $2}'
done | sort -u | while read -r ko; do
	install -D -m 0644 "$ko" "$stage${ko#"$kdir"}"
done
cp "$kdir/lib/modules/$kv"/modules.{order,builtin,builtin.modinfo} "$stage/lib/modules/$kv/"
depmod -b "$stage" "$kv"
echo $mods | tr ' ' '\n' > "$stage/etc/modules-load"

install -m 0755 "$here/init" "$stage/init"
mkdir -p "$(dirname "$out")"
(cd "$stage" && find . -print0 | cpio --null -o -H newc --quiet | gzip -6) > "$out"
echo "initramfs: $out ($(du -h "$out" | cut -f1), kernel $kv)"
