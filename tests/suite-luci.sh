#!/usr/bin/env bash
# tests/suite-luci.sh - the LuCI app in a real browser. Headless Debian chromium (driven by
# playwright-core, tests/luci/drive.mjs) loads the app's unchanged view files from a harness
# (tests/luci/harness.py: a stand-in uhttpd + rpcd on 127.0.0.1 that answers uci from a real UCI
# file and runs the real sipwall binary for exec calls the app's acl.d grants). Checks:
#   settings  an admin fills every section type and saves; `sipwall check-config` accepts the file
#             the page wrote (every option and value the view writes is one the daemon accepts);
#   invalid   wrong values are refused in the browser and nothing is written;
#   contract  for every option of `sipwall check-config --schema` and a set of right and wrong
#             values (~230), the page's datatype/validate and the daemon's check-config agree;
#   status    bans and doors from a real `sipwall status --json` are shown, Unban works, the ACL
#             refuses anything else.
# Screenshots: target/luci/luci-*.png. Takes ~15-30 s.
set -uo pipefail
cd "$(dirname "$0")/.."
root=$PWD

skip() {
	if [ "${SIPWALL_STRICT:-0}" = 1 ]; then
		echo "FAIL: suite-luci: $1 (SIPWALL_STRICT=1)"
		exit 1
	fi
	echo "SKIP: suite-luci: $1"
	exit 0
}
command -v chromium > /dev/null || skip "chromium not installed (run tests/install/luci.sh)"
command -v node > /dev/null || skip "node not installed (run tests/install/luci.sh)"
[ -d tests/luci/node_modules/playwright-core ] || skip "playwright-core not installed in tests/luci (run tests/install/luci.sh)"
[ -f files/etc/config/sipwall ] || skip "files/etc/config/sipwall is not in this tree yet"

cargo build --quiet --bin sipwall || {
	echo "FAIL: suite-luci: cargo build"
	exit 1
}
bin=${CARGO_TARGET_DIR:-$root/target}/debug/sipwall
out=$root/target/luci
rm -rf "$out"
mkdir -p "$out"
work=$(mktemp -d)
harness_pid=
cleanup() {
	[ -n "$harness_pid" ] && kill "$harness_pid" 2> /dev/null
	type status_daemon_stop > /dev/null 2>&1 && status_daemon_stop
	rm -rf "$work"
}
trap cleanup EXIT

fail=0
passed=0
note() {
	if [ "$1" = ok ]; then
		passed=$((passed + 1))
		echo "ok   luci $2"
	else
		fail=$((fail + 1))
		echo "FAIL luci $2"
	fi
}

# start_harness CONFIG: serves the app against CONFIG; sets $url.
start_harness() {
	[ -n "$harness_pid" ] && kill "$harness_pid" 2> /dev/null
	python3 tests/luci/harness.py --port 0 --app openwrt/luci-app-sipwall --config "$1" \
		--sipwall "$bin" --log "$out/harness.log" > "$work/url" &
	harness_pid=$!
	for _ in $(seq 50); do
		[ -s "$work/url" ] && break
		sleep 0.1
	done
	url=$(head -n1 "$work/url")
	: > "$work/url"
}

# drive SCENARIO: runs the browser; counts its ok/FAIL lines.
drive() {
	local log=$work/drive.log
	(cd tests/luci && timeout 180 node drive.mjs "$url" "$out" "$1") > "$log" 2>&1
	cat "$log"
	passed=$((passed + $(grep -c '^ok ' "$log")))
	fail=$((fail + $(grep -c '^FAIL' "$log")))
	grep -q '^ok ' "$log" || note fail "$1: the browser run produced no result"
}

echo "== app files: po template, menu.d and acl.d"
if python3 scripts/luci-pot.py --check; then note ok "po/templates/sipwall.pot lists every _() string of the views"; else note fail "po template is stale (scripts/luci-pot.py)"; fi
if python3 - openwrt/luci-app-sipwall << 'PY'; then note ok "menu.d/acl.d are valid JSON; the ACL grants exactly uci 'sipwall' and three sipwall commands"; else note fail "menu.d/acl.d"; fi
import json, sys
app = sys.argv[1]
menu = json.load(open(app + "/root/usr/share/luci/menu.d/luci-app-sipwall.json"))
assert menu["admin/services/sipwall"]["depends"]["acl"] == ["luci-app-sipwall"], menu
assert {menu[k]["action"]["path"] for k in menu if menu[k]["action"]["type"] == "view"} == {"sipwall/status", "sipwall/settings"}
acl = json.load(open(app + "/root/usr/share/rpcd/acl.d/luci-app-sipwall.json"))["luci-app-sipwall"]
assert set(acl) == {"description", "read", "write"}, acl
assert acl["read"]["uci"] == ["sipwall"] and acl["write"]["uci"] == ["sipwall"]
assert acl["read"]["file"] == {"/usr/sbin/sipwall status --json": ["exec"], "/usr/sbin/sipwall check-config --schema": ["exec"]}
assert acl["write"]["file"] == {"/usr/sbin/sipwall unban *": ["exec"]}
assert "ubus" not in acl["read"] and "ubus" not in acl["write"] and "cgi-io" not in str(acl)
PY

echo "== settings: fill every section, save, hand the file to sipwall check-config"
cfg=$work/sipwall
cp files/etc/config/sipwall "$cfg"
start_harness "$cfg"
drive settings
if cmp -s files/etc/config/sipwall "$cfg"; then
	note fail "settings: the page wrote nothing"
else
	for want in "option host 'pbx-7f3k.example.org'" "config knock 'phones'" "list look_in 'user_agent'" \
		"option source '198.51.100.0/24'" "option source '203.0.113.0/24'" "list country 'cn'" \
		"list udp_port '5080'" "option enabled '1'"; do
		if grep -qF "$want" "$cfg"; then note ok "settings: saved file has: $want"; else note fail "settings: saved file lacks: $want"; fi
	done
	cp "$cfg" "$out/saved-config"
	if msg=$("$bin" check-config --config "$cfg" 2>&1); then
		note ok "settings: sipwall check-config accepts the file the page saved"
	else
		note fail "settings: sipwall check-config rejects the page's file: $msg"
	fi
fi

echo "== settings: wrong values are refused before anything is written"
cp files/etc/config/sipwall "$cfg"
start_harness "$cfg"
drive settings-invalid

echo "== contract: the browser and sipwall check-config agree on right and wrong values of every option"
cp files/etc/config/sipwall "$cfg"
start_harness "$cfg"
drive contract

echo "== status: real daemon output"
if ! "$bin" help 2>&1 | grep -q 'status'; then
	note fail "status: this sipwall has no 'status' command"
else
	. tests/luci/status-daemon.sh
	if status_daemon_start "$work" "$bin"; then
		start_harness "$status_config"
		SIPWALL_EXPECT=$status_expect drive status
		cp "$work/status.json" "$out/status.json" 2> /dev/null
	else
		if [ "${SIPWALL_STRICT:-0}" = 1 ]; then note fail "status: $status_why"; else echo "SKIP: suite-luci status: $status_why"; fi
	fi
	status_daemon_stop
fi

echo "screenshots: $(ls "$out"/*.png 2> /dev/null | tr '\n' ' ')"
echo "$passed passed, $fail failed"
[ "$fail" = 0 ]
