#!/usr/bin/env bash
# What the daemon's root tests (tests/daemon_queue.rs, tests/daemon_netns.rs)
# need: network namespaces, iptables (the NFQUEUE target) and ipset for the
# iptables backend, conntrack to cut a banned source's flows, and nft to
# prove that nothing is left behind. Idempotent, non-interactive.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
pkgs="iproute2 iptables ipset nftables conntrack"
missing=""
for p in $pkgs; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
if [ -n "$missing" ]; then
	apt-get update -q >/dev/null || echo "daemon.sh: apt-get update reported errors; trying the cached lists" >&2
	apt-get install -y -q --no-install-recommends $missing >/dev/null
fi
echo "daemon.sh: $pkgs installed"
