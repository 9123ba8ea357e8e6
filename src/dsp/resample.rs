//! Resampling each side to 16 kHz mono with rubato's FFT resampler (band-limited, so
//! content above 8 kHz is filtered, not aliased). Streaming in fixed blocks; the
//! resampler's delay is removed so output sample n is call time n / 16000 s.

use rubato::{FftFixedIn, Resampler};

pub const SPEECH_RATE_HZ: u32 = 16_000;
const BLOCK_IN: usize = 1024;

#[derive(Debug, thiserror::Error)]
#[error("cannot resample from {rate_hz} Hz")]
pub struct ResampleError {
    rate_hz: u32,
    #[source]
    source: rubato::ResamplerConstructionError,
}

pub struct ToSpeechRate {
    inner: Option<FftFixedIn<f32>>,
    rate_hz: u32,
    pending: Vec<f32>,
    scratch: Vec<Vec<f32>>,
    /// Output samples still to drop (the resampler's delay).
    skip: usize,
    frames_in: u64,
    frames_out: u64,
}

impl ToSpeechRate {
    /// # Errors
    /// A sample rate rubato cannot handle (zero).
    pub fn new(rate_hz: u32) -> Result<Self, ResampleError> {
        Self::with_block(rate_hz, BLOCK_IN)
    }

    /// Live capture: 10 ms blocks, so the resampler holds audio back as little as it can.
    ///
    /// # Errors
    /// A sample rate rubato cannot handle (zero).
    pub fn low_latency(rate_hz: u32) -> Result<Self, ResampleError> {
        Self::with_block(rate_hz, (rate_hz as usize / 100).max(64))
    }

    fn with_block(rate_hz: u32, block: usize) -> Result<Self, ResampleError> {
        let inner = if rate_hz == SPEECH_RATE_HZ {
            None
        } else {
            Some(
                FftFixedIn::<f32>::new(rate_hz as usize, SPEECH_RATE_HZ as usize, block, 2, 1)
                    .map_err(|source| ResampleError { rate_hz, source })?,
            )
        };
        let (scratch, skip) = match &inner {
            Some(r) => (vec![vec![0f32; r.output_frames_max()]], r.output_delay()),
            None => (Vec::new(), 0),
        };
        Ok(Self {
            inner,
            rate_hz,
            pending: Vec::with_capacity(block * 2),
            scratch,
            skip,
            frames_in: 0,
            frames_out: 0,
        })
    }

    fn emit(&mut self, n: usize, out: &mut Vec<f32>) {
        let block = &self.scratch[0][..n];
        let drop = self.skip.min(n);
        self.skip -= drop;
        out.extend_from_slice(&block[drop..]);
        self.frames_out += (n - drop) as u64;
    }

    /// Seconds of input taken in but not yet given out (block filling plus filter delay).
    pub fn held_s(&self) -> f64 {
        self.frames_in as f64 / f64::from(self.rate_hz)
            - self.frames_out as f64 / f64::from(SPEECH_RATE_HZ)
    }

    /// Appends the 16 kHz samples that `input` completes to `out`.
    pub fn push(&mut self, input: &[f32], out: &mut Vec<f32>) {
        self.frames_in += input.len() as u64;
        if self.inner.is_none() {
            out.extend_from_slice(input);
            self.frames_out += input.len() as u64;
            return;
        }
        self.pending.extend_from_slice(input);
        let mut start = 0;
        loop {
            let r = self.inner.as_mut().expect("checked above");
            let need = r.input_frames_next();
            if self.pending.len() - start < need {
                break;
            }
            let (_, n) = r
                .process_into_buffer(
                    &[&self.pending[start..start + need]],
                    &mut self.scratch,
                    None,
                )
                .expect("buffers are sized by the resampler");
            start += need;
            self.emit(n, out);
        }
        self.pending.drain(..start);
    }

    /// Flushes the tail so the output covers exactly the input's duration.
    pub fn finish(&mut self, out: &mut Vec<f32>) {
        if self.inner.is_none() {
            return;
        }
        let want = (self.frames_in * SPEECH_RATE_HZ as u64).div_ceil(self.rate_hz as u64);
        let mut guard = 0;
        while self.frames_out < want && guard < 64 {
            let r = self.inner.as_mut().expect("checked above");
            let input = [&self.pending[..]];
            let input = (!self.pending.is_empty()).then_some(&input[..]);
            let (_, n) = r
                .process_partial_into_buffer(input, &mut self.scratch, None)
                .expect("buffers are sized by the resampler");
            self.pending.clear();
            let before = out.len();
            self.emit(n, out);
            let extra = (self.frames_out.saturating_sub(want)) as usize;
            out.truncate(out.len() - extra.min(out.len() - before));
            self.frames_out -= extra as u64;
            guard += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tone(rate: u32, hz: f32, secs: f32) -> Vec<f32> {
        (0..(rate as f32 * secs) as usize)
            .map(|i| (i as f32 * hz * std::f32::consts::TAU / rate as f32).sin() * 0.5)
            .collect()
    }

    fn run(rate: u32, input: &[f32], block: usize) -> Vec<f32> {
        let mut r = ToSpeechRate::new(rate).unwrap();
        let mut out = Vec::new();
        for c in input.chunks(block) {
            r.push(c, &mut out);
        }
        r.finish(&mut out);
        out
    }

    #[test]
    fn keeps_duration_for_common_rates() {
        for rate in [8000, 11025, 22050, 44100, 48000, 96000, 192000] {
            let out = run(rate, &tone(rate, 440.0, 2.0), 777);
            assert!(
                (out.len() as i64 - 32000).abs() <= 1,
                "{rate}: {} samples",
                out.len()
            );
        }
    }

    #[test]
    fn preserves_timing_of_an_onset() {
        // Silence then a tone starting at exactly 1.0 s must start at sample 16000.
        let rate = 48000;
        let mut x = vec![0f32; rate as usize];
        x.extend(tone(rate, 1000.0, 1.0));
        let out = run(rate, &x, 480);
        let onset = out.iter().position(|v| v.abs() > 0.1).unwrap();
        assert!((onset as i64 - 16000).abs() < 40, "onset at {onset}");
    }

    #[test]
    fn low_latency_blocks_keep_timing_and_hold_back_little() {
        for rate in [44100, 48000] {
            let mut r = ToSpeechRate::low_latency(rate).unwrap();
            let mut x = vec![0f32; rate as usize];
            x.extend(tone(rate, 1000.0, 1.0));
            let mut out = Vec::new();
            let mut held = 0f64;
            for c in x.chunks(rate as usize / 100) {
                r.push(c, &mut out);
                held = held.max(r.held_s());
            }
            let onset = out.iter().position(|v| v.abs() > 0.1).unwrap();
            assert!(
                (onset as i64 - 16000).abs() < 40,
                "{rate}: onset at {onset}"
            );
            assert!(held < 0.03, "{rate}: held back up to {held} s");
        }
    }

    #[test]
    fn filters_content_above_nyquist_instead_of_aliasing() {
        // A 12 kHz tone cannot exist at 16 kHz; a naive decimator would fold it to 4 kHz.
        let out = run(48000, &tone(48000, 12000.0, 1.0), 1000);
        let rms = (out[2000..14000].iter().map(|v| v * v).sum::<f32>() / 12000.0).sqrt();
        assert!(rms < 0.01, "aliased energy rms {rms}");
    }
}
