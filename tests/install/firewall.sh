#!/usr/bin/env bash
# Tools the firewall tests drive: both backends (nft; iptables in its nft
# and legacy flavours; ipset) and conntrack-tools for the ban-kills-flows
# check. Idempotent, non-interactive.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
need=""
for p in nftables iptables ipset conntrack iproute2; do
	dpkg -s "$p" >/dev/null 2>&1 || need="$need $p"
done
if [ -n "$need" ]; then
	apt-get install -y -q --no-install-recommends $need >/dev/null \
		|| { apt-get update -q >/dev/null && apt-get install -y -q --no-install-recommends $need >/dev/null; }
fi
