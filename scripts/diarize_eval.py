#!/usr/bin/env python3
"""Who spoke when on one channel: `twoears review --no-stt` of mono recordings of real
labelled speech, scored as diarization error rate (DER, 0.25 s collar, overlap counted)
against their RTTM, with each recording's rep share against the truth's.

The recordings: the two-person telephone call in pyannote-audio 4.0.7's wheel
(`pyannote/audio/sample/`) and the 30 s meeting clips of its source archive (`tests/data/`,
1 to 4 speakers), both fetched with pip into DIR (default target/pyannote). twoears splits
a mono call into the rep (the first voice) and the others, so a clip's hypothesis has two
speakers; on clips of three or four speakers DER cannot go below the share of the third
and fourth.

    python3 scripts/diarize_eval.py [--bin target/release/twoears] [--dir DIR] [--clips a,b]
    python3 scripts/diarize_eval.py --calls CALL.wav...   # rendered calls, mixed to mono

A rendered call (make_calls.py: left the rep, right the prospect, its truth beside it as
JSON) is mixed to mono with sox and scored against its utterances.
"""
import argparse
import itertools
import json
import os
import subprocess
import sys
import tarfile
import tempfile
import zipfile

import numpy as np

STEP = 0.01
VERSION = '4.0.7'


def fetch(d):
    os.makedirs(d, exist_ok=True)
    if not os.path.exists(f'{d}/sample.wav'):
        subprocess.run([sys.executable, '-m', 'pip', 'download', '-q', '--no-deps',
                        f'pyannote-audio=={VERSION}', '-d', d], check=True)
        wheel = next(f for f in os.listdir(d) if f.endswith('.whl'))
        with zipfile.ZipFile(f'{d}/{wheel}') as z:
            for name in ('sample.wav', 'sample.rttm'):
                with open(f'{d}/{name}', 'wb') as out:
                    out.write(z.read(f'pyannote/audio/sample/{name}'))
    if not os.path.exists(f'{d}/tests'):
        subprocess.run([sys.executable, '-m', 'pip', 'download', '-q', '--no-deps',
                        '--no-binary', ':all:', f'pyannote-audio=={VERSION}', '-d', d],
                       check=True)
        sdist = next(f for f in os.listdir(d) if f.endswith('.tar.gz'))
        with tarfile.open(f'{d}/{sdist}') as t:
            for m in t.getmembers():
                if '/tests/data/' in m.name and m.name.endswith(('.wav', '.rttm')):
                    m.name = 'tests/' + os.path.basename(m.name)
                    t.extract(m, d)


def rttm(path):
    out = {}
    for line in open(path):
        p = line.split()
        out.setdefault(p[1], []).append((float(p[3]), float(p[3]) + float(p[4]), p[7]))
    return out


def der(ref, hyp, dur, collar=0.25):
    n = int(round(dur / STEP))
    rs = sorted({s for *_, s in ref})
    hs = sorted({s for *_, s in hyp}) or ['none']
    r = np.zeros((len(rs), n), bool)
    h = np.zeros((len(hs), n), bool)
    for a, b, s in ref:
        r[rs.index(s), int(round(a / STEP)):int(round(b / STEP))] = True
    for a, b, s in hyp:
        h[hs.index(s), int(round(a / STEP)):int(round(b / STEP))] = True
    keep = np.ones(n, bool)
    c = int(round(collar / STEP))
    for a, b, _ in ref:
        for t in (a, b):
            i = int(round(t / STEP))
            keep[max(0, i - c):i + c] = False
    r, h = r[:, keep], h[:, keep]
    nr, nh = r.sum(0), h.sum(0)
    best = 0
    for perm in itertools.permutations(range(max(len(rs), len(hs))), len(hs)):
        best = max(best, sum((r[ri] & h[hi]).sum() for hi, ri in enumerate(perm) if ri < len(rs)))
    total = max(nr.sum(), 1)
    miss = np.maximum(0, nr - nh).sum() / total
    fa = np.maximum(0, nh - nr).sum() / total
    err = (np.maximum(nr, nh).sum() - best) / total
    return err, miss, fa, err - miss - fa


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--bin', default='target/release/twoears')
    ap.add_argument('--dir', default='target/pyannote')
    ap.add_argument('--clips', default='')
    ap.add_argument('--calls', nargs='*', default=[])
    args = ap.parse_args()
    mixes = tempfile.TemporaryDirectory()
    clips = []
    for i, call in enumerate(args.calls):
        truth = json.load(open(call[:-4] + '.json'))
        name = os.path.basename(call)[:-4]
        mono = f'{mixes.name}/{i}-{name}.wav'
        subprocess.run(['sox', call, mono, 'remix', '1,2'], check=True)
        clips.append((name, mono, [(u['start_s'], u['end_s'], u['side']) for u in truth['utterances']]))
    if not args.calls:
        fetch(args.dir)
        clips.append(('sample', f'{args.dir}/sample.wav', rttm(f'{args.dir}/sample.rttm')['sample']))
        refs = {}
        for f in sorted(os.listdir(f'{args.dir}/tests')):
            if f.endswith('.rttm'):
                refs.update(rttm(f'{args.dir}/tests/{f}'))
        for uri in sorted(refs):
            wav = f'{args.dir}/tests/{uri}.wav'
            if os.path.exists(wav):
                clips.append((uri, wav, refs[uri]))
    if args.clips:
        want = args.clips.split(',')
        clips = [c for c in clips if c[0] in want]
    print('| clip | speakers | DER | missed | false alarm | confusion | rep share: truth | twoears |')
    print('|---|---|---|---|---|---|---|---|')
    two = []
    with tempfile.TemporaryDirectory() as tmp:
        for uri, wav, ref in clips:
            out = f'{tmp}/{uri}.json'
            p = subprocess.run([args.bin, 'review', wav, '--no-stt', '-q', '--json', out],
                               capture_output=True, text=True)
            if p.returncode != 0:
                print(f'| {uri} | failed: {p.stderr.strip()} |')
                continue
            r = json.load(open(out))
            hyp = [(t['start_s'], t['end_s'], t['side']) for t in r['turns']]
            d = der(ref, hyp, r['duration_s'])
            speakers = sorted({s for *_, s in ref})
            # The truth's rep: the first to speak, as twoears decides.
            first = min(ref)[2]
            rep_true = sum(b - a for a, b, s in ref if s == first)
            all_true = sum(b - a for a, b, _ in ref)
            rep_share = r['talk']['rep_s'] / max(r['talk']['rep_s'] + r['talk']['prospect_s'], 1e-9)
            print(f'| {uri} | {len(speakers)} | {d[0]:.1%} | {d[1]:.1%} | {d[2]:.1%} | {d[3]:.1%} '
                  f'| {rep_true / all_true:.0%} | {rep_share:.0%} |')
            if len(speakers) == 2:
                two.append(d[0])
    if two:
        print(f'\nmean DER over the {len(two)} recordings of two speakers: {np.mean(two):.1%}')


if __name__ == '__main__':
    main()
