# tests/luci/status-daemon.sh - sourced by tests/suite-luci.sh: a real sipwall daemon with real
# bans and a real door, so the status page is tested against real `sipwall status --json`.
#
# The daemon runs in host mode inside its own network namespace (it never touches this machine's
# firewall); a second namespace is a phone on TEST-NET-2 that knocks with a SIP REGISTER, which
# opens a door; two bans are added through the control socket. The socket lives in a temp dir
# that the harness (outside the namespace) reaches as a plain file path.
# shellcheck shell=bash

status_ns=
status_pid=

# status_daemon_start WORKDIR SIPWALL_BIN -> sets status_config, status_expect; or status_why.
status_daemon_start() {
	local work=$1 bin=$2 tag i
	status_why=
	if [ "$(id -u)" != 0 ]; then
		status_why="needs root for network namespaces and the daemon's firewall rules"
		return 1
	fi
	for t in ip iptables; do
		command -v "$t" > /dev/null || {
			status_why="$t not installed"
			return 1
		}
	done
	tag=sw$$
	status_ns="$tag-lucifw $tag-luciph"
	ip netns add "$tag-lucifw" && ip netns add "$tag-luciph" || {
		status_why="cannot create network namespaces"
		return 1
	}
	ip link add "$tag-a" type veth peer name "$tag-b"
	ip link set "$tag-a" netns "$tag-lucifw"
	ip link set "$tag-b" netns "$tag-luciph"
	ip -n "$tag-lucifw" addr add 198.51.100.1/24 dev "$tag-a"
	ip -n "$tag-luciph" addr add 198.51.100.10/24 dev "$tag-b"
	for n in "$tag-lucifw" "$tag-luciph"; do ip -n "$n" link set lo up; done
	ip -n "$tag-lucifw" link set "$tag-a" up
	ip -n "$tag-luciph" link set "$tag-b" up

	mkdir -p "$work/state" "$work/run"
	status_config=$work/status-config
	cat > "$status_config" << CFG
config sipwall 'global'
	option enabled '1'
	option mode 'host'
	option backend 'iptables'
	list udp_port '5060'
	list tcp_port '5060'
	list tls_port '5061'
	option state_dir '$work/state'
	option run_dir '$work/run'

config domain
	option host 'pbx-7f3k.example.org'

config knock 'phones'
	option secret 'Zebra-42-Lantern'
CFG
	ip netns exec "$tag-lucifw" "$bin" run --config "$status_config" > "$work/daemon.log" 2>&1 &
	status_pid=$!
	for i in $(seq 100); do
		[ -S "$work/run/control.sock" ] && break
		kill -0 "$status_pid" 2> /dev/null || break
		sleep 0.1
	done
	if [ ! -S "$work/run/control.sock" ]; then
		status_why="the daemon did not come up: $(tail -n 3 "$work/daemon.log" | tr '\n' ' ')"
		return 1
	fi
	"$bin" ban 203.0.113.7 --for 1h --config "$status_config" > /dev/null
	"$bin" ban 2001:db8::66 --config "$status_config" > /dev/null
	# The phone knocks: its REGISTER carries the secret in the From display name.
	ip netns exec "$tag-luciph" python3 - << 'PY'
import socket
msg = ("REGISTER sip:198.51.100.1 SIP/2.0\r\n"
       "Via: SIP/2.0/UDP 198.51.100.10:5060;branch=z9hG4bK-luci-1\r\n"
       "Max-Forwards: 70\r\n"
       "From: \"Zebra-42-Lantern\" <sip:201@198.51.100.1>;tag=luci1\r\n"
       "To: <sip:201@198.51.100.1>\r\n"
       "Call-ID: luci-status-1@198.51.100.10\r\n"
       "CSeq: 1 REGISTER\r\n"
       "Contact: <sip:201@198.51.100.10:5060>\r\n"
       "User-Agent: Yealink SIP-T46U 108.86.0.20\r\n"
       "Expires: 300\r\n"
       "Content-Length: 0\r\n\r\n").encode()
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("198.51.100.10", 5060))
s.sendto(msg, ("198.51.100.1", 5060))
PY
	for i in $(seq 30); do
		"$bin" status --json --config "$status_config" > "$work/status.json" 2> /dev/null
		grep -q '198.51.100.10' "$work/status.json" && break
		sleep 0.1
	done
	status_expect='{"bans":["203.0.113.7","2001:db8::66"],"doors":["198.51.100.10"],"later_ban":"203.0.113.99"}'
	return 0
}

status_daemon_stop() {
	local n
	if [ -n "$status_pid" ]; then
		kill "$status_pid" 2> /dev/null
		wait "$status_pid" 2> /dev/null
	fi
	for n in $status_ns; do ip netns del "$n" 2> /dev/null; done
	status_pid=
	status_ns=
}
