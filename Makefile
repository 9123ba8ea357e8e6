# twoears: `make demo` sets everything up and reviews the bundled example call;
# `make test` runs every check CI runs.
BIN := target/release/twoears

.PHONY: demo test setup build model lint unit integration acceptance bench bench-live screenshot

demo: setup build model
	$(BIN) review examples/call.flac --json target/demo-report.json --html target/demo-report.html
	@echo "report written to target/demo-report.json; open target/demo-report.html in a browser"

setup:
	@scripts/setup.sh

build:
	cargo build --release

model: build
	$(BIN) model install

lint:
	cargo fmt --all -- --check
	cargo clippy --release --all-targets -- -D warnings

# Unit tests run in parallel; the integration tests run the real binary and whisper, one
# at a time (whisper.cpp spin-waits its threads). The live tests run twice, on PulseAudio
# and on PipeWire (through pipewire-pulse, as most desktops have it), both at once
# (scripts/live_tests.sh). The tests' calls go to a history of their own, never the user's.
LIVE := listen background
OFFLINE := $(filter-out $(LIVE),$(basename $(notdir $(wildcard tests/*.rs))))
unit integration acceptance: export TWOEARS_DB := $(CURDIR)/target/test-history.sqlite

unit:
	cargo test --release --lib

# The live tests that take many minutes of real time start first and run beside the rest
# (scripts/live_long.sh).
integration: model
	scripts/live_long.sh start
	status=0; \
	cargo test --release $(addprefix --test ,$(OFFLINE)) -- --test-threads=1 || status=1; \
	scripts/live_tests.sh || status=1; \
	scripts/live_long.sh wait || status=1; \
	exit $$status

acceptance: model
	scripts/acceptance.sh

test: setup lint unit integration acceptance

bench: setup model
	scripts/bench.sh

# Live: every public call played in real time through `listen` (about 12 minutes):
# scores, alert latency, CPU, RSS, audio-path latency.
bench-live: setup model
	scripts/bench_live.sh

# The README's picture of the call page: the example call's page in headless Chromium.
screenshot: setup model
	scripts/screenshot.sh
