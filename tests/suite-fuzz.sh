#!/usr/bin/env bash
# Fuzz smoke run: each cargo-fuzz target of fuzz/ for a bounded number of
# runs (FUZZ_RUNS, default 200000) and at most FUZZ_SECS seconds (default
# 60), starting from the committed seeds in fuzz/seeds/. A crash, a panic or
# a broken reader invariant fails the suite and leaves the input in
# fuzz/artifacts/<target>/ (reproduce: see the message libFuzzer prints).
#
# cargo-fuzz needs nightly features; RUSTC_BOOTSTRAP=1 lets the stable
# toolchain build them. Needs cargo-fuzz and a C++ compiler
# (tests/install/fuzz.sh). Without them: SKIP, or FAIL when SIPWALL_STRICT=1.
# First build of the instrumented crate: several minutes on 2 cores; each
# target then runs for at most FUZZ_SECS.
set -euo pipefail
cd "$(dirname "$0")/../fuzz"

runs=${FUZZ_RUNS:-200000}
secs=${FUZZ_SECS:-60}

missing=""
cargo fuzz --version >/dev/null 2>&1 || missing="cargo-fuzz (tests/install/fuzz.sh installs it)"
[ -z "$missing" ] && ! command -v c++ >/dev/null 2>&1 && missing="a C++ compiler (apt-get install g++)"
if [ -n "$missing" ]; then
	if [ "${SIPWALL_STRICT:-0}" = 1 ]; then
		echo "FAIL: suite-fuzz needs $missing" >&2
		exit 1
	fi
	echo "SKIP: suite-fuzz needs $missing"
	exit 0
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

export RUSTC_BOOTSTRAP=1
failed=0
for target in $(cargo fuzz list); do
	mkdir -p "$work/$target"
	echo "fuzz: $target: up to $runs runs / $secs s from fuzz/seeds/$target"
	log="$work/$target.log"
	if nice cargo fuzz run -O "$target" "$work/$target" "seeds/$target" -- \
		-runs="$runs" -max_total_time="$secs" -max_len=8192 -print_final_stats=1 >"$log" 2>&1; then
		done_runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
		echo "fuzz: $target: ok, ${done_runs:-?} inputs, no crash"
	else
		failed=1
		echo "fuzz: $target: FAILED" >&2
		grep -E "panicked|ERROR|SUMMARY|Test unit written|artifact" "$log" | head -20 >&2 || tail -30 "$log" >&2
	fi
done
exit "$failed"
