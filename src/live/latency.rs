//! The audio path's latency: from a sample's arrival in the audio callback to its VAD
//! frame, as a histogram of 1 ms buckets (the last catches all).

#[derive(Clone)]
pub struct PathLatency([u64; 1000]);

impl Default for PathLatency {
    fn default() -> Self {
        Self([0; 1000])
    }
}

impl PathLatency {
    pub fn add(&mut self, secs: f64) {
        let ms = (secs.max(0.0) * 1000.0) as usize;
        self.0[ms.min(self.0.len() - 1)] += 1;
    }

    /// The samples added since `earlier`, a copy of this histogram taken then.
    pub fn since(&self, earlier: &PathLatency) -> PathLatency {
        let mut d = self.clone();
        for (n, before) in d.0.iter_mut().zip(&earlier.0) {
            *n = n.saturating_sub(*before);
        }
        d
    }

    /// Median, 95th percentile and maximum, in ms.
    pub fn summary(&self) -> [f64; 3] {
        let total: u64 = self.0.iter().sum();
        let at = |q: f64| {
            let want = (q * total as f64).ceil().max(1.0) as u64;
            let mut seen = 0;
            for (ms, n) in self.0.iter().enumerate() {
                seen += n;
                if seen >= want {
                    return ms as f64;
                }
            }
            0.0
        };
        if total == 0 {
            return [0.0; 3];
        }
        [at(0.5), at(0.95), at(1.0)]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn path_latency_percentiles() {
        let mut p = PathLatency::default();
        for ms in 1..=100 {
            p.add(ms as f64 / 1000.0);
        }
        p.add(5.0); // beyond the histogram: lands in the last bucket
        assert_eq!(p.summary(), [51.0, 96.0, 999.0]);
        let mark = p.clone();
        for _ in 0..3 {
            p.add(0.002);
        }
        assert_eq!(p.since(&mark).summary(), [2.0, 2.0, 2.0]);
    }
}
