//! Keeps the two sides on one timeline, for every source. Each side queues its 16 kHz
//! audio here and the pipeline takes equal amounts of both. A side that delivers nothing
//! (a file that ended; a device unplugged, a server restarting) is filled with silence so
//! the other side and the talk alerts go on. Live devices run on their own clocks and
//! deliver in bursts: there a side that runs ahead of the other by more than `MAX_SKEW`
//! (clock drift, a burst after a side was given up for gone) is trimmed back into line,
//! so the echo canceller's reference stays aligned. A side that is late (a busy machine's
//! sound server holding it back) is waited for without trimming the other; if its audio
//! never comes, silence takes its place. Files are never trimmed.

use std::collections::VecDeque;

use crate::event::{PerSide, Side};

/// Largest lead one live side may build over the other, in 16 kHz samples (200 ms).
const MAX_SKEW: usize = 3_200;
/// Lead left after trimming (jitter of the device periods).
const KEEP: usize = 320;

/// What a side is doing, as its source sees it.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub enum Flow {
    /// Delivering nothing (ended, lost, given up for gone): filled with silence.
    #[default]
    Gone,
    /// Delivering, but held up or just back from a hold-up: waited for, and its lag is
    /// not trimmed from the other side.
    Late,
    /// Delivering steadily.
    Live,
}

impl From<bool> for Flow {
    fn from(live: bool) -> Self {
        if live {
            Self::Live
        } else {
            Self::Gone
        }
    }
}

#[derive(Default)]
pub struct Aligner {
    /// Trim a side that runs ahead (live devices), or never (files).
    trim: bool,
    fifo: PerSide<VecDeque<f32>>,
    out: PerSide<Vec<f32>>,
    /// Samples per side handed to the pipeline.
    pub fed: u64,
    /// Silence inserted per side for audio the device did not deliver.
    pub padded: PerSide<u64>,
    /// Samples dropped per side to realign it with the other.
    pub trimmed: PerSide<u64>,
    /// Each side's flow at the last pull.
    was: PerSide<Flow>,
}

impl Aligner {
    /// For live devices: a side that runs ahead is trimmed back into line.
    pub fn live() -> Self {
        Self {
            trim: true,
            ..Self::default()
        }
    }

    pub fn push(&mut self, side: Side, samples: &[f32]) {
        self.fifo[side].extend(samples);
    }

    /// Queues silence for audio a side lost (counted as padding).
    pub fn push_silence(&mut self, side: Side, n: usize) {
        self.fifo[side].extend(std::iter::repeat_n(0.0, n));
        self.padded[side] += n as u64;
    }

    /// Takes the next aligned block. `flow[s]`: whether side `s` is delivering (so wait
    /// for it); `due`: the sample the wall clock has reached, used when neither side
    /// delivers.
    pub fn pull(&mut self, flow: PerSide<Flow>, due: u64) -> (&[f32], &[f32]) {
        let live = flow.map(|&f| f != Flow::Gone);
        if self.trim {
            // A late side back in its stride that still lags lost that audio (a source
            // suspended, not delayed): silence in its place, the other side kept whole.
            for s in Side::BOTH {
                let lag = self.fifo[s.other()]
                    .len()
                    .saturating_sub(self.fifo[s].len());
                if self.was[s] == Flow::Late && flow[s] == Flow::Live && lag > MAX_SKEW {
                    // Before what it delivered since: the lost audio came first.
                    let n = lag - KEEP;
                    for _ in 0..n {
                        self.fifo[s].push_front(0.0);
                    }
                    self.padded[s] += n as u64;
                }
            }
        }
        self.was = flow;
        let len = self.fifo.map(VecDeque::len);
        let n = match (live.rep, live.prospect) {
            (true, true) => len.rep.min(len.prospect),
            (true, false) => len.rep,
            (false, true) => len.prospect,
            (false, false) => due.saturating_sub(self.fed) as usize,
        };
        for s in Side::BOTH {
            let take = n.min(self.fifo[s].len());
            self.out[s].clear();
            let (a, b) = self.fifo[s].as_slices();
            let from_a = take.min(a.len());
            self.out[s].extend_from_slice(&a[..from_a]);
            self.out[s].extend_from_slice(&b[..take - from_a]);
            self.fifo[s].drain(..take);
            self.out[s].resize(n, 0.0);
            self.padded[s] += (n - take) as u64;
        }
        self.fed += n as u64;
        if self.trim && flow.rep == Flow::Live && flow.prospect == Flow::Live {
            for s in Side::BOTH {
                let lead = self.fifo[s]
                    .len()
                    .saturating_sub(self.fifo[s.other()].len());
                if lead > MAX_SKEW {
                    let drop = lead - KEEP;
                    self.fifo[s].drain(..drop);
                    self.trimmed[s] += drop as u64;
                }
            }
        }
        (&self.out.rep, &self.out.prospect)
    }

    /// Samples a side has waiting for the other.
    pub fn queued(&self, side: Side) -> usize {
        self.fifo[side].len()
    }

    /// Everything still queued, padded to equal length (end of the call).
    pub fn drain(&mut self) -> (&[f32], &[f32]) {
        let n = self.fifo.rep.len().max(self.fifo.prospect.len()) as u64;
        self.pull(PerSide::default(), self.fed + n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn live(rep: bool, prospect: bool) -> PerSide<Flow> {
        PerSide::new(rep.into(), prospect.into())
    }

    #[test]
    fn both_live_takes_what_both_have() {
        let mut a = Aligner::default();
        a.push(Side::Rep, &[1.0; 300]);
        a.push(Side::Prospect, &[2.0; 200]);
        let (r, p) = a.pull(live(true, true), 0);
        assert_eq!((r.len(), p.len()), (200, 200));
        assert!(r.iter().all(|&x| x == 1.0) && p.iter().all(|&x| x == 2.0));
        a.push(Side::Prospect, &[2.0; 100]);
        let (r, p) = a.pull(live(true, true), 0);
        assert_eq!((r.len(), p.len()), (100, 100));
        assert_eq!(a.padded, PerSide::new(0, 0));
    }

    #[test]
    fn a_silent_side_is_filled_and_counted() {
        let mut a = Aligner::default();
        a.push(Side::Rep, &[1.0; 1600]);
        let (r, p) = a.pull(live(true, false), 0);
        assert_eq!(r.len(), 1600);
        assert!(p.iter().all(|&x| x == 0.0) && p.len() == 1600);
        assert_eq!(a.padded, PerSide::new(0, 1600));
    }

    #[test]
    fn the_wall_clock_drives_when_nothing_arrives() {
        let mut a = Aligner::default();
        let (r, _) = a.pull(live(false, false), 800);
        assert_eq!(r.len(), 800);
        let (r, _) = a.pull(live(false, false), 800);
        assert!(r.is_empty(), "nothing more is due");
        assert_eq!(a.fed, 800);
    }

    #[test]
    fn a_side_running_ahead_is_trimmed_to_the_other() {
        let mut a = Aligner::live();
        a.push(Side::Rep, &[1.0; 5_000]);
        a.push(Side::Prospect, &[2.0; 1_000]);
        a.pull(live(true, true), 0);
        // Side 0 led by 4000 samples; it keeps only the jitter allowance.
        assert_eq!(a.trimmed, PerSide::new(4_000 - KEEP as u64, 0));
        a.push(Side::Prospect, &[2.0; KEEP]);
        let (r, p) = a.pull(live(true, true), 0);
        assert_eq!(r.len(), KEEP);
        assert_eq!(p.len(), KEEP);
    }

    #[test]
    fn a_file_side_running_ahead_is_kept() {
        let mut a = Aligner::default();
        a.push(Side::Rep, &[1.0; 5_000]);
        a.push(Side::Prospect, &[2.0; 1_000]);
        a.pull(live(true, true), 0);
        assert_eq!(a.trimmed, PerSide::new(0, 0));
        assert_eq!(a.queued(Side::Rep), 4_000);
    }

    #[test]
    fn drain_pads_the_shorter_side() {
        let mut a = Aligner::default();
        a.push(Side::Rep, &[1.0; 10]);
        a.push(Side::Prospect, &[2.0; 4]);
        let (r, p) = a.drain();
        assert_eq!((r.len(), p.len()), (10, 10));
        assert_eq!(&p[4..], &[0.0; 6]);
    }

    #[test]
    fn a_late_side_is_waited_for_and_its_late_audio_kept() {
        let mut a = Aligner::live();
        a.push(Side::Prospect, &[2.0; 16_000]);
        let late = PerSide::new(Flow::Late, Flow::Live);
        let (r, _) = a.pull(late, 0);
        assert!(r.is_empty(), "waits for the late side");
        assert_eq!(
            a.trimmed,
            PerSide::new(0, 0),
            "the waiting side is kept whole"
        );
        a.push(Side::Rep, &[1.0; 16_000]);
        let (r, p) = a.pull(late, 0);
        assert_eq!((r.len(), p.len()), (16_000, 16_000));
        assert!(r.iter().all(|&x| x == 1.0));
        assert_eq!(
            (a.padded, a.trimmed),
            (PerSide::new(0, 0), PerSide::new(0, 0))
        );
    }

    #[test]
    fn a_late_side_whose_audio_never_comes_gets_silence_not_the_other_trimmed() {
        let mut a = Aligner::live();
        a.push(Side::Prospect, &[2.0; 16_000]);
        a.pull(PerSide::new(Flow::Late, Flow::Live), 0);
        // Back in its stride, delivering in time again: the second it missed is lost.
        a.push(Side::Rep, &[1.0; 800]);
        let (r, p) = a.pull(live(true, true), 0);
        let (r, p) = (r.to_vec(), p.to_vec());
        assert_eq!(r.len(), p.len());
        // It lagged by 15,200 samples; it keeps the jitter allowance.
        assert_eq!(a.padded.rep, 15_200 - KEEP as u64);
        assert_eq!(a.trimmed, PerSide::new(0, 0));
        assert!(
            p.iter().all(|&x| x == 2.0),
            "the prospect's audio is all there"
        );
        assert!(
            r[..r.len() - 800].iter().all(|&x| x == 0.0),
            "the lost second first"
        );
        assert!(r[r.len() - 800..].iter().all(|&x| x == 1.0));
    }
}
