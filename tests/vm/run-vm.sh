#!/usr/bin/env bash
# Boots the test VM and judges it by its serial console.
#
#   run-vm.sh KERNEL INITRD SHARE_DIR [TIMEOUT_S] [LOG]
#
# SHARE_DIR is exported read-only over virtio-9p and mounted on /mnt in the
# guest, whose init runs /mnt/guest.sh. KVM is used only when the host has
# real VT-x/AMD-V (kvm_intel/kvm_amd loaded); nested sandboxes whose
# /dev/kvm cannot run a stock kernel fall back to TCG software emulation.
#
# Exit: 0 the guest test passed, 1 it failed, 2 the VM itself failed
# (timeout, kernel panic, no verdict on the console).
set -uo pipefail
kernel=${1:?kernel image}
initrd=${2:?initramfs}
share=${3:?share dir}
timeout_s=${4:-240}
log=${5:-$share/../serial.log}
if [ -w /dev/kvm ] && { [ -d /sys/module/kvm_intel ] || [ -d /sys/module/kvm_amd ]; }; then
	accel=(-accel kvm -cpu host)
else
	accel=(-accel tcg -cpu max)
fi
start=$(date +%s.%N)
timeout --foreground -k 5 "$timeout_s" qemu-system-x86_64 "${accel[@]}" -m 1024 -smp 2 \
	-nodefaults -no-user-config -display none -monitor none -serial stdio -no-reboot \
	-kernel "$kernel" -initrd "$initrd" -append "console=ttyS0 quiet panic=-1" \
	-virtfs "local,path=$share,mount_tag=share,security_model=none,readonly=on" \
	2>&1 | tee "$log"
qrc=${PIPESTATUS[0]}
wall=$(awk "BEGIN{printf \"%.1f\", $(date +%s.%N) - $start}")
clean=$(tr -d '\r' < "$log")
guest_rc=$(sed -n 's/^VMTEST_EXIT=\([0-9]*\).*/\1/p' <<< "$clean" | head -1)
nok=$(grep -ac '^VMTEST_OK' <<< "$clean")
nfail=$(grep -ac '^VMTEST_FAIL' <<< "$clean")
echo "run-vm: ${accel[1]} wall=${wall}s qemu_rc=$qrc guest_rc=${guest_rc:-none} ok=$nok fail=$nfail" >&2
if [ "$qrc" = 124 ] || [ "$qrc" = 137 ]; then
	echo "run-vm: timed out after ${timeout_s}s" >&2
	exit 2
fi
if grep -aq 'Kernel panic' <<< "$clean"; then
	echo "run-vm: kernel panic" >&2
	exit 2
fi
if [ -z "$guest_rc" ]; then
	echo "run-vm: no verdict on the console (boot failure?)" >&2
	exit 2
fi
grep -a '^VMTEST_FAIL' <<< "$clean" >&2
if [ "$guest_rc" = 0 ] && [ "$nfail" = 0 ] && grep -aq '^VMTEST_PASS' <<< "$clean"; then
	exit 0
fi
exit 1
