#!/usr/bin/env python3
"""Live end to end: plays rendered corpus calls in real time through a private headless
PulseAudio (rep channel into the virtual mic, prospect channel into the call output),
runs `twoears listen --events - --json --record`, and checks:
  - the final report against the call's truth with score.py (the limits review meets);
  - review of the recording against the live report (talk seconds within 2%);
and prints, per alert, its wall-clock latency after the moment its condition became true
in the audio (talk rules: from the truth's utterances; pitch: from the end of the phrase
the alert quotes), plus the listen process's CPU share and peak RSS.

  listen_check.py BIN CALLS_DIR NAME... [--no-stt] [--score-args ...]
CALLS_DIR holds NAME.wav and NAME.json from make_calls.py. Exits 1 when a check fails.
"""
import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def talk_ratio_onset(truth):
    """First time >= min_elapsed at which the rep's share of the last window passes max."""
    r = truth["rules"]
    utt = truth["utterances"]

    def spoken(side, lo, hi):
        return sum(max(0.0, min(u["end_s"], hi) - max(u["start_s"], lo)) for u in utt if u["side"] == side)

    t = r["talk_ratio_min_elapsed_s"]
    while t <= truth["duration_s"]:
        lo = t - r["talk_ratio_window_s"]
        rep, pro = spoken("rep", lo, t), spoken("prospect", lo, t)
        if rep + pro > 0 and rep / (rep + pro) > r["talk_ratio_max"]:
            return t
        t += 0.01
    return None


def monologue_onset(truth, at_s):
    """When the rep's uninterrupted run that contains at_s passed monologue_max_s."""
    utt = sorted(truth["utterances"], key=lambda u: u["start_s"])
    start = None
    for u in utt:
        if u["start_s"] > at_s:
            break
        if u["side"] == "prospect":
            start = None
        elif start is None:
            start = u["start_s"]
    return None if start is None else start + truth["rules"]["monologue_max_s"]


def words(text):
    return re.sub(r"[^a-z0-9' ]+", " ", text.lower()).split()


def phrase_end(truth, alert):
    """End time of the quoted phrase in the rep utterance it came from: the latest run of
    consecutive quote words found there (the transcript has errors, the quote may be cut
    short), extended by the quote words after it, spread over the utterance at a constant
    speaking rate."""
    quote = words(alert.get("evidence", "").split('"')[1] if '"' in alert.get("evidence", "") else "")
    for u in truth["utterances"]:
        if u["side"] != "rep" or u["start_s"] > alert["at_s"]:
            continue
        w = words(u["text"])
        for k in (4, 3):
            for q in range(len(quote) - k, -1, -1):
                run = quote[q:q + k]
                hits = [i for i in range(len(w) - k + 1) if w[i:i + k] == run]
                if hits:
                    last = min(len(w), hits[0] + len(quote) - q)
                    chars = len(" ".join(w[:last]))
                    return u["start_s"] + (u["end_s"] - u["start_s"]) * chars / len(" ".join(w))
    return None


def run_call(binary, calls, name, no_stt, pulse_dir, score_py):
    wav, truth_path = os.path.join(calls, name + ".wav"), os.path.join(calls, name + ".json")
    truth = json.load(open(truth_path))
    out = tempfile.mkdtemp(prefix=f"listen-{name}-")
    rep, pro = os.path.join(out, "rep.wav"), os.path.join(out, "prospect.wav")
    subprocess.run(["sox", wav, rep, "remix", "1"], check=True)
    subprocess.run(["sox", wav, pro, "remix", "2"], check=True)
    env = dict(os.environ, XDG_RUNTIME_DIR=pulse_dir, PULSE_SERVER=f"unix:{pulse_dir}/pulse/native")
    report, rec = os.path.join(out, "live.json"), os.path.join(out, "rec.wav")
    args = [binary, "listen", "--events", "-", "--json", report, "--record", rec,
            "--duration", str(truth["duration_s"] + 2.0)]
    if no_stt:
        args.append("--no-stt")
    proc = subprocess.Popen(args, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    ready = threading.Event()
    errs, events = [], []

    def read_err():
        for line in proc.stderr:
            errs.append(line.rstrip())
            if "listening:" in line:
                ready.set()

    def read_out():
        for line in proc.stdout:
            events.append((time.monotonic(), line))

    threads = [threading.Thread(target=read_err), threading.Thread(target=read_out)]
    for t in threads:
        t.start()
    if not ready.wait(30):
        proc.kill()
        sys.exit(f"{name}: listen did not start: {errs}")
    t0 = time.monotonic()
    players = [subprocess.Popen(["paplay", "--device=micsink", rep], env=env),
               subprocess.Popen(["paplay", "--device=callsink", pro], env=env)]
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.monotonic() - t0
    proc.returncode = os.waitstatus_to_exitcode(status)
    for t in threads:
        t.join()
    for p in players:
        p.wait()
    problems = []
    if proc.returncode != 0:
        problems.append(f"listen exited {proc.returncode}: {errs[-3:]}")
        return problems, []

    # Scored like review.
    score = [sys.executable, score_py, truth_path, report] + (["--talk-only"] if no_stt else [])
    s = subprocess.run(score, capture_output=True, text=True)
    print(s.stdout.strip())
    if s.returncode != 0:
        problems.append("score.py failed")

    # The recording, reviewed, hears what listen heard.
    rr = os.path.join(out, "rec.review.json")
    subprocess.run([binary, "review", rec, "--no-stt", "-q", "--json", rr], check=True)
    live, again = json.load(open(report)), json.load(open(rr))
    for key in ("rep_s", "prospect_s"):
        a, b = live["talk"][key], again["talk"][key]
        if abs(a - b) > 0.02 * max(a, 1e-9):
            problems.append(f"recording {key} {b} vs live {a}")

    rows = []
    for at_wall, line in events:
        ev = json.loads(line)
        if ev.get("type") != "alert":
            continue
        if ev["kind"] == "talk_ratio":
            cond = talk_ratio_onset(truth)
        elif ev["kind"] == "monologue":
            cond = monologue_onset(truth, ev["at_s"])
        else:
            cond = phrase_end(truth, ev)
        latency = None if cond is None else at_wall - t0 - cond
        rows.append((name, ev["kind"], ev["at_s"], cond, latency))
    cpu = (usage.ru_utime + usage.ru_stime) / wall / (os.cpu_count() or 1)
    cap = live.get("live", {}).get("capture", [])
    print(f"{name}: {wall:.1f} s wall, CPU {100 * cpu:.1f}% of {os.cpu_count()} cores, "
          f"peak RSS {usage.ru_maxrss / 1024:.0f} MB, stt dropped "
          f"{(live.get('stt') or {}).get('dropped_chunks', 0)} chunks, drift ppm "
          f"{[c.get('drift_ppm') for c in cap]}, audio path ms (median, p95, max) "
          f"{live.get('live', {}).get('audio_path_ms')}, recording vs live "
          f"rep {again['talk']['rep_s']}/{live['talk']['rep_s']} s")
    return problems, rows


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("binary")
    ap.add_argument("calls")
    ap.add_argument("names", nargs="+")
    ap.add_argument("--no-stt", action="store_true")
    ap.add_argument("--score", default=os.path.join(ROOT, "..", "shared", "corpus", "score.py"))
    a = ap.parse_args()
    pulse_dir = tempfile.mkdtemp(prefix="twoears-pulse-")
    subprocess.run([os.path.join(ROOT, "scripts", "pulse.sh"), "start", pulse_dir], check=True,
                   stdout=subprocess.DEVNULL)
    problems, rows = [], []
    try:
        for name in a.names:
            p, r = run_call(a.binary, a.calls, name, a.no_stt, pulse_dir, a.score)
            problems += [f"{name}: {x}" for x in p]
            rows += r
    finally:
        subprocess.run([os.path.join(ROOT, "scripts", "pulse.sh"), "stop", pulse_dir])
    print("alert latency (wall clock after the condition was true in the audio):")
    for name, kind, at, cond, lat in rows:
        c = "?" if cond is None else f"{cond:.2f}"
        l = "?" if lat is None else f"{lat:+.2f} s"
        print(f"  {name:<20} {kind:<11} at {at:7.2f}  condition {c:>7}  latency {l}")
    for p in problems:
        print("FAIL", p)
    sys.exit(1 if problems else 0)


if __name__ == "__main__":
    main()
