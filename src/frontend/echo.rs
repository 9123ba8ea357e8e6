//! Echo and bleed cancellation on the rep microphone, with the prospect channel (what the
//! speakers play) as the reference: a partitioned-block frequency-domain adaptive filter
//! (MDF) covering 256 ms of room and device delay, normalised per bin, with adaptation
//! slowed while the rep talks (double talk) so their voice does not train the filter away.
//! All buffers are allocated in `new`; `process` allocates nothing.

use std::sync::Arc;

use realfft::num_complex::Complex32;
use realfft::{ComplexToReal, RealFftPlanner, RealToComplex};

use crate::frontend::vad::FRAME;

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
/// Mean square (power) below this (about -60 dBFS) is too quiet to adapt on.
const REF_FLOOR: f32 = 1e-6;
/// Mic power below this (-90 dBFS), where an echo path is known to be there, is a muted
/// mic (reps mute during hold music): an open mic cannot be silent while its speaker
/// plays. It says nothing about the path, and adapting to it would unlearn the path, so
/// the echo coming back after the mute would pass as the rep. (Without a known path, a
/// silent mic is a headset's, and teaches that there is no echo.)
const MUTED: f32 = 1e-9;

/// Per-frame result, besides the cleaned samples.
#[derive(Debug, Clone, Copy, Default)]
pub struct EchoFrame {
    /// Mean square (power) of the filter's echo estimate.
    pub echo_power: f32,
    /// Mean square (power) of the mic after cancellation.
    pub clean_power: f32,
    /// The reference carried sound in the last 256 ms.
    pub reference_active: bool,
    /// The filter cancels well enough (6 dB or more) for its echo estimate to be trusted.
    pub converged: bool,
    /// The echo level the room's coupling predicts from the recent reference, whatever
    /// the filter's state: a mic no louder than this may be nothing but echo.
    pub expected_power: f32,
    /// The mic carries the reference: the filter's estimate has been seen to match the
    /// mic's waveform. False on a headset, where there is no echo to gate.
    pub coupled: bool,
    /// Another voice is in the mic with the echo: the rep talks over the prospect.
    pub near_end: bool,
    /// The loudest reference frame within the filter's reach (256 ms): what an echo in
    /// the mic now may come from.
    pub reach_ref_power: f32,
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
    ref_power_hist: [f32; PARTS],
    /// Ratio of smoothed echo estimate to smoothed reference power: the room's coupling.
    coupling: f32,
    coupling_echo: f32,
    coupling_ref: f32,
    near_end_hold: u32,
    /// Smoothed mic and cleaned power over frames where only the prospect plays: their
    /// ratio is the echo return loss enhancement the filter achieves.
    erle_mic: f32,
    erle_clean: f32,
    /// Smoothed products of mic and echo estimate: their normalised correlation says
    /// whether the estimate is the mic's echo or the filter chasing the rep's voice.
    corr_my: f32,
    corr_mm: f32,
    corr_yy: f32,
    coupling_seen: Coupling,
    /// Reference-active frames since the last sign of coupling.
    uncoupled_frames: u32,
    /// Reference-active frames in a row in which the estimate matched the mic.
    coupled_run: u32,
    /// The latest smoothed correlation of mic and echo estimate.
    last_corr: f32,
    /// Reference-active frames since the estimate last matched the mic closely.
    since_tracked: u32,
    /// Reference-active frames in which it did.
    tracked_frames: u32,
}

/// What the canceller knows about the echo path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Coupling {
    /// Not enough reference yet to tell.
    Unknown,
    /// The mic carries no measurable echo (a headset).
    Absent,
    /// The mic carries the reference.
    Present,
}

/// Correlation above which the estimate tracks the echo path closely (echo alone).
const TRACKING_CORR: f32 = 0.8;
/// The estimate is trusted to tell double talk once it has tracked the path this long
/// (2 s of reference: a filter still learning the room loses the echo now and then),
/// and for this long after it last did (6 s).
const TRACKED_BEFORE_TRUST: u32 = 125;
const TRUSTED_FOR: u32 = 375;
/// With a trusted estimate, a correlation below this means another voice is in the mic.
const DOUBLE_TALK_CORR: f32 = 0.5;
/// Correlation of mic and echo estimate above which the mic carries the reference.
const COUPLED_CORR: f32 = 0.6;
/// Echo estimate power, relative to the mic, below which a match proves nothing (-30 dB).
const ECHO_AUDIBLE: f32 = 1e-3;
/// Reference-active frames in a row that must match before the path counts as present.
const COUPLED_RUN: u32 = 3;
/// Below this the estimate is the filter's noise, not an echo.
const UNCOUPLED_CORR: f32 = 0.3;
/// Reference-active frames with no sign of an echo before the path counts as absent
/// (0.3 s), and before a path seen earlier counts as gone (20 s: a headset plugged in).
const ABSENT_AFTER: u32 = 19;
const GONE_AFTER: u32 = 1250;

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
            ref_power_hist: [0.0; PARTS],
            coupling: 0.0,
            coupling_echo: 0.0,
            coupling_ref: 0.0,
            near_end_hold: 0,
            erle_mic: 0.0,
            erle_clean: 0.0,
            corr_my: 0.0,
            corr_mm: 0.0,
            corr_yy: 0.0,
            coupling_seen: Coupling::Unknown,
            uncoupled_frames: 0,
            coupled_run: 0,
            last_corr: 0.0,
            since_tracked: u32::MAX,
            tracked_frames: 0,
        }
    }

    /// Updates the evidence for an echo path from one reference-active frame.
    fn observe_coupling(&mut self, mic: &[f32]) {
        let (mut my, mut yy) = (0.0, 0.0);
        let scale = 1.0 / M as f32;
        for (m, y) in mic.iter().zip(&self.time[N..]) {
            let y = y * scale;
            my += m * y;
            yy += y * y;
        }
        let mm: f32 = mic.iter().map(|m| m * m).sum();
        // About 80 ms of memory: long enough to average a frame's noise, short enough to
        // see the echo between the rep's words.
        const A: f32 = 0.8;
        self.corr_my = A * self.corr_my + (1.0 - A) * my;
        self.corr_mm = A * self.corr_mm + (1.0 - A) * mm;
        self.corr_yy = A * self.corr_yy + (1.0 - A) * yy;
        let denom = (self.corr_mm * self.corr_yy).sqrt();
        let corr = if denom > 0.0 {
            self.corr_my / denom
        } else {
            0.0
        };

        self.last_corr = corr;
        self.since_tracked = if corr > TRACKING_CORR {
            self.tracked_frames = self.tracked_frames.saturating_add(1);
            0
        } else {
            self.since_tracked.saturating_add(1)
        };
        // An estimate far below the mic can match it by chance for a frame; an echo that
        // matters is within 30 dB of the mic, and matches for several frames in a row.
        let audible = self.corr_yy > ECHO_AUDIBLE * self.corr_mm;
        self.coupled_run = if corr > COUPLED_CORR && audible {
            self.coupled_run + 1
        } else {
            0
        };
        if self.coupled_run >= COUPLED_RUN {
            self.coupling_seen = Coupling::Present;
            self.uncoupled_frames = 0;
            return;
        }
        if corr < UNCOUPLED_CORR {
            self.uncoupled_frames = self.uncoupled_frames.saturating_add(1);
        }
        let limit = match self.coupling_seen {
            Coupling::Present => GONE_AFTER,
            _ => ABSENT_AFTER,
        };
        if self.uncoupled_frames >= limit {
            self.coupling_seen = Coupling::Absent;
        }
    }

    /// Cancels the echo of `reference` in `mic` (both one frame), writing the result to `out`.
    pub fn process(&mut self, mic: &[f32], reference: &[f32], out: &mut [f32]) -> EchoFrame {
        debug_assert!(mic.len() == N && reference.len() == N && out.len() == N);
        let ref_power = mean_square(reference);
        self.ref_power_hist.rotate_right(1);
        self.ref_power_hist[0] = ref_power;
        let reference_active = self.ref_power_hist.iter().any(|&e| e > REF_FLOOR);
        let recent_ref = self.ref_power_hist[..RECENT]
            .iter()
            .copied()
            .fold(0.0, f32::max);
        let mic_power = mean_square(mic);

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
                echo_power: 0.0,
                clean_power: mic_power,
                reference_active,
                converged: self.adapted_frames >= WARMUP_FRAMES
                    && self.erle_mic > MIN_ERLE * self.erle_clean,
                expected_power: 0.0,
                coupled: self.coupling_seen != Coupling::Absent,
                near_end: false,
                reach_ref_power: 0.0,
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
        let mut echo_power = 0.0;
        for i in 0..N {
            let y = self.time[N + i] * scale;
            echo_power += y * y;
            out[i] = mic[i] - y;
        }
        echo_power /= N as f32;
        let muted = mic_power < MUTED && self.coupling_seen == Coupling::Present;
        let learn = ref_power > REF_FLOOR && !muted;
        if learn {
            self.observe_coupling(mic);
        }
        let clean_power = mean_square(out);

        // Double talk: once converged, an error much louder than the expected echo means
        // the rep is speaking; adapt slowly then, and for a while after.
        if learn {
            // A ratio of smoothed powers: a ratio per frame explodes on the quiet frames
            // at the end of a word, when the echo tail outlasts the reference.
            let first = self.coupling_ref == 0.0;
            let a = if first { 1.0 } else { 0.02 };
            self.coupling_echo += a * (echo_power - self.coupling_echo);
            self.coupling_ref += a * (ref_power - self.coupling_ref);
            self.coupling = self.coupling_echo / self.coupling_ref;
        }
        let converged = self.adapted_frames >= WARMUP_FRAMES;
        let expected = echo_power.max(self.coupling * ref_power);
        let trusted = self.coupling_seen == Coupling::Present
            && self.tracked_frames >= TRACKED_BEFORE_TRUST
            && self.since_tracked < TRUSTED_FOR;
        // Double talk, from the waveform: the estimate that matched the echo no longer
        // matches the mic, and the mic is louder than the echo alone would be.
        let near_end = ref_power > REF_FLOOR
            && trusted
            && self.last_corr < DOUBLE_TALK_CORR
            && mic_power > expected;
        if near_end
            || (converged && clean_power > 2.0 * expected + REF_FLOOR && mic_power > 1.5 * expected)
        {
            self.near_end_hold = 8;
        } else if self.near_end_hold > 0 {
            self.near_end_hold -= 1;
        }
        if learn && self.near_end_hold == 0 {
            self.erle_mic = 0.97 * self.erle_mic + 0.03 * mic_power;
            self.erle_clean = 0.97 * self.erle_clean + 0.03 * clean_power;
        }
        let cancelling = converged && self.erle_mic > MIN_ERLE * self.erle_clean;
        let mu = if !learn {
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
        let coupled = self.coupling_seen != Coupling::Absent;
        // With no echo path, subtracting the filter's estimate would only add noise
        // drawn from the prospect to the rep's voice: pass the mic through.
        let clean_power = if coupled {
            clean_power
        } else {
            out.copy_from_slice(mic);
            mic_power
        };
        EchoFrame {
            echo_power,
            clean_power,
            reference_active,
            converged: cancelling,
            expected_power: self.coupling * recent_ref,
            coupled,
            near_end,
            reach_ref_power: self.ref_power_hist.iter().copied().fold(0.0, f32::max),
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

    fn coupled_after(mic: &[f32], reference: &[f32]) -> (bool, Vec<f32>) {
        let mut aec = EchoCanceller::new();
        let mut out = vec![0f32; mic.len()];
        let mut coupled = true;
        for ((m, r), o) in mic
            .chunks_exact(N)
            .zip(reference.chunks_exact(N))
            .zip(out.chunks_exact_mut(N))
        {
            coupled = aec.process(m, r, o).coupled;
        }
        (coupled, out)
    }

    #[test]
    fn a_headset_mic_with_double_talk_is_left_as_it_is() {
        // The rep talks over the prospect from the first frame; the mic never hears them.
        let x = noise(N * 190, 1);
        let mic = noise(N * 190, 99);
        let (coupled, out) = coupled_after(&mic, &x);
        assert!(!coupled, "no echo path");
        let tail = N * 130..N * 190;
        assert!(
            out[tail.clone()] == mic[tail],
            "the mic passes through untouched"
        );
    }

    #[test]
    fn an_echo_path_is_seen_even_under_double_talk() {
        let x = noise(16_000 * 4, 1);
        let near = noise(16_000 * 4, 99);
        let mut mic = echo_of(&x, 560, 0.7);
        for i in 16_000..16_000 * 4 {
            mic[i] += near[i];
        }
        assert!(coupled_after(&mic, &x).0);
    }

    #[test]
    fn a_converged_filter_tells_double_talk_from_echo() {
        let x = noise(16_000 * 8, 1);
        let near = noise(16_000 * 8, 99);
        let mut mic = echo_of(&x, 560, 0.5);
        // Echo alone for 5 s, then the rep talks over it.
        for i in 16_000 * 5..16_000 * 8 {
            mic[i] += near[i];
        }
        let mut aec = EchoCanceller::new();
        let mut out = [0f32; N];
        let (mut echo_only, mut double) = (Vec::new(), Vec::new());
        for (i, (m, r)) in mic.chunks_exact(N).zip(x.chunks_exact(N)).enumerate() {
            let f = aec.process(m, r, &mut out);
            let t = (i * N) as f32 / 16_000.0;
            if (3.0..5.0).contains(&t) {
                echo_only.push(f.near_end);
            } else if t > 5.2 {
                double.push(f.near_end);
            }
        }
        let share = |v: &[bool]| v.iter().filter(|&&b| b).count() as f32 / v.len() as f32;
        assert!(
            share(&echo_only) < 0.05,
            "echo alone: {}",
            share(&echo_only)
        );
        assert!(share(&double) > 0.8, "double talk: {}", share(&double));
    }

    #[test]
    fn passes_the_mic_through_when_nothing_plays() {
        let mic = noise(N * 40, 5);
        let out = run(&mic, &vec![0.0; N * 40]);
        assert_eq!(out, mic);
    }
}
