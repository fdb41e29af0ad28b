#!/usr/bin/env bash
# sipwall's network benchmarks, in one run, as ratios against baselines
# measured in the same run on the same test bed (tests/bed/bed.sh: a router
# namespace port-forwarding to a PBX, real Kamailio, real SIPp phone):
#
#   (a) legit UDP blast through the router: no rules vs sipwall running
#       (goal >= 0.90 of delivered packets/s, zero loss while fail-closed)
#   (b) flood from a banned source: sipwall vs a plain iptables DROP
#       (goal >= 0.95 of the sender's packets/s, sipwall's CPU ~ 0)
#   (c) flood from many spoofed sources (198.18.0.0/15, RFC 2544 benchmark
#       space, bounded) while a real phone re-registers: REGISTER p50/p99
#       with and without the flood, sipwall's peak RSS
#   (d) reaction time: PBX's Nth failed answer -> the kernel drops the source
#       (goal <= 5 ms)
#
#   sudo benches/net.sh [--count N] [--rounds R] [--flood N] [--out FILE]
#                       [--flavour nft|legacy]
#
# --flavour: which iptables sipwall's iptables backend (and the baseline's
# DROP) runs: `nft` (iptables-nft, this Debian's default) or `legacy`
# (x_tables, what OpenWrt's fw3 routers run), through a PATH shim.
#
# Defaults (200k packets, 5 rounds, 1M flood packets / 30 s max) take about
# 3 minutes. Results go to benches/net.md (or --out) with the command and
# date. Needs root and tests/install/bed.sh.
set -uo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
COUNT=200000 ROUNDS=5 FLOOD=1000000 OUT=$ROOT/benches/net.md FLAVOUR=nft
CMDLINE="benches/net.sh${*:+ $*}"
LOAD0=$(cut -d" " -f1-3 /proc/loadavg)
while [ $# -gt 0 ]; do
	case $1 in
	--count) COUNT=$2; shift ;;
	--rounds) ROUNDS=$2; shift ;;
	--flood) FLOOD=$2; shift ;;
	--out) OUT=$2; shift ;;
	--flavour) FLAVOUR=$2; shift ;;
	-h | --help) sed -n '2,26p' "$0"; exit 0 ;;
	*) echo "net.sh: unknown option '$1' (see --help)" >&2; exit 2 ;;
	esac
	shift
done
[ "$(id -u)" = 0 ] || { echo "net.sh: needs root (network namespaces)" >&2; exit 1; }

echo "building sipwall (release) and the generator..."
cargo build --release --quiet || exit 1
TD=$(cargo metadata --format-version 1 --no-deps | sed -n 's/.*"target_directory":"\([^"]*\)".*/\1/p')
SIPWALL=$TD/release/sipwall
NG_TARGET=${NETGEN_TARGET_DIR:-$TD/netgen}
CARGO_TARGET_DIR=$NG_TARGET cargo build --release --quiet --manifest-path benches/net/Cargo.toml || exit 1
NG=$NG_TARGET/release/netgen

export BED=swb$$ BED_RUN=$ROOT/tests/.run/swb$$ BED_KEEP_LOGS=${BED_KEEP_LOGS:-0}
case $FLAVOUR in
nft | legacy)
	# `iptables` and friends as this flavour, for sipwall and the baseline.
	SHIM=$BED_RUN/iptables-$FLAVOUR
	mkdir -p "$SHIM"
	for t in iptables ip6tables; do
		for s in "" -save -restore; do
			real=$(command -v "$t-$FLAVOUR$s") || { echo "net.sh: $t-$FLAVOUR$s not installed" >&2; exit 1; }
			ln -sf "$real" "$SHIM/$t$s"
		done
	done
	export PATH=$SHIM:$PATH
	;;
*) echo "net.sh: --flavour is nft or legacy, not '$FLAVOUR'" >&2; exit 2 ;;
esac
B="bash tests/bed/bed.sh"
SW_PID=""
cleanup() {
	[ -n "$SW_PID" ] && kill -TERM "$SW_PID" 2>/dev/null && wait "$SW_PID" 2>/dev/null
	$B down >/dev/null 2>&1
}
trap cleanup EXIT
trap 'exit 130' INT TERM
$B up >/dev/null || exit 1
# The baseline is "no rules", not "no firewall": the router's filter and raw
# tables exist, empty, in every round (as on any router with a firewall).
# Otherwise the first baseline round runs without them and the rest with
# them (legacy tables, once made, stay until the namespace goes), and the
# "no rules" rounds stop agreeing with each other.
for t in filter raw; do
	for ipt in iptables ip6tables; do
		$B exec rtr $ipt -t $t -N SWB_EMPTY && $B exec rtr $ipt -t $t -X SWB_EMPTY
	done
done
# Spoofed sources arrive on r-wan from addresses it has no route for.
$B exec rtr sysctl -qw net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.r-wan.rp_filter=0

CFG=$BED_RUN/sipwall.toml
mkdir -p "$BED_RUN/state" "$BED_RUN/ctl"
cat >"$CFG" <<EOF
[sipwall]
enabled = true
mode = "router"
backend = "iptables"
udp_port = [5060]
tcp_port = [5060]
queue = 5060
lan = ["192.168.50.0/24", "fd00:50::/64"]
state_dir = "$BED_RUN/state"
run_dir = "$BED_RUN/ctl"
log_level = 1

[[domain]]
host = "pbx.example.test"
EOF

sw_start() {
	ip netns exec "$BED-rtr" "$SIPWALL" run --config "$CFG" >>"$BED_RUN/sipwall.log" 2>&1 &
	SW_PID=$!
	for _ in $(seq 100); do
		$B exec rtr cat /proc/net/netfilter/nfnetlink_queue 2>/dev/null | awk '$1==5060{f=1} END{exit !f}' && { sleep 0.2; return 0; }
		kill -0 "$SW_PID" 2>/dev/null || break
		sleep 0.1
	done
	echo "net.sh: sipwall run did not start:" >&2
	tail -20 "$BED_RUN/sipwall.log" >&2
	exit 1
}
sw_stop() {
	[ -n "$SW_PID" ] || return 0
	kill -TERM "$SW_PID" 2>/dev/null
	wait "$SW_PID" 2>/dev/null
	SW_PID=""
}
sw_cpu() { awk '{print $14 + $15}' "/proc/$SW_PID/stat" 2>/dev/null || echo 0; } # clock ticks
kv() { sed -n "s/.*\b$1=\([^ ]*\).*/\1/p" | head -1; }
median() { sort -g | awk '{a[NR]=$1} END{if(NR==0){print "NA"} else if(NR%2){print a[(NR+1)/2]} else {print (a[NR/2]+a[NR/2+1])/2}}'; }
pct() { sort -g | awk -v p="$1" '{a[NR]=$1} END{if(NR==0){print "NA"; exit} i=int((NR*p+99)/100); if(i<1)i=1; print a[i]}'; }
maxof() { sort -g | tail -1; }
minof() { sort -g | head -1; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN{if(b+0==0){print "NA"} else printf "%.2f", a/b}'; }
TICK=$(getconf CLK_TCK)

# ---------------------------------------------------------------- (a)
blast_round() { # -> "delivered_pps sent received"
	$B exec lan "$NG" sink --bind 192.168.50.20:5060 --idle-ms 700 --max-secs 60 >"$BED_RUN/sink.out" &
	local sp=$!
	sleep 0.3
	$B exec wan "$NG" blast --src 198.51.100.11 --dst 198.51.100.2:5060 --count "$COUNT" --max-secs 30 >"$BED_RUN/blast.out"
	wait $sp
	echo "$(kv pps <"$BED_RUN/sink.out") $(kv sent <"$BED_RUN/blast.out") $(kv received <"$BED_RUN/sink.out")"
}
echo "(a) legit blast, $ROUNDS rounds x $COUNT packets, no rules vs sipwall..."
: >"$BED_RUN/a-none" ; : >"$BED_RUN/a-sw"
a_loss_none=0 a_loss_sw=0
for r in $(seq "$ROUNDS"); do
	read -r pps s rcv <<<"$(blast_round)"
	echo "$pps" >>"$BED_RUN/a-none"; a_loss_none=$((a_loss_none + s - rcv))
	echo "    round $r none:    $pps pps delivered, lost $((s - rcv))"
	sw_start
	$B phone >/dev/null # the phone registers first, as a real one would
	read -r pps s rcv <<<"$(blast_round)"
	echo "$pps" >>"$BED_RUN/a-sw"; a_loss_sw=$((a_loss_sw + s - rcv))
	echo "    round $r sipwall: $pps pps delivered, lost $((s - rcv))"
	sw_stop
done
A_NONE=$(median <"$BED_RUN/a-none") A_SW=$(median <"$BED_RUN/a-sw")
A_NONE_R="$(minof <"$BED_RUN/a-none")..$(maxof <"$BED_RUN/a-none")" A_SW_R="$(minof <"$BED_RUN/a-sw")..$(maxof <"$BED_RUN/a-sw")"
A_BEST=$(ratio "$(maxof <"$BED_RUN/a-sw")" "$(maxof <"$BED_RUN/a-none")")

# ---------------------------------------------------------------- (b)
flood_round() { # -> sender pps, and the sink must see nothing
	$B exec wan "$NG" blast --src 198.51.100.10 --dst 198.51.100.2:5060 --count "$COUNT" --max-secs 30 >"$BED_RUN/blast.out"
	kv pps <"$BED_RUN/blast.out"
}
echo "(b) flood from a banned source, $ROUNDS rounds x $COUNT packets, plain DROP vs sipwall ban..."
: >"$BED_RUN/b-plain"; : >"$BED_RUN/b-sw"
b_cpu=0 b_leak=0
for r in $(seq "$ROUNDS"); do
	$B exec rtr iptables -I FORWARD -s 198.51.100.10 -j DROP
	$B count-reset
	pps=$(flood_round); echo "$pps" >>"$BED_RUN/b-plain"
	$B exec rtr iptables -D FORWARD -s 198.51.100.10 -j DROP
	echo "    round $r plain drop:  sender $pps pps, reached LAN $($B count sink)"
	sw_start
	"$SIPWALL" ban 198.51.100.10 --config "$CFG" >/dev/null 2>&1 || $B attack svmap >/dev/null
	$B count-reset
	c0=$(sw_cpu)
	pps=$(flood_round); echo "$pps" >>"$BED_RUN/b-sw"
	c1=$(sw_cpu)
	leak=$($B count sink)
	b_cpu=$((b_cpu + c1 - c0)); b_leak=$((b_leak + leak))
	echo "    round $r sipwall ban: sender $pps pps, reached LAN $leak, sipwall CPU $(( (c1 - c0) * 1000 / TICK )) ms"
	sw_stop
done
B_PLAIN=$(median <"$BED_RUN/b-plain") B_SW=$(median <"$BED_RUN/b-sw")
B_PLAIN_R="$(minof <"$BED_RUN/b-plain")..$(maxof <"$BED_RUN/b-plain")" B_SW_R="$(minof <"$BED_RUN/b-sw")..$(maxof <"$BED_RUN/b-sw")"
B_BEST=$(ratio "$(maxof <"$BED_RUN/b-sw")" "$(maxof <"$BED_RUN/b-plain")")

# ---------------------------------------------------------------- (c)
echo "(c) phone REGISTER latency without and with a spoofed flood ($FLOOD packets, 100k sources, <= 30 s)..."
sw_start
$B phone --count 20 --rate 4 --rtt "$BED_RUN/c-quiet" >/dev/null
rss0=$(awk '/VmRSS/{print $2}' "/proc/$SW_PID/status")
$B exec wan "$NG" spoof --dst 198.51.100.1:5060 --base 198.18.0.0 --sources 100000 --count "$FLOOD" --max-secs 30 >"$BED_RUN/spoof.out" &
fp=$!
sleep 1
$B phone --count 40 --rate 4 --timeout 30 --rtt "$BED_RUN/c-flood" >"$BED_RUN/c-phone.out"
c_phone_ok=$?
wait $fp
rss_hwm=$(awk '/VmHWM/{print $2}' "/proc/$SW_PID/status")
rss1=$(awk '/VmRSS/{print $2}' "/proc/$SW_PID/status")
c_status=$("$SIPWALL" status --config "$CFG" 2>&1 | head -40)
C_Q50=$(pct 50 <"$BED_RUN/c-quiet") C_Q99=$(pct 99 <"$BED_RUN/c-quiet")
C_F50=$(pct 50 <"$BED_RUN/c-flood") C_F99=$(pct 99 <"$BED_RUN/c-flood")
C_N=$(wc -l <"$BED_RUN/c-flood")
C_SENT=$(kv sent <"$BED_RUN/spoof.out") C_PPS=$(kv pps <"$BED_RUN/spoof.out")
C_REACHED=$($B count spoofed)
echo "    phone p50/p99 quiet $C_Q50/$C_Q99 ms, under flood $C_F50/$C_F99 ms ($C_N/40 answered); flood $C_SENT pkts at $C_PPS pps, $C_REACHED reached the PBX; RSS ${rss0} -> ${rss1} kB (peak $rss_hwm kB)"

# ---------------------------------------------------------------- (d)
echo "(d) reaction time: Nth failed answer -> kernel drops the source, 5 sources..."
: >"$BED_RUN/d"
for i in 31 32 33 34 35; do
	$B exec wan "$NG" react --src 198.51.100.$i --dst 198.51.100.1:5060 --domain pbx.example.test --failures 2 --probe-us 250 >"$BED_RUN/react.out" 2>&1
	hi=$(kv first_dropped_probe_ms <"$BED_RUN/react.out") cut=$(kv cut_off <"$BED_RUN/react.out")
	echo "    198.51.100.$i: $(cat "$BED_RUN/react.out")"
	[ "$cut" = true ] && echo "$hi" >>"$BED_RUN/d"
done
D_MED=$(median <"$BED_RUN/d") D_MAX=$(sort -g "$BED_RUN/d" | tail -1) D_N=$(wc -l <"$BED_RUN/d")
D_ALL=$(sort -g "$BED_RUN/d" | tr '\n' ' ')
sw_stop

# ---------------------------------------------------------------- report
{
	echo "# Network benchmarks (benches/net.sh)"
	echo
	echo "Run: \`sudo $CMDLINE\` on $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) CPUs, kernel $(uname -r),"
	echo "load average at start $LOAD0 (a shared machine: other work steals CPU, so read ranges, not digits)."
	echo "Test bed: tests/bed/bed.sh (wan -> router port forward -> LAN), sipwall $("$SIPWALL" --version 2>/dev/null | awk '{print $2}') release build,"
	echo "iptables backend on iptables-$FLAVOUR (port forward, sipwall's rules and the baseline DROP alike). Medians of $ROUNDS"
	echo "interleaved rounds [min..max]; ratios are median/median against the"
	echo "baseline of the same run, and in brackets best/best (noise only ever slows a round down)."
	echo
	echo "| bench | baseline | sipwall | ratio | goal |"
	echo "|---|---|---|---|---|"
	echo "| (a) legit blast, delivered pps ($COUNT pkts, one phone flow) | $A_NONE [$A_NONE_R] (no rules) | $A_SW [$A_SW_R] | $(ratio "$A_SW" "$A_NONE") ($A_BEST) | >= 0.90 |"
	echo "| (a) packets lost, all rounds | $a_loss_none | $a_loss_sw | | 0 |"
	echo "| (b) banned-source flood, sender pps | $B_PLAIN [$B_PLAIN_R] (iptables DROP) | $B_SW [$B_SW_R] | $(ratio "$B_SW" "$B_PLAIN") ($B_BEST) | >= 0.95 |"
	echo "| (b) sipwall CPU during $ROUNDS floods | | $((b_cpu * 1000 / TICK)) ms | | ~ 0 |"
	echo "| (b) flood packets that reached the LAN | | $b_leak | | 0 |"
	echo "| (c) phone REGISTER p50 / p99, ms | $C_Q50 / $C_Q99 (quiet) | $C_F50 / $C_F99 (flood) | | answered: $C_N of 40 |"
	echo "| (c) spoofed flood | | $C_SENT pkts, $C_PPS pps, 100k sources; $C_REACHED reached the PBX | | |"
	echo "| (c) sipwall RSS, kB | $rss0 (before) | $rss1 (after), peak $rss_hwm | | <= 16384 |"
	echo "| (d) reaction: Nth failed answer -> source dropped, ms | | median $D_MED, max $D_MAX ($D_N of 5 cut off; all: $D_ALL) | | <= 5 |"
	echo
	echo "How each is measured:"
	echo "- (a) \`netgen blast\` (sendmmsg, 32/batch) from the phone's address 198.51.100.11 to the router's"
	echo "  second port forward (198.51.100.2:5060 -> sink 192.168.50.20), \`netgen sink\` (recvmmsg, 32 MiB buffer)"
	echo "  counts first-to-last. With sipwall the phone registers first (as a real one does)."
	echo "- (b) the same blast from 198.51.100.10, banned with \`sipwall ban\`; baseline \`iptables -I FORWARD -s .10 -j DROP\`"
	echo "  with sipwall stopped. veth forwarding runs in the sender's context, so the sender's rate is the router's drop rate."
	echo "  sipwall CPU = utime+stime of the daemon across the flood."
	echo "- (c) \`netgen spoof\` (raw socket) REGISTERs to sip:198.51.100.1 from 198.18.0.0 + (i mod 100000) while SIPp registers"
	echo "  40 times at 4/s; latency = SIPp response time, first REGISTER to 200 OK (challenge included, 1 ms resolution)."
	echo "- (d) \`netgen react\`: probes (OPTIONS, every 250 us) and wrong-password REGISTERs from one address; time from the"
	echo "  arrival of the 2nd failed answer (default tier: 2 failures) to the first probe that was never answered;"
	echo "  each guess as svcrack makes it (new dialog, 401 challenge, wrong digest, 403). Resolution: the probe interval;"
	echo "  below zero: the ban was in the kernel before that answer reached the guesser (the daemon bans, then releases it)."
	echo
	echo "\`sipwall status\` after the flood:"
	echo '```'
	echo "$c_status"
	echo '```'
} >"$OUT"
echo "results written to $OUT"
cat "$OUT"
