#!/usr/bin/env bash
# Acceptance on the shared corpus: render every public call, review it with the release
# binary, score the reports against the truth; play one call live through `listen` and
# score that too; then the word error rate on real speech.
# Usage: scripts/acceptance.sh [SHARED_DIR]   (default ../shared)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
shared=${1:-$root/../shared}
bin=$root/target/release/twoears
corpus=$shared/corpus
[ -d "$corpus" ] || { echo "acceptance: no corpus at $corpus; skipped"; exit 0; }
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

# The shared corpus (its espeak-ng calls and its human-like Piper calls), and this
# project's own scenarios (tests/scenarios). Rendered the same way on every run (Piper's
# noise seeded by scripts/seeded, sox's dither repeatable): a red run is a change in
# twoears, not a luckless render. How the detector fares across random renders is
# measured apart (BENCHMARKS.md, "Accuracy").
PYTHONPATH="$root/scripts/seeded${PYTHONPATH:+:$PYTHONPATH}" TWOEARS_RENDER_SEED=1 SOX_OPTS=-R \
  python3 "$corpus/make_calls.py" "$corpus"/scenarios/*.json "$corpus"/neural/*.json \
  "$root"/tests/scenarios/*.json --out "$out"
# All calls in one batch, as a user reviews a backlog: a report and page per call and an
# index (a photo of the index and of one call's page is kept under target/).
"$bin" review "$out"/*.wav --out "$out/reviews" -q
pairs=()
for truth in "$out"/*.json; do
  name=$(basename "$truth" .json)
  pairs+=("$truth" "$out/reviews/$name.json")
done
python3 "$corpus/score.py" "${pairs[@]}"
if command -v chromium >/dev/null; then
  for page in index monologue_pitch; do
    chromium --headless --no-sandbox --disable-gpu --no-first-run --hide-scrollbars \
      --user-data-dir="$out/profile" --window-size=1100,1250 --virtual-time-budget=3000 \
      --screenshot="$root/target/acceptance-$page.png" "file://$out/reviews/$page.html" 2>/dev/null
  done
  echo "acceptance: pages photographed: target/acceptance-index.png, target/acceptance-monologue_pitch.png"
fi

# Live: the call with every alert kind, played in real time through a headless PulseAudio
# into `twoears listen`, scored the same way.
if command -v pulseaudio >/dev/null; then
  python3 "$root/scripts/listen_check.py" "$bin" "$out" monologue_pitch --score "$corpus/score.py"
else
  echo "acceptance: pulseaudio not installed; live check skipped (apt-get install pulseaudio pulseaudio-utils)"
  # Under CI a skip would pass having checked nothing.
  case ${CI:-} in ""|false|0) ;; *) exit 1 ;; esac
fi

# Real human speech: each clip as the rep, silence as the prospect; WER of the rep side.
python3 - "$corpus/real/real.json" "$bin" "$out" <<'PY'
import json, os, subprocess, sys
sys.path.insert(0, os.path.dirname(os.path.dirname(sys.argv[1])))
from score import wer
manifest, binary, out = sys.argv[1], sys.argv[2], sys.argv[3]
base = os.path.dirname(manifest)
refs, hyps = [], []
for clip in json.load(open(manifest))["clips"]:
    f = clip["file"]
    if f.startswith("deb:"):
        pkg, suffix = f[4:].split("/", 1)
        files = subprocess.run(["dpkg", "-L", pkg], capture_output=True, text=True).stdout.split()
        hits = [x for x in files if x.endswith("/" + suffix)]
        if not hits:
            sys.exit(f"{f}: not installed (apt-get install {pkg})")
        f = hits[0]
    else:
        f = os.path.join(base, f)
    silence = os.path.join(out, "silence.wav")
    subprocess.run(["sox", f, silence, "vol", "0"], check=True)
    rpt = os.path.join(out, "real.report.json")
    subprocess.run([binary, "review", "-q", "--rep", f, "--prospect", silence, "--json", rpt], check=True)
    hyp = " ".join(s["text"] for s in json.load(open(rpt))["segments"] if s["side"] == "rep")
    print(f"  {os.path.basename(f)}: WER {wer(clip['text'], hyp):.2f}: {hyp}")
    refs.append(clip["text"]); hyps.append(hyp)
total = wer(" ".join(refs), " ".join(hyps))
print(f"real speech: WER {total:.3f} over {len(refs)} clips (limit 0.10)")
sys.exit(0 if total <= 0.10 else 1)
PY
