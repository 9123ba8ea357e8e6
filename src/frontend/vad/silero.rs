//! Silero VAD (v6, 16 kHz), ported to plain Rust: the second opinion on every frame earshot
//! calls voiced. earshot is quick and hears speech well, but also hears keys, music and
//! chimes; Silero tells them apart. Weights come from the `silero-vad` PyPI wheel
//! (`silero_vad_16k.safetensors`, MIT) through `twoears model install`.
//!
//! One step reads 512 new samples (32 ms) with the 64 before them: a Hann-windowed 256-point
//! STFT (4 frames, done with an FFT: the model's STFT convolution is exactly that), four
//! 1-D convolutions, one LSTM cell and a 1x1 convolution to a probability. The state (the
//! LSTM's and the 64 samples of context) carries from step to step.

use std::path::Path;
use std::sync::Arc;

use realfft::num_complex::Complex32;
use realfft::{RealFftPlanner, RealToComplex};

/// New samples per step.
pub const CHUNK: usize = 512;
const CONTEXT: usize = 64;
const N_FFT: usize = 256;
const HOP: usize = 128;
const BINS: usize = N_FFT / 2 + 1;
/// The input is the context and the chunk, reflected 64 samples to the right.
const PADDED: usize = CONTEXT + CHUNK + 64;
const FRAMES: usize = (PADDED - N_FFT) / HOP + 1;
const HIDDEN: usize = 128;

#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("{}: not usable Silero VAD weights; run `twoears model install` to install the speech detector again", path.display())]
    Bad {
        path: std::path::PathBuf,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
}

/// A layer's weights in blocks of `block` outputs, each `[tap][in][out in the block]`: each
/// input value scales one contiguous row of outputs (no horizontal sums), and a block's
/// weights are read front to back.
struct Layer {
    w: Vec<f32>,
    b: Vec<f32>,
    inputs: usize,
    taps: usize,
    block: usize,
}

impl Layer {
    /// From PyTorch's `[out][in][tap]`, keeping the taps in `keep`.
    fn new(
        w: &[f32],
        b: Vec<f32>,
        inputs: usize,
        taps: usize,
        keep: std::ops::Range<usize>,
        block: usize,
    ) -> Self {
        let out = b.len();
        let mut t = Vec::with_capacity(keep.len() * inputs * out);
        for ob in (0..out).step_by(block) {
            for k in keep.clone() {
                for i in 0..inputs {
                    t.extend((ob..ob + block).map(|o| w[(o * inputs + i) * taps + k]));
                }
            }
        }
        Self {
            w: t,
            b,
            inputs,
            taps: keep.len(),
            block,
        }
    }

    /// `out[p][o] = relu?(b[o] + sum over k, i of w[k][i][o] * x[stride * p + k][i])` for
    /// `P` positions; `x` is `[frame][in]`, zero-padded by the caller; `xt` is scratch for
    /// it transposed. `B` outputs are summed at a time, in `P * B / 8` vector registers.
    #[inline(always)]
    fn apply<const P: usize, const B: usize, const FMA: bool>(
        &self,
        x: &[f32],
        stride: usize,
        relu: bool,
        xt: &mut [f32],
        out: &mut [f32],
    ) {
        debug_assert_eq!(self.block, B);
        let (n_in, n_out) = (self.inputs, self.b.len());
        // `[tap][in][position]`, so each weight row meets its P inputs side by side.
        let xt = &mut xt[..self.taps * n_in * P];
        for (k, xk) in xt.chunks_exact_mut(n_in * P).enumerate() {
            for (i, v) in xk.chunks_exact_mut(P).enumerate() {
                for (p, v) in v.iter_mut().enumerate() {
                    *v = x[(stride * p + k) * n_in + i];
                }
            }
        }
        for (ob, wb) in self.w.chunks_exact(self.taps * n_in * B).enumerate() {
            let mut acc = [[0f32; B]; P];
            for a in &mut acc {
                a.copy_from_slice(&self.b[ob * B..][..B]);
            }
            for (w, v) in wb.chunks_exact(B).zip(xt.chunks_exact(P)) {
                for (acc, &v) in acc.iter_mut().zip(v) {
                    for l in 0..B {
                        acc[l] = if FMA {
                            v.mul_add(w[l], acc[l])
                        } else {
                            acc[l] + v * w[l]
                        };
                    }
                }
            }
            for (p, acc) in acc.iter().enumerate() {
                for (o, a) in out[p * n_out + ob * B..][..B].iter_mut().zip(acc) {
                    *o = if relu { a.max(0.0) } else { *a };
                }
            }
        }
    }
}

pub struct Weights {
    conv1: Layer,
    conv2: Layer,
    conv3: Layer,
    /// conv4 meets a single frame: only its middle tap.
    conv4: Layer,
    /// The LSTM's input and hidden weights as one layer over `[x, h]`, biases summed;
    /// gates in PyTorch's order: input, forget, cell, output.
    lstm: Layer,
    out_w: Vec<f32>,
    out_b: f32,
}

impl Weights {
    /// Reads the safetensors file of the `silero-vad` wheel.
    ///
    /// # Errors
    /// A missing, damaged or different file.
    pub fn load(path: &Path) -> Result<Arc<Self>, LoadError> {
        let bad = |source: Box<dyn std::error::Error + Send + Sync>| LoadError::Bad {
            path: path.to_path_buf(),
            source,
        };
        let bytes = std::fs::read(path).map_err(|e| bad(e.into()))?;
        let tensors = candle_core::safetensors::load_buffer(&bytes, &candle_core::Device::Cpu)
            .map_err(|e| bad(e.into()))?;
        let get = |name: &str, shape: &[usize]| -> Result<Vec<f32>, LoadError> {
            let t = crate::model::shaped(&tensors, name, shape).map_err(|e| bad(e.into()))?;
            t.to_dtype(candle_core::DType::F32)
                .and_then(|t| t.flatten_all())
                .and_then(|t| t.to_vec1::<f32>())
                .map_err(|e| bad(e.into()))
        };
        let layer = |name: &str,
                     out: usize,
                     inputs: usize,
                     keep: std::ops::Range<usize>,
                     block: usize|
         -> Result<Layer, LoadError> {
            let w = get(&format!("{name}.weight"), &[out, inputs, 3])?;
            Ok(Layer::new(
                &w,
                get(&format!("{name}.bias"), &[out])?,
                inputs,
                3,
                keep,
                block,
            ))
        };
        // The STFT convolution is a Hann-windowed DFT; check that before replacing it.
        let stft = get("stft_conv.weight", &[2 * BINS, 1, N_FFT])?;
        let window = hann();
        let k = 3;
        let worst = (0..N_FFT)
            .map(|n| {
                let phase = 2.0 * std::f64::consts::PI * (k * n) as f64 / N_FFT as f64;
                (stft[k * N_FFT + n] as f64 - phase.cos() * window[n] as f64).abs()
            })
            .fold(0.0, f64::max);
        if worst > 1e-4 {
            return Err(bad("its STFT is not a Hann-windowed DFT".into()));
        }
        let b_ih = get("lstm_cell.bias_ih", &[4 * HIDDEN])?;
        let b_hh = get("lstm_cell.bias_hh", &[4 * HIDDEN])?;
        let w_ih = get("lstm_cell.weight_ih", &[4 * HIDDEN, HIDDEN])?;
        let w_hh = get("lstm_cell.weight_hh", &[4 * HIDDEN, HIDDEN])?;
        // As a layer of one tap over `[x, h]`: `[gate][x then h]`.
        let mut lstm = Vec::with_capacity(2 * HIDDEN * 4 * HIDDEN);
        for g in 0..4 * HIDDEN {
            lstm.extend_from_slice(&w_ih[g * HIDDEN..][..HIDDEN]);
            lstm.extend_from_slice(&w_hh[g * HIDDEN..][..HIDDEN]);
        }
        let bias = b_ih.iter().zip(&b_hh).map(|(a, b)| a + b).collect();
        Ok(Arc::new(Self {
            conv1: layer("conv1", 128, BINS, 0..3, 16)?,
            conv2: layer("conv2", 64, 128, 0..3, 32)?,
            conv3: layer("conv3", 64, 64, 0..3, 64)?,
            conv4: layer("conv4", HIDDEN, 64, 1..2, 64)?,
            lstm: Layer::new(&lstm, bias, 2 * HIDDEN, 1, 0..1, 64),
            out_w: get("final_conv.weight", &[1, HIDDEN, 1])?,
            out_b: get("final_conv.bias", &[1])?[0],
        }))
    }
}

/// The periodic Hann window of the model's STFT.
fn hann() -> [f32; N_FFT] {
    std::array::from_fn(|n| {
        (0.5 - 0.5 * (2.0 * std::f64::consts::PI * n as f64 / N_FFT as f64).cos()) as f32
    })
}

/// One side's detector: the weights (shared) and its own state and scratch space, all
/// allocated in `new`.
pub struct Silero {
    w: Arc<Weights>,
    fft: Arc<dyn RealToComplex<f32>>,
    window: [f32; N_FFT],
    input: [f32; PADDED],
    frame: Vec<f32>,
    spectrum: Vec<Complex32>,
    fft_scratch: Vec<Complex32>,
    /// Each layer's input, `[frame][channel]` with a zero frame either side (the
    /// convolutions' padding).
    mag: [[f32; BINS]; FRAMES + 2],
    l1: [[f32; 128]; FRAMES + 2],
    l2: [[f32; 64]; 2 + 2],
    l3: [f32; 64],
    /// `[x, h]`: conv4's output and the LSTM's hidden state.
    xh: [f32; 2 * HIDDEN],
    gates: [f32; 4 * HIDDEN],
    c: [f32; HIDDEN],
    /// A layer's input transposed (`Layer::apply`): conv1's is the largest.
    xt: Vec<f32>,
}

impl Silero {
    pub fn new(w: Arc<Weights>) -> Self {
        let fft = RealFftPlanner::<f32>::new().plan_fft_forward(N_FFT);
        Self {
            frame: fft.make_input_vec(),
            spectrum: fft.make_output_vec(),
            fft_scratch: fft.make_scratch_vec(),
            fft,
            w,
            window: hann(),
            input: [0.0; PADDED],
            mag: [[0.0; BINS]; FRAMES + 2],
            l1: [[0.0; 128]; FRAMES + 2],
            l2: [[0.0; 64]; 2 + 2],
            l3: [0.0; 64],
            xh: [0.0; 2 * HIDDEN],
            gates: [0.0; 4 * HIDDEN],
            c: [0.0; HIDDEN],
            xt: vec![0.0; 3 * BINS * FRAMES],
        }
    }

    /// Forgets the past, as at the start of a recording, but for the audio just before
    /// the next step (the last 64 samples of `before`).
    pub fn restart(&mut self, before: &[f32]) {
        self.input[..CONTEXT].copy_from_slice(&before[before.len() - CONTEXT..]);
        self.xh.fill(0.0);
        self.c.fill(0.0);
    }

    /// The probability that the 32 ms in `chunk` are speech.
    pub fn step(&mut self, chunk: &[f32; CHUNK]) -> f32 {
        #[cfg(target_arch = "x86_64")]
        if std::is_x86_feature_detected!("avx2") && std::is_x86_feature_detected!("fma") {
            // SAFETY: the CPU has AVX2 and FMA, checked just above.
            return unsafe { self.step_avx2(chunk) };
        }
        self.step_any(chunk)
    }

    /// The same code, compiled for AVX2 and FMA (eight lanes, multiply and add in one
    /// instruction): a portable build targets SSE2, which takes twice as long.
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2,fma")]
    unsafe fn step_avx2(&mut self, chunk: &[f32; CHUNK]) -> f32 {
        self.step_with::<true>(chunk)
    }

    fn step_any(&mut self, chunk: &[f32; CHUNK]) -> f32 {
        self.step_with::<false>(chunk)
    }

    /// `FMA`: fused multiply-adds, only where the CPU has them (elsewhere they are a
    /// library call).
    #[inline(always)]
    fn step_with<const FMA: bool>(&mut self, chunk: &[f32; CHUNK]) -> f32 {
        let n = CONTEXT + CHUNK;
        self.input[CONTEXT..n].copy_from_slice(chunk);
        for j in 0..PADDED - n {
            self.input[n + j] = self.input[n - 2 - j];
        }
        for t in 0..FRAMES {
            let x = &self.input[t * HOP..t * HOP + N_FFT];
            for ((f, &x), &w) in self.frame.iter_mut().zip(x).zip(&self.window) {
                *f = x * w;
            }
            self.fft
                .process_with_scratch(&mut self.frame, &mut self.spectrum, &mut self.fft_scratch)
                .expect("buffers come from the plan");
            for (m, s) in self.mag[t + 1].iter_mut().zip(&self.spectrum) {
                // Not `norm()`: hypot guards against overflow no spectrum here can reach, at ten
                // times the cost.
                *m = (s.re * s.re + s.im * s.im).sqrt();
            }
        }
        self.input.copy_within(n - CONTEXT..n, 0);

        let w = &*self.w;
        // conv1: kernel 3, stride 1; conv2 and conv3: kernel 3, stride 2; conv4 on one
        // frame. The buffers' first and last frames stay zero.
        let xt = &mut self.xt;
        w.conv1.apply::<FRAMES, 16, FMA>(
            self.mag.as_flattened(),
            1,
            true,
            xt,
            &mut self.l1.as_flattened_mut()[128..128 * (FRAMES + 1)],
        );
        w.conv2.apply::<2, 32, FMA>(
            self.l1.as_flattened(),
            2,
            true,
            xt,
            &mut self.l2.as_flattened_mut()[64..64 * 3],
        );
        w.conv3
            .apply::<1, 64, FMA>(self.l2.as_flattened(), 2, true, xt, &mut self.l3);
        w.conv4
            .apply::<1, 64, FMA>(&self.l3, 1, true, xt, &mut self.xh[..HIDDEN]);

        // The LSTM cell.
        w.lstm
            .apply::<1, 64, FMA>(&self.xh, 1, false, xt, &mut self.gates);
        let (i, rest) = self.gates.split_at(HIDDEN);
        let (f, rest) = rest.split_at(HIDDEN);
        let (g, o) = rest.split_at(HIDDEN);
        let h = &mut self.xh[HIDDEN..];
        for j in 0..HIDDEN {
            self.c[j] = sigmoid(f[j]) * self.c[j] + sigmoid(i[j]) * tanh(g[j]);
            h[j] = sigmoid(o[j]) * tanh(self.c[j]);
        }
        let logit = w.out_b
            + w.out_w
                .iter()
                .zip(h.iter())
                .map(|(w, h)| w * h.max(0.0))
                .sum::<f32>();
        sigmoid(logit)
    }
}

/// Shared with the voice encoder's LSTM (`voices::encoder`).
#[inline(always)]
pub(crate) fn sigmoid(x: f32) -> f32 {
    1.0 / (1.0 + exp(-x))
}

#[inline(always)]
pub(crate) fn tanh(x: f32) -> f32 {
    2.0 * sigmoid(2.0 * x) - 1.0
}

/// `e^x` to within 2e-7 relative, without branches or calls so that the loops over the
/// LSTM's 128 cells vectorise (libm's `expf` and `tanhf` were a fifth of the time).
#[inline(always)]
fn exp(x: f32) -> f32 {
    const LOG2E: f32 = std::f32::consts::LOG2_E;
    const LN2_HI: f32 = 0.693_145_75;
    const LN2_LO: f32 = 1.428_606_8e-6;
    // Rounds to the nearest integer by adding and subtracting 1.5 * 2^23.
    const ROUND: f32 = 12_582_912.0;
    let x = x.clamp(-87.0, 88.0);
    let n = (x * LOG2E + ROUND) - ROUND;
    let r = x - n * LN2_HI - n * LN2_LO;
    // e^r on [-ln2/2, ln2/2], Taylor to r^7.
    let mut p = 1.0 / 5040.0;
    for c in [
        1.0 / 720.0,
        1.0 / 120.0,
        1.0 / 24.0,
        1.0 / 6.0,
        0.5,
        1.0,
        1.0,
    ] {
        p = p * r + c;
    }
    p * f32::from_bits(((n as i32 + 127) as u32) << 23)
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_damaged_weights_file_is_one_line_that_says_how_to_install_again() {
        let dir = tempfile::tempdir().unwrap();
        for bytes in [&b"not safetensors"[..], &[]] {
            let p = dir.path().join(crate::model::vad::FILE);
            std::fs::write(&p, bytes).unwrap();
            let e = super::Weights::load(&p).err().expect("refused").to_string();
            assert!(e.contains("run `twoears model install`"), "{e}");
            assert!(!e.contains('\n'), "{e}");
        }
        let e = super::Weights::load(&dir.path().join("absent"))
            .err()
            .unwrap();
        assert!(e.to_string().contains("twoears model install"), "{e}");
    }

    #[test]
    fn the_fast_exp_matches_libm() {
        let mut worst = 0f32;
        for i in -8700..=8800 {
            let x = i as f32 / 100.0;
            worst = worst.max((super::exp(x) - x.exp()).abs() / x.exp());
        }
        assert!(worst < 1e-6, "worst relative error {worst}");
        assert!((super::tanh(0.3) - 0.3f32.tanh()).abs() < 1e-6);
        assert!(super::sigmoid(-200.0) < 1e-30);
        assert_eq!(super::sigmoid(200.0), 1.0);
    }
}
