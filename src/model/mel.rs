//! Slaney-style mel filterbank, a port of `librosa.filters.mel(sr, n_fft, n_mels)` with
//! `htk=False, norm="slaney"`: the filters OpenAI's Whisper (and whisper.cpp's files) use.

const F_SP: f64 = 200.0 / 3.0;
const MIN_LOG_HZ: f64 = 1000.0;
const MIN_LOG_MEL: f64 = MIN_LOG_HZ / F_SP;

fn log_step() -> f64 {
    6.4f64.ln() / 27.0
}

fn hz_to_mel(hz: f64) -> f64 {
    if hz >= MIN_LOG_HZ {
        MIN_LOG_MEL + (hz / MIN_LOG_HZ).ln() / log_step()
    } else {
        hz / F_SP
    }
}

fn mel_to_hz(mel: f64) -> f64 {
    if mel >= MIN_LOG_MEL {
        MIN_LOG_HZ * (log_step() * (mel - MIN_LOG_MEL)).exp()
    } else {
        F_SP * mel
    }
}

/// Returns `n_mels` rows of `n_fft / 2 + 1` weights, row-major.
pub fn filters(sample_rate_hz: f64, n_fft: usize, n_mels: usize) -> Vec<f32> {
    let n_bins = n_fft / 2 + 1;
    let fft_hz: Vec<f64> = (0..n_bins)
        .map(|i| i as f64 * (sample_rate_hz / 2.0) / (n_bins - 1) as f64)
        .collect();
    let (lo, hi) = (hz_to_mel(0.0), hz_to_mel(sample_rate_hz / 2.0));
    let mel_hz: Vec<f64> = (0..n_mels + 2)
        .map(|i| mel_to_hz(lo + (hi - lo) * i as f64 / (n_mels + 1) as f64))
        .collect();
    let mut out = vec![0f32; n_mels * n_bins];
    for m in 0..n_mels {
        let (left, centre, right) = (mel_hz[m], mel_hz[m + 1], mel_hz[m + 2]);
        let norm = 2.0 / (right - left);
        for (b, &f) in fft_hz.iter().enumerate() {
            let lower = (f - left) / (centre - left);
            let upper = (right - f) / (right - centre);
            out[m * n_bins + b] = (lower.min(upper).max(0.0) * norm) as f32;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    // Reference values from librosa 0.11: librosa.filters.mel(sr=16000, n_fft=400, n_mels=80).
    #[test]
    fn matches_librosa() {
        let f = filters(16000.0, 400, 80);
        assert_eq!(f.len(), 80 * 201);
        for &(m, b, want) in REFERENCE {
            let got = f[m * 201 + b] as f64;
            assert!(
                (got - want).abs() < 1e-9,
                "mel[{m}][{b}] = {got}, librosa {want}"
            );
        }
        let sum: f64 = f.iter().map(|&v| v as f64).sum();
        assert!((sum - 1.999024092387117).abs() < 1e-6, "sum {sum}");
    }

    const REFERENCE: &[(usize, usize, f64)] = &[
        (0, 1, 2.486259490252e-02),
        (0, 2, 0.0),
        (19, 18, 8.981377817690e-03),
        (35, 36, 1.201886404306e-02),
        (46, 53, 4.982104524970e-03),
        (53, 72, 5.574479699135e-03),
        (59, 89, 6.671349518001e-03),
        (64, 105, 1.313138869591e-03),
        (68, 123, 1.740005332977e-03),
        (71, 143, 3.398120868951e-03),
        (74, 162, 2.014909405261e-03),
        (77, 177, 2.979632467031e-03),
        (79, 199, 4.487590049393e-04),
        (79, 200, 0.0),
    ];
}
