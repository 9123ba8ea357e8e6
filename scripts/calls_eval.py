#!/usr/bin/env python3
"""Whole calls, each in several voices (issue 33): renders scenario files with
../shared/corpus/make_calls.py in three voice sets, reviews them (speech-to-text on), and
scores them with score.py. Keeps the renders and reports in --out, so the act reader can
be judged again on the same transcripts without speech-to-text
(`cargo run --release --example calls_replay -- $(cat OUT/pairs)`).

  scripts/calls_eval.py SCENARIO.json ... --out DIR [--voices default,espeak,piper] [--bin PATH]
                                                   [--render-only]

Voice sets: `default` (the scenario's own voices), `espeak` (other espeak-ng voices and
speeds), `piper` (Piper joe on both sides). Piper runs in this process (the voice loaded
once) behind a stand-in for the Python that make_calls.py calls, so a call renders in
seconds rather than a second per turn.
"""
import argparse, json, os, socket, subprocess, sys, tempfile, threading, wave

root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
corpus = os.path.join(root, "..", "shared", "corpus")

VOICE_SETS = {
    "default": None,
    "espeak": {"voices": {"rep": "en-us+m7", "prospect": "en+f4"}, "speed": {"rep": 175, "prospect": 150}},
    "piper": {"voices": {"rep": "piper:joe", "prospect": "piper:joe"}, "speed": {"rep": 165, "prospect": 165}},
}

SHIM = """#!/bin/sh
# make_calls.py runs "PY -m piper -m MODEL -f OUT --length-scale X" with the text on stdin;
# this hands the job to the voice already loaded in calls_eval.py. Anything else is Python.
if [ "$1" = "-m" ] && [ "$2" = "piper" ]; then
    exec {py} -c 'import socket,sys; s=socket.socket(socket.AF_UNIX); s.connect(sys.argv[1]); s.sendall(("\\0".join(sys.argv[2:])+"\\n"+sys.stdin.read()).encode()); s.shutdown(socket.SHUT_WR); sys.exit(0 if s.recv(2)==b"ok" else 1)' {sock} "$@"
fi
exec {py} "$@"
"""


def piper_server(sock_path):
    from piper import PiperVoice
    from piper.config import SynthesisConfig
    voices = {}
    srv = socket.socket(socket.AF_UNIX)
    srv.bind(sock_path)
    srv.listen(4)

    def serve():
        while True:
            conn, _ = srv.accept()
            data = b""
            while chunk := conn.recv(65536):
                data += chunk
            head, text = data.decode().split("\n", 1)
            args = head.split("\0")
            a = dict(zip(args[2::2], args[3::2]))
            model = a["-m"]
            if model not in voices:
                voices[model] = PiperVoice.load(model)
            try:
                with wave.open(a["-f"], "wb") as w:
                    voices[model].synthesize_wav(text, w, syn_config=SynthesisConfig(
                        length_scale=float(a.get("--length-scale", 1.0))))
                conn.sendall(b"ok")
            except Exception as e:  # noqa: BLE001 - reported to the caller
                print(f"piper: {e}", file=sys.stderr)
                conn.sendall(b"no")
            conn.close()

    threading.Thread(target=serve, daemon=True).start()


def piper_env(tmp):
    """The environment make_calls.py runs in so its Piper jobs go to a voice loaded here."""
    sock = os.path.join(tmp, "piper.sock")
    piper_server(sock)
    shim = os.path.join(tmp, "python")
    with open(shim, "w") as f:
        f.write(SHIM.format(py=sys.executable, sock=sock))
    os.chmod(shim, 0o755)
    return dict(os.environ, PIPER_PYTHON=shim)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("scenarios", nargs="+")
    ap.add_argument("--out", required=True)
    ap.add_argument("--voices", default="default,espeak,piper")
    ap.add_argument("--bin", default=os.path.join(root, "target", "release", "twoears"))
    ap.add_argument("--render-only", action="store_true")
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)
    tmp = tempfile.mkdtemp()
    env = piper_env(tmp) if "piper" in a.voices else None
    pairs = []
    for vs in a.voices.split(","):
        d = os.path.join(a.out, vs)
        scen_dir = os.path.join(d, "scenarios")
        os.makedirs(scen_dir, exist_ok=True)
        files = []
        for s in a.scenarios:
            sc = json.load(open(s))
            if VOICE_SETS[vs]:
                sc.update(VOICE_SETS[vs])
                for t in sc["turns"]:
                    t.pop("voice", None)
            f = os.path.join(scen_dir, os.path.basename(s))
            json.dump(sc, open(f, "w"), indent=1)
            files.append(f)
        calls = os.path.join(d, "calls")
        todo = [f for f in files if not os.path.exists(os.path.join(calls, os.path.basename(f)[:-5] + ".wav"))]
        if todo:
            subprocess.run([sys.executable, os.path.join(corpus, "make_calls.py"), *todo, "--out", calls],
                           check=True, stdout=subprocess.DEVNULL, env=env)
        if a.render_only:
            continue
        reviews = os.path.join(d, "reviews")
        names = [os.path.basename(f)[:-5] for f in files]
        subprocess.run([a.bin, "review", *[os.path.join(calls, n + ".wav") for n in names], "--out", reviews, "-q"],
                       check=True)
        vp = []
        for n in names:
            vp += [os.path.join(calls, n + ".json"), os.path.join(reviews, n + ".json")]
        out = subprocess.run([sys.executable, os.path.join(corpus, "score.py"), *vp], capture_output=True, text=True)
        for line in out.stdout.splitlines():
            if " ok " not in line:
                print(f"{vs}: {line}")
        pairs += vp
    with open(os.path.join(a.out, "pairs"), "w") as f:
        f.write(" ".join(pairs) + "\n")


if __name__ == "__main__":
    main()
