#!/usr/bin/env bash
# tests/suite-vm.sh — the nft backend's queue path on a kernel that has it.
#
# Development machines of this project run a kernel without the nft `queue`
# statement (CONFIG_NFT_QUEUE unset), so the nft tests there run the ruleset
# without its queues. This suite boots Debian's stock kernel (which has it)
# in QEMU and runs, inside, the nft backend's whole test binary with the
# full ruleset, plus the real `sipwall` binary once `sipwall run` exists.
#
# Steps (each cached under $CARGO_TARGET_DIR/vm, default target/vm):
#   1. the Debian kernel .deb via `apt-get download`, unpacked, depmod'ed;
#   2. static musl builds of tests/firewall_nft.rs and of sipwall;
#   3. a small initramfs (tests/vm/build-initramfs.sh);
#   4. qemu-system-x86_64 (TCG unless real KVM), verdict from the console.
# Needs root (the guest's netns tests need nothing from the host, but the
# kernel download and depmod do), tests/install/vm.sh's packages and the
# x86_64-unknown-linux-musl Rust target. Cold: kernel download ~15 s,
# musl builds ~2-3 min; the VM itself ~2 min on an idle 2-core machine.
#
# Env: SIPWALL_STRICT=1  a missing tool is a failure, not a skip (CI)
#      SIPWALL_VM_TIMEOUT  seconds the VM may run (default 480: TCG on a
#                          busy 2-core machine; ~2 min when idle)
set -uo pipefail
cd "$(dirname "$0")/.."
root=$PWD
work=${CARGO_TARGET_DIR:-$root/target}/vm
mkdir -p "$work"
t0=$(date +%s)
say() { echo "suite-vm: [$(($(date +%s) - t0))s] $*"; }
skip() {
	if [ "${SIPWALL_STRICT:-0}" = 1 ]; then
		echo "FAIL: suite-vm: $1 (SIPWALL_STRICT=1)"
		exit 1
	fi
	echo "SKIP: suite-vm: $1"
	exit 0
}
[ "$(id -u)" = 0 ] || skip "not root"
for t in qemu-system-x86_64 cpio depmod modprobe nft ip conntrack socat apt-get dpkg-deb musl-gcc; do
	command -v "$t" > /dev/null || skip "tool '$t' not installed (run tests/install/vm.sh)"
done
[ -x /bin/busybox ] || skip "busybox-static not installed (run tests/install/vm.sh)"
[ -x /bin/dash ] || skip "dash not installed"
rustup target list --installed 2> /dev/null | grep -q x86_64-unknown-linux-musl ||
	skip "Rust target x86_64-unknown-linux-musl missing (run tests/install/vm.sh)"

# 1. kernel
kroot=$work/kernel/root
if ! ls "$kroot"/boot/vmlinuz-* > /dev/null 2>&1; then
	kpkg=$(apt-cache depends linux-image-amd64 2> /dev/null | awk '/Depends: linux-image-/{print $2; exit}')
	[ -n "$kpkg" ] || skip "apt knows no linux-image-amd64 (apt-get update?)"
	say "downloading $kpkg"
	rm -rf "$work/kernel" && mkdir -p "$work/kernel"
	(cd "$work/kernel" && apt-get download -q "$kpkg" > /dev/null) || { echo "FAIL: suite-vm: apt-get download $kpkg"; exit 1; }
	dpkg-deb -x "$work/kernel/${kpkg}"_*.deb "$kroot" && rm -f "$work/kernel/${kpkg}"_*.deb
fi
kv=$(ls "$kroot/lib/modules" | head -1)
[ -e "$kroot/lib/modules/$kv/modules.dep" ] || depmod -b "$kroot" "$kv"
kernel=$kroot/boot/vmlinuz-$kv

# 2. static binaries
say "building static test binary and sipwall (musl)"
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$root/target}
testbin=$(nice cargo test -q --target x86_64-unknown-linux-musl --test firewall_nft --no-run --message-format=json 2> "$work/build.err" |
	grep -o '"executable":"[^"]*firewall_nft[^"]*"' | tail -1 | cut -d'"' -f4)
if [ -z "$testbin" ] || [ ! -x "$testbin" ]; then
	cat "$work/build.err"
	echo "FAIL: suite-vm: building the static firewall_nft test binary failed"
	exit 1
fi
nice cargo build -q --target x86_64-unknown-linux-musl --bin sipwall 2>> "$work/build.err" ||
	{ cat "$work/build.err"; echo "FAIL: suite-vm: building the static sipwall failed"; exit 1; }

# 3. initramfs + share
say "initramfs"
tests/vm/build-initramfs.sh "$kroot" "$work/initramfs.cpio.gz" || { echo "FAIL: suite-vm: initramfs"; exit 1; }
rm -rf "$work/share" && mkdir -p "$work/share"
cp "$testbin" "$work/share/firewall_nft"
cp "$CARGO_TARGET_DIR/x86_64-unknown-linux-musl/debug/sipwall" "$work/share/sipwall"
cp tests/vm/guest.sh "$work/share/"
cp tests/vm/sipwall-scenario.sh "$work/share/"

# 4. boot
say "booting the VM"
tests/vm/run-vm.sh "$kernel" "$work/initramfs.cpio.gz" "$work/share" "${SIPWALL_VM_TIMEOUT:-480}" "$work/serial.log"
rc=$?
grep -a '^VMTEST_OK' "$work/serial.log" | tr -d '\r' | sed 's/^/suite-vm: /'
case $rc in
0) say "PASS (serial log: $work/serial.log)" ;;
1) say "FAIL: a check inside the VM failed (serial log: $work/serial.log)" ;;
*) say "FAIL: the VM did not run to a verdict (serial log: $work/serial.log)" ;;
esac
[ $rc = 0 ]
