#!/usr/bin/env bash
# The README's pictures: the call page of the bundled example call, and the index of a
# folder of calls made from it (the call, its sides swapped, its first minute) and the
# peer's overlap clip, photographed in headless Chromium.
# Usage: scripts/screenshot.sh [DIR]   (default docs/; writes call-page.png, call-index.png)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
out=${1:-$root/docs}
bin=$root/target/release/twoears
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$out" "$work/calls"

shoot() { # SIZE PAGE PNG
  chromium --headless --no-sandbox --disable-gpu --no-first-run --hide-scrollbars \
    --user-data-dir="$work/profile" --window-size="$1" --virtual-time-budget=3000 \
    --screenshot="$3" "$2" 2>/dev/null
  echo "wrote $3"
}

cp "$root/examples/call.flac" "$work/call.flac"
"$bin" review "$work/call.flac" --html "$work/call.html" -q
shoot 1100,1250 "file://$work/call.html" "$out/call-page.png"

cp "$root/examples/call.flac" "$work/calls/example-call.flac"
sox "$root/examples/call.flac" "$work/calls/example-call-sides-swapped.flac" remix 2 1
sox "$root/examples/call.flac" "$work/calls/example-call-first-minute.flac" trim 0 60
cp "$root/tests/data/stereo_diarization.wav" "$work/calls/overlap-clip.wav"
"$bin" review "$work/calls" --out "$work/reviews" -q
shoot 1100,350 "file://$work/reviews/index.html#sort=-share" "$out/call-index.png"
