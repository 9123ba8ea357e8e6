//! Voice activity per side: earshot scores each 16 ms frame and proposes speech; Silero VAD
//! (`silero`) confirms it is speech and not keys, music or a chime (a cascade: Silero only
//! runs where there is sound). A turn tracker with onset and hangover turns the frames into
//! speaking turns that span the short pauses inside an utterance. Turn edges are placed at
//! the first and last voiced frame, not at the hangover. All state is allocated in `new`;
//! nothing per frame.

pub mod silero;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use earshot::Detector;
use silero::Silero;

use crate::event::Turn;

pub const FRAME: usize = 256;
pub const FRAME_S: f64 = FRAME as f64 / crate::dsp::resample::SPEECH_RATE_HZ as f64;

/// Tuning of the turn tracker, and the speech detector that confirms earshot.
#[derive(Clone)]
pub struct VadConfig {
    /// earshot score at or above which a frame is voiced.
    pub threshold: f32,
    /// Consecutive voiced frames that open a turn (filters clicks).
    pub onset_frames: u32,
    /// Unvoiced time that closes a turn.
    pub hangover_s: f64,
    pub speech: Speech,
}

/// Whether Silero confirms earshot's frames.
#[derive(Clone)]
pub enum Speech {
    Silero(Arc<silero::Weights>),
    /// Not installed or unreadable: earshot alone, and the call says why.
    Missing(String),
    /// earshot alone, by choice (unit tests of the turn logic).
    Off,
}

impl Default for VadConfig {
    /// earshot alone.
    fn default() -> Self {
        Self {
            threshold: 0.5,
            onset_frames: 3,
            hangover_s: 0.6,
            speech: Speech::Off,
        }
    }
}

impl VadConfig {
    /// earshot confirmed by the installed Silero VAD; without it, earshot alone and a
    /// warning for the call.
    pub fn installed() -> Self {
        let speech = match installed_weights() {
            None => Speech::Missing(
                "the speech detector (Silero VAD) is not installed, so keys, music and other \
                 sounds may count as talk; run `twoears model install`"
                    .into(),
            ),
            Some(path) => match silero::Weights::load(&path) {
                Ok(w) => Speech::Silero(w),
                Err(e) => Speech::Missing(format!(
                    "{}; until then keys, music and other sounds may count as talk",
                    crate::term::chain(&e)
                )),
            },
        };
        Self {
            speech,
            ..Self::default()
        }
    }

    /// Why the speech detector is missing, for the call's warnings.
    pub fn warning(&self) -> Option<&str> {
        match &self.speech {
            Speech::Missing(why) => Some(why.as_str()),
            _ => None,
        }
    }
}

/// Where the Silero weights are installed, if they are (the first models directory that
/// has them).
pub fn installed_weights() -> Option<PathBuf> {
    crate::model::store::installed(crate::model::vad::FILE, Path::exists)
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

/// How far back of the moment Silero confirms speech a turn may start: the frames earshot
/// heard while Silero was still making up its mind (two or three 32 ms steps) belong to
/// the turn; keys long before it do not.
const LOOKBACK_FRAMES: u32 = 12;
/// How long after the last frame Silero confirmed the frames earshot still hears carry a
/// turn on: a word's soft end ("-cans", a trailing breathy vowel) falls below Silero's
/// threshold before earshot lets go. Keys typed right after speech add at most this.
const TAIL_GRACE_S: f64 = 0.25;

pub struct TurnTracker {
    onset_frames: u32,
    hangover_s: f64,
    run: u32,
    run_start_s: f64,
    active: bool,
    start_s: f64,
    last_voiced_end_s: f64,
    last_confirmed_end_s: f64,
}

impl TurnTracker {
    pub fn new(cfg: &VadConfig) -> Self {
        Self {
            onset_frames: cfg.onset_frames,
            hangover_s: cfg.hangover_s,
            run: 0,
            run_start_s: 0.0,
            active: false,
            start_s: 0.0,
            last_voiced_end_s: 0.0,
            last_confirmed_end_s: 0.0,
        }
    }

    pub fn is_active(&self) -> bool {
        self.active
    }

    /// Feeds the frame starting at `t_s`: whether earshot heard voice in it, and whether
    /// the speech detector confirms that what it heard is speech. A turn opens on a run of
    /// heard frames once confirmed, from where the run began.
    pub fn frame(&mut self, t_s: f64, heard: bool, confirmed: bool) -> Change {
        if heard {
            if self.run == 0 {
                self.run_start_s = t_s;
            }
            self.run += 1;
        } else {
            self.run = 0;
        }
        let end_s = t_s + FRAME_S;
        let in_grace = self.active && end_s - self.last_confirmed_end_s <= TAIL_GRACE_S;
        if heard && (confirmed || in_grace) {
            if confirmed {
                self.last_confirmed_end_s = end_s;
            }
            if self.active {
                self.last_voiced_end_s = end_s;
            } else if self.run >= self.onset_frames {
                self.active = true;
                let lookback = f64::from(LOOKBACK_FRAMES.min(self.run - 1)) * FRAME_S;
                self.start_s = self.run_start_s.max(t_s - lookback);
                self.last_voiced_end_s = t_s + FRAME_S;
                return Change::Started(self.start_s);
            }
        } else if self.active
            && t_s + FRAME_S - self.last_voiced_end_s >= self.hangover_s
            // A run Silero has not ruled on yet may still carry the turn on (the ruling
            // comes within the lookback); it closes, as it would have, if it is not speech.
            && !(heard && self.run <= LOOKBACK_FRAMES)
        {
            return self.close();
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

/// Silero's hysteresis, as in its own `get_speech_timestamps`: speech from 0.5, and over
/// only below 0.35.
const SPEECH_ON: f32 = 0.5;
const SPEECH_OFF: f32 = 0.35;
/// 32 ms steps below `SPEECH_OFF` that end speech (Silero's default 100 ms).
const SPEECH_OFF_STEPS: u32 = 3;

/// Silero over one side, run only on steps with sound in them (and two after): most of a
/// side's time is the other side talking, and silence needs no second opinion.
struct SpeechGate {
    model: Silero,
    chunk: [f32; silero::CHUNK],
    filled: usize,
    loud: bool,
    /// Steps since one with a frame above the noise gate.
    since_loud: u32,
    speech: bool,
    low_steps: u32,
}

/// Steps after the last loud one that Silero still reads (64 ms): a voice's quiet end and
/// the short gaps between words keep its state.
const TAIL_STEPS: u32 = 2;

impl SpeechGate {
    fn new(w: Arc<silero::Weights>) -> Self {
        Self {
            model: Silero::new(w),
            chunk: [0.0; silero::CHUNK],
            filled: 0,
            loud: false,
            since_loud: u32::MAX,
            speech: false,
            low_steps: 0,
        }
    }

    /// Feeds a frame and whether it stands above the noise gate; whether the side is
    /// speaking as of the last whole step.
    fn frame(&mut self, frame: &[f32], loud: bool) -> bool {
        self.chunk[self.filled..self.filled + FRAME].copy_from_slice(frame);
        self.filled += FRAME;
        self.loud |= loud;
        if self.filled == silero::CHUNK {
            self.since_loud = if self.loud {
                0
            } else {
                self.since_loud.saturating_add(1)
            };
            if self.since_loud <= TAIL_STEPS {
                let p = self.model.step(&self.chunk);
                if p >= SPEECH_ON {
                    self.speech = true;
                    self.low_steps = 0;
                } else if p < SPEECH_OFF {
                    self.low_steps += 1;
                    if self.low_steps >= SPEECH_OFF_STEPS {
                        self.speech = false;
                    }
                }
            } else {
                // Skipped: the next sound starts Silero afresh, as on a new recording. (Its
                // state kept over a quiet stretch lets keys that follow speech pass.)
                self.model.restart(&self.chunk);
                self.speech = false;
                self.low_steps = 0;
            }
            self.loud = false;
            self.filled = 0;
        }
        self.speech
    }
}

/// earshot, a noise floor, Silero and a turn tracker for one side.
pub struct SideVad {
    detector: Box<Detector>,
    speech: Option<SpeechGate>,
    pub turns: TurnTracker,
    threshold: f32,
    noise_floor: f32,
    quiet_frames: u32,
}

/// Quiet frames still scored after sound (earshot's context spans a few frames).
const QUIET_TAIL_FRAMES: u32 = 4;

impl SideVad {
    pub fn new(cfg: &VadConfig) -> Self {
        Self {
            detector: Detector::default_boxed(),
            speech: match &cfg.speech {
                Speech::Silero(w) => Some(SpeechGate::new(w.clone())),
                Speech::Missing(_) | Speech::Off => None,
            },
            turns: TurnTracker::new(cfg),
            threshold: cfg.threshold,
            noise_floor: MIN_POWER,
            quiet_frames: 0,
        }
    }

    /// Whether the side is speaking, as opposed to making other sounds, as of the frame
    /// before this one (Silero reads 32 ms at a time); `loud`: the frame stands above the
    /// noise gate. Always true without Silero.
    pub fn is_speech(&mut self, frame: &[f32], loud: bool) -> bool {
        match &mut self.speech {
            Some(gate) => gate.frame(frame, loud),
            None => true,
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
        score >= self.threshold
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
                let c = t.frame(i as f64 * FRAME_S, v, true);
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
        let mut t = TurnTracker::new(&VadConfig::default());
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
        let mut t = TurnTracker::new(&VadConfig::default());
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

    /// (heard, confirmed, frames) runs; the turns that closed.
    fn turns(pattern: &[(bool, bool, usize)]) -> Vec<Turn> {
        let mut t = TurnTracker::new(&VadConfig::default());
        let mut out = Vec::new();
        let mut i = 0usize;
        for &(heard, confirmed, n) in pattern {
            for _ in 0..n {
                if let Change::Ended(turn) = t.frame(i as f64 * FRAME_S, heard, confirmed) {
                    out.push(turn);
                }
                i += 1;
            }
        }
        if let Change::Ended(turn) = t.finish() {
            out.push(turn);
        }
        out
    }

    #[test]
    fn speech_confirmed_late_starts_where_earshot_heard_it_and_keys_never_open_a_turn() {
        // Keys: heard for 3 s, never confirmed.
        assert_eq!(turns(&[(true, false, 190), (false, false, 60)]), []);
        // Speech heard at frame 10, confirmed from frame 14 (two Silero steps late).
        let t = turns(&[
            (false, false, 10),
            (true, false, 4),
            (true, true, 60),
            (false, false, 60),
        ]);
        assert_eq!(t.len(), 1, "{t:?}");
        assert!((t[0].start_s - 10.0 * FRAME_S).abs() < 1e-9, "{t:?}");
        // Keys for 2 s, then speech: the turn starts at most the lookback before the
        // confirmation, not at the first key.
        let t = turns(&[(true, false, 125), (true, true, 60), (false, false, 60)]);
        let from = (125 - LOOKBACK_FRAMES) as f64 * FRAME_S;
        assert!((t[0].start_s - from).abs() < 1e-9, "{t:?}");
    }

    #[test]
    fn a_soft_end_carries_the_turn_a_quarter_second_and_no_further() {
        // Confirmed speech, then 0.16 s heard but not confirmed (a word's soft end).
        let t = turns(&[(true, true, 60), (true, false, 10), (false, false, 60)]);
        assert!((t[0].end_s - 70.0 * FRAME_S).abs() < 1e-9, "{t:?}");
        // Speech, then keys for 2 s: the turn ends within the grace after the speech.
        let t = turns(&[(true, true, 60), (true, false, 125), (false, false, 60)]);
        assert_eq!(t.len(), 1, "{t:?}");
        assert!(t[0].end_s <= 60.0 * FRAME_S + TAIL_GRACE_S + 1e-9, "{t:?}");
    }
}
