#!/usr/bin/env bash
# Country-zones tests: openssl makes the throw-away CA for the HTTPS server
# on loopback; wget stands in for uclient-fetch (tests/zones_tool.rs);
# nftables + iproute2 carry the netns test with real kernel sets (tests/zones_daemon.rs also needs tests/install/bed.sh). Idempotent,
# non-interactive; updates the package lists only when an install fails.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
need=""
for p in openssl nftables iproute2 wget; do
	dpkg -s "$p" >/dev/null 2>&1 || need="$need $p"
done
if [ -n "$need" ]; then
	apt-get install -y -q --no-install-recommends $need >/dev/null \
		|| { apt-get update -q >/dev/null && apt-get install -y -q --no-install-recommends $need >/dev/null; }
fi
