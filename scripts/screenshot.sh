#!/usr/bin/env bash
# The README's picture of the call page: reviews the bundled example call into a page and
# photographs it in headless Chromium. Usage: scripts/screenshot.sh [OUT.png]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
out=${1:-$root/docs/call-page.png}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cp "$root/examples/call.flac" "$work/call.flac"
"$root/target/release/twoears" review "$work/call.flac" --html "$work/call.html" -q
mkdir -p "$(dirname "$out")"
chromium --headless --no-sandbox --disable-gpu --no-first-run --hide-scrollbars \
  --user-data-dir="$work/profile" --window-size=1100,1250 --virtual-time-budget=3000 \
  --screenshot="$out" "file://$work/call.html" 2>/dev/null
echo "wrote $out"
