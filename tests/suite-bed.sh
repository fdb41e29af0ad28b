#!/usr/bin/env bash
# The README's one-command demo, checked: runs ./demo.sh (without the
# package step, with the debug sipwall cargo test already built) and checks
# what it tells a user: phones let in, sipvicious learns nothing and is
# banned, the brute-forcer is banned, nothing of theirs reached the PBX,
# nothing is left in the router after SIGTERM. About 40 s.
# Needs root and tests/install/bed.sh; otherwise says SKIP (a failure with
# SIPWALL_STRICT=1).
set -uo pipefail
cd "$(dirname "$0")/.."
skip() {
	if [ "${SIPWALL_STRICT:-0}" = 1 ]; then echo "suite-bed: FAIL: $1 (SIPWALL_STRICT=1)"; exit 1; fi
	echo "SKIP: $1"; exit 0
}
[ "$(id -u)" = 0 ] || skip "needs root (network namespaces)"
for t in kamailio sipp nft iptables ipset; do command -v $t >/dev/null || skip "tool '$t' missing (run tests/install/bed.sh)"; done
[ -x tests/bed/.venv/bin/sipvicious_svmap ] || skip "sipvicious venv missing (run tests/install/bed.sh)"
cargo build --quiet || { echo "suite-bed: cargo build failed"; exit 1; }
TD=$(cargo metadata --format-version 1 --no-deps | sed -n 's/.*"target_directory":"\([^"]*\)".*/\1/p')
BIN=$TD/debug/sipwall
out=$(./demo.sh --no-install --bin "$BIN" 2>&1)
rc=$?
echo "$out" | sed 's/^/  | /'
pass=0 fail=0
check() { # description, extended regex that must match the demo's output
	if echo "$out" | grep -qE "$2"; then echo "PASS  $1"; pass=$((pass + 1)); else echo "FAIL  $1"; fail=$((fail + 1)); fi
}
if [ $rc = 0 ]; then echo "PASS  demo exits 0"; pass=$((pass + 1)); else echo "FAIL  demo exit status $rc"; fail=$((fail + 1)); fi
check "demo ran to the end" 'Done; the namespaces are being removed'

check "phone 1001 via the secret domain: 200 OK" 'phone 1001 from 198\.51\.100\.11 via udp, R-URI sip:pbx\.example\.test.*200 OK'
check "phone 1002 with a knock and the router IP over TCP: 200 OK" 'phone 1002 .* via tcp, R-URI sip:198\.51\.100\.1, From "knock-7f3a": 200 OK'
check "svmap learned nothing" '^  svmap learned nothing'
check "svwar learned nothing" '^  svwar learned nothing'
check "svcrack --domain learned nothing" '^  svcrack learned nothing'
check "sipvicious's packets reaching the PBX: 0" 'sipvicious 198\.51\.100\.10: +0$'
check "bans list the scanner" '198\.51\.100\.10.*scanner|scanner.*198\.51\.100\.10'
check "bans list the brute-forcer" '198\.51\.100\.31'
check "nothing left in the router after SIGTERM" 'left in the router: 0$'
echo "suite-bed: $pass passed, $fail failed"
[ $fail = 0 ]
