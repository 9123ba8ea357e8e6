#!/usr/bin/env bash
# The corpus acceptance over several renders of the same calls. make_calls.py's sox dither
# differs in every render, so whisper hears each render a little differently (a comma or a
# question mark more or less): one acceptance run is one draw. This prints each render's
# score.py summary and its failures, then the totals.
# Usage: scripts/renders.sh [N] [BIN]   (default 6 renders, target/release/twoears)
# HARD=1 adds the calls that do not pass every render yet (tests/scenarios/hard).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
shared=${SHARED:-$root/../shared}
n=${1:-6}
bin=${2:-$root/target/release/twoears}
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

hard=()
[ -z "${HARD:-}" ] || hard=("$root"/tests/scenarios/hard/*.json)
pass=0 calls=0 found=0 expected=0 false=0
for i in $(seq "$n"); do
  d=$out/r$i
  python3 "$shared/corpus/make_calls.py" "$shared"/corpus/scenarios/*.json \
    "$shared"/corpus/neural/*.json "$root"/tests/scenarios/*.json "${hard[@]}" --out "$d" >/dev/null 2>&1
  "$bin" review "$d"/*.wav --out "$d/reviews" -q
  pairs=()
  for truth in "$d"/*.json; do
    pairs+=("$truth" "$d/reviews/$(basename "$truth")")
  done
  summary=$(python3 "$shared/corpus/score.py" "${pairs[@]}" | sed "s/^/render $i: /" || true)
  grep -v ' ok ' <<<"$summary"
  last=$(tail -1 <<<"$summary")
  # "7/7 calls pass: alerts 5/5 found, 0 false, ..."
  read -r p c f e x < <(sed -E 's|.* ([0-9]+)/([0-9]+) calls pass: alerts ([0-9]+)/([0-9]+) found, ([0-9]+) false.*|\1 \2 \3 \4 \5|' <<<"$last")
  pass=$((pass + p)) calls=$((calls + c)) found=$((found + f)) expected=$((expected + e)) false=$((false + x))
done
echo "$n renders: $pass/$calls calls pass, alerts $found/$expected found, $false false"
[ "$pass" -eq "$calls" ]
