#!/bin/sh
# tests/pkg/init-script.sh SIPWALL_BIN SHIPPED_CONFIG - runs files/etc/init.d/sipwall's
# start_service/service_triggers the way /etc/rc.common would, with procd's and UCI's shell API
# replaced by recorders, and the real sipwall binary validating real config files. Checks what
# procd would be told in each case: shipped (disabled), enabled and valid, enabled but invalid
# (not running / already running). Prints ok/FAIL lines and "N passed, M failed".
bin=$1
shipped=$2
init=$(dirname "$0")/../../files/etc/init.d/sipwall
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
pass=0
fail=0
ok() {
	if [ "$1" = 0 ]; then
		pass=$((pass + 1))
		echo "ok   init: $2"
	else
		fail=$((fail + 1))
		echo "FAIL init: $2"
	fi
}

# scenario NAME CONFIG RUNNING(0|1): runs start_service + service_triggers in a subshell; the
# procd calls land in $work/NAME.procd, messages in $work/NAME.err, the return code in $rc.
scenario() {
	(
		extra_command() { :; }
		config_load() { :; }
		config_foreach() { "$1" global; }
		config_get_bool() {
			v=$(awk '/^config sipwall/{s=1;next} /^config /{s=0} s&&$1=="option"&&$2=="enabled"{gsub("\047","",$3);print $3}' "$CONFIG")
			case "${v:-$4}" in 1 | yes | on | true) eval "$1=1" ;; *) eval "$1=0" ;; esac
		}
		procd_open_instance() { echo "open_instance $*" >> "$work/$1.procd"; }
		procd_set_param() { echo "set_param $*" >> "$work/$name.procd"; }
		procd_close_instance() { echo "close_instance" >> "$work/$name.procd"; }
		procd_add_reload_trigger() { echo "reload_trigger $*" >> "$work/$name.procd"; }
		procd_running() { [ "$running" = 1 ]; }
		logger() { echo "logger $*" >> "$work/$name.err"; }
		name=$1
		running=$3
		# shellcheck disable=SC1090
		. "$init"
		PROG=$bin
		CONFIG=$2
		procd_open_instance() { echo "open_instance $*" >> "$work/$name.procd"; }
		: > "$work/$name.procd"
		start_service 2>> "$work/$name.err"
		r=$?
		service_triggers
		exit $r
	)
	rc=$?
}

scenario shipped "$shipped" 0
ok "$rc" "shipped config: start succeeds"
grep -q open_instance "$work/shipped.procd"
[ $? = 1 ]
ok $? "shipped config (enabled '0'): no instance, nothing runs"
grep -q 'disabled' "$work/shipped.err"
ok $? "shipped config: says it is disabled and what to set"
grep -q 'reload_trigger sipwall' "$work/shipped.procd"
ok $? "reload trigger on config 'sipwall' is registered"

good=$work/good
sed "0,/option enabled '0'/s//option enabled '1'/" "$shipped" > "$good"
printf "\nconfig domain\n\toption host 'pbx-7f3k.example.org'\n" >> "$good"
scenario good "$good" 0
ok "$rc" "enabled + valid: start succeeds"
grep -q "set_param command $bin run --config $good" "$work/good.procd"
ok $? "enabled + valid: procd runs 'sipwall run --config' in the foreground"
grep -q "set_param respawn" "$work/good.procd" && grep -q "set_param reload_signal HUP" "$work/good.procd" &&
	grep -q "set_param file $good" "$work/good.procd"
ok $? "enabled + valid: respawn, reload_signal HUP, config file watched"

bad=$work/bad
sed "0,/option enabled '0'/s//option enabled '1'/" "$shipped" > "$bad"
printf "\nconfig knock 'phones'\n\toption secret 'abc'\n" >> "$bad"
scenario bad "$bad" 0
[ "$rc" != 0 ]
ok $? "enabled + invalid, not running: start fails (rc $rc)"
grep -q open_instance "$work/bad.procd"
[ $? = 1 ]
ok $? "enabled + invalid, not running: no instance"
grep -q "option 'secret'" "$work/bad.err" && grep -q "$bad:" "$work/bad.err"
ok $? "enabled + invalid: the daemon's own message (file:line, option) reaches the console and syslog"
scenario badrunning "$bad" 1
ok "$rc" "enabled + invalid, already running: the instance is kept (the daemon keeps its policy on HUP)"
grep -q "set_param reload_signal HUP" "$work/badrunning.procd"
ok $? "enabled + invalid, already running: still signalled, not restarted"
echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
