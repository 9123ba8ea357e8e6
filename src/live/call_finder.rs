//! When a call starts and ends, for `listen --background`: a call starts once both sides
//! have spoken within a short window (each at least a little), and ends after a long
//! silence on both. Reads only who the VAD hears speaking, block by block.

use std::collections::VecDeque;

use crate::detect::CallsConfig;
use crate::event::{PerSide, Side};

/// Audio kept before a call's first words, so its opening is heard whole.
pub const LEAD_S: f64 = 1.5;

/// A change the finder saw, in the watch's seconds.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Turn {
    /// A call began at `from_s` (its first words, less the lead).
    Started { from_s: f64 },
    /// The call ended at `at_s` (its last words, plus a little).
    Ended { at_s: f64 },
}

pub struct CallFinder {
    cfg: CallsConfig,
    /// Each side's speaking blocks (end time, seconds) within the start window.
    recent: PerSide<VecDeque<(f64, f64)>>,
    in_call: bool,
    last_speech_s: f64,
}

/// Speech this close to a call's end still counts as its last words.
const TAIL_S: f64 = 1.0;

impl CallFinder {
    pub fn new(cfg: CallsConfig) -> Self {
        Self {
            cfg,
            recent: PerSide::default(),
            in_call: false,
            last_speech_s: 0.0,
        }
    }

    pub fn in_call(&self) -> bool {
        self.in_call
    }

    /// Seconds since anyone spoke (in a call).
    pub fn silent_for(&self, now_s: f64) -> f64 {
        now_s - self.last_speech_s
    }

    /// One block ending at `now_s`, `dt` long, with who spoke in it.
    pub fn push(&mut self, now_s: f64, dt: f64, speaking: PerSide<bool>) -> Option<Turn> {
        if speaking.rep || speaking.prospect {
            self.last_speech_s = now_s;
        }
        if self.in_call {
            if now_s - self.last_speech_s >= self.cfg.end_silence_s {
                self.in_call = false;
                self.recent = PerSide::default();
                return Some(Turn::Ended {
                    at_s: self.last_speech_s + TAIL_S,
                });
            }
            return None;
        }
        let window = self.cfg.start_window_s;
        for side in Side::BOTH {
            let r = &mut self.recent[side];
            if speaking[side] {
                r.push_back((now_s, dt));
            }
            while r.front().is_some_and(|(t, _)| *t < now_s - window) {
                r.pop_front();
            }
        }
        let spoke = |side: Side| self.recent[side].iter().map(|(_, d)| d).sum::<f64>();
        let enough = self.cfg.min_speech_s.max(dt);
        if spoke(Side::Rep) >= enough && spoke(Side::Prospect) >= enough {
            let first = Side::BOTH
                .into_iter()
                .filter_map(|s| self.recent[s].front().map(|(t, d)| t - d))
                .fold(now_s, f64::min);
            self.in_call = true;
            return Some(Turn::Started {
                from_s: (first - LEAD_S).max(0.0),
            });
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg() -> CallsConfig {
        CallsConfig {
            start_window_s: 20.0,
            min_speech_s: 1.0,
            end_silence_s: 60.0,
        }
    }

    /// Feeds 0.1 s blocks from `from` to `to` with `speaking`; the turns seen.
    fn feed(f: &mut CallFinder, from: f64, to: f64, speaking: PerSide<bool>) -> Vec<Turn> {
        let mut t = from;
        let mut out = Vec::new();
        while t < to - 1e-9 {
            t += 0.1;
            out.extend(f.push(t, 0.1, speaking));
        }
        out
    }

    const NONE: PerSide<bool> = PerSide {
        rep: false,
        prospect: false,
    };
    const REP: PerSide<bool> = PerSide {
        rep: true,
        prospect: false,
    };
    const PROSPECT: PerSide<bool> = PerSide {
        rep: false,
        prospect: true,
    };

    #[test]
    fn a_call_starts_when_both_sides_speak_and_ends_after_the_silence() {
        let mut f = CallFinder::new(cfg());
        assert!(feed(&mut f, 0.0, 100.0, NONE).is_empty());
        assert!(
            feed(&mut f, 100.0, 103.0, REP).is_empty(),
            "one side is no call"
        );
        assert!(feed(&mut f, 103.0, 108.0, NONE).is_empty());
        let got = feed(&mut f, 108.0, 110.0, PROSPECT);
        let [Turn::Started { from_s }] = got[..] else {
            panic!("{got:?}")
        };
        assert!(
            (from_s - (100.0 - LEAD_S)).abs() < 0.15,
            "from the rep's hello: {from_s}"
        );
        // A long pause inside the call does not end it.
        assert!(feed(&mut f, 110.0, 160.0, NONE).is_empty());
        assert!(feed(&mut f, 160.0, 170.0, REP).is_empty());
        let got = feed(&mut f, 170.0, 240.0, NONE);
        let [Turn::Ended { at_s }] = got[..] else {
            panic!("{got:?}")
        };
        assert!((at_s - 171.0).abs() < 0.15, "{at_s}");
        assert!(!f.in_call());
    }

    #[test]
    fn speech_too_far_apart_or_too_short_starts_nothing() {
        let mut f = CallFinder::new(cfg());
        feed(&mut f, 0.0, 2.0, REP);
        feed(&mut f, 2.0, 30.0, NONE);
        assert!(feed(&mut f, 30.0, 32.0, PROSPECT).is_empty(), "25 s apart");
        let mut f = CallFinder::new(cfg());
        feed(&mut f, 0.0, 2.0, REP);
        assert!(
            feed(&mut f, 2.0, 2.5, PROSPECT).is_empty(),
            "a cough is no answer"
        );
        assert_eq!(feed(&mut f, 2.5, 3.2, PROSPECT).len(), 1);
    }
}
