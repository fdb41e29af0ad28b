#!/bin/sh
# The real `sipwall run` (static build) inside the VM, nft backend, host
# mode, fail-closed: an OPTIONS to the secret domain passes through the
# queue, one to the bare IP is dropped, and after `kill -9` of sipwall
# (its table stays, nobody is bound to the queue) nothing passes.
set -u
fails=0
ok() { echo "VMTEST_OK: sipwall run: $*"; }
bad() {
	echo "VMTEST_FAIL: sipwall run: $*"
	fails=$((fails + 1))
}
ip netns add cli && ip netns add srv || { bad "netns"; exit 1; }
ip link add sw0 netns cli type veth peer name sw1 netns srv
ip -n cli addr add 203.0.113.10/24 dev sw0 && ip -n srv addr add 203.0.113.1/24 dev sw1
for n in cli srv; do ip -n $n link set lo up; done
ip -n cli link set sw0 up && ip -n srv link set sw1 up
mkdir -p /tmp/sw/state /tmp/sw/run
cat > /tmp/sw/sipwall.toml << 'TOML'
[sipwall]
enabled = true
mode = "host"
backend = "nft"
udp_port = [5060]
tcp_port = [5060]
queue = 5060
fail_open = false
state_dir = "/tmp/sw/state"
run_dir = "/tmp/sw/run"
log_level = 2

[[domain]]
host = "pbx.example.test"
TOML

# the "PBX": records every datagram that reaches port 5060
ip netns exec srv socat -u UDP4-RECV:5060 OPEN:/tmp/pbx.log,creat,append &
pbx=$!
ip netns exec srv /mnt/sipwall run --config /tmp/sw/sipwall.toml --log-stderr > /tmp/sw.log 2>&1 &
sw=$!
i=0
until ip netns exec srv nft list table inet sipwall > /dev/null 2>&1 && grep -q started /tmp/sw.log; do
	i=$((i + 1))
	if [ $i -gt 200 ] || ! kill -0 $sw 2> /dev/null; then
		bad "sipwall did not start"
		cat /tmp/sw.log
		exit 1
	fi
	sleep 0.1
done
ok "started, table inet sipwall installed"

options() { # options CALL-ID R-URI-HOST: one OPTIONS from a fresh source port
	printf 'OPTIONS sip:%s SIP/2.0\r\nVia: SIP/2.0/UDP 203.0.113.10:5070;branch=z9hG4bK-%s;rport\r\nMax-Forwards: 70\r\nFrom: <sip:probe@%s>;tag=%s\r\nTo: <sip:%s>\r\nCall-ID: %s\r\nCSeq: 1 OPTIONS\r\nUser-Agent: vm-probe/1.0\r\nContent-Length: 0\r\n\r\n' \
		"$2" "$1" "$2" "$1" "$2" "$1" |
		ip netns exec cli socat -u - UDP4-SENDTO:203.0.113.1:5060
}
arrived() { # arrived CALL-ID: waits up to 1.5 s
	j=0
	while [ $j -lt 15 ]; do
		grep -q "Call-ID: $1" /tmp/pbx.log 2> /dev/null && return 0
		j=$((j + 1))
		sleep 0.1
	done
	return 1
}
options vm-domain-1 pbx.example.test
if arrived vm-domain-1; then ok "OPTIONS to the secret domain passed the queue"; else bad "OPTIONS to the domain did not arrive"; fi
options vm-bare-ip-1 203.0.113.1
if arrived vm-bare-ip-1; then bad "OPTIONS to the bare IP reached the PBX"; else ok "OPTIONS to the bare IP was dropped"; fi

kill -9 $sw
wait $sw 2> /dev/null
if ip netns exec srv nft list table inet sipwall > /dev/null 2>&1; then ok "after kill -9 the table stays"; else bad "table gone after kill -9"; fi
options vm-domain-2 pbx.example.test
if arrived vm-domain-2; then bad "fail-open after kill -9: a request passed uninspected"; else ok "fail-closed after kill -9: nothing passes"; fi
ip netns exec srv /mnt/sipwall cleanup --config /tmp/sw/sipwall.toml > /dev/null 2>&1
if ip netns exec srv nft list ruleset | grep -q sipwall; then bad "cleanup left the table"; else ok "sipwall cleanup removed the table"; fi
kill $pbx 2> /dev/null
echo "--- sipwall log"
cat /tmp/sw.log
[ $fails = 0 ]
