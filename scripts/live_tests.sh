#!/usr/bin/env bash
# The live tests (listen, background) on PulseAudio and on PipeWire at the same time: each
# test plays its calls in real time into a private server, so the two runs mostly wait on
# the clock, and side by side they take the time of one. Within a run the tests go one at
# a time; the one test that transcribes takes a lock the other run honours (whisper.cpp
# spin-waits its threads). Each run has its own history file and log; the logs are
# printed whole, one after the other.
set -uo pipefail
cd "$(dirname "$0")/.."

cargo test --release --test listen --test background --no-run || exit 1

# One server's suites in the given order. The orders are opposite so that the one test
# that transcribes (in background) seldom waits for the other run's.
suites() {
    local server=$1 status=0
    shift
    for suite in "$@"; do
        TWOEARS_SOUND_SERVER=$server TWOEARS_DB="$PWD/target/test-history-$server.sqlite" \
            cargo test --release --test "$suite" -- --test-threads=1 || status=1
    done
    return $status
}

pids=()
suites pulseaudio background listen >target/live-pulseaudio.log 2>&1 &
pids+=($!)
suites pipewire listen background >target/live-pipewire.log 2>&1 &
pids+=($!)

failed=0
for i in 0 1; do
    server=$([ "$i" = 0 ] && echo pulseaudio || echo pipewire)
    if wait "${pids[$i]}"; then status=passed; else status=FAILED; failed=1; fi
    echo "=== live tests on $server: $status"
    cat "target/live-$server.log"
done
exit $failed
