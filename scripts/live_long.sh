#!/usr/bin/env bash
# The live tests that take many minutes of real time (the background monitor over calls
# 4.5 min apart, `#[ignore]`d in tests/background.rs), on PulseAudio, run beside the other
# tests: they mostly wait on the clock, and the machine being busy meanwhile is part of
# what they test (a rep's machine is never idle).
#   scripts/live_long.sh start   builds them and starts them in the background
#   scripts/live_long.sh wait    waits for them, prints their log, exits with their status
set -uo pipefail
cd "$(dirname "$0")/.."
log=target/live-long.log
status=target/live-long.status
case ${1:-} in
start)
    rm -f "$status"
    cargo test --release --test background --no-run || exit 1
    (
        TWOEARS_SOUND_SERVER=pulseaudio TWOEARS_DB="$PWD/target/test-history-long.sqlite" \
            cargo test --release --test background -- --ignored --test-threads=1 >"$log" 2>&1
        echo $? >"$status"
    ) </dev/null &
    ;;
wait)
    while [ ! -f "$status" ]; do sleep 5; done
    code=$(cat "$status")
    echo "=== long live tests on pulseaudio: $([ "$code" = 0 ] && echo passed || echo FAILED)"
    cat "$log"
    exit "$code"
    ;;
*) echo "usage: $0 start|wait" >&2; exit 2 ;;
esac
