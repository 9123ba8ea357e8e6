//! A device clock against the monotonic clock: the least-squares slope of the frames a
//! device delivered over wall time. One device period of jitter at the ends would swamp
//! a two-point estimate.

#[derive(Default)]
pub struct DriftFit {
    origin: Option<(f64, f64)>,
    last_t: f64,
    n: f64,
    st: f64,
    sf: f64,
    stt: f64,
    stf: f64,
}

impl DriftFit {
    /// `frames` delivered by `wall_s` seconds.
    pub fn add(&mut self, wall_s: f64, frames: f64) {
        let (t0, f0) = *self.origin.get_or_insert((wall_s, frames));
        let (t, f) = (wall_s - t0, frames - f0);
        self.last_t = t;
        self.n += 1.0;
        self.st += t;
        self.sf += f;
        self.stt += t * t;
        self.stf += t * f;
    }

    /// Seconds the fit spans.
    pub fn span_s(&self) -> f64 {
        self.last_t
    }

    /// Frames per second.
    pub fn rate(&self) -> Option<f64> {
        let d = self.n * self.stt - self.st * self.st;
        (self.n > 2.0 && d > 0.0).then(|| (self.n * self.stf - self.st * self.sf) / d)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn drift_fit_sees_through_period_jitter() {
        // A device 500 ppm fast, delivering 10 ms periods drained every 5 ms, one drain in
        // three 10 ms late: two minutes hold 6 periods of drift.
        let rate = 48_000.0 * (1.0 + 500e-6);
        let mut fit = DriftFit::default();
        for i in 0..24_000 {
            let t = i as f64 * 0.005;
            let jitter = if i % 3 == 0 { 0.01 } else { 0.0 };
            let frames = ((t - jitter).max(0.0) * rate / 480.0).floor() * 480.0;
            fit.add(t, frames);
        }
        let ppm = (fit.rate().unwrap() / 48_000.0 - 1.0) * 1e6;
        assert!((ppm - 500.0).abs() < 50.0, "{ppm} ppm");
        assert!(fit.span_s() > 119.0);
    }
}
