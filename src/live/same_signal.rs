//! Notices the two sides carrying one signal: both captures on the same device (a stream
//! the sound server moved, a wrong `--system`). An echo is delayed, filtered and quieter;
//! the same device twice is the same samples at the same level within a few
//! milliseconds. Runs on the stage thread over the aligned 16 kHz blocks.

/// Samples are averaged in fours: 4 kHz keeps voice and makes the lag search cheap.
const DECIMATE: usize = 4;
/// Two seconds of decimated audio per verdict.
const WINDOW: usize = 16_000 / DECIMATE * 2;
/// Lags searched either way: 10 ms, what aligning two streams of one device leaves.
const MAX_LAG: usize = 40;
/// Mean square (decimated) below which a side is too quiet to compare.
const FLOOR: f32 = 1e-6;
/// Correlation and level difference that no echo reaches: the same samples twice.
const SAME_CORR: f32 = 0.97;
const SAME_LEVEL_DB: f32 = 2.0;
/// Windows in a row before a warning.
const WINDOWS: u32 = 2;

pub struct SameSignal {
    rep: Vec<f32>,
    prospect: Vec<f32>,
    acc: [f32; 2],
    filled: usize,
    in_a_row: u32,
    warned: bool,
}

impl Default for SameSignal {
    fn default() -> Self {
        Self {
            rep: Vec::with_capacity(WINDOW),
            prospect: Vec::with_capacity(WINDOW),
            acc: [0.0; 2],
            filled: 0,
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
            self.acc[0] += r;
            self.acc[1] += p;
            self.filled += 1;
            if self.filled == DECIMATE {
                self.rep.push(self.acc[0] / DECIMATE as f32);
                self.prospect.push(self.acc[1] / DECIMATE as f32);
                self.acc = [0.0; 2];
                self.filled = 0;
                if self.rep.len() == WINDOW {
                    verdict = verdict.or(self.judge());
                    self.rep.clear();
                    self.prospect.clear();
                }
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
        let corr = (0..=2 * MAX_LAG)
            .map(|k| {
                let n = WINDOW - 2 * MAX_LAG;
                let a = &self.rep[MAX_LAG..MAX_LAG + n];
                let b = &self.prospect[k..k + n];
                let ab: f32 = a.iter().zip(b).map(|(x, y)| x * y).sum();
                ab / (mean_square(a) * mean_square(b)).sqrt() / n as f32
            })
            .fold(0.0f32, f32::max);
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
        let mut late = vec![0.0; 48];
        late.extend_from_slice(&x[..x.len() - 48]); // 3 ms apart
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
