//! Notices the two sides carrying one signal: both captures on the same device (a stream
//! the sound server moved, a wrong `--system`). An echo is delayed, filtered and quieter;
//! the same device twice is the same samples at the same level within a few
//! tens of milliseconds. Runs on the stage thread over the aligned 16 kHz blocks; the
//! cross-correlation goes through an FFT planned once.

use std::sync::Arc;

use realfft::num_complex::Complex32;
use realfft::{ComplexToReal, RealFftPlanner, RealToComplex};

/// Two seconds of audio per verdict, at the full 16 kHz: averaging down would blur the
/// fraction of a sample by which two streams of one device may be apart.
const WINDOW: usize = 32_000;
/// Lags searched either way: 100 ms. Two streams of one device reach us that far apart
/// (PipeWire buffers each stream on its own).
const MAX_LAG: usize = 1_600;
/// FFT length: the window and its zero padding, so lags do not wrap around.
const FFT_LEN: usize = 65_536;
/// Mean square below which a side is too quiet to compare.
const FLOOR: f32 = 1e-6;
/// Correlation and level difference that no echo reaches: the same samples twice.
const SAME_CORR: f32 = 0.95;
const SAME_LEVEL_DB: f32 = 2.0;
/// Windows in a row before a warning.
const WINDOWS: u32 = 2;

pub struct SameSignal {
    rep: Vec<f32>,
    prospect: Vec<f32>,
    fft: Arc<dyn RealToComplex<f32>>,
    ifft: Arc<dyn ComplexToReal<f32>>,
    time: Vec<f32>,
    spec: [Vec<Complex32>; 2],
    scratch: Vec<Complex32>,
    in_a_row: u32,
    warned: bool,
}

impl Default for SameSignal {
    fn default() -> Self {
        let mut planner = RealFftPlanner::<f32>::new();
        let fft = planner.plan_fft_forward(FFT_LEN);
        let ifft = planner.plan_fft_inverse(FFT_LEN);
        let spec = [fft.make_output_vec(), fft.make_output_vec()];
        let scratch = vec![Complex32::default(); fft.get_scratch_len().max(ifft.get_scratch_len())];
        Self {
            rep: Vec::with_capacity(WINDOW),
            prospect: Vec::with_capacity(WINDOW),
            time: fft.make_input_vec(),
            fft,
            ifft,
            spec,
            scratch,
            in_a_row: 0,
            warned: false,
        }
    }
}

fn mean_square(x: &[f32]) -> f32 {
    x.iter().map(|v| v * v).sum::<f32>() / x.len().max(1) as f32
}

impl SameSignal {
    /// Feeds aligned blocks; returns a warning once, when the sides have carried one
    /// signal for a few seconds.
    pub fn push(&mut self, rep: &[f32], prospect: &[f32]) -> Option<String> {
        let mut verdict = None;
        for (r, p) in rep.iter().zip(prospect) {
            self.rep.push(*r);
            self.prospect.push(*p);
            if self.rep.len() == WINDOW {
                verdict = verdict.or(self.judge());
                self.rep.clear();
                self.prospect.clear();
            }
        }
        verdict
    }

    fn judge(&mut self) -> Option<String> {
        let (r, p) = (mean_square(&self.rep), mean_square(&self.prospect));
        if r < FLOOR || p < FLOOR {
            return None; // a silent side proves nothing either way
        }
        let level_db = 10.0 * (r / p).log10();
        // Cross-correlation at every lag: IFFT(conj(R) * P), over the whole window's energy.
        for (k, x) in [&self.rep, &self.prospect].into_iter().enumerate() {
            self.time.fill(0.0);
            self.time[..WINDOW].copy_from_slice(x);
            self.fft
                .process_with_scratch(&mut self.time, &mut self.spec[k], &mut self.scratch)
                .expect("sizes fixed in new");
        }
        let (rep_spec, prospect_spec) = self.spec.split_at_mut(1);
        for (a, b) in rep_spec[0].iter_mut().zip(&prospect_spec[0]) {
            *a = a.conj() * b;
        }
        rep_spec[0][0].im = 0.0;
        rep_spec[0][FFT_LEN / 2].im = 0.0;
        self.ifft
            .process_with_scratch(&mut rep_spec[0], &mut self.time, &mut self.scratch)
            .expect("sizes fixed in new");
        // Per lag, over the energy of the part of the window both sides cover at that lag.
        let norm =
            |c: f32, lag: usize| c / (FFT_LEN as f32 * (WINDOW - lag) as f32 * (r * p).sqrt());
        let ahead = (0..=MAX_LAG).map(|k| norm(self.time[k], k));
        let behind = (1..=MAX_LAG).map(|k| norm(self.time[FFT_LEN - k], k));
        let corr = ahead.chain(behind).fold(0.0f32, f32::max);
        let same = corr > SAME_CORR && level_db.abs() < SAME_LEVEL_DB;
        self.in_a_row = if same { self.in_a_row + 1 } else { 0 };
        if self.in_a_row < WINDOWS || self.warned {
            return None;
        }
        self.warned = true;
        Some(format!(
            "the mic and the system audio carry the same sound (correlation {corr:.2} over \
             {} s): both captures may be on one device; check the Recording tab of \
             pavucontrol, or pass --mic and --system",
            WINDOWS * 2
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn voice(n: usize, seed: u32) -> Vec<f32> {
        let mut s = seed;
        (0..n)
            .map(|i| {
                s = s.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
                let noise = (s >> 8) as f32 / (1u32 << 24) as f32 - 0.5;
                noise * 0.2 * (1.0 + (i as f32 / 800.0).sin())
            })
            .collect()
    }

    #[test]
    fn one_device_captured_twice_is_noticed_once() {
        let x = voice(16_000 * 6, 1);
        let mut late = vec![0.0; 960];
        late.extend_from_slice(&x[..x.len() - 960]); // 60 ms apart, as PipeWire can have them
        let mut s = SameSignal::default();
        let warnings: Vec<_> = x
            .chunks(160)
            .zip(late.chunks(160))
            .filter_map(|(r, p)| s.push(r, p))
            .collect();
        assert_eq!(warnings.len(), 1, "{warnings:?}");
    }

    #[test]
    fn an_echo_or_two_voices_are_not_the_same_signal() {
        let x = voice(16_000 * 6, 1);
        let other = voice(16_000 * 6, 7);
        // A quieter, delayed echo of the prospect in the mic.
        let mut echo = vec![0.0; 480];
        echo.extend(x[..x.len() - 480].iter().map(|v| v * 0.5));
        let mut s = SameSignal::default();
        for (mic, prospect) in [(&other, &x), (&echo, &x)] {
            for (r, p) in mic.chunks(160).zip(prospect.chunks(160)) {
                assert_eq!(s.push(r, p), None);
            }
        }
    }
}
