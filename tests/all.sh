#!/usr/bin/env bash
# The one test command (README and .ci/run call exactly this).
#
# Runs, in order: formatting and lint, `cargo test --all-targets` (unit
# tests and every tests/*.rs, including the root network-namespace
# scenarios), then every tests/suite-*.sh (VM, cross/qemu, packages, LuCI
# browser, fuzz smoke). Each suite prints what it checked and exits 0 on
# pass. The last line is the tally.
#
# Needs root and the tools installed by tests/install/*.sh for the kernel
# and SIP suites; without them those tests print `SKIP: <reason>` — unless
# SIPWALL_STRICT=1 (CI), where a missing tool or privilege is a failure.
#
# Options: --quick  only lint and cargo test (no suites)
#          --only NAME  run only tests/suite-NAME.sh (after cargo test)
set -u
cd "$(dirname "$0")/.."

quick=0 only=""
while [ $# -gt 0 ]; do
	case "$1" in
	--quick) quick=1 ;;
	--only) only="$2"; shift ;;
	-h | --help) sed -n '2,17p' "$0"; exit 0 ;;
	*) echo "tests/all.sh: unknown option '$1' (see --help)" >&2; exit 2 ;;
	esac
	shift
done

passed=0 failed=0 failures=""
step() {
	local name="$1"; shift
	local t0=$SECONDS
	echo "=== $name"
	if "$@"; then
		passed=$((passed + 1))
		echo "=== $name: ok ($((SECONDS - t0)) s)"
	else
		failed=$((failed + 1))
		failures="$failures $name"
		echo "=== $name: FAILED ($((SECONDS - t0)) s)"
	fi
}

# The generator (benches/net) and the fuzz targets are workspaces of their own.
fmt_all() {
	cargo fmt --all -- --check &&
		cargo fmt --manifest-path benches/net/Cargo.toml -- --check &&
		cargo fmt --manifest-path fuzz/Cargo.toml -- --check
}
step fmt fmt_all
step clippy cargo clippy --all-targets --locked -- -D warnings
step cargo-test cargo test --all-targets --locked

if [ "$quick" = 0 ]; then
	for suite in tests/suite-*.sh; do
		[ -e "$suite" ] || continue
		name=$(basename "$suite" .sh)
		name=${name#suite-}
		[ -n "$only" ] && [ "$only" != "$name" ] && continue
		step "suite-$name" bash "$suite"
	done
fi

[ -n "$failures" ] && echo "failed:$failures"
echo "suites: $passed passed, $failed failed"
[ "$failed" = 0 ]
