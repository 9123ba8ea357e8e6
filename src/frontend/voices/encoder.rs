//! Who a voice is: Resemblyzer's voice encoder (a GE2E speaker encoder: three LSTM layers of
//! 256 over 40 mel bands, 1.6 s of speech to a 256-wide unit vector; Apache-2.0), run with
//! candle. Two stretches of one voice embed close together (a dot product of about 0.8 or
//! more); two voices further apart.

use std::path::Path;

use candle_core::{Device, Tensor};
use realfft::num_complex::Complex32;
use realfft::{RealFftPlanner, RealToComplex};

// Branchless, so the loops over the 256 cells vectorise (libm's were a third of the time).
use crate::frontend::vad::silero::{sigmoid, tanh};

pub const N_MELS: usize = 40;
pub const HIDDEN: usize = 256;
pub const DIM: usize = 256;
/// Mel frames a window holds (10 ms each): the 1.6 s the encoder was trained on.
pub const WINDOW: usize = 160;
const N_FFT: usize = 400;
pub const HOP: usize = 160;
const LAYERS: usize = 3;
/// Each window is scaled to this mean power before it is read (-30 dBFS, the level the
/// encoder's training audio was normalised to), so a voice embeds the same loud or soft.
const TARGET_POWER: f32 = 1e-3;

#[derive(Debug, thiserror::Error)]
pub enum VoiceModelError {
    #[error("{}: not a usable voice encoder; run `twoears model install voice` to install it again", path.display())]
    Bad {
        path: std::path::PathBuf,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    #[error("the voice encoder failed")]
    Run(#[source] candle_core::Error),
}

/// Mel power frames of 16 kHz audio as librosa computes them for Resemblyzer (Hann window
/// of 400, hop 160, centred with zero padding, Slaney mel filters, power not log), with
/// each frame's mean square kept to scale windows by. Fed in pieces of any size.
pub struct MelFrames {
    filters: Vec<f32>,
    fft: std::sync::Arc<dyn RealToComplex<f32>>,
    window: Vec<f32>,
    /// Samples not yet framed; starts with the half window of centring padding.
    pending: Vec<f32>,
    frame: Vec<f32>,
    spectrum: Vec<Complex32>,
    /// Samples pushed so far: the call has `1 + pushed / HOP` frames.
    pushed: usize,
    pub mels: Vec<[f32; N_MELS]>,
    pub power: Vec<f32>,
}

impl Default for MelFrames {
    fn default() -> Self {
        Self::new()
    }
}

impl MelFrames {
    pub fn new() -> Self {
        let fft = RealFftPlanner::<f32>::new().plan_fft_forward(N_FFT);
        let spectrum = fft.make_output_vec();
        Self {
            filters: crate::model::mel::filters(16000.0, N_FFT, N_MELS),
            window: (0..N_FFT)
                .map(|n| {
                    (0.5 - 0.5 * (2.0 * std::f64::consts::PI * n as f64 / N_FFT as f64).cos())
                        as f32
                })
                .collect(),
            fft,
            pending: vec![0.0; N_FFT / 2],
            frame: vec![0.0; N_FFT],
            spectrum,
            pushed: 0,
            mels: Vec::new(),
            power: Vec::new(),
        }
    }

    pub fn push(&mut self, samples: &[f32]) {
        self.pushed += samples.len();
        self.pending.extend_from_slice(samples);
        self.drain();
    }

    /// Pads the end as librosa does and frames what is left.
    pub fn finish(&mut self) {
        let total = 1 + self.pushed / HOP;
        self.pending.extend(std::iter::repeat_n(0.0, N_FFT / 2));
        self.drain();
        self.mels.truncate(total);
        self.power.truncate(total);
    }

    fn drain(&mut self) {
        let mut start = 0;
        while start + N_FFT <= self.pending.len() {
            let src = &self.pending[start..start + N_FFT];
            // The frame's own 10 ms (its middle hop) for its level.
            let mid = &src[N_FFT / 2 - HOP / 2..N_FFT / 2 + HOP / 2];
            self.power
                .push(mid.iter().map(|s| s * s).sum::<f32>() / HOP as f32);
            for ((f, s), w) in self.frame.iter_mut().zip(src).zip(&self.window) {
                *f = s * w;
            }
            self.fft
                .process(&mut self.frame, &mut self.spectrum)
                .expect("buffers sized by the planner");
            let bins = self.spectrum.len();
            let mut mel = [0f32; N_MELS];
            for (m, out) in mel.iter_mut().enumerate() {
                let row = &self.filters[m * bins..(m + 1) * bins];
                *out = row
                    .iter()
                    .zip(&self.spectrum)
                    .map(|(w, c)| w * c.norm_sqr())
                    .sum();
            }
            self.mels.push(mel);
            start += HOP;
        }
        self.pending.drain(..start);
    }
}

/// The encoder's weights, transposed for `x · W`.
pub struct VoiceEncoder {
    w_ih: Vec<Tensor>,
    w_hh: Vec<Tensor>,
    bias: Vec<Tensor>,
    linear_w: Tensor,
    linear_b: Vec<f32>,
}

impl VoiceEncoder {
    /// # Errors
    /// A missing, damaged or different file.
    pub fn load(path: &Path) -> Result<Self, VoiceModelError> {
        let bad = |source: Box<dyn std::error::Error + Send + Sync>| VoiceModelError::Bad {
            path: path.to_path_buf(),
            source,
        };
        let bytes = std::fs::read(path).map_err(|e| bad(e.into()))?;
        let tensors = candle_core::safetensors::load_buffer(&bytes, &Device::Cpu)
            .map_err(|e| bad(e.into()))?;
        let get = |name: &str, shape: &[usize]| -> Result<Tensor, VoiceModelError> {
            crate::model::shaped(&tensors, name, shape)
                .cloned()
                .map_err(|e| bad(e.into()))
        };
        let run = |e: candle_core::Error| bad(e.into());
        let (mut w_ih, mut w_hh, mut bias) = (Vec::new(), Vec::new(), Vec::new());
        for l in 0..LAYERS {
            let inputs = if l == 0 { N_MELS } else { HIDDEN };
            let t = |w: Tensor| w.t().and_then(|t| t.contiguous());
            w_ih.push(
                t(get(&format!("lstm.weight_ih_l{l}"), &[4 * HIDDEN, inputs])?).map_err(run)?,
            );
            w_hh.push(
                t(get(&format!("lstm.weight_hh_l{l}"), &[4 * HIDDEN, HIDDEN])?).map_err(run)?,
            );
            let b = (get(&format!("lstm.bias_ih_l{l}"), &[4 * HIDDEN])?
                + get(&format!("lstm.bias_hh_l{l}"), &[4 * HIDDEN])?)
            .map_err(run)?;
            bias.push(b);
        }
        let linear_w = get("linear.weight", &[DIM, HIDDEN])?
            .t()
            .and_then(|t| t.contiguous())
            .map_err(run)?;
        let linear_b = get("linear.bias", &[DIM])?.to_vec1().map_err(run)?;
        Ok(Self {
            w_ih,
            w_hh,
            bias,
            linear_w,
            linear_b,
        })
    }

    /// Embeds windows of `WINDOW` mel frames, each with the mean power of its audio (to
    /// scale it to the training level). Unit vectors, one per window.
    ///
    /// # Errors
    /// A failure inside candle (out of memory).
    pub fn embed(
        &self,
        windows: &[(&[[f32; N_MELS]], f32)],
    ) -> Result<Vec<Vec<f32>>, VoiceModelError> {
        let mut out = Vec::with_capacity(windows.len());
        // Batches bound the memory one layer's inputs take (64 x 160 x 1024 floats).
        for batch in windows.chunks(64) {
            out.extend(self.embed_batch(batch).map_err(VoiceModelError::Run)?);
        }
        Ok(out)
    }

    fn embed_batch(
        &self,
        windows: &[(&[[f32; N_MELS]], f32)],
    ) -> candle_core::Result<Vec<Vec<f32>>> {
        let b = windows.len();
        let dev = &Device::Cpu;
        let mut x = Vec::with_capacity(b * WINDOW * N_MELS);
        for (mels, power) in windows {
            let gain = TARGET_POWER / power.max(1e-10);
            for t in 0..WINDOW {
                match mels.get(t) {
                    Some(m) => x.extend(m.iter().map(|v| v * gain)),
                    None => x.extend([0.0; N_MELS]),
                }
            }
        }
        let mut input = Tensor::from_vec(x, (b * WINDOW, N_MELS), dev)?;
        let mut h = vec![0f32; b * HIDDEN];
        for l in 0..LAYERS {
            // Every step's input projection at once; the recurrence one step at a time.
            let xi = input
                .matmul(&self.w_ih[l])?
                .broadcast_add(&self.bias[l])?
                .flatten_all()?
                .to_vec1::<f32>()?;
            let last = l + 1 == LAYERS;
            let mut seq = if last {
                Vec::new()
            } else {
                vec![0f32; b * WINDOW * HIDDEN]
            };
            h.iter_mut().for_each(|v| *v = 0.0);
            let mut c = vec![0f32; b * HIDDEN];
            for t in 0..WINDOW {
                let g = Tensor::from_slice(&h, (b, HIDDEN), dev)?
                    .matmul(&self.w_hh[l])?
                    .flatten_all()?
                    .to_vec1::<f32>()?;
                for k in 0..b {
                    let g = &g[k * 4 * HIDDEN..(k + 1) * 4 * HIDDEN];
                    let xi = &xi[(k * WINDOW + t) * 4 * HIDDEN..][..4 * HIDDEN];
                    for j in 0..HIDDEN {
                        // PyTorch's gate order: input, forget, cell, output.
                        let i = sigmoid(g[j] + xi[j]);
                        let f = sigmoid(g[HIDDEN + j] + xi[HIDDEN + j]);
                        let cell = tanh(g[2 * HIDDEN + j] + xi[2 * HIDDEN + j]);
                        let o = sigmoid(g[3 * HIDDEN + j] + xi[3 * HIDDEN + j]);
                        let cj = f * c[k * HIDDEN + j] + i * cell;
                        c[k * HIDDEN + j] = cj;
                        h[k * HIDDEN + j] = o * tanh(cj);
                    }
                    if !last {
                        seq[(k * WINDOW + t) * HIDDEN..][..HIDDEN]
                            .copy_from_slice(&h[k * HIDDEN..(k + 1) * HIDDEN]);
                    }
                }
            }
            if !last {
                input = Tensor::from_vec(seq, (b * WINDOW, HIDDEN), dev)?;
            }
        }
        let e = Tensor::from_slice(&h, (b, HIDDEN), dev)?
            .matmul(&self.linear_w)?
            .to_vec2::<f32>()?;
        Ok(e.into_iter()
            .map(|row| {
                let mut v: Vec<f32> = row
                    .iter()
                    .zip(&self.linear_b)
                    .map(|(x, b)| (x + b).max(0.0))
                    .collect();
                normalise(&mut v);
                v
            })
            .collect())
    }
}

/// Scales `v` to unit length (leaves a zero vector alone).
pub fn normalise(v: &mut [f32]) {
    let n = v.iter().map(|x| x * x).sum::<f32>().sqrt();
    if n > 0.0 {
        v.iter_mut().for_each(|x| *x /= n);
    }
}

pub fn dot(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

/// Where the installed weights are, if they are.
pub fn installed() -> Option<std::path::PathBuf> {
    crate::model::store::installed(crate::model::voice::FILE, Path::is_file)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_are_librosas_count_and_a_tone_lands_in_its_band() {
        // 1 s of 1 kHz in pieces of odd sizes: 1 + 16000 / 160 frames, centred.
        let tone: Vec<f32> = (0..16000)
            .map(|n| (2.0 * std::f32::consts::PI * 1000.0 * n as f32 / 16000.0).sin() * 0.1)
            .collect();
        let mut m = MelFrames::new();
        for piece in tone.chunks(333) {
            m.push(piece);
        }
        m.finish();
        assert_eq!(m.mels.len(), 101);
        assert_eq!(m.power.len(), 101);
        let mid = &m.mels[50];
        let loudest = (0..N_MELS)
            .max_by(|&a, &b| mid[a].total_cmp(&mid[b]))
            .unwrap();
        // librosa puts it in band 13 (scripts/voice_reference.py's frames, the same).
        assert_eq!(loudest, 13);
        assert!((m.power[50] - 0.005).abs() < 5e-4, "power {}", m.power[50]);
    }
}
