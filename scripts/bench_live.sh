#!/usr/bin/env bash
# Live benchmark: renders the public corpus and plays every call in real time through a
# headless PulseAudio into `twoears listen` (scripts/listen_check.py): score, alert
# latency, CPU share, peak RSS, audio-path latency. Figures go into BENCHMARKS.md.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
shared=${1:-$root/../shared}
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
python3 "$shared/corpus/make_calls.py" "$shared"/corpus/scenarios/*.json --out "$out" >/dev/null
names=$(cd "$out" && ls *.json | sed 's/\.json$//')
# shellcheck disable=SC2086
python3 -u "$root/scripts/listen_check.py" "$root/target/release/twoears" "$out" $names \
  --score "$shared/corpus/score.py"
