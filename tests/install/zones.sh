#!/usr/bin/env bash
# Country-zones tests: openssl makes the throw-away CA for the HTTPS server
# on loopback; nftables + iproute2 carry the netns test with real kernel sets.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
apt-get install -y -q --no-install-recommends openssl nftables iproute2 >/dev/null
