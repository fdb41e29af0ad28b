#!/usr/bin/env bash
# Base tools every suite needs: the Rust linters and basic network tools.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
rustup component add rustfmt clippy >/dev/null 2>&1 || true
apt-get install -y -q --no-install-recommends iproute2 procps psmisc >/dev/null
