#!/usr/bin/env python3
"""Resemblyzer's voice encoder in numpy, without torch: the reference that
`twoears model install voice` checks its conversion against (src/model/voice.rs), and the
encoder of scripts/diarize_eval.py's side-by-side runs.

    python3 scripts/voice_reference.py PRETRAINED_PT    # prints the check's reference values

The mel frames are librosa's (`librosa.feature.melspectrogram(sr=16000, n_fft=400,
hop_length=160, n_mels=40)`, checked to 2e-7 against librosa 0.11); each 1.6 s window is
scaled to a mean power of 1e-3 (-30 dBFS) before it is read, as twoears does."""
import pickle
import struct
import sys

import numpy as np

TARGET_POWER = 1e-3


def load_legacy(path):
    """The state dict of a checkpoint in torch.save's pre-1.6 format (five pickles, then
    the raw storages)."""
    f = open(path, 'rb')

    class Unpickler(pickle.Unpickler):
        def find_class(self, mod, name):
            if name == '_rebuild_tensor_v2':
                return lambda st, off, size, stride, *a: (st, off, size)
            if name == 'OrderedDict':
                import collections
                return collections.OrderedDict
            if name.endswith('Storage'):
                return name
            return super().find_class(mod, name)

        def persistent_load(self, pid):
            return pid[2]

    pickle.load(f), pickle.load(f), pickle.load(f)
    obj = Unpickler(f).load()
    raw = {}
    for key in pickle.load(f):
        n, = struct.unpack('<q', f.read(8))
        raw[key] = np.frombuffer(f.read(n * 4), dtype='<f4')
    return {name: raw[key][off:off + int(np.prod(size))].reshape(size).copy()
            for name, (key, off, size) in obj['model_state'].items()}


def _hz_to_mel(f):
    f = np.asarray(f, dtype=float)
    return np.where(f >= 1000, 15 + np.log(np.maximum(f, 1e-10) / 1000) / (np.log(6.4) / 27),
                    f / (200.0 / 3))


def _mel_to_hz(m):
    m = np.asarray(m, dtype=float)
    return np.where(m >= 15, 1000 * np.exp((np.log(6.4) / 27) * (m - 15)), m * (200.0 / 3))


def mel_filters(sr=16000, n_fft=400, n_mels=40):
    fft_hz = np.linspace(0, sr / 2, n_fft // 2 + 1)
    mel_hz = _mel_to_hz(np.linspace(_hz_to_mel(0), _hz_to_mel(sr / 2), n_mels + 2))
    fdiff = np.diff(mel_hz)
    ramps = mel_hz[:, None] - fft_hz[None, :]
    w = np.maximum(0, np.minimum(-ramps[:-2] / fdiff[:-1, None], ramps[2:] / fdiff[1:, None]))
    return (w * (2.0 / (mel_hz[2:] - mel_hz[:-2]))[:, None]).astype(np.float32)


MEL = mel_filters()


def mel_frames(wav):
    """(mel power frames, each frame's mean square over its own 10 ms)."""
    y = np.pad(wav, 200)
    n = 1 + (len(y) - 400) // 160
    win = 0.5 - 0.5 * np.cos(2 * np.pi * np.arange(400) / 400)
    idx = np.arange(400)[None, :] + 160 * np.arange(n)[:, None]
    spec = np.abs(np.fft.rfft(y[idx] * win, axis=1)) ** 2
    power = np.mean(y[idx][:, 120:280] ** 2, axis=1)
    return (spec @ MEL.T).astype(np.float32), power


def _sigmoid(x):
    return 1 / (1 + np.exp(-x))


class Encoder:
    def __init__(self, path):
        self.w = load_legacy(path)

    def embed(self, windows):
        """windows: (B, 160, 40) mel frames scaled to the training level; unit vectors."""
        x = np.asarray(windows, dtype=np.float32)
        b = len(x)
        for layer in range(3):
            wi, wh = self.w[f'lstm.weight_ih_l{layer}'], self.w[f'lstm.weight_hh_l{layer}']
            bias = self.w[f'lstm.bias_ih_l{layer}'] + self.w[f'lstm.bias_hh_l{layer}']
            xi = x @ wi.T + bias
            h = np.zeros((b, 256), np.float32)
            c = np.zeros((b, 256), np.float32)
            out = []
            for t in range(x.shape[1]):
                g = xi[:, t] + h @ wh.T
                c = _sigmoid(g[:, 256:512]) * c + _sigmoid(g[:, :256]) * np.tanh(g[:, 512:768])
                h = _sigmoid(g[:, 768:]) * np.tanh(c)
                out.append(h)
            x = np.stack(out, 1)
        e = np.maximum(0, h @ self.w['linear.weight'].T + self.w['linear.bias'])
        return e / np.linalg.norm(e, axis=1, keepdims=True)

    def embed_windows(self, mels, power, starts):
        return self.embed([mels[s:s + 160] * (TARGET_POWER / max(power[s:s + 160].mean(), 1e-10))
                           for s in starts])


def buzz(f0):
    n = np.arange(160 * 160)
    return sum(0.05 * np.sin(2 * np.pi * k * f0 * n / 16000) / k
               for k in range(1, 11)).astype(np.float32)


if __name__ == '__main__':
    enc = Encoder(sys.argv[1])
    for f0 in (120.0, 220.0):
        mels, power = mel_frames(buzz(f0))
        e = enc.embed_windows(mels, power, [0])[0]
        top = sorted(np.argsort(-e)[:4])
        print(f'({f0}, [' + ', '.join(f'({i}, {e[i]:.4f})' for i in top) + ']),')
