#!/usr/bin/env bash
# The sipwall test bed: a home router between the internet and a PBX, built
# from network namespaces so that real kernels, a real PBX (Kamailio), a real
# phone (SIPp) and a real attack tool (sipvicious) meet without touching the
# host's network.
#
#   wan ns  ($BED-wan)  attacker 198.51.100.10 (primary: sipvicious svwar and
#                       svcrack ignore -b), phone 198.51.100.11, office
#                       198.51.100.20, spare .30-.39; IPv6 2001:db8:5::10/11/20
#   router  ($BED-rtr)  198.51.100.1 / 2001:db8:5::1 port-forwards SIP
#                       (udp+tcp 5060) to the PBX; .2 forwards to the bench sink
#   lan ns  ($BED-lan)  PBX 192.168.50.10 / fd00:50::10, sink 192.168.50.20
#
# In host mode (`up host`) there is no router: the PBX host itself has the
# public address 198.51.100.1 / 2001:db8:5::1 and sipwall runs there (input
# path); $BED-rtr is then the PBX's namespace too.
#
# Every name comes from $BED (unique per test and process, e.g. sw1234ab), so
# beds run side by side. Files (logs, PIDs, sipvicious home) live in $BED_RUN.
# Nothing is sent outside the namespaces (TEST-NET and ULA addresses only).
#
# usage: bed.sh up [router|host] | down | phone [opts] | attack TOOL [args]
#        | count NAME | count-reset | flow start|stop | exec wan|rtr|lan CMD..
#        | pbx-log | info
# Exit status of `phone`: 0 = 200 OK. Of `attack`: 0 = the tool learned
# something (found the PBX, an extension or a password), 1 = nothing.
set -uo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
BED=${BED:?set BED to a short unique prefix, e.g. BED=sw$$}
BED_RUN=${BED_RUN:-$HERE/../.run/$BED}
mkdir -p "$BED_RUN"
BED_RUN=$(cd "$BED_RUN" && pwd)
NS_WAN=$BED-wan NS_RTR=$BED-rtr NS_LAN=$BED-lan

RTR4=198.51.100.1 RTR6=2001:db8:5::1 BENCH4=198.51.100.2
ATTACKER4=198.51.100.10 PHONE4=198.51.100.11 OFFICE4=198.51.100.20
ATTACKER6=2001:db8:5::10 PHONE6=2001:db8:5::11 OFFICE6=2001:db8:5::20
PBX4=192.168.50.10 PBX6=fd00:50::10 SINK4=192.168.50.20
DOMAIN=${BED_DOMAIN:-pbx.example.test}
VENV=${BED_VENV:-$HERE/.venv}

die() { echo "bed: $*" >&2; exit 2; }
in_ns() { local ns=$1; shift; ip netns exec "$ns" "$@"; }
mode() { cat "$BED_RUN/mode" 2>/dev/null || echo router; }
pbx_ns() { if [ "$(mode)" = host ]; then echo "$NS_RTR"; else echo "$NS_LAN"; fi; }

# Background process in a namespace; its PID goes to $BED_RUN/NAME.pid so
# `down` ends exactly what the bed started and nothing else.
bg() {
	local name=$1 ns=$2; shift 2
	ip netns exec "$ns" "$@" >"$BED_RUN/$name.log" 2>&1 &
	echo $! >"$BED_RUN/$name.pid"
}
stop_bg() {
	local name=$1 sig=${2:-TERM} pid
	[ -f "$BED_RUN/$name.pid" ] || return 0
	pid=$(cat "$BED_RUN/$name.pid")
	if kill -0 "$pid" 2>/dev/null; then
		kill -"$sig" "$pid" 2>/dev/null
		for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
		kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" 2>/dev/null
	fi
	rm -f "$BED_RUN/$name.pid"
}

up() {
	local m=${1:-router}
	for t in ip nft iptables kamailio sipp; do command -v $t >/dev/null || die "missing tool '$t' (run tests/install/bed.sh)"; done
	for ns in "$NS_WAN" "$NS_RTR" "$NS_LAN"; do
		[ -e "/run/netns/$ns" ] && die "netns $ns exists already (BED=$BED in use; run 'bed.sh down')"
	done
	echo "$m" >"$BED_RUN/mode"
	ip netns add "$NS_WAN" && ip netns add "$NS_RTR" || die "cannot create namespaces (root needed)"
	for ns in "$NS_WAN" "$NS_RTR"; do ip -n "$ns" link set lo up; done
	# Links are made inside the namespaces: no name ever shows in the host.
	ip -n "$NS_WAN" link add w0 type veth peer name r-wan netns "$NS_RTR"
	ip -n "$NS_WAN" addr add $ATTACKER4/24 dev w0
	for a in $PHONE4 $OFFICE4 $(seq -f '198.51.100.%g' 30 39); do ip -n "$NS_WAN" addr add "$a/24" dev w0; done
	# The attacker is the default IPv6 source too (sipvicious -6 binds no
	# address): the others are deprecated, usable only when bound (sipp -i).
	ip -n "$NS_WAN" addr add $ATTACKER6/64 dev w0 nodad
	for a in $PHONE6 $OFFICE6; do ip -n "$NS_WAN" addr add "$a/64" dev w0 nodad preferred_lft 0; done
	ip -n "$NS_WAN" link set w0 up
	ip -n "$NS_WAN" route add default via $RTR4
	ip -n "$NS_WAN" -6 route add default via $RTR6
	ip -n "$NS_RTR" addr add $RTR4/24 dev r-wan
	ip -n "$NS_RTR" addr add $BENCH4/24 dev r-wan
	ip -n "$NS_RTR" addr add $RTR6/64 dev r-wan nodad
	ip -n "$NS_RTR" link set r-wan up
	if [ "$m" = host ]; then
		# The PBX host faces the internet itself: Kamailio binds the public
		# addresses, sipwall filters the input path.
		start_pbx "$NS_RTR" "$RTR4" "$RTR6"
		start_counters "$NS_RTR" 400
	else
		ip netns add "$NS_LAN"
		ip -n "$NS_LAN" link set lo up
		ip -n "$NS_LAN" link add l0 type veth peer name r-lan netns "$NS_RTR"
		ip -n "$NS_RTR" addr add 192.168.50.1/24 dev r-lan
		ip -n "$NS_RTR" addr add fd00:50::1/64 dev r-lan nodad
		ip -n "$NS_RTR" link set r-lan up
		ip -n "$NS_LAN" addr add $PBX4/24 dev l0
		ip -n "$NS_LAN" addr add $SINK4/24 dev l0
		ip -n "$NS_LAN" addr add $PBX6/64 dev l0 nodad
		ip -n "$NS_LAN" link set l0 up
		ip -n "$NS_LAN" route add default via 192.168.50.1
		ip -n "$NS_LAN" -6 route add default via fd00:50::1
		in_ns "$NS_RTR" sysctl -qw net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1
		# A home router's port forward: source addresses are kept (no SNAT
		# towards the LAN), so the PBX sees who is calling.
		local t
		for t in udp tcp; do
			in_ns "$NS_RTR" iptables -t nat -A PREROUTING -i r-wan -d $RTR4 -p $t --dport 5060 -j DNAT --to-destination $PBX4:5060
			in_ns "$NS_RTR" ip6tables -t nat -A PREROUTING -i r-wan -d $RTR6 -p $t --dport 5060 -j DNAT --to-destination "[$PBX6]:5060"
		done
		in_ns "$NS_RTR" iptables -t nat -A PREROUTING -i r-wan -d $BENCH4 -p udp --dport 5060 -j DNAT --to-destination $SINK4:5060
		in_ns "$NS_RTR" iptables -t nat -A POSTROUTING -o r-wan -j MASQUERADE
		start_pbx "$NS_LAN" "$PBX4" "$PBX6"
		start_counters "$NS_LAN" -400
	fi
	echo "bed $BED up ($m): attacker $ATTACKER4 phone $PHONE4 office $OFFICE4 -> $RTR4 -> PBX $(if [ "$m" = host ]; then echo "on $RTR4"; else echo "$PBX4"; fi)"
}

start_pbx() {
	local ns=$1 a4=$2 a6=$3
	mkdir -p "$BED_RUN/kamailio"
	bg kamailio "$ns" kamailio -f "$HERE/kamailio.cfg" -DD -E -Y "$BED_RUN/kamailio" -P "$BED_RUN/kamailio/k.pid" \
		-m 32 -M 4 -A "LISTEN4=$a4" -A "LISTEN6=[$a6]"
	for _ in $(seq 100); do
		if in_ns "$ns" ss -lun | grep -q "$a4:5060" && in_ns "$ns" ss -ltn | grep -q "$a4:5060"; then return 0; fi
		kill -0 "$(cat "$BED_RUN/kamailio.pid")" 2>/dev/null || break
		sleep 0.1
	done
	tail -20 "$BED_RUN/kamailio.log" >&2
	die "kamailio did not start in $ns"
}

# Counters on the PBX's side of the router (its own namespace, where sipwall
# does not live): what really reached the PBX, per source. In host mode they
# share the namespace with sipwall and hook in last (priority 400), after any
# filter, so they still count only what reaches Kamailio.
start_counters() {
	local ns=$1 prio=$2
	in_ns "$ns" nft -f - <<EOF || die "nft counters in $ns failed"
table inet bedcount {
	counter attacker {}
	counter phone {}
	counter office {}
	counter stranger {}
	counter spoofed {}
	counter wan {}
	counter sink {}
	chain input {
		type filter hook input priority $prio; policy accept;
		th dport 5060 ip saddr $ATTACKER4 counter name attacker
		th dport 5060 ip6 saddr $ATTACKER6 counter name attacker
		th dport 5060 ip saddr $PHONE4 counter name phone
		th dport 5060 ip6 saddr $PHONE6 counter name phone
		th dport 5060 ip saddr $OFFICE4 counter name office
		th dport 5060 ip6 saddr $OFFICE6 counter name office
		th dport 5060 ip saddr 198.51.100.30-198.51.100.39 counter name stranger
		th dport 5060 ip saddr 198.51.100.0/24 counter name wan
		th dport 5060 ip6 saddr 2001:db8:5::/64 counter name wan
		th dport 5060 ip daddr $SINK4 counter name sink
		th dport 5060 ip saddr 198.18.0.0/15 counter name spoofed
	}
}
EOF
}

down() {
	local f ns p
	for f in "$BED_RUN"/*.pid; do [ -e "$f" ] || continue; stop_bg "$(basename "$f" .pid)" TERM; done
	for ns in "$NS_WAN" "$NS_RTR" "$NS_LAN"; do
		[ -e "/run/netns/$ns" ] || continue
		# Whatever still runs inside our own namespaces was started by this
		# bed (Kamailio's children take a moment to follow their parent).
		for _ in $(seq 20); do [ -z "$(ip netns pids "$ns" 2>/dev/null)" ] && break; sleep 0.1; done
		for p in $(ip netns pids "$ns" 2>/dev/null); do kill -KILL "$p" 2>/dev/null; done
		ip netns del "$ns"
	done
	rm -f "$BED_RUN"/*.pid
	[ "${BED_KEEP_LOGS:-0}" = 1 ] || rm -rf "$BED_RUN"
}

# phone: one registration with digest auth, as a real phone does it.
#   --user 1001 --pass secret --proto udp|tcp|un --ruri HOST (default the secret
#   domain) --domain HOST --knock DISPLAYNAME --from IP --target IP --ua STR
#   --count N (N registrations in a row; all must succeed) --rate PER_SEC
#   --timeout S --rtt FILE (append each registration's response time, ms)
phone() {
	local user=1001 pass=secret proto=udp ruri=$DOMAIN domain=$DOMAIN knock="Phone 1001" from=$PHONE4
	local target=$RTR4 ua="Bed-Phone/1.0" count=1 timeout=8 rate=10 rtt=""
	while [ $# -gt 0 ]; do
		case $1 in
		--user) user=$2 ;; --pass) pass=$2 ;; --proto) proto=$2 ;; --ruri) ruri=$2 ;; --domain) domain=$2 ;;
		--knock) knock=$2 ;; --from) from=$2 ;; --target) target=$2 ;; --ua) ua=$2 ;; --count) count=$2 ;;
		--timeout) timeout=$2 ;; --rate) rate=$2 ;; --rtt) rtt=$2 ;;
		*) die "phone: unknown option $1" ;;
		esac
		shift 2
	done
	local t
	# un: UDP with a fresh socket (source port) per registration, so each is
	# a new flow the filter must inspect.
	case $proto in udp) t=u1 ;; tcp) t=t1 ;; un) t=un ;; *) die "phone: --proto udp|tcp|un" ;; esac
	local tgt=$target
	case $target in *:*) tgt="[$target]" ;; esac
	local tag
	tag=phone-$$-$RANDOM
	local rttopt=()
	[ -n "$rtt" ] && rttopt=(-trace_rtt -rtt_freq 1)
	[ "$t" = un ] && rttopt+=(-max_socket 1000)
	mkdir -p "$BED_RUN/$tag.d"
	(cd "$BED_RUN/$tag.d" && in_ns "$NS_WAN" sipp "$tgt:5060" -sf "$HERE/register.xml" -t $t -i "$from" -p $((20000 + RANDOM % 20000)) \
		-s "$user" -au "$user" -ap "$pass" -key ruri "$ruri" -key domain "$domain" -key knock "$knock" -key ua "$ua" \
		-m "$count" -r "$rate" -l 1 -recv_timeout 3000 -timeout "$timeout" -timeout_error -nostdin \
		-trace_err -error_file "$BED_RUN/$tag.err" -trace_stat -stf "$BED_RUN/$tag.csv" \
		"${rttopt[@]}" >"$BED_RUN/$tag.log" 2>&1 </dev/null)
	local rc=$?
	# --rtt FILE: one response time (ms, first REGISTER to 200 OK) a line.
	[ -n "$rtt" ] && cat "$BED_RUN/$tag.d"/*_rtt.csv 2>/dev/null | awk -F';' 'NR>1 && $2 != "" {print $2}' >>"$rtt"
	local last
	last=$(grep -ao 'SIP/2.0 [0-9]\{3\}.*' "$BED_RUN/$tag.err" 2>/dev/null | tr -d '\r' | tail -1)
	if [ $rc = 0 ]; then
		echo "phone $user from $from via $proto, R-URI sip:$ruri, From \"$knock\": 200 OK"
	else
		echo "phone $user from $from via $proto, R-URI sip:$ruri, From \"$knock\": not registered (sipp rc $rc)${last:+, last answer: $last}"
	fi
	return $rc
}

# attack: sipvicious against the router (never -A or -R: those go online).
attack() {
	local tool=${1:?attack svmap|svwar|svcrack [extra args]}
	shift
	[ -x "$VENV/bin/sipvicious_$tool" ] || die "sipvicious not installed in $VENV (run tests/install/bed.sh)"
	local target=${BED_TARGET:-$RTR4} out="$BED_RUN/$tool-$$.out" to=${BED_ATTACK_SECS:-60}
	mkdir -p "$BED_RUN/svhome"
	case $tool in
	svmap) HOME=$BED_RUN/svhome timeout "$to" ip netns exec "$NS_WAN" "$VENV/bin/sipvicious_svmap" "$@" "$target" >"$out" 2>&1 ;;
	svwar) HOME=$BED_RUN/svhome timeout "$to" ip netns exec "$NS_WAN" "$VENV/bin/sipvicious_svwar" --maximumtime 5 -e 1000-1010 "$@" "$target" >"$out" 2>&1 ;;
	svcrack) HOME=$BED_RUN/svhome timeout "$to" ip netns exec "$NS_WAN" "$VENV/bin/sipvicious_svcrack" --maximumtime 5 -u 1001 -d "$HERE/passwords.txt" "$@" "$target" >"$out" 2>&1 ;;
	*) die "attack: svmap|svwar|svcrack" ;;
	esac
	local found
	found=$(grep -E '^\| *[0-9]' "$out" | tr -s ' |' ' ' | tr '\n' ';')
	if [ -n "$found" ]; then
		echo "$tool learned: $found"
		return 0
	fi
	echo "$tool learned nothing"
	return 1
}

count() {
	in_ns "$(pbx_ns)" nft list counter inet bedcount "${1:?count NAME}" | awk '/packets/{for(i=1;i<=NF;i++) if($i=="packets") print $(i+1)}'
}
count_reset() { in_ns "$(pbx_ns)" nft reset counters table inet bedcount >/dev/null; }

# flow: the attacker keeps one UDP flow (198.51.100.10:5060 -> router:5060)
# alive with a request every 100 ms (below any rate limit) that passes the domain gate, so the
# router's conntrack holds it as established: the flow a ban must cut.
flow() {
	case ${1:-} in
	start)
		bg flow "$NS_WAN" "$VENV/bin/python" -c '
import socket, sys, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind((sys.argv[1], 5060))
s.settimeout(0.1)
end = time.time() + float(sys.argv[4])
n = 0
while time.time() < end:
    n += 1
    msg = ("REGISTER sip:%s SIP/2.0\r\nVia: SIP/2.0/UDP %s:5060;branch=z9hG4bK-flow%d;rport\r\n"
           "Max-Forwards: 70\r\nFrom: <sip:1001@%s>;tag=flow%d\r\nTo: <sip:1001@%s>\r\n"
           "Call-ID: flow-%d@%s\r\nCSeq: %d REGISTER\r\nContact: <sip:1001@%s:5060>\r\n"
           "User-Agent: Bed-Flow/1.0\r\nContent-Length: 0\r\n\r\n") % (
           sys.argv[3], sys.argv[1], n, sys.argv[3], n, sys.argv[3], n, sys.argv[1], n, sys.argv[1])
    s.sendto(msg.encode(), (sys.argv[2], 5060))
    try:
        s.recv(4096)
    except OSError:
        pass
    time.sleep(0.1)
' "$ATTACKER4" "$RTR4" "$DOMAIN" "${2:-60}"
		;;
	stop) stop_bg flow ;;
	*) die "flow start [secs]|stop" ;;
	esac
}

info() {
	cat <<EOF
BED=$BED
BED_RUN=$BED_RUN
MODE=$(mode)
NS_WAN=$NS_WAN
NS_RTR=$NS_RTR
NS_LAN=$NS_LAN
DOMAIN=$DOMAIN
EOF
}

cmd=${1:-}
shift || true
case $cmd in
up) up "$@" ;;
down) down ;;
phone) phone "$@" ;;
attack) attack "$@" ;;
count) count "$@" ;;
count-reset) count_reset ;;
flow) flow "$@" ;;
exec)
	w=${1:?exec wan|rtr|lan CMD}
	shift
	case $w in wan) in_ns "$NS_WAN" "$@" ;; rtr) in_ns "$NS_RTR" "$@" ;; lan) in_ns "$(pbx_ns)" "$@" ;; *) die "exec wan|rtr|lan" ;; esac
	;;
pbx-log) grep -a 'BED-' "$BED_RUN/kamailio.log" ;;
info) info ;;
*) sed -n '2,27p' "$0" >&2; exit 2 ;;
esac
