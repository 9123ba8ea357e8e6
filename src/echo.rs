//! Echo and bleed cancellation on the rep microphone, with the prospect channel (what the
//! speakers play) as the reference: a partitioned-block frequency-domain adaptive filter
//! (MDF) covering 256 ms of room and device delay, normalised per bin, with adaptation
//! slowed while the rep talks (double talk) so their voice does not train the filter away.
//! All buffers are allocated in `new`; `process` allocates nothing.

use std::sync::Arc;

use realfft::num_complex::Complex32;
use realfft::{ComplexToReal, RealFftPlanner, RealToComplex};

use crate::vad::FRAME;

const N: usize = FRAME;
const M: usize = 2 * N;
const BINS: usize = M / 2 + 1;
/// Partitions of N taps: 16 x 16 ms = 256 ms of echo path.
const PARTS: usize = 16;
/// Step size while only the prospect talks.
const MU: f32 = 0.5;
/// Reference frames (of 16 ms) of adaptation before double-talk control is trusted.
const WARMUP_FRAMES: u32 = 60;
/// Frames of reference (16 ms each) whose echo can dominate the current mic frame.
const RECENT: usize = 8;
/// Mean square below this (about -60 dBFS) is too quiet to adapt on.
const REF_FLOOR: f32 = 1e-6;

/// Per-frame result, besides the cleaned samples.
#[derive(Debug, Clone, Copy, Default)]
pub struct EchoFrame {
    /// Mean square of the filter's echo estimate.
    pub echo_ms: f32,
    /// Mean square of the mic after cancellation.
    pub clean_ms: f32,
    /// The reference carried sound in the last 256 ms.
    pub reference_active: bool,
    /// The filter cancels well enough (6 dB or more) for its echo estimate to be trusted.
    pub converged: bool,
    /// The echo level the room's coupling predicts from the recent reference, whatever
    /// the filter's state: a mic no louder than this may be nothing but echo.
    pub expected_ms: f32,
}

pub struct EchoCanceller {
    fft: Arc<dyn RealToComplex<f32>>,
    ifft: Arc<dyn ComplexToReal<f32>>,
    /// Reference spectra, newest first (ring indexed from `head`).
    x_hist: Vec<[Complex32; BINS]>,
    head: usize,
    weights: Vec<[Complex32; BINS]>,
    ref_prev: [f32; N],
    time: [f32; M],
    spec: [Complex32; BINS],
    err_spec: [Complex32; BINS],
    power: [f32; BINS],
    fft_scratch: Vec<Complex32>,
    ifft_scratch: Vec<Complex32>,
    /// Which partition gets its weights constrained this frame (round robin).
    constrain_next: usize,
    adapted_frames: u32,
    ref_ms_hist: [f32; PARTS],
    /// Smoothed ratio of echo estimate to reference power: the room's coupling.
    coupling: f32,
    near_end_hold: u32,
    /// Smoothed mic and cleaned power over frames where only the prospect plays: their
    /// ratio is the echo return loss enhancement the filter achieves.
    erle_mic: f32,
    erle_clean: f32,
}

/// Cancellation (power ratio, 6 dB) the filter must achieve before its echo estimate is
/// trusted to gate the rep's speech.
const MIN_ERLE: f32 = 4.0;

fn mean_square(x: &[f32]) -> f32 {
    x.iter().map(|v| v * v).sum::<f32>() / x.len() as f32
}

impl Default for EchoCanceller {
    fn default() -> Self {
        Self::new()
    }
}

impl EchoCanceller {
    pub fn new() -> Self {
        let mut planner = RealFftPlanner::<f32>::new();
        let fft = planner.plan_fft_forward(M);
        let ifft = planner.plan_fft_inverse(M);
        let fft_scratch = fft.make_scratch_vec();
        let ifft_scratch = ifft.make_scratch_vec();
        Self {
            fft,
            ifft,
            x_hist: vec![[Complex32::default(); BINS]; PARTS],
            head: 0,
            weights: vec![[Complex32::default(); BINS]; PARTS],
            ref_prev: [0.0; N],
            time: [0.0; M],
            spec: [Complex32::default(); BINS],
            err_spec: [Complex32::default(); BINS],
            power: [0.0; BINS],
            fft_scratch,
            ifft_scratch,
            constrain_next: 0,
            adapted_frames: 0,
            ref_ms_hist: [0.0; PARTS],
            coupling: 0.0,
            near_end_hold: 0,
            erle_mic: 0.0,
            erle_clean: 0.0,
        }
    }

    /// Cancels the echo of `reference` in `mic` (both one frame), writing the result to `out`.
    pub fn process(&mut self, mic: &[f32], reference: &[f32], out: &mut [f32]) -> EchoFrame {
        debug_assert!(mic.len() == N && reference.len() == N && out.len() == N);
        let ref_ms = mean_square(reference);
        self.ref_ms_hist.rotate_right(1);
        self.ref_ms_hist[0] = ref_ms;
        let reference_active = self.ref_ms_hist.iter().any(|&e| e > REF_FLOOR);
        let recent_ref = self.ref_ms_hist[..RECENT]
            .iter()
            .copied()
            .fold(0.0, f32::max);
        let mic_ms = mean_square(mic);

        // Newest reference spectrum from the last two blocks (overlap-save).
        self.time[..N].copy_from_slice(&self.ref_prev);
        self.time[N..].copy_from_slice(reference);
        self.ref_prev.copy_from_slice(reference);
        self.head = (self.head + PARTS - 1) % PARTS;
        let head = self.head;
        self.fft
            .process_with_scratch(
                &mut self.time,
                &mut self.x_hist[head],
                &mut self.fft_scratch,
            )
            .expect("sizes fixed in new");

        if !reference_active {
            // Nothing played for 256 ms: no echo can be in the mic.
            out.copy_from_slice(mic);
            return EchoFrame {
                echo_ms: 0.0,
                clean_ms: mic_ms,
                reference_active,
                converged: self.adapted_frames >= WARMUP_FRAMES
                    && self.erle_mic > MIN_ERLE * self.erle_clean,
                expected_ms: 0.0,
            };
        }

        // Echo estimate: sum over partitions of W_p X_p.
        self.spec.fill(Complex32::default());
        for p in 0..PARTS {
            let x = &self.x_hist[(head + p) % PARTS];
            for ((s, w), xv) in self.spec.iter_mut().zip(&self.weights[p]).zip(x) {
                *s += w * xv;
            }
        }
        self.inverse_spec();
        let scale = 1.0 / M as f32;
        let mut echo_ms = 0.0;
        for i in 0..N {
            let y = self.time[N + i] * scale;
            echo_ms += y * y;
            out[i] = mic[i] - y;
        }
        echo_ms /= N as f32;
        let clean_ms = mean_square(out);

        // Double talk: once converged, an error much louder than the expected echo means
        // the rep is speaking; adapt slowly then, and for a while after.
        if ref_ms > REF_FLOOR {
            self.coupling = if self.coupling == 0.0 {
                echo_ms / ref_ms
            } else {
                0.98 * self.coupling + 0.02 * (echo_ms / ref_ms)
            };
        }
        let converged = self.adapted_frames >= WARMUP_FRAMES;
        let expected = echo_ms.max(self.coupling * ref_ms);
        if converged && clean_ms > 2.0 * expected + REF_FLOOR && mic_ms > 1.5 * expected {
            self.near_end_hold = 8;
        } else if self.near_end_hold > 0 {
            self.near_end_hold -= 1;
        }
        if ref_ms > REF_FLOOR && self.near_end_hold == 0 {
            self.erle_mic = 0.97 * self.erle_mic + 0.03 * mic_ms;
            self.erle_clean = 0.97 * self.erle_clean + 0.03 * clean_ms;
        }
        let cancelling = converged && self.erle_mic > MIN_ERLE * self.erle_clean;
        let mu = if ref_ms <= REF_FLOOR {
            0.0
        } else if self.near_end_hold > 0 {
            MU * 0.02
        } else {
            MU
        };
        if mu > 0.0 {
            self.adapt(out, mu);
            self.adapted_frames = self.adapted_frames.saturating_add(1);
        }
        EchoFrame {
            echo_ms,
            clean_ms,
            reference_active,
            converged: cancelling,
            expected_ms: self.coupling * recent_ref,
        }
    }

    /// `time` = inverse FFT of `spec` (unscaled); the DC and Nyquist bins of a real
    /// signal's spectrum must be real.
    fn inverse_spec(&mut self) {
        self.spec[0].im = 0.0;
        self.spec[BINS - 1].im = 0.0;
        self.ifft
            .process_with_scratch(&mut self.spec, &mut self.time, &mut self.ifft_scratch)
            .expect("sizes fixed in new");
    }

    fn adapt(&mut self, err: &[f32], mu: f32) {
        self.time[..N].fill(0.0);
        self.time[N..].copy_from_slice(err);
        self.fft
            .process_with_scratch(&mut self.time, &mut self.err_spec, &mut self.fft_scratch)
            .expect("sizes fixed in new");
        let head = self.head;
        // Per-bin power of the reference across the filter's span, plus a floor.
        let floor = (M * N) as f32 * REF_FLOOR;
        self.power.fill(floor);
        for p in 0..PARTS {
            for (pw, x) in self.power.iter_mut().zip(&self.x_hist[(head + p) % PARTS]) {
                *pw += x.norm_sqr();
            }
        }
        for p in 0..PARTS {
            let x = &self.x_hist[(head + p) % PARTS];
            for (((w, xv), e), pw) in self.weights[p]
                .iter_mut()
                .zip(x)
                .zip(&self.err_spec)
                .zip(&self.power)
            {
                *w += xv.conj() * e * (mu / pw);
            }
        }
        // Keep one partition's filter causal and N taps long each frame.
        let p = self.constrain_next;
        self.constrain_next = (p + 1) % PARTS;
        self.spec.copy_from_slice(&self.weights[p]);
        self.inverse_spec();
        let scale = 1.0 / M as f32;
        for v in &mut self.time[..N] {
            *v *= scale;
        }
        self.time[N..].fill(0.0);
        self.fft
            .process_with_scratch(&mut self.time, &mut self.weights[p], &mut self.fft_scratch)
            .expect("sizes fixed in new");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Deterministic noise-like "speech" for the reference.
    fn noise(n: usize, seed: u32) -> Vec<f32> {
        let mut s = seed;
        (0..n)
            .map(|_| {
                s = s.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
                ((s >> 8) as f32 / (1u32 << 24) as f32 - 0.5) * 0.4
            })
            .collect()
    }

    fn echo_of(x: &[f32], delay: usize, gain: f32) -> Vec<f32> {
        let mut y = vec![0f32; x.len()];
        for i in delay..x.len() {
            y[i] = gain * x[i - delay];
            if i >= delay + 40 {
                y[i] += gain * 0.3 * x[i - delay - 40];
            }
        }
        y
    }

    fn run(mic: &[f32], reference: &[f32]) -> Vec<f32> {
        let mut aec = EchoCanceller::new();
        let mut out = vec![0f32; mic.len()];
        for ((m, r), o) in mic
            .chunks_exact(N)
            .zip(reference.chunks_exact(N))
            .zip(out.chunks_exact_mut(N))
        {
            aec.process(m, r, o);
        }
        out
    }

    #[test]
    fn cancels_a_delayed_room_echo() {
        let x = noise(16_000 * 6, 1);
        let mic = echo_of(&x, 560, 0.7);
        let out = run(&mic, &x);
        let tail = 16_000 * 4..16_000 * 6;
        let erle_db = 10.0 * (mean_square(&mic[tail.clone()]) / mean_square(&out[tail])).log10();
        assert!(
            erle_db > 20.0,
            "echo return loss enhancement {erle_db:.1} dB"
        );
    }

    #[test]
    fn keeps_near_end_speech_during_double_talk() {
        let x = noise(16_000 * 8, 1);
        let near = noise(16_000 * 8, 99);
        let mut mic = echo_of(&x, 560, 0.7);
        // The rep talks over the echo for the last 3 s.
        for i in 16_000 * 5..16_000 * 8 {
            mic[i] += near[i];
        }
        let out = run(&mic, &x);
        let span = 16_000 * 5..16_000 * 8;
        let kept: f32 = out[span.clone()]
            .iter()
            .zip(&near[span.clone()])
            .map(|(o, n)| o * n)
            .sum::<f32>()
            / near[span].iter().map(|n| n * n).sum::<f32>();
        assert!(kept > 0.8, "near-end speech kept at {kept:.2} of its level");
    }

    #[test]
    fn passes_the_mic_through_when_nothing_plays() {
        let mic = noise(N * 40, 5);
        let out = run(&mic, &vec![0.0; N * 40]);
        assert_eq!(out, mic);
    }
}
