#!/usr/bin/env python3
"""Background monitor over a long run: `twoears listen --background --record` on a private
headless sound server for MINUTES minutes; the bundled example call (94 s, both sides) is
played every CALL_EVERY minutes, silence between. Samples the process's CPU time and RSS
every 5 s and prints: CPU share between calls (VAD only) and during calls, RSS after each
call and at the end (flat or not), calls written. Figures go into BENCHMARKS.md.

  scripts/bench_background.py [MINUTES=12] [CALL_EVERY=4]

$TWOEARS_BIN runs another binary (a copy, so a long run survives a rebuild).
"""
import os, subprocess, sys, tempfile, time, glob

root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
minutes = float(sys.argv[1]) if len(sys.argv) > 1 else 12
every = float(sys.argv[2]) if len(sys.argv) > 2 else 4
tick = os.sysconf("SC_CLK_TCK")

work = tempfile.mkdtemp()
srv = os.path.join(work, "srv")
subprocess.run([f"{root}/scripts/pulse.sh", "start", srv], check=True, stdout=subprocess.DEVNULL)
env = dict(os.environ, XDG_RUNTIME_DIR=srv, PULSE_SERVER=f"unix:{srv}/pulse/native")
sides = []
for ch, name in (("1", "rep"), ("2", "prospect")):
    p = os.path.join(work, name + ".wav")
    subprocess.run(["sox", f"{root}/examples/call.flac", p, "remix", ch], check=True)
    sides.append(p)
calls = os.path.join(work, "calls")
proc = subprocess.Popen(
    [os.environ.get("TWOEARS_BIN", f"{root}/target/release/twoears"), "listen", "--background", "--out", calls, "--record", "-q",
     "--duration", str(minutes * 60)],
    env=env, stderr=subprocess.PIPE, text=True)


def sample():
    with open(f"/proc/{proc.pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    cpu = (int(fields[11]) + int(fields[12])) / tick
    with open(f"/proc/{proc.pid}/status") as f:
        rss = next(int(l.split()[1]) for l in f if l.startswith("VmRSS")) / 1024
    return time.time(), cpu, rss


start = time.time()
samples, players, next_call, playing_until = [], [], 60.0, 0.0
while proc.poll() is None:
    now = time.time() - start
    if now >= next_call and now < minutes * 60 - 100:
        players = [subprocess.Popen(["paplay", f"--device={s}", w], env=env)
                   for s, w in (("micsink", sides[0]), ("callsink", sides[1]))]
        playing_until = now + 94 + 62  # the call, then its end of silence
        next_call += every * 60
    try:
        t, cpu, rss = sample()
    except (FileNotFoundError, StopIteration, ProcessLookupError):
        break
    samples.append((t - start, cpu, rss, now < playing_until))
    time.sleep(5)
err = proc.communicate()[1]
subprocess.run([f"{root}/scripts/pulse.sh", "stop", srv], check=False)

idle = [(a, b) for a, b in zip(samples, samples[1:]) if not a[3] and not b[3] and a[0] > 15]
busy = [(a, b) for a, b in zip(samples, samples[1:]) if a[3] and b[3]]


def share(pairs):
    wall = sum(b[0] - a[0] for a, b in pairs)
    cpu = sum(b[1] - a[1] for a, b in pairs)
    return 100 * cpu / wall / os.cpu_count() if wall else float("nan")


written = sorted(glob.glob(os.path.join(calls, "*.json")))
print(subprocess.run(["lscpu"], capture_output=True, text=True).stdout.split("Model name:")[1].splitlines()[0].strip())
print(f"run: {minutes:.0f} min, a call every {every:.0f} min; calls written: {len(written)}")
print(f"CPU between calls: {share(idle):.2f}% of {os.cpu_count()} cores "
      f"({sum(b[0]-a[0] for a, b in idle):.0f} s sampled)")
print(f"CPU during calls (incl. their 60 s end): {share(busy):.2f}%")
rss = [s[2] for s in samples]
print(f"RSS: after 30 s {samples[6][2]:.0f} MB, peak {max(rss):.0f} MB, "
      f"last {rss[-1]:.0f} MB; after each call's end: "
      + ", ".join(f"{s[2]:.0f}" for a, s in zip(samples, samples[1:]) if a[3] and not s[3]))
if proc.returncode != 0:
    print(err)
    sys.exit(1)
