#!/usr/bin/env bash
# A private, headless sound server that speaks the PulseAudio protocol, for tests and
# benchmarks: no sound card, nothing shared with the user's session.
#   scripts/pulse.sh start DIR [pulseaudio|pipewire]   starts it with DIR as XDG_RUNTIME_DIR;
#                                                      prints the env to export
#   scripts/pulse.sh stop DIR                          stops it and everything it started
# The server is plain PulseAudio, or PipeWire with WirePlumber and pipewire-pulse on a
# private dbus session bus (what most desktops run today); the default comes from
# $TWOEARS_SOUND_SERVER, else pulseaudio.
# Devices: `callsink` (2 ch, 48 kHz null sink: the call audio; its monitor is the system
# audio and the default output), `micsink` (1 ch null sink) and `virtmic`, a source over
# micsink's monitor: the default input. Play a WAV into the mic with
# `paplay --device=micsink`, into the call with `paplay --device=callsink`.
set -euo pipefail
cmd=${1:-}; dir=${2:-}; kind=${3:-${TWOEARS_SOUND_SERVER:-pulseaudio}}
[ -n "$cmd" ] && [ -n "$dir" ] || { echo "usage: $0 start|stop DIR [pulseaudio|pipewire]" >&2; exit 2; }
mkdir -p "$dir"; chmod 700 "$dir"
dir=$(cd "$dir" && pwd)
export XDG_RUNTIME_DIR=$dir PULSE_SERVER=unix:$dir/pulse/native
# WirePlumber keeps per-stream state (restore-stream) under these: keep it per server.
export XDG_STATE_HOME=$dir/state XDG_CONFIG_HOME=$dir/config
export DBUS_SESSION_BUS_ADDRESS=unix:path=$dir/bus

devices() {
  pactl load-module module-null-sink sink_name=callsink format=s16le rate=48000 channels=2 \
    sink_properties=device.description=Call_Audio >/dev/null
  pactl load-module module-null-sink sink_name=micsink format=s16le rate=48000 channels=1 \
    sink_properties=device.description=Mic_Feed >/dev/null
  pactl load-module module-remap-source source_name=virtmic master=micsink.monitor \
    source_properties=device.description=Virtual_Mic >/dev/null
  pactl set-default-sink callsink
  pactl set-default-source virtmic
}

# Waits are for the event, capped far above what an idle machine needs (a busy one, with a
# call app or a build beside it, is slower by seconds): the cap only catches a server that
# will not come.
CAP_S=60

# True once "$@" succeeds, false when it has not within CAP_S seconds.
until_ok() {
  local end=$((SECONDS + CAP_S))
  until "$@"; do
    [ "$SECONDS" -lt "$end" ] || return 1
    sleep 0.1
  done
}

wait_for_server() {
  until_ok pactl info >/dev/null 2>&1 && return 0
  echo "pulse.sh: the $kind server did not answer within $CAP_S s; see $dir/*.log" >&2
  exit 1
}

has_default_sink() { pactl info 2>/dev/null | grep -q "^Default Sink: "; }
sinks_fast() { [ "$(pactl list sinks | awk '/^\tLatency:/ && $2 > 100000' | wc -l)" -eq 0 ]; }

# Runs a daemon in the background, remembering its PID for stop.
spawn() {
  local log=$1; shift
  nohup "$@" >"$dir/$log" 2>&1 &
  echo $! >> "$dir/daemons.pid"
}

case $cmd in
start)
  rm -f "$dir/daemons.pid" "$dir/readers.pid"
  echo "$kind" > "$dir/server"
  case $kind in
  pulseaudio)
    command -v pulseaudio >/dev/null || { echo "pulse.sh: pulseaudio is not installed (apt-get install pulseaudio pulseaudio-utils)" >&2; exit 3; }
    echo "load-module module-native-protocol-unix auth-anonymous=1" > "$dir/twoears.pa"
    pulseaudio --daemonize=yes --exit-idle-time=-1 --disallow-exit=yes -n -F "$dir/twoears.pa" \
      --log-target=file:"$dir/pulse.log" 2>/dev/null
    wait_for_server
    cat "$dir/pulse/pid" >> "$dir/daemons.pid"
    ;;
  pipewire)
    for b in pipewire wireplumber pipewire-pulse dbus-daemon; do
      command -v $b >/dev/null || { echo "pulse.sh: $b is not installed (apt-get install pipewire pipewire-pulse wireplumber dbus)" >&2; exit 3; }
    done
    mkdir -p "$XDG_STATE_HOME" "$XDG_CONFIG_HOME"
    dbus-daemon --session --fork --address="$DBUS_SESSION_BUS_ADDRESS" --print-pid >> "$dir/daemons.pid"
    spawn pipewire.log pipewire
    until_ok test -S "$dir/pipewire-0" || { echo "pulse.sh: pipewire did not start; see $dir/pipewire.log" >&2; exit 1; }
    spawn wireplumber.log wireplumber
    spawn pipewire-pulse.log pipewire-pulse
    wait_for_server
    # WirePlumber must have linked the session (its default nodes) before devices come.
    until_ok has_default_sink || { echo "pulse.sh: WirePlumber set no default sink; see $dir/wireplumber.log" >&2; exit 1; }
    ;;
  *) echo "pulse.sh: unknown server $kind (pulseaudio or pipewire)" >&2; exit 2 ;;
  esac
  devices
  # An idle null sink renders in 2 s blocks; a low-latency reader keeps it at 10 ms.
  for src in callsink.monitor micsink.monitor; do
    nohup parec --latency-msec=10 -d "$src" >/dev/null 2>&1 &
    echo $! >> "$dir/readers.pid"
  done
  # Wait for the sinks' first long block to end, so the first capture starts at once.
  # Best effort (the first capture only starts later without it): a short cap.
  CAP_S=10 until_ok sinks_fast || true
  echo "export XDG_RUNTIME_DIR=$dir PULSE_SERVER=$PULSE_SERVER"
  ;;
stop)
  for f in readers.pid daemons.pid; do
    [ -f "$dir/$f" ] || continue
    # Newest first: pipewire-pulse before pipewire, the bus last.
    pids=$(tac "$dir/$f")
    for p in $pids; do kill "$p" 2>/dev/null || true; done
    for p in $pids; do
      for _ in $(seq 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
    done
    rm -f "$dir/$f"
  done
  ;;
*) echo "usage: $0 start|stop DIR [pulseaudio|pipewire]" >&2; exit 2 ;;
esac
