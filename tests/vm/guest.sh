#!/bin/sh
# The checks that run inside the VM, whose stock Debian kernel has the nft
# `queue` statement (CONFIG_NFT_QUEUE=m) that development machines lack.
# Files come from the host over 9p: firewall_nft (the nft backend's test
# binary, built static) and sipwall (the static binary).
set -u
fails=0
ok() { echo "VMTEST_OK: $*"; }
bad() {
	echo "VMTEST_FAIL: $*"
	fails=$((fails + 1))
}
echo "VMTEST_INFO: $(nft --version), kernel $(uname -r)"
if grep -q '^nft_queue ' /proc/modules; then ok "nft_queue module loaded"; else bad "nft_queue module missing"; fi

# 1. Every nft backend test against the full ruleset, queue statements
#    included: fail-closed with nobody bound, NF_REPEAT + MARK_INSPECTED
#    marks the flow, the PBX's 401s are copied to queue+1, bans, doors,
#    geo, atomic installs, uninstall.
# (The 25k-prefix geo swap and the no-netlink fallback are left to the
#  host: they need no queue and take a minute under emulation.)
SIPWALL_STRICT=1 RUST_BACKTRACE=1 ./firewall_nft --test-threads=2 --skip nft_geo_big_swap --skip nft_without_netlink > /tmp/fw.out 2>&1
rc=$?
cat /tmp/fw.out
if [ $rc = 0 ]; then ok "firewall_nft: all tests pass on a kernel with nft queue"; else bad "firewall_nft failed (exit $rc)"; fi
if grep -q 'SKIP: kernel lacks the nft queue' /tmp/fw.out; then bad "the queue path was skipped in the VM"; fi
if grep -q '^test nft_queue_path ... ok' /tmp/fw.out; then ok "nft queue path with a real NFQUEUE listener"; else bad "nft_queue_path did not pass"; fi

# 2. The real sipwall binary: domain passes, bare IP dropped, kill -9
#    leaves it fail-closed.
if /bin/sh ./sipwall-scenario.sh; then ok "sipwall run: queue path"; else bad "sipwall run scenario"; fi

if [ $fails = 0 ]; then
	echo VMTEST_PASS
	exit 0
fi
echo "VMTEST_FAILED count=$fails"
exit 1
