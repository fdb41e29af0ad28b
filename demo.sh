#!/usr/bin/env bash
# sipwall, live, in one command (root, Debian 12 or similar):
#
#     sudo ./demo.sh
#
# Installs what the scene needs (tests/install/bed.sh: Kamailio, SIPp,
# sipvicious in a venv, netfilter tools), builds sipwall (release), and plays
# a small internet in network namespaces on this machine — nothing leaves it:
#
#   phones 198.51.100.11 ─┐                       ┌─ PBX 192.168.50.10
#   attacker .10 (sipvicious) ─ router 198.51.100.1 ─┤   (Kamailio, digest auth)
#   brute-forcer .31 (SIPp)   ─┘  port forward 5060, └─ counts what reaches it
#                                  sipwall runs here
#
# Then it tells what happened: who was let in, who was banned and why, and
# what reached the PBX; and removes everything it set up.
# Options: --no-install (skip the package step), --bin PATH (use this sipwall
# binary instead of building one), --keep-logs (leave the logs in
# tests/.run/demo<pid>).
set -uo pipefail
cd "$(dirname "$0")"
ROOT=$PWD

install=1 keep=0 SIPWALL=""
while [ $# -gt 0 ]; do
	case $1 in
	--no-install) install=0 ;;
	--keep-logs) keep=1 ;;
	--bin) SIPWALL=$(realpath "$2"); shift ;;
	-h | --help) sed -n '2,21p' "$0"; exit 0 ;;
	*) echo "demo.sh: unknown option '$1' (see --help)" >&2; exit 2 ;;
	esac
	shift
done
[ "$(id -u)" = 0 ] || { echo "demo.sh: run as root (it builds network namespaces): sudo ./demo.sh" >&2; exit 1; }

say() { printf '\n\033[1m%s\033[0m\n' "$*"; }
step() { printf '  %s\n' "$*"; }

if [ "$install" = 1 ]; then
	say "Installing the scene's tools (Kamailio, SIPp, sipvicious, netfilter tools)..."
	bash tests/install/bed.sh | sed 's/^/  /' || { echo "demo.sh: tests/install/bed.sh failed" >&2; exit 1; }
fi
if [ -z "$SIPWALL" ]; then
	command -v cargo >/dev/null || { echo "demo.sh: cargo not found; install Rust (rustup) first" >&2; exit 1; }
	say "Building sipwall (release)..."
	cargo build --release --quiet || { echo "demo.sh: cargo build --release failed" >&2; exit 1; }
	target_dir=$(cargo metadata --format-version 1 --no-deps 2>/dev/null | sed -n 's/.*"target_directory":"\([^"]*\)".*/\1/p')
	SIPWALL=${target_dir:-$ROOT/target}/release/sipwall
fi
[ -x "$SIPWALL" ] || { echo "demo.sh: no sipwall binary at $SIPWALL" >&2; exit 1; }

export BED=demo$$ BED_RUN=$ROOT/tests/.run/demo$$ BED_KEEP_LOGS=$keep
B="bash tests/bed/bed.sh"
SW_PID=""
cleanup() {
	[ -n "$SW_PID" ] && kill -TERM "$SW_PID" 2>/dev/null && wait "$SW_PID" 2>/dev/null
	$B down >/dev/null 2>&1
}
trap cleanup EXIT
trap 'exit 130' INT TERM

say "Setting the scene in namespaces $BED-wan / $BED-rtr / $BED-lan..."
$B up | sed 's/^/  /' || exit 1
CFG=$BED_RUN/sipwall.toml
mkdir -p "$BED_RUN/state" "$BED_RUN/ctl"
cat >"$CFG" <<EOF
# The demo's policy: the PBX's secret domain, one knock, default bans.
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

[[domain]]
host = "pbx.example.test"

[[knock]]
name = "display"
secret = "knock-7f3a"
look_in = ["display_name"]
door_time = 4000
EOF
step "policy: secret domain pbx.example.test, knock 'knock-7f3a' in the From display name,"
step "        scanners banned on sight, 2 failed logins in 1 h -> banned 1 h (sipwall's defaults)"

ip netns exec "$BED-rtr" "$SIPWALL" run --config "$CFG" >"$BED_RUN/sipwall.log" 2>&1 &
SW_PID=$!
for _ in $(seq 100); do
	ip netns exec "$BED-rtr" cat /proc/net/netfilter/nfnetlink_queue 2>/dev/null | awk '$1==5060{f=1} END{exit !f}' && break
	kill -0 "$SW_PID" 2>/dev/null || { echo "sipwall run exited:"; cat "$BED_RUN/sipwall.log"; exit 1; }
	sleep 0.1
done
step "sipwall is running on the router (pid $SW_PID)"
$B count-reset

say "1. Phones register"
p1=$($B phone --user 1001 --pass secret --proto udp)
echo "  $p1"
p2=$($B phone --user 1002 --pass hunter2 --proto tcp --ruri 198.51.100.1 --knock knock-7f3a)
echo "  $p2"

say "2. sipvicious from 198.51.100.10 (the tools every VoIP fraudster starts with)"
a1=$($B attack svmap)
echo "  $a1"
a2=$($B attack svwar)
echo "  $a2"
a3=$($B attack svcrack --domain pbx.example.test)
echo "  $a3 (even told the secret domain)"

say "3. A quieter brute-forcer at 198.51.100.31 (ordinary phone software, knows the domain)"
$B phone --from 198.51.100.31 --user 1001 --pass guess1 --count 6 --rate 5 --timeout 6 --ua "Zoiper rv2.10" | sed 's/^/  /'

say "4. The first phone re-registers while the attackers are banned"
p3=$($B phone --user 1001 --pass secret --proto udp)
echo "  $p3"

say "What sipwall says (sipwall status)"
"$SIPWALL" status --config "$CFG" 2>&1 | sed 's/^/  /'
say "What sipwall logged"
grep -aiE 'ban|door|auth failed' "$BED_RUN/sipwall.log" | sed 's/^sipwall\[[0-9]*\]: //' | head -30 | sed 's/^/  /'

say "What reached the PBX (packets to port 5060, counted on the PBX's side)"
n_phone=$($B count phone) n_sv=$($B count attacker) n_bf=$($B count stranger)
step "phone 198.51.100.11:        $n_phone"
step "sipvicious 198.51.100.10:   $n_sv"
step "brute-forcer 198.51.100.31: $n_bf"
step "requests the PBX handled, by source:"
$B pbx-log | grep -ao 'BED-REQ [A-Z]*.*src=[0-9a-f.:]*' | sed 's/.*BED-REQ \([A-Z]*\).*src=\([0-9a-f.:]*\):.*/\2 \1/' |
	sort | uniq -c | sed 's/^/      /'

say "In short"
ok() { case $1 in *"200 OK"*) echo "let in" ;; *) echo "NOT let in" ;; esac; }
step "phone 1001 (secret domain, UDP):            $(ok "$p1"), and again during the attacks: $(ok "$p3")"
step "phone 1002 (knock + router IP, TCP):        $(ok "$p2")"
bans=$("$SIPWALL" bans --config "$CFG" 2>/dev/null)
why() { echo "$bans" | awk -v ip="$1" '$1==ip {print "banned (" $2 ")"; f=1} END{if(!f) print "not banned"}'; }
step "sipvicious 198.51.100.10:                   $(why 198.51.100.10); learned: $(case "$a1$a2$a3" in *learned:*) echo something ;; *) echo nothing ;; esac); $n_sv packets reached the PBX"
step "brute-forcer 198.51.100.31:                 $(why 198.51.100.31); $n_bf packets reached the PBX before the ban"

say "Stopping sipwall (SIGTERM) — it removes everything it installed"
kill -TERM "$SW_PID"
wait "$SW_PID" 2>/dev/null
SW_PID=""
left=$(ip netns exec "$BED-rtr" sh -c 'iptables-save; ipset list' 2>/dev/null | grep -ci sipwall)
step "sipwall rules/sets left in the router: $left"
say "Done; the namespaces are being removed."
