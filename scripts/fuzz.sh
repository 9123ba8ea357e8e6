#!/bin/sh
# Runs each fuzz target for a bounded time (default 60 s each): `scripts/fuzz.sh [SECONDS]`.
# Needs the nightly toolchain and cargo-fuzz (`cargo install cargo-fuzz`). A crash stops
# the run and leaves its input under fuzz/artifacts/TARGET/; keep it as a regression test.
set -eu
cd "$(dirname "$0")/.."
secs="${1:-60}"
for target in ct2_reader ggml_header; do
    echo "fuzzing $target for ${secs}s"
    cargo +nightly fuzz run "$target" -- -max_total_time="$secs" -rss_limit_mb=2048
done
