#!/usr/bin/env bash
# A private, headless PulseAudio server for tests and benchmarks: no sound card, no dbus.
#   scripts/pulse.sh start DIR   starts it with DIR as XDG_RUNTIME_DIR; prints the env to export
#   scripts/pulse.sh stop DIR    stops it (by the PID in its pid file) and its keep-alive readers
# Devices: `callsink` (2 ch, 48 kHz null sink: the call audio; its monitor is the system
# audio and the default output), `micsink` (1 ch null sink) and `virtmic`, a source over
# micsink's monitor: the default input. Play a WAV into the mic with
# `paplay --device=micsink`, into the call with `paplay --device=callsink`.
set -euo pipefail
cmd=${1:-}; dir=${2:-}
[ -n "$cmd" ] && [ -n "$dir" ] || { echo "usage: $0 start|stop DIR" >&2; exit 2; }
mkdir -p "$dir"; chmod 700 "$dir"
dir=$(cd "$dir" && pwd)
export XDG_RUNTIME_DIR=$dir PULSE_SERVER=unix:$dir/pulse/native
case $cmd in
start)
  command -v pulseaudio >/dev/null || { echo "pulse.sh: pulseaudio is not installed (apt-get install pulseaudio pulseaudio-utils)" >&2; exit 3; }
  cat > "$dir/twoears.pa" <<PA
load-module module-native-protocol-unix auth-anonymous=1
load-module module-null-sink sink_name=callsink format=s16le rate=48000 channels=2 sink_properties=device.description=Call_Audio
load-module module-null-sink sink_name=micsink format=s16le rate=48000 channels=1 sink_properties=device.description=Mic_Feed
load-module module-remap-source source_name=virtmic master=micsink.monitor source_properties=device.description=Virtual_Mic
set-default-sink callsink
set-default-source virtmic
PA
  pulseaudio --daemonize=yes --exit-idle-time=-1 --disallow-exit=yes -n -F "$dir/twoears.pa" \
    --log-target=file:"$dir/pulse.log" 2>/dev/null
  for _ in $(seq 50); do pactl info >/dev/null 2>&1 && break; sleep 0.1; done
  pactl info >/dev/null 2>&1 || { echo "pulse.sh: the server did not start; see $dir/pulse.log" >&2; exit 1; }
  # An idle null sink renders in 2 s blocks; a low-latency reader keeps it at 10 ms.
  for src in callsink.monitor micsink.monitor; do
    nohup parec --latency-msec=10 -d "$src" >/dev/null 2>&1 &
    echo $! >> "$dir/readers.pid"
  done
  # Wait for the sinks' first long block to end, so the first capture starts at once.
  for _ in $(seq 50); do
    slow=$(pactl list sinks | awk '/^\tLatency:/ && $2 > 100000' | wc -l)
    [ "$slow" -eq 0 ] && break; sleep 0.1
  done
  echo "export XDG_RUNTIME_DIR=$dir PULSE_SERVER=$PULSE_SERVER"
  ;;
stop)
  if [ -f "$dir/readers.pid" ]; then
    while read -r p; do kill "$p" 2>/dev/null || true; done < "$dir/readers.pid"
    rm -f "$dir/readers.pid"
  fi
  if [ -f "$dir/pulse/pid" ]; then
    pid=$(cat "$dir/pulse/pid"); kill "$pid" 2>/dev/null || true
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  fi
  ;;
*) echo "usage: $0 start|stop DIR" >&2; exit 2 ;;
esac
