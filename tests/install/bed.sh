#!/usr/bin/env bash
# Installs what the network-namespace test bed (tests/bed/), the scenario
# tests (tests/scenario_*.rs), demo.sh and benches/net.sh need: the kernel
# tools, a real PBX (Kamailio), a real phone (SIPp) and a real attacker
# (sipvicious, from PyPI, in a venv under the repo). Idempotent, root,
# non-interactive; a second run only checks.
#
# Kamailio's Debian package would start a system-wide registrar on the host
# (and bind 5060 there); the bed runs its own Kamailio inside a namespace, so
# the package's service is kept from starting and disabled.
set -euo pipefail
cd "$(dirname "$0")/../.."
export DEBIAN_FRONTEND=noninteractive

pkgs="iproute2 procps nftables iptables ipset conntrack tcpdump kamailio sip-tester python3-venv"
missing=""
for p in $pkgs; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
if [ -n "$missing" ]; then
	# No service may start while we install: a policy-rc.d that says "no"
	# (only if the machine has none of its own, and only for this install).
	own_policy=0
	if [ ! -e /usr/sbin/policy-rc.d ]; then
		printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
		chmod +x /usr/sbin/policy-rc.d
		own_policy=1
	fi
	apt-get update -q >/dev/null || echo "bed.sh: apt-get update reported errors; trying the cached lists" >&2
	rc=0
	apt-get install -y -q --no-install-recommends $missing >/dev/null || rc=$?
	[ "$own_policy" = 1 ] && rm -f /usr/sbin/policy-rc.d
	[ "$rc" = 0 ] || { echo "bed.sh: apt-get install$missing failed (rc $rc)" >&2; exit "$rc"; }
fi

# The distribution's Kamailio service must not run on the host.
if command -v systemctl >/dev/null 2>&1 && [ -d /run/systemd/system ]; then
	systemctl disable --now kamailio >/dev/null 2>&1 || true
elif [ -x /etc/init.d/kamailio ]; then
	/etc/init.d/kamailio stop >/dev/null 2>&1 || true
	update-rc.d kamailio disable >/dev/null 2>&1 || true
fi

# sipvicious (the attacker) in a venv under the repo, with the system Python
# (python3-venv is installed for that one).
venv=tests/bed/.venv
py=/usr/bin/python3
[ -x "$py" ] || py=python3
if [ ! -x "$venv/bin/sipvicious_svwar" ]; then
	rm -rf "$venv"
	"$py" -m venv "$venv"
	"$venv/bin/pip" install -q --disable-pip-version-check sipvicious==0.3.8
fi

# Kernel pieces the bed uses (built in or modules; absent modules are fine
# when built in, the tests say SKIP with the reason otherwise).
for m in nfnetlink_queue xt_NFQUEUE ip_set ip_set_hash_ip ip_set_hash_net xt_set nf_conntrack_netlink; do
	modprobe -q "$m" 2>/dev/null || true
done

echo "bed.sh: $(sipp -v 2>&1 | grep -o 'SIPp v[^ ,-]*' | head -1) | $(kamailio -v 2>/dev/null | head -1 | awk '{print $2, $3}')" \
	"| $(iptables -V) | $(nft -v) | sipvicious $("$venv/bin/pip" show sipvicious 2>/dev/null | awk '/^Version/{print $2}')"
