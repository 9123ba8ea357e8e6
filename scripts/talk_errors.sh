#!/usr/bin/env bash
# Talk-time error per side, per call, for one or more twoears binaries side by side
# (review --no-stt): the public corpus, this project's scenarios, and harder variants of
# them rendered here (louder and longer echo, echo or bleed under long double talk).
# Usage: scripts/talk_errors.sh [BIN ...]   (default target/release/twoears)
# Prints a Markdown table: rep and prospect talk-seconds error (%) and rep-ratio error.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
shared=${SHARED:-$root/../shared}
[ $# -gt 0 ] || set -- "$root/target/release/twoears"
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

python3 - "$shared/corpus/scenarios" "$root/tests/scenarios" "$out/variants" <<'PY'
import json, os, sys
public, ours, dest = sys.argv[1:4]
os.makedirs(dest)
def variant(src, name, mic):
    d = json.load(open(src))
    d["name"] = name
    d["mic"] = mic
    json.dump(d, open(os.path.join(dest, name + ".json"), "w"))
echo = os.path.join(public, "speakerphone_echo.json")
overlap = os.path.join(ours, "headset_overlap.json")
variant(echo, "echo_-3dB_60ms", {"bleed_db": -3, "bleed_delay_ms": 60, "bleed_room_ms": 40, "noise_db": -55, "seed": 3})
variant(echo, "echo_-10dB_120ms", {"bleed_db": -10, "bleed_delay_ms": 120, "bleed_room_ms": 40, "noise_db": -55, "seed": 3})
variant(os.path.join(public, "discovery_good.json"), "echo_-3dB_120ms_room60",
        {"bleed_db": -3, "bleed_delay_ms": 120, "bleed_room_ms": 60, "noise_db": -50, "seed": 9})
variant(overlap, "overlap_echo_-6dB", {"bleed_db": -6, "bleed_delay_ms": 40, "bleed_room_ms": 40, "noise_db": -55, "seed": 4})
variant(overlap, "overlap_echo_-3dB", {"bleed_db": -3, "bleed_delay_ms": 60, "bleed_room_ms": 40, "noise_db": -55, "seed": 4})
variant(overlap, "overlap_bleed_-20dB", {"bleed_db": -20, "bleed_delay_ms": 35, "noise_db": -50, "seed": 11})
PY
python3 "$shared/corpus/make_calls.py" "$shared"/corpus/scenarios/*.json "$root"/tests/scenarios/*.json \
  "$out"/variants/*.json --out "$out/calls" >/dev/null

names=$(cd "$out/calls" && ls *.json | sed 's/\.json$//')
i=0
for bin in "$@"; do
  i=$((i + 1))
  for n in $names; do
    "$bin" review "$out/calls/$n.wav" --no-stt -q --json "$out/calls/$n.$i.report" 2>/dev/null
  done
done
python3 - "$out/calls" "$#" $names <<'PY'
import json, sys
calls, nbins, names = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
head = "| call |" + "".join(f" rep % (bin {i}) | prospect % (bin {i}) | ratio (bin {i}) |" for i in range(1, nbins + 1))
print(head)
print("|---|" + "---|---|---|" * nbins)
for n in names:
    t = json.load(open(f"{calls}/{n}.json"))["talk"]
    row = f"| {n} |"
    for i in range(1, nbins + 1):
        r = json.load(open(f"{calls}/{n}.{i}.report"))["talk"]
        e = lambda k: (r[k] - t[k]) / max(t[k], 1e-9) * 100
        row += f" {e('rep_s'):+.1f} | {e('prospect_s'):+.1f} | {r['rep_ratio'] - t['rep_ratio']:+.3f} |"
    print(row)
PY
