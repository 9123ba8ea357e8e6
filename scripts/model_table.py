#!/usr/bin/env python3
"""The model table of BENCHMARKS.md: each Whisper model on the corpus (alerts, WER, review
time), on real human speech (../shared/corpus/real) and on a real two-person telephone
call (the pyannote-audio 4.0.7 wheel's sample, split into two sides by its RTTM turns).

  scripts/model_table.py [MODEL ...]        (default: tiny.en base; installed names)

Needs the release binary, the models installed (`twoears model install base`), the corpus
rendered by make_calls.py (done here), pip (for the pyannote wheel).
"""
import json, os, re, subprocess, sys, tempfile, time, wave, zipfile

import numpy as np

root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
corpus = os.path.join(root, "..", "shared", "corpus")
sys.path.insert(0, corpus)
from score import wer  # noqa: E402

BIN = os.path.join(root, "target", "release", "twoears")


def review(args, out):
    t = time.monotonic()
    subprocess.run([BIN, "review", "-q", *args, "--json", out], check=True, stderr=subprocess.DEVNULL)
    return time.monotonic() - t, json.load(open(out))


def side_text(report, side):
    return " ".join(s["text"] for s in report["segments"] if s["side"] == side)


def pyannote_sides(tmp):
    """Writes rep.wav / prospect.wav (one speaker each, the other silenced); returns the
    reference text per side."""
    subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:", "-q",
                    "pyannote-audio==4.0.7", "-d", tmp], check=True)
    whl = [f for f in os.listdir(tmp) if f.startswith("pyannote_audio-4.0.7")][0]
    z = zipfile.ZipFile(os.path.join(tmp, whl))
    for n in ("sample.wav", "sample.rttm", "sample.stm"):
        open(os.path.join(tmp, n), "wb").write(z.read("pyannote/audio/sample/" + n))
    w = wave.open(os.path.join(tmp, "sample.wav"))
    rate, audio = w.getframerate(), np.frombuffer(w.readframes(w.getnframes()), dtype=np.int16)
    turns = {}
    for line in open(os.path.join(tmp, "sample.rttm")):
        f = line.split()
        turns.setdefault(f[7], []).append((float(f[3]), float(f[3]) + float(f[4])))
    stm = [l.split(None, 5) for l in open(os.path.join(tmp, "sample.stm")) if l.strip()]
    refs = {}
    for name, (spk, tt) in zip(("rep", "prospect"), sorted(turns.items())):
        keep = np.zeros_like(audio)
        for a, b in tt:
            keep[int(a * rate):int(b * rate)] = audio[int(a * rate):int(b * rate)]
        with wave.open(os.path.join(tmp, name + ".wav"), "wb") as o:
            o.setnchannels(1); o.setsampwidth(2); o.setframerate(rate); o.writeframes(keep.tobytes())
        # The STM speaker whose lines overlap this RTTM speaker's turns the most.
        def overlap(who):
            return sum(max(0, min(b, float(l[4])) - max(a, float(l[3]))) for l in stm if l[2] == who for a, b in tt)
        who = max({l[2] for l in stm}, key=overlap)
        refs[name] = " ".join(l[5].strip() for l in stm if l[2] == who)
    return refs


def main():
    models = sys.argv[1:] or ["tiny.en", "base"]
    tmp = tempfile.mkdtemp()
    calls = os.path.join(tmp, "calls")
    scen = [os.path.join(corpus, d, f) for d in ("scenarios", "neural") for f in sorted(os.listdir(os.path.join(corpus, d)))]
    scen += [os.path.join(root, "tests", "scenarios", f) for f in sorted(os.listdir(os.path.join(root, "tests", "scenarios")))]
    subprocess.run([sys.executable, os.path.join(corpus, "make_calls.py"), *scen, "--out", calls], check=True,
                   stdout=subprocess.DEVNULL)
    names = sorted(f[:-4] for f in os.listdir(calls) if f.endswith(".wav"))
    refs = pyannote_sides(tmp)
    real = json.load(open(os.path.join(corpus, "real", "real.json")))["clips"]
    print("| model | corpus calls passing | alerts found | false alerts | corpus WER rep / prospect | real clips WER | telephone call WER rep / prospect | corpus review time |")
    print("|---|---|---|---|---|---|---|---|")
    for m in models:
        pairs, secs = [], 0.0
        for n in names:
            s, _ = review([os.path.join(calls, n + ".wav"), "--model", m], os.path.join(tmp, f"{n}.{m}.json"))
            secs += s
            pairs += [os.path.join(calls, n + ".json"), os.path.join(tmp, f"{n}.{m}.json")]
        out = subprocess.run([sys.executable, os.path.join(corpus, "score.py"), *pairs], capture_output=True, text=True).stdout
        total = out.strip().splitlines()[-1]
        passing = re.search(r"(\d+/\d+) calls pass", total).group(1)
        found = re.search(r"alerts (\d+/\d+) found", total).group(1)
        false = re.search(r"(\d+) false", total).group(1)
        wr = [float(x) for x in re.findall(r"wer=rep ([0-9.]+)", out)]
        wp = [float(x) for x in re.findall(r"prospect ([0-9.]+)$", out, re.M)]
        # Real clips: each as the rep against silence.
        rr, rh = [], []
        for clip in real:
            f = clip["file"]
            if f.startswith("deb:"):
                pkg, suffix = f[4:].split("/", 1)
                files = subprocess.run(["dpkg", "-L", pkg], capture_output=True, text=True).stdout.split()
                f = [x for x in files if x.endswith("/" + suffix)][0]
            else:
                f = os.path.join(corpus, "real", f)
            sil = os.path.join(tmp, "silence.wav")
            subprocess.run(["sox", f, sil, "vol", "0"], check=True)
            _, r = review(["--rep", f, "--prospect", sil, "--model", m], os.path.join(tmp, "real.json"))
            rr.append(clip["text"]); rh.append(side_text(r, "rep"))
        _, p = review(["--rep", os.path.join(tmp, "rep.wav"), "--prospect", os.path.join(tmp, "prospect.wav"),
                       "--model", m], os.path.join(tmp, "phone.json"))
        print(f"| {m} | {passing} | {found} | {false} | {sum(wr)/len(wr):.3f} / {sum(wp)/len(wp):.3f} | "
              f"{wer(' '.join(rr), ' '.join(rh)):.3f} | {wer(refs['rep'], side_text(p, 'rep')):.2f} / "
              f"{wer(refs['prospect'], side_text(p, 'prospect')):.2f} | {secs:.1f} s |", flush=True)


if __name__ == "__main__":
    main()
