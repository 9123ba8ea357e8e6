//! The last seconds of both sides, kept between calls so that when a call is found, its
//! first words (spoken before the other side answered) are still there to hear.

use std::collections::VecDeque;

use crate::dsp::resample::SPEECH_RATE_HZ;

pub struct Preroll {
    cap: usize,
    rep: VecDeque<f32>,
    prospect: VecDeque<f32>,
    /// The watch's time at the end of what is held.
    end_s: f64,
}

impl Preroll {
    /// Holds the last `secs` seconds.
    pub fn new(secs: f64) -> Self {
        let cap = (secs * f64::from(SPEECH_RATE_HZ)).ceil() as usize;
        Self {
            cap,
            rep: VecDeque::with_capacity(cap),
            prospect: VecDeque::with_capacity(cap),
            end_s: 0.0,
        }
    }

    /// One aligned block that ends at `end_s`.
    pub fn push(&mut self, rep: &[f32], prospect: &[f32], end_s: f64) {
        for (q, x) in [(&mut self.rep, rep), (&mut self.prospect, prospect)] {
            q.extend(x);
            let over = q.len().saturating_sub(self.cap);
            q.drain(..over);
        }
        self.end_s = end_s;
    }

    /// What is held from `from_s` on (both sides), and when it starts; emptied.
    pub fn take_from(&mut self, from_s: f64) -> (Vec<f32>, Vec<f32>, f64) {
        let held_s = self.rep.len() as f64 / f64::from(SPEECH_RATE_HZ);
        let start_s = from_s.max(self.end_s - held_s);
        let skip = ((start_s - (self.end_s - held_s)) * f64::from(SPEECH_RATE_HZ)) as usize;
        let skip = skip.min(self.rep.len());
        let rep = self.rep.drain(..).skip(skip).collect();
        let prospect = self.prospect.drain(..).skip(skip).collect();
        (rep, prospect, start_s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_the_last_seconds_and_hands_them_over_from_a_moment() {
        let mut p = Preroll::new(2.0);
        let rate = SPEECH_RATE_HZ as usize;
        for i in 0..50 {
            // 0.1 s blocks whose samples carry their block number.
            let block = vec![i as f32; rate / 10];
            p.push(&block, &block, f64::from(i + 1) / 10.0);
        }
        // 5 s fed, 2 s kept: 3.0..5.0. From 4.0: blocks 40..49.
        let (rep, prospect, start) = p.take_from(4.0);
        assert!((start - 4.0).abs() < 1e-9);
        assert_eq!(rep.len(), rate);
        assert_eq!(rep.first(), Some(&40.0));
        assert_eq!(prospect.last(), Some(&49.0));
        // Earlier than what is held: from the oldest sample kept.
        for i in 50..80 {
            let block = vec![i as f32; rate / 10];
            p.push(&block, &block, f64::from(i + 1) / 10.0);
        }
        let (rep, _, start) = p.take_from(0.0);
        assert!((start - 6.0).abs() < 1e-9, "{start}");
        assert_eq!(rep.first(), Some(&60.0));
    }
}
