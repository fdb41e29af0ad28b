#!/usr/bin/env bash
# tests/install/luci.sh - headless Chromium for the LuCI browser test (tests/suite-luci.sh), and
# playwright-core (npm) to drive it; Python's standard library serves the harness. Idempotent, as root.
set -euo pipefail
need=()
command -v chromium > /dev/null || need+=(chromium)
command -v python3 > /dev/null || need+=(python3)
command -v npm > /dev/null || need+=(nodejs npm)
fonts=$(fc-list 2> /dev/null | wc -l || echo 0)
[ "$fonts" -gt 0 ] || need+=(fonts-dejavu-core)
if [ ${#need[@]} -gt 0 ]; then
	export DEBIAN_FRONTEND=noninteractive
	apt-get -o DPkg::Lock::Timeout=900 update
	apt-get -o DPkg::Lock::Timeout=900 install -y --no-install-recommends "${need[@]}"
fi
# playwright-core drives the system chromium (no browser download); pinned in tests/luci/package.json
# to 1.50 because it still runs on Debian 12's node 18.
cd "$(dirname "$0")/../luci"
want=$(node -p "require('./package.json').dependencies['playwright-core']")
have=$(node -p "require('./node_modules/playwright-core/package.json').version" 2> /dev/null || true)
[ "$want" = "$have" ] || npm ci --no-audit --no-fund
chromium --version
