//! Voice activity per side: earshot scores each 16 ms frame; a turn tracker with onset and
//! hangover turns the scores into speaking turns that span the short pauses inside an
//! utterance. Turn edges are placed at the first and last voiced frame, not at the hangover.
//! All state is allocated in `new`; nothing per frame.

use earshot::Detector;

pub const FRAME: usize = 256;
pub const FRAME_S: f64 = FRAME as f64 / crate::resample::SPEECH_RATE_HZ as f64;

/// Tuning of the turn tracker.
#[derive(Debug, Clone, Copy)]
pub struct VadConfig {
    /// earshot score at or above which a frame is voiced.
    pub threshold: f32,
    /// Consecutive voiced frames that open a turn (filters clicks).
    pub onset_frames: u32,
    /// Unvoiced time that closes a turn.
    pub hangover_s: f64,
}

impl Default for VadConfig {
    fn default() -> Self {
        Self {
            threshold: 0.5,
            onset_frames: 3,
            hangover_s: 0.6,
        }
    }
}

/// A finished speaking turn, in call seconds.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Turn {
    pub start_s: f64,
    pub end_s: f64,
}

/// What one frame did to the side's turn state.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Change {
    None,
    /// A turn opened; it started at this call time (a few frames back).
    Started(f64),
    /// The turn closed.
    Ended(Turn),
}

pub struct TurnTracker {
    cfg: VadConfig,
    run: u32,
    run_start_s: f64,
    active: bool,
    start_s: f64,
    last_voiced_end_s: f64,
}

impl TurnTracker {
    pub fn new(cfg: VadConfig) -> Self {
        Self {
            cfg,
            run: 0,
            run_start_s: 0.0,
            active: false,
            start_s: 0.0,
            last_voiced_end_s: 0.0,
        }
    }

    pub fn is_active(&self) -> bool {
        self.active
    }

    /// Feeds whether the frame starting at `t_s` is voiced.
    pub fn frame(&mut self, t_s: f64, voiced: bool) -> Change {
        if voiced {
            if self.run == 0 {
                self.run_start_s = t_s;
            }
            self.run += 1;
            if self.active {
                self.last_voiced_end_s = t_s + FRAME_S;
            } else if self.run >= self.cfg.onset_frames {
                self.active = true;
                self.start_s = self.run_start_s;
                self.last_voiced_end_s = t_s + FRAME_S;
                return Change::Started(self.start_s);
            }
        } else {
            self.run = 0;
            if self.active && t_s + FRAME_S - self.last_voiced_end_s >= self.cfg.hangover_s {
                return self.close();
            }
        }
        Change::None
    }

    fn close(&mut self) -> Change {
        self.active = false;
        Change::Ended(Turn {
            start_s: self.start_s,
            end_s: self.last_voiced_end_s,
        })
    }

    /// Closes an open turn at the end of the call.
    pub fn finish(&mut self) -> Change {
        if self.active {
            self.close()
        } else {
            Change::None
        }
    }
}

/// A frame must be this much louder (power ratio) than the side's noise floor to be voiced:
/// earshot normalises its input and happily scores a -60 dBFS hiss as speech.
const ABOVE_FLOOR: f32 = 10.0;
/// Absolute floor, about -60 dBFS.
const MIN_POWER: f32 = 1e-6;
/// Per-frame rise of the noise floor estimate (about 3 dB in 10 s): tracks a rising
/// background slowly, drops at once to a quieter frame.
const FLOOR_RISE: f32 = 1.0011;

/// earshot, a noise floor and a turn tracker for one side.
pub struct SideVad {
    detector: Box<Detector>,
    pub turns: TurnTracker,
    cfg: VadConfig,
    noise_floor: f32,
    quiet_frames: u32,
}

/// Quiet frames still scored after sound (earshot's context spans a few frames).
const QUIET_TAIL_FRAMES: u32 = 4;

impl SideVad {
    pub fn new(cfg: VadConfig) -> Self {
        Self {
            detector: Detector::default_boxed(),
            turns: TurnTracker::new(cfg),
            cfg,
            noise_floor: MIN_POWER,
            quiet_frames: 0,
        }
    }

    /// Tracks the background level from the frame's mean square; true when the frame
    /// stands clear of it.
    pub fn loud_enough(&mut self, mean_square: f32) -> bool {
        self.noise_floor = if mean_square < self.noise_floor {
            mean_square.max(MIN_POWER * 0.01)
        } else {
            self.noise_floor * FLOOR_RISE
        };
        mean_square > (self.noise_floor * ABOVE_FLOOR).max(MIN_POWER)
    }

    /// earshot's score for one 256-sample frame in [-1, 1]. Frames below the noise gate
    /// cannot be voiced, so after a short tail earshot is not run on them at all (most of
    /// each side's frames).
    pub fn score(&mut self, frame: &[f32], loud: bool) -> f32 {
        if loud {
            self.quiet_frames = 0;
        } else {
            self.quiet_frames = self.quiet_frames.saturating_add(1);
            if self.quiet_frames > QUIET_TAIL_FRAMES {
                return 0.0;
            }
        }
        self.detector.predict_f32(frame)
    }

    pub fn is_voiced(&self, score: f32) -> bool {
        score >= self.cfg.threshold
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn feed(t: &mut TurnTracker, pattern: &[(bool, usize)]) -> Vec<Change> {
        let mut out = Vec::new();
        let mut i = 0usize;
        for &(v, n) in pattern {
            for _ in 0..n {
                let c = t.frame(i as f64 * FRAME_S, v);
                if c != Change::None {
                    out.push(c);
                }
                i += 1;
            }
        }
        if let c @ Change::Ended(_) = t.finish() {
            out.push(c);
        }
        out
    }

    #[test]
    fn short_pauses_stay_inside_a_turn() {
        let mut t = TurnTracker::new(VadConfig::default());
        // 1 s voiced, 0.3 s pause, 1 s voiced: one turn.
        let c = feed(
            &mut t,
            &[
                (false, 10),
                (true, 62),
                (false, 19),
                (true, 62),
                (false, 100),
            ],
        );
        assert_eq!(c.len(), 2, "{c:?}");
        assert_eq!(c[0], Change::Started(10.0 * FRAME_S));
        let Change::Ended(turn) = c[1] else { panic!() };
        assert!((turn.start_s - 0.16).abs() < 1e-9);
        assert!(
            (turn.end_s - (10 + 62 + 19 + 62) as f64 * FRAME_S).abs() < 1e-9,
            "ends at the last voiced frame"
        );
    }

    #[test]
    fn long_pauses_split_turns_and_clicks_are_ignored() {
        let mut t = TurnTracker::new(VadConfig::default());
        let c = feed(
            &mut t,
            &[(true, 2), (false, 50), (true, 30), (false, 60), (true, 30)],
        );
        let turns: Vec<Turn> = c
            .iter()
            .filter_map(|c| {
                if let Change::Ended(t) = c {
                    Some(*t)
                } else {
                    None
                }
            })
            .collect();
        assert_eq!(turns.len(), 2, "{c:?}");
        assert!((turns[0].start_s - 52.0 * FRAME_S).abs() < 1e-9);
    }
}
