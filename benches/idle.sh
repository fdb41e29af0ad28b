#!/bin/sh
# Idle budget of `sipwall run` (issue: idle RSS <= 3 MB, 0 wake-ups/s).
# Starts each given binary in a fresh network namespace with the iptables
# backend and default table sizes, lets it settle, then reads VmRSS and counts
# context switches of every thread over a window (voluntary switches are the
# process going back to sleep after a wake-up: one per wake-up).
# Usage (root): sh benches/idle.sh [SECONDS] BINARY... (default 30 s)
# ALLOW_HOST=localhost adds an allowlisted host name, which starts the
# background resolver thread (its wake-ups count too).
# Each binary is measured in the same run, so figures compare.
set -eu
secs=30
case "${1:-}" in '' | *[!0-9]*) ;; *) secs=$1; shift ;; esac
[ "$#" -gt 0 ] || { echo "usage: $0 [SECONDS] BINARY..." >&2; exit 2; }
command -v ipset >/dev/null || { echo "SKIP: ipset not installed" >&2; exit 0; }
[ "$(id -u)" = 0 ] || { echo "SKIP: needs root (network namespace)" >&2; exit 0; }
ns="swidle$$"
dir=$(mktemp -d)
pid=
cleanup() {
	[ -n "$pid" ] && kill "$pid" 2>/dev/null && sleep 1
	ip netns del "$ns" 2>/dev/null || true
	rm -rf "$dir"
}
trap cleanup EXIT INT TERM
ip netns add "$ns"
ip -n "$ns" link set lo up
cat >"$dir/sipwall.toml" <<CONF
[sipwall]
enabled = true
mode = "host"
backend = "iptables"
udp_port = [5060]
queue = 5060
state_dir = "$dir/state"
run_dir = "$dir/run"

[[domain]]
host = "pbx.example.test"
CONF
if [ -n "${ALLOW_HOST:-}" ]; then
	printf '\n[[allow]]\nname = "office"\nsource = "%s"\n' "$ALLOW_HOST" >>"$dir/sipwall.toml"
fi
ctx() { # sum of voluntary / involuntary switches over all threads
	cat /proc/"$1"/task/*/status | awk -v k="$2" '$1==k":"{s+=$2} END{print s}'
}
printf '%-40s %9s %9s %12s %12s\n' binary rss_kib threads vol_per_s invol_per_s
for bin in "$@"; do
	ip netns exec "$ns" "$bin" run --log-stderr --config "$dir/sipwall.toml" 2>"$dir/log" &
	pid=$!
	sleep 3
	kill -0 "$pid" || { cat "$dir/log"; exit 1; }
	v0=$(ctx "$pid" voluntary_ctxt_switches)
	n0=$(ctx "$pid" nonvoluntary_ctxt_switches)
	sleep "$secs"
	v1=$(ctx "$pid" voluntary_ctxt_switches)
	n1=$(ctx "$pid" nonvoluntary_ctxt_switches)
	rss=$(awk '$1=="VmRSS:"{print $2}' /proc/"$pid"/status)
	thr=$(awk '$1=="Threads:"{print $2}' /proc/"$pid"/status)
	printf '%-40s %9s %9s %12s %12s\n' "$bin" "$rss" "$thr" \
		"$(awk -v a="$v0" -v b="$v1" -v s="$secs" 'BEGIN{printf "%.2f", (b-a)/s}')" \
		"$(awk -v a="$n0" -v b="$n1" -v s="$secs" 'BEGIN{printf "%.2f", (b-a)/s}')"
	kill "$pid"
	wait "$pid" || true
	pid=
done
