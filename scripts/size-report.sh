#!/usr/bin/env bash
# scripts/size-report.sh - the size budget table for benches/size.md, from what
# scripts/build-packages.sh left in target/packages/: stripped static binary per arch, its xz -9e
# size (what it roughly costs on a squashfs/JFFS2 flash), and each package file.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/cross-env.sh
pk=target/packages
echo "| OpenWrt arch | Rust target | stripped binary | xz -9e | .ipk (sipwall) | .apk (sipwall) |"
echo "|---|---|---:|---:|---:|---:|"
for arch in $SIPWALL_ARCHES; do
	ipk=$(ls "$pk/$arch"/sipwall_*.ipk 2> /dev/null | head -n1 || true)
	apk=$(ls "$pk/$arch"/sipwall-[0-9]*.apk 2> /dev/null | head -n1 || true)
	[ -n "$ipk" ] || continue
	tmp=$(mktemp -d)
	tar -xzf "$ipk" -C "$tmp" ./data.tar.gz
	tar -xzf "$tmp/data.tar.gz" -C "$tmp" ./usr/sbin/sipwall
	bin=$(stat -c %s "$tmp/usr/sbin/sipwall")
	xzs=$(xz -9e -c "$tmp/usr/sbin/sipwall" | wc -c)
	rm -rf "$tmp"
	printf '| %s | %s | %s | %s | %s | %s |\n' "$arch" "$(triple_of "$arch")" "$bin" "$xzs" \
		"$(stat -c %s "$ipk")" "$([ -n "$apk" ] && stat -c %s "$apk" || echo -)"
done
