#!/usr/bin/env python3
"""Talk figures in a real room: public calls with everyday sounds added to one side,
reviewed by twoears (`review --no-stt`) and, side by side on the same channels, by the VAD
faster-whisper ships (Silero VAD v6, default options). Prints a Markdown table of each
side's talk and how far each added sound moved it from the clean call.

The tuning set is made here from numpy (keys, clicks, synthetic hold music, chimes,
tones, a fan, espeak voices); the held-out set (--held-out) is sounds nobody here made:
the freedesktop sound theme (apt-get install sound-theme-freedesktop) and recorded human
speech from pocketsphinx-testdata (LibriVox), plus a rendered traffic rumble. Read the
held-out set once per change.

Usage: scripts/room_probe.py [--held-out] [--calls a,b] [--only NAME] [--bin BIN] [--shared DIR]
Needs: numpy, sox, espeak-ng; faster-whisper for the peer column (skipped without it).
"""
import argparse
import glob
import json
import os
import subprocess
import sys
import tempfile
import wave

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def db(x):
    return 10 ** (x / 20)


def rms(x):
    return float(np.sqrt(np.mean(np.square(x)))) if len(x) else 0.0


def read_wav(path):
    with wave.open(path) as w:
        sr, ch, n = w.getframerate(), w.getnchannels(), w.getnframes()
        a = np.frombuffer(w.readframes(n), dtype=np.int16).astype(np.float64) / 32768
    return sr, a.reshape(-1, ch)


def write_wav(path, sr, a):
    a = np.clip(a, -1, 32767 / 32768)
    with wave.open(path, "wb") as w:
        w.setnchannels(a.shape[1])
        w.setsampwidth(2)
        w.setframerate(sr)
        w.writeframes((a * 32768).astype(np.int16).tobytes())


def load_any(path, sr):
    """Any file sox reads, as mono at `sr`."""
    out = tempfile.mktemp(suffix=".wav")
    subprocess.run(["sox", path, "-r", str(sr), "-c", "1", "-b", "16", out], check=True,
                   stderr=subprocess.DEVNULL)
    _, a = read_wav(out)
    os.remove(out)
    return a[:, 0]


def bandpass(x, sr, lo, hi):
    f = np.fft.rfft(x)
    freqs = np.fft.rfftfreq(len(x), 1 / sr)
    f[(freqs < lo) | (freqs > hi)] = 0
    return np.fft.irfft(f, len(x))


# ---- sounds made here (the tuning set) ------------------------------------------------

def keys(n, sr, level_db, rng, busy=0.5):
    """Note-taking on a keyboard: bursts of keystrokes (press and release clicks) in
    word rhythm, `busy` of the time; each keystroke's 30 ms RMS at `level_db`."""
    out = np.zeros(n)
    click_len = int(0.03 * sr)
    t = rng.uniform(0.5, 3.0)
    while t < n / sr:
        burst_end = t + rng.uniform(2, 8)
        while t < burst_end and t < n / sr - 0.2:
            for part, gain in ((0, 1.0), (rng.uniform(0.06, 0.11), 0.5)):
                i = int((t + part) * sr)
                tt = np.arange(click_len) / sr
                noise = rng.standard_normal(click_len) * np.exp(-tt / rng.uniform(0.002, 0.005))
                thock = np.sin(2 * np.pi * rng.uniform(150, 400) * tt) * np.exp(-tt / 0.008)
                c = bandpass(noise, sr, 800, 7000) + 0.5 * thock
                c *= gain * db(level_db) / max(rms(c), 1e-9)
                out[i:i + click_len] += c[:max(0, min(click_len, n - i))]
            t += rng.gamma(4, 0.04) + (rng.uniform(0.2, 0.5) if rng.random() < 0.18 else 0)
        t = burst_end + rng.uniform(1, 8) * (1 - busy) / busy
    return out


def clicks(n, sr, level_db, rng):
    """Mouse clicks and a pen tapping the desk, every second or two."""
    out = np.zeros(n)
    t = rng.uniform(0.2, 1.0)
    ln = int(0.015 * sr)
    while t < n / sr - 0.1:
        i = int(t * sr)
        c = rng.standard_normal(ln) * np.exp(-np.arange(ln) / sr / 0.0015)
        c *= db(level_db) / max(rms(c), 1e-9)
        out[i:i + ln] += c
        t += rng.uniform(0.3, 2.5)
    return out


def piano(freq, dur, sr):
    t = np.arange(int(dur * sr)) / sr
    tone = sum(np.sin(2 * np.pi * freq * k * t) / k ** 1.3 * np.exp(-t * (1.5 + k)) for k in range(1, 8))
    return tone * np.minimum(1, t / 0.005)


def music(n, sr, level_db, rng, phone=True):
    """Hold music: a piano-like progression with melody, bass and hi-hat, band-limited to
    a phone line when `phone`."""
    out = np.zeros(n + sr * 3)
    beat = 60 / rng.uniform(84, 120)
    root = 261.63 * 2 ** (rng.integers(-3, 4) / 12)
    scale = [0, 2, 4, 5, 7, 9, 11, 12]
    prog = [[0, 4, 7], [7, 11, 14], [9, 12, 16], [5, 9, 12]]
    b = 0
    while b * beat * sr < n:
        t0 = int(b * beat * sr)
        chord = prog[(b // 4) % 4]
        if b % 4 == 0:
            for s in chord:
                x = 0.35 * piano(root * 2 ** (s / 12), beat * 4, sr)
                out[t0:t0 + len(x)] += x
            x = 0.5 * piano(root / 2 * 2 ** (chord[0] / 12), beat * 2, sr)
            out[t0:t0 + len(x)] += x
        for half in (0, 1):
            if rng.random() < 0.8:
                s = scale[rng.integers(0, len(scale))] + 12
                x = 0.3 * piano(root * 2 ** (s / 12), beat, sr)
                i = t0 + int(half * beat / 2 * sr)
                out[i:i + len(x)] += x
        hh = rng.standard_normal(int(0.03 * sr)) * np.exp(-np.arange(int(0.03 * sr)) / sr / 0.006)
        i = t0 + int(beat / 2 * sr)
        out[i:i + len(hh)] += 0.05 * bandpass(hh, sr, 5000, sr / 2 - 1)
        b += 1
    out = out[:n]
    if phone:
        out = bandpass(out, sr, 300, 3400)
    return out * db(level_db) / max(rms(out), 1e-9)


def chimes(n, sr, level_db, rng):
    """Chat notifications: a two-note chime every 6 to 15 s."""
    out = np.zeros(n)
    t = rng.uniform(1, 5)
    while t < n / sr - 1:
        f = rng.uniform(600, 1200)
        x = np.concatenate([piano(f, 0.15, sr), piano(f * 1.5, 0.35, sr)])
        x *= db(level_db) / max(rms(x), 1e-9)
        i = int(t * sr)
        out[i:i + len(x)] += x[:n - i]
        t += rng.uniform(6, 15)
    return out


def tones(n, sr, level_db, kind):
    t = np.arange(n) / sr
    if kind == "ringback":  # North American: 440 + 480 Hz, 2 s on, 4 s off
        x = (np.sin(2 * np.pi * 440 * t) + np.sin(2 * np.pi * 480 * t)) * ((t % 6) < 2)
    else:  # dial tone: 350 + 440 Hz, continuous
        x = np.sin(2 * np.pi * 350 * t) + np.sin(2 * np.pi * 440 * t)
    return x * db(level_db) / max(rms(x[x != 0]), 1e-9)


def fan(n, sr, level_db, rng):
    t = np.arange(n) / sr
    hum = sum(np.sin(2 * np.pi * 60 * k * t) / k for k in (1, 2, 3))
    hiss = np.cumsum(rng.standard_normal(n)) * 0.02
    hiss -= np.convolve(hiss, np.ones(sr // 20) / (sr // 20), mode="same")
    x = 0.3 * hum / rms(hum) + hiss / rms(hiss)
    return x * db(level_db) / rms(x)


def traffic(n, sr, level_db, rng):
    """A street through a window: rumble, cars passing, a horn now and then."""
    t = np.arange(n) / sr
    rumble = bandpass(rng.standard_normal(n), sr, 30, 400)
    env = 0.4 + sum(np.exp(-((t - c) / 2.0) ** 2) for c in rng.uniform(0, n / sr, max(1, n // sr // 8)))
    x = rumble / rms(rumble) * env
    for c in rng.uniform(0, n / sr - 1, max(1, n // sr // 40)):
        i = int(c * sr)
        m = int(0.5 * sr)
        h = np.sign(np.sin(2 * np.pi * 420 * t[:m])) + np.sign(np.sin(2 * np.pi * 500 * t[:m]))
        x[i:i + m] += 0.8 * bandpass(h, sr, 200, 3000)
    return x * db(level_db) / rms(x)


def espeak_voice(n, sr, rng, voice="en-gb+m3"):
    """A colleague on their own call: espeak sentences with pauses, over the whole call."""
    text = ("Yes, I can send that over this afternoon. The renewal is due at the end of the "
            "month, so we should lock the numbers before then. Did you see the note from "
            "finance? They want the forecast by Thursday. Sure, let me check with the team "
            "and get back to you. No, the shipment left the warehouse on Monday.")
    out = np.zeros(0)
    while len(out) < n:
        f = tempfile.mktemp(suffix=".wav")
        sentence = text.split(". ")[rng.integers(0, 5)]
        subprocess.run(["espeak-ng", "-v", voice, "-s", str(rng.integers(150, 180)), "-w", f, sentence],
                       check=True, stderr=subprocess.DEVNULL)
        out = np.concatenate([out, load_any(f, sr), np.zeros(int(rng.uniform(0.3, 2.0) * sr))])
        os.remove(f)
    return out[:n]


# ---- sounds nobody here made (the held-out set) ---------------------------------------

FREEDESKTOP = "/usr/share/sounds/freedesktop/stereo"


def theme_sounds(n, sr, level_db, rng, names):
    out = np.zeros(n)
    clips = [load_any(os.path.join(FREEDESKTOP, f + ".oga"), sr) for f in names]
    t = rng.uniform(1, 4)
    while t < n / sr - 3:
        x = clips[rng.integers(0, len(clips))]
        x = x * db(level_db) / max(rms(x[np.abs(x) > 1e-3]), 1e-9)
        i = int(t * sr)
        out[i:i + len(x)] += x[:n - i]
        t += len(x) / sr + rng.uniform(5, 12)
    return out


def librivox(n, sr, rng):
    files = sorted(glob.glob("/usr/share/pocketsphinx/test/data/librivox/*.wav"))
    clips = [load_any(f, sr) for f in files]
    out = np.zeros(0)
    while len(out) < n:
        out = np.concatenate([out, clips[rng.integers(0, len(clips))], np.zeros(int(rng.uniform(0.3, 1.5) * sr))])
    return out[:n]


# ---- probes ---------------------------------------------------------------------------

def speech_rms(a, truth, side, sr):
    parts = [a[int(u["start_s"] * sr):int(u["end_s"] * sr)] for u in truth["utterances"] if u["side"] == side]
    return rms(np.concatenate(parts))


def quiet_gap(truth, at_s):
    """A moment near `at_s` when neither side speaks: where a hold or a ringback goes."""
    us = sorted(truth["utterances"], key=lambda u: u["start_s"])
    best = None
    for a, b in zip(us, us[1:]):
        end = max(x["end_s"] for x in us if x["start_s"] <= a["start_s"])
        if b["start_s"] - end > 0.3:
            mid = (end + b["start_s"]) / 2
            if best is None or abs(mid - at_s) < abs(best - at_s):
                best = mid
    return best


def probes(held_out):
    """(name, side, how): `how` is 'add' (over the whole call) or 'insert' (a stretch
    of its own at a quiet moment, the other side silent)."""
    if not held_out:
        return [
            ("keys -30 dBFS", "rep", "add", lambda n, sr, r: keys(n, sr, -30, r)),
            ("keys -20 dBFS", "rep", "add", lambda n, sr, r: keys(n, sr, -20, r)),
            ("clicks -25 dBFS", "rep", "add", lambda n, sr, r: clicks(n, sr, -25, r)),
            ("fan -45 dBFS", "rep", "add", lambda n, sr, r: fan(n, sr, -45, r)),
            ("chimes -20 dBFS", "prospect", "add", lambda n, sr, r: chimes(n, sr, -20, r)),
            ("hold music 30 s", "prospect", "insert30", lambda n, sr, r: music(n, sr, -22, r)),
            ("hold music 60 s, loud", "prospect", "insert60", lambda n, sr, r: music(n, sr, -14, r)),
            ("ringback 12 s", "prospect", "insert12", lambda n, sr, r: tones(n, sr, -20, "ringback")),
            ("voice -14 dB", "rep", "voice-14", lambda n, sr, r: espeak_voice(n, sr, r)),
            ("voice -20 dB", "rep", "voice-20", lambda n, sr, r: espeak_voice(n, sr, r)),
            ("voice -29 dB", "rep", "voice-29", lambda n, sr, r: espeak_voice(n, sr, r)),
        ]
    return [
        ("theme chimes -20 dBFS", "prospect", "add",
         lambda n, sr, r: theme_sounds(n, sr, -20, r, ["message-new-instant", "message", "bell", "complete",
                                                        "dialog-information", "dialog-warning"])),
        ("theme sounds on the mic -25 dBFS", "rep", "add",
         lambda n, sr, r: theme_sounds(n, sr, -25, r, ["camera-shutter", "trash-empty", "device-added",
                                                        "alarm-clock-elapsed", "audio-volume-change"])),
        ("theme ringtone 30 s", "prospect", "insert30",
         lambda n, sr, r: np.resize(load_any(f"{FREEDESKTOP}/phone-incoming-call.oga", sr), n) * db(-6)),
        ("theme ringback 20 s", "prospect", "insert20",
         lambda n, sr, r: np.resize(load_any(f"{FREEDESKTOP}/phone-outgoing-calling.oga", sr), n)),
        ("traffic -35 dBFS", "rep", "add", lambda n, sr, r: traffic(n, sr, -35, r)),
        ("recorded voice -20 dB", "rep", "voice-20", lambda n, sr, r: librivox(n, sr, r)),
        ("recorded voice -25 dB", "rep", "voice-25", lambda n, sr, r: librivox(n, sr, r)),
    ]


def make_probe(call_wav, truth, probe, out, seed):
    name, side, how, make = probe
    sr, a = read_wav(call_wav)
    ch = 0 if side == "rep" else 1
    rng = np.random.default_rng(seed)
    a = a.copy()
    if how == "add":
        a[:, ch] += make(len(a), sr, rng)
    elif how.startswith("insert"):
        secs = float(how[len("insert"):])
        at = int(quiet_gap(truth, truth["duration_s"] / 2) * sr)
        block = np.zeros((int(secs * sr), a.shape[1]))
        block[:, ch] = make(len(block), sr, rng)
        a = np.concatenate([a[:at], block, a[at:]])
    elif how.startswith("voice"):
        rel = float(how[len("voice"):])
        v = make(len(a), sr, rng)
        target = speech_rms(a[:, ch], truth, "rep", sr) * db(rel)
        a[:, ch] += v * target / rms(v[np.abs(v) > 1e-3])
    write_wav(out, sr, a)


def twoears(bin_, wav):
    r = tempfile.mktemp(suffix=".json")
    subprocess.run([bin_, "review", wav, "--no-stt", "--json", r, "-q"], check=True)
    rep = json.load(open(r))
    os.remove(r)
    t = rep["talk"]
    return t["rep_s"], t["prospect_s"], rep


def peer(wav):
    try:
        from faster_whisper.vad import VadOptions, get_speech_timestamps
    except ImportError:
        return None
    out = []
    for ch in (1, 2):
        a = load_any_channel(wav, ch)
        ts = get_speech_timestamps(a.astype(np.float32), VadOptions())
        out.append(sum(t["end"] - t["start"] for t in ts) / 16000)
    return tuple(out)


def load_any_channel(path, ch):
    out = tempfile.mktemp(suffix=".wav")
    subprocess.run(["sox", path, "-r", "16000", "-b", "16", out, "remix", str(ch)], check=True,
                   stderr=subprocess.DEVNULL)
    _, a = read_wav(out)
    os.remove(out)
    return a[:, 0]


def pct(x, base):
    return f"{100 * (x - base) / base:+.1f}%"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--held-out", action="store_true")
    ap.add_argument("--calls", default="discovery_good,monologue_pitch")
    ap.add_argument("--bin", default=os.path.join(ROOT, "target/release/twoears"))
    ap.add_argument("--shared", default=os.path.join(ROOT, "..", "shared"))
    ap.add_argument("--no-peer", action="store_true")
    ap.add_argument("--only", default="", help="probes whose name contains this")
    args = ap.parse_args()
    work = tempfile.mkdtemp()
    corpus = os.path.join(args.shared, "corpus")
    scen = []
    for c in args.calls.split(","):
        hits = glob.glob(f"{corpus}/scenarios/{c}.json") + glob.glob(f"{corpus}/neural/{c}.json") + \
            glob.glob(f"{ROOT}/tests/scenarios/{c}.json")
        if not hits:
            sys.exit(f"no scenario {c}")
        scen.append(hits[0])
    subprocess.run([sys.executable, f"{corpus}/make_calls.py", *scen, "--out", work], check=True,
                   stdout=subprocess.DEVNULL)
    print("| call | added sound | side | twoears rep | twoears prospect | Silero v6 rep | Silero v6 prospect | twoears set aside |")
    print("|---|---|---|---|---|---|---|---|")
    worst = 0.0
    for s in scen:
        call = os.path.splitext(os.path.basename(s))[0]
        wav, truth = f"{work}/{call}.wav", json.load(open(f"{work}/{call}.json"))
        t_rep, t_pro, _ = twoears(args.bin, wav)
        p0 = None if args.no_peer else peer(wav)
        tr = truth["talk"]
        print(f"| {call} | none (truth rep {tr['rep_s']:.1f} s, prospect {tr['prospect_s']:.1f} s) | | "
              f"{t_rep:.1f} s | {t_pro:.1f} s | {p0[0]:.1f} s | {p0[1]:.1f} s | |" if p0 else
              f"| {call} | none | | {t_rep:.1f} s | {t_pro:.1f} s | | | |")
        for i, probe in enumerate(probes(args.held_out)):
            if args.only not in probe[0]:
                continue
            f = f"{work}/{call}-{i}.wav"
            make_probe(wav, truth, probe, f, seed=i + 17)
            rep, pro, report = twoears(args.bin, f)
            room = report.get("room", {})
            aside, hold = room.get("set_aside", {}), room.get("hold_s")
            p = None if args.no_peer else peer(f)
            moved = max(abs(rep - t_rep) / t_rep, abs(pro - t_pro) / t_pro)
            worst = max(worst, moved)
            extra = ", ".join(f"{k[:-2].replace('_', ' ')} {v:.1f} s" for k, v in aside.items() if v)
            if hold:
                extra = (extra + ", " if extra else "") + f"hold {hold:.1f} s"
            print(f"| {call} | {probe[0]} | {probe[1]} | {pct(rep, t_rep)} | {pct(pro, t_pro)} | "
                  + (f"{pct(p[0], p0[0])} | {pct(p[1], p0[1])} |" if p else " | |") + f" {extra} |")
    print(f"\nworst move of one side's talk (twoears): {100 * worst:.1f}%")


if __name__ == "__main__":
    main()
