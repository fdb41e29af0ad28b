#!/usr/bin/env bash
# Installs what tests/suite-fuzz.sh needs: cargo-fuzz (libFuzzer driver for
# the fuzz/ crate) and a C++ compiler (libfuzzer-sys builds libFuzzer from
# source). Idempotent, root, non-interactive; a second run only checks.
# Takes about 3 to 5 minutes on 2 cores the first time (cargo-fuzz builds
# from source).
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive

if ! command -v c++ >/dev/null 2>&1; then
	apt-get update -q >/dev/null || echo "fuzz.sh: apt-get update reported errors; trying the cached lists" >&2
	apt-get install -y -q --no-install-recommends g++ >/dev/null
fi

if ! cargo fuzz --version >/dev/null 2>&1; then
	cargo install --locked cargo-fuzz
fi
cargo fuzz --version
