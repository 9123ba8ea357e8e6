#!/bin/sh
# Runs each fuzz target for a bounded time (default 60 s each): `scripts/fuzz.sh [SECONDS]`.
# Needs the nightly toolchain and cargo-fuzz (`cargo install cargo-fuzz`). A crash stops
# the run and leaves its input under fuzz/artifacts/TARGET/; keep it as a regression test.
set -eu
cd "$(dirname "$0")/.."
secs="${1:-60}"
for target in ct2_reader ggml_header rules_parser audio_input; do
    echo "fuzzing $target for ${secs}s"
    # Memory is held to 2 GB resident; a single allocation may be larger, since symphonia
    # allocates a block a header claims zeroed and untouched (RSS stays small; see
    # tests/data/fuzz/).
    cargo +nightly fuzz run -O "$target" -- -max_total_time="$secs" -rss_limit_mb=2048 \
        -malloc_limit_mb=4096
done
