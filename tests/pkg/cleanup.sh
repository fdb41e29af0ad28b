#!/bin/sh
# tests/pkg/cleanup.sh SIPWALL_BIN - what the package's prerm relies on: a daemon killed with -9
# leaves its fail-closed rules behind, and `sipwall cleanup` removes every one of them. Runs in
# its own network namespace (never touches this machine's firewall), iptables backend (this
# kernel lacks the nft queue statement). Prints ok/FAIL lines; SKIP when not root.
bin=$1
if [ "$(id -u)" != 0 ] || ! command -v iptables-save > /dev/null || ! command -v ipset > /dev/null; then
	if [ "${SIPWALL_STRICT:-0}" = 1 ]; then
		echo "FAIL cleanup: needs root, iptables and ipset (SIPWALL_STRICT=1)"
		exit 1
	fi
	echo "SKIP: cleanup: needs root, iptables and ipset"
	exit 0
fi
ns=sw$$-pkgcl
work=$(mktemp -d)
pid=
finish() {
	[ -n "$pid" ] && kill -9 "$pid" 2> /dev/null
	ip netns del "$ns" 2> /dev/null
	rm -rf "$work"
}
trap finish EXIT
ip netns add "$ns" || exit 1
ip -n "$ns" link set lo up
cat > "$work/sipwall" << CFG
config sipwall 'global'
	option enabled '1'
	option mode 'host'
	option backend 'iptables'
	option state_dir '$work/state'
	option run_dir '$work/run'

config domain
	option host 'pbx-7f3k.example.org'
CFG
fail=0
ip netns exec "$ns" "$bin" run --config "$work/sipwall" > "$work/log" 2>&1 &
pid=$!
i=0
while [ $i -lt 100 ] && [ ! -S "$work/run/control.sock" ]; do
	sleep 0.1
	i=$((i + 1))
done
rules() { ip netns exec "$ns" sh -c 'iptables-save; ip6tables-save; ipset list -n' 2> /dev/null | grep -ci sipwall; }
n=$(rules)
if [ "$n" -gt 0 ]; then echo "ok   cleanup: the daemon installed $n sipwall rules/chains/sets"; else
	echo "FAIL cleanup: the daemon installed nothing: $(tail -n 3 "$work/log")"
	fail=1
fi
kill -9 "$pid"
wait "$pid" 2> /dev/null
pid=
n=$(rules)
if [ "$n" -gt 0 ]; then echo "ok   cleanup: after kill -9, $n sipwall rules/chains/sets are left behind (fail-closed)"; else
	echo "FAIL cleanup: kill -9 left nothing, the test proves nothing"
	fail=1
fi
if out=$(ip netns exec "$ns" "$bin" cleanup --config "$work/sipwall" 2>&1); then
	echo "ok   cleanup: sipwall cleanup succeeds ($(echo "$out" | tail -n 1))"
else
	echo "FAIL cleanup: sipwall cleanup failed: $out"
	fail=1
fi
n=$(rules)
if [ "$n" = 0 ]; then echo "ok   cleanup: nothing of sipwall is left (iptables, ip6tables, ipset)"; else
	echo "FAIL cleanup: $n sipwall rules/chains/sets are still there:"
	ip netns exec "$ns" sh -c 'iptables-save; ip6tables-save; ipset list -n' | grep -i sipwall
	fail=1
fi
if ip netns exec "$ns" "$bin" cleanup --config "$work/sipwall" > /dev/null 2>&1; then
	echo "ok   cleanup: a second cleanup (nothing to remove) succeeds too"
else
	echo "FAIL cleanup: a second cleanup fails"
	fail=1
fi
exit $fail
