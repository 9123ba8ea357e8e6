#!/usr/bin/env python3
"""How the transcripts read (issue 33): word error rate per side, phrase loops, and the
share of chunks that end with a sentence mark, per voice.

  scripts/transcript_probe.py [--bin PATH] [--voices default,espeak,piper] [--no-phone]

- The real two-person telephone call (the pyannote-audio 4.0.7 wheel's sample, split into
  two sides by its RTTM turns, as scripts/model_table.py does): WER per side and loops.
- The public calls (../shared/corpus scenarios and neural, tests/scenarios) rendered in
  several voice sets: `default` (as written), `espeak` (other espeak-ng voices and speeds
  on both sides), `piper` (both sides Piper joe): WER per side, the share of chunks whose
  text ends in . ? or !, and marks per 100 words.

A loop is a phrase of 1 to 4 words said three times or more in a row within one chunk.
"""
import argparse, json, os, re, subprocess, sys, tempfile

root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
corpus = os.path.join(root, "..", "shared", "corpus")
sys.path.insert(0, corpus)
sys.path.insert(0, os.path.join(root, "scripts"))
from score import wer  # noqa: E402
from model_table import pyannote_sides  # noqa: E402
from calls_eval import VOICE_SETS, piper_env  # noqa: E402


def loops(text):
    words = re.findall(r"[a-z']+", text.lower())
    found = []
    for n in range(1, 5):
        for i in range(len(words) - 3 * n + 1):
            a = words[i:i + n]
            if a == words[i + n:i + 2 * n] == words[i + 2 * n:i + 3 * n]:
                found.append(" ".join(a))
    return sorted(set(found))


def review(bin_, args, out):
    subprocess.run([bin_, "review", "-q", *args, "--json", out], check=True, stderr=subprocess.DEVNULL)
    return json.load(open(out))


def side_text(report, side):
    return " ".join(s["text"] for s in report["segments"] if s["side"] == side)


def marks(segments):
    texts = [s["text"].strip() for s in segments if s["text"].strip()]
    ended = sum(1 for t in texts if t[-1] in ".?!")
    words = sum(len(t.split()) for t in texts)
    n_marks = sum(len(re.findall(r"[.?!](\s|$)", t)) for t in texts)
    return ended, len(texts), n_marks, words


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", default=os.path.join(root, "target", "release", "twoears"))
    ap.add_argument("--voices", default="default,espeak,piper")
    ap.add_argument("--no-phone", action="store_true")
    a = ap.parse_args()
    tmp = tempfile.mkdtemp()
    env = piper_env(tmp) if "piper" in a.voices else None
    if not a.no_phone:
        refs = pyannote_sides(tmp)
        p = review(a.bin, ["--rep", os.path.join(tmp, "rep.wav"), "--prospect", os.path.join(tmp, "prospect.wav")],
                   os.path.join(tmp, "phone.json"))
        for side in ("rep", "prospect"):
            hyp = side_text(p, side)
            print(f"telephone call {side}: WER {wer(refs[side], hyp):.3f}, loops {loops(hyp) or 'none'}")
            for s in p["segments"]:
                if s["side"] == side:
                    print(f"    {s['start_s']:6.1f} {s['text']}")
    scen = [os.path.join(corpus, d, f) for d in ("scenarios", "neural") for f in sorted(os.listdir(os.path.join(corpus, d)))]
    scen += [os.path.join(root, "tests", "scenarios", f) for f in sorted(os.listdir(os.path.join(root, "tests", "scenarios")))
             if f.endswith(".json")]
    for vs in a.voices.split(","):
        d = os.path.join(tmp, vs)
        os.makedirs(d)
        files = []
        for s in scen:
            sc = json.load(open(s))
            if VOICE_SETS[vs]:
                sc.update(VOICE_SETS[vs])
                for t in sc["turns"]:
                    t.pop("voice", None)
            f = os.path.join(d, os.path.basename(s))
            json.dump(sc, open(f, "w"))
            files.append(f)
        calls = os.path.join(d, "calls")
        subprocess.run([sys.executable, os.path.join(corpus, "make_calls.py"), *files, "--out", calls], check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
        tot = {"rep": [0, 0, 0, 0], "prospect": [0, 0, 0, 0]}
        refs_all = {"rep": [], "prospect": []}
        hyps_all = {"rep": [], "prospect": []}
        all_loops = []
        for f in files:
            name = os.path.basename(f)[:-5]
            truth = json.load(open(os.path.join(calls, name + ".json")))
            r = review(a.bin, [os.path.join(calls, name + ".wav")], os.path.join(d, name + ".report.json"))
            for side in ("rep", "prospect"):
                segs = [s for s in r["segments"] if s["side"] == side]
                for i, x in enumerate(marks(segs)):
                    tot[side][i] += x
                refs_all[side].append(" ".join(u["text"] for u in truth["utterances"] if u["side"] == side))
                hyps_all[side].append(" ".join(s["text"] for s in segs))
                all_loops += [f"{name}/{side}: {l}" for s in segs for l in loops(s["text"])]
        for side in ("rep", "prospect"):
            e, n, m, w = tot[side]
            print(f"{vs:8} {side:8} WER {wer(' '.join(refs_all[side]), ' '.join(hyps_all[side])):.3f}  "
                  f"chunks ending in a mark {e}/{n} ({e / max(n, 1):.0%})  marks per 100 words {100 * m / max(w, 1):.1f}")
        if all_loops:
            print(f"{vs:8} loops: {all_loops}")


if __name__ == "__main__":
    main()
