//! What the room adds to a call that is not the call: other voices near the rep's mic (a
//! colleague, a TV), sounds that are not speech (keys, chimes, music), and the prospect's
//! side on hold. The front end asks `NearField` whether a voice is the rep's; `RoomAccount`
//! counts what was set aside and finds the holds, for the report.

use serde::Serialize;

use crate::event::PerSide;
use crate::event::Turn;
use crate::frontend::vad::FRAME_S;
use crate::frontend::voices::rep_check::{Level, CLEAR_DB};

/// A voice whose recent level is this far below the rep's running speech level (dB) is
/// someone else in the room: the rep's own voice, a hand's width from the mic, is 20 dB
/// or more above a colleague's a desk away. Single frames cannot tell: the rep's quiet
/// syllables sit 15 dB and more below the loud ones, a colleague's loudest vowels 15 dB
/// above their average. A quarter second of voiced frames can (power-averaged, so the
/// loud frames in it decide). The rep's voice comes within `OPEN_DB`; for `KEEP_FRAMES`
/// after that it may trail off to `KEEP_DB` below (a phrase's last sound, "-cans", falls
/// 15 dB), which lets a colleague talking on after the rep count for that long at most.
const OPEN_DB: f32 = 12.0;
const KEEP_DB: f32 = 19.0;
const KEEP_FRAMES: u32 = 20;
/// Frames in the recent level (256 ms; the voiced ones among them count).
const WINDOW: usize = 16;
/// The running speech level is this quantile of the rep's voiced frames (in dB) ...
const LEVEL_QUANTILE: f32 = 0.8;
/// ... tracked in steps of this many dB a frame (0.4 dB up, 0.1 dB down): a second of
/// speech moves it 25 dB up, or 6 dB down.
const LEVEL_STEP_DB: f32 = 0.5;
/// Each far voiced frame lowers the level by this much (2 dB a minute of far speech), so
/// a rep who moved back from the mic is not set aside for good.
const FAR_DECAY_DB: f32 = 0.0005;

/// Whether a voice on the mic is the rep's, by its level against the rep's own.
#[derive(Debug, Default)]
pub struct NearField {
    /// The rep's running speech level (dB); None until the first voiced frame.
    level_db: Option<f32>,
    recent: [f32; WINDOW],
    next: usize,
    /// Frames since the last one within `OPEN_DB`.
    since_open: u32,
}

impl NearField {
    /// Feeds every frame: its mean square and whether it is voiced; how near the voice is
    /// to the rep's level (clear for a frame that is not voiced).
    pub fn level(&mut self, mean_square: f32, voiced: bool) -> Level {
        self.since_open = self.since_open.saturating_add(1);
        self.recent[self.next] = if voiced { mean_square.max(1e-12) } else { 0.0 };
        self.next = (self.next + 1) % WINDOW;
        if !voiced {
            return Level::Clear;
        }
        let x = 10.0 * mean_square.max(1e-12).log10();
        let heard = self.recent.iter().filter(|&&p| p > 0.0).count();
        let recent_db = 10.0
            * (self.recent.iter().sum::<f32>() / heard as f32)
                .max(1e-12)
                .log10();
        let level = self.level_db.get_or_insert(x);
        let clear = recent_db >= *level - CLEAR_DB;
        if recent_db >= *level - OPEN_DB {
            self.since_open = 0;
        } else if recent_db < *level - KEEP_DB || self.since_open > KEEP_FRAMES {
            *level -= FAR_DECAY_DB;
            return Level::Far;
        }
        *level += LEVEL_STEP_DB
            * if x > *level {
                LEVEL_QUANTILE
            } else {
                LEVEL_QUANTILE - 1.0
            };
        if clear {
            Level::Clear
        } else {
            Level::Doubtful
        }
    }
}

/// Prospect-side sound with no speech in it for this long is a hold (music, silence
/// broken by a tone), not a pause.
const HOLD_MIN_S: f64 = 10.0;
/// Sound may break off this long inside a hold (between tracks, a quiet bar).
const HOLD_GAP_S: f64 = 1.5;

/// Finds stretches of the prospect's side with sound but no speech turn.
#[derive(Debug, Default)]
struct HoldFinder {
    start_s: Option<f64>,
    last_sound_end_s: f64,
    spans: Vec<Turn>,
}

impl HoldFinder {
    fn frame(&mut self, t_s: f64, sound: bool, in_turn: bool) {
        if in_turn {
            self.close();
        } else if sound {
            self.start_s.get_or_insert(t_s);
            self.last_sound_end_s = t_s + FRAME_S;
        } else if self.start_s.is_some() && t_s - self.last_sound_end_s > HOLD_GAP_S {
            self.close();
        }
    }

    fn close(&mut self) {
        if let Some(start_s) = self.start_s.take() {
            if self.last_sound_end_s - start_s >= HOLD_MIN_S {
                self.spans.push(Turn {
                    start_s,
                    end_s: self.last_sound_end_s,
                });
            }
        }
    }
}

/// One frame, as the front end saw it.
pub struct FrameView {
    pub t_s: f64,
    /// earshot heard a voice (above the noise gate, clear of echo).
    pub heard: PerSide<bool>,
    /// Silero confirmed it is speech.
    pub speech: PerSide<bool>,
    /// On the rep's side: the voice is near the mic.
    pub near: bool,
    pub in_turn: PerSide<bool>,
    /// The prospect's side has sound in it at all.
    pub prospect_sound: bool,
}

/// What was set aside over the call, and the holds.
#[derive(Debug, Default)]
pub struct RoomAccount {
    other_voices_frames: u64,
    sound_frames: PerSide<u64>,
    holds: HoldFinder,
}

impl RoomAccount {
    pub fn frame(&mut self, f: &FrameView) {
        if f.heard.rep && f.speech.rep && !f.near {
            self.other_voices_frames += 1;
        }
        for (count, heard, speech, in_turn) in [
            (
                &mut self.sound_frames.rep,
                f.heard.rep,
                f.speech.rep,
                f.in_turn.rep,
            ),
            (
                &mut self.sound_frames.prospect,
                f.heard.prospect,
                f.speech.prospect,
                f.in_turn.prospect,
            ),
        ] {
            if heard && !speech && !in_turn {
                *count += 1;
            }
        }
        self.holds
            .frame(f.t_s, f.prospect_sound, f.in_turn.prospect);
    }

    /// The figures at the end of the call.
    pub fn finish(mut self) -> Room {
        self.holds.close();
        let secs = |frames: u64| round1(frames as f64 * FRAME_S);
        let hold: Vec<Span> = self
            .holds
            .spans
            .iter()
            .map(|t| Span {
                start_s: round1(t.start_s),
                end_s: round1(t.end_s),
            })
            .collect();
        Room {
            hold_s: round1(hold.iter().fold(0.0, |a, s| a + s.end_s - s.start_s)),
            hold,
            set_aside: SetAside {
                rep_other_voices_s: secs(self.other_voices_frames),
                rep_sounds_s: secs(self.sound_frames.rep),
                prospect_sounds_s: secs(self.sound_frames.prospect),
            },
        }
    }
}

fn round1(x: f64) -> f64 {
    (x * 10.0).round() / 10.0
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct Span {
    pub start_s: f64,
    pub end_s: f64,
}

/// What the call's talk figures leave out, in the report.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Room {
    /// Stretches of the prospect's side with sound but no speech for 10 s or more (hold
    /// music, a hold tone): not talk, and out of the talk ratio.
    pub hold: Vec<Span>,
    pub hold_s: f64,
    pub set_aside: SetAside,
}

/// Seconds of sound that a voice detector alone would have counted as talk.
#[derive(Debug, Clone, Default, Serialize)]
pub struct SetAside {
    /// Speech on the rep's mic far below the rep's own voice: someone else in the room.
    pub rep_other_voices_s: f64,
    /// Sounds on the mic that are not speech (keys, clicks, a chime on the speakers).
    pub rep_sounds_s: f64,
    /// Sounds on the prospect's side that are not speech (music, tones, chimes).
    pub prospect_sounds_s: f64,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn power(db: f32) -> f32 {
        10f32.powf(db / 10.0)
    }

    fn is_near(n: &mut NearField, mean_square: f32, voiced: bool) -> bool {
        n.level(mean_square, voiced) != Level::Far
    }

    #[test]
    fn a_voice_far_below_the_reps_is_not_near_and_the_reps_own_range_is() {
        let mut n = NearField::default();
        // The rep, around -21 dBFS with syllables 20 dB apart.
        for i in 0..300 {
            assert!(
                is_near(&mut n, power(-21.0 - (i % 21) as f32), true),
                "frame {i}"
            );
        }
        // A colleague 20 dB below the rep's average power (-25 dBFS), their vowels 6 dB
        // above their own, for a minute of voiced frames: near only while the rep's last
        // frames are in the window, and the rep's trailing-off time after.
        let near = (0..3750)
            .filter(|i| is_near(&mut n, power(-48.0 + (i % 7) as f32), true))
            .count();
        assert!(near <= WINDOW + KEEP_FRAMES as usize, "{near} frames near");
        assert!(is_near(&mut n, power(-21.0), true), "the rep again");
        assert!(
            is_near(&mut n, power(-40.0), true),
            "and the rep's quiet syllable after it"
        );
    }

    #[test]
    fn the_level_follows_a_louder_rep_after_a_quiet_first_voice() {
        let mut n = NearField::default();
        for _ in 0..200 {
            assert!(is_near(&mut n, power(-50.0), true));
        }
        let near = (0..200)
            .filter(|_| is_near(&mut n, power(-20.0), true))
            .count();
        assert_eq!(near, 200, "a louder voice is always near");
        for _ in 0..super::WINDOW {
            is_near(&mut n, 0.0, false);
        }
        assert!(
            !is_near(&mut n, power(-50.0), true),
            "the quiet first voice is now far"
        );
    }

    #[test]
    fn sound_without_speech_for_ten_seconds_is_a_hold_and_a_turn_ends_it() {
        let mut h = HoldFinder::default();
        let frames = |s: f64| (s / FRAME_S) as usize;
        let mut t = 0.0;
        for i in 0..frames(30.0) {
            // Music with a 1 s rest every 8 s.
            let sound = (i as f64 * FRAME_S) % 8.0 < 7.0;
            h.frame(t, sound, false);
            t += FRAME_S;
        }
        for _ in 0..frames(2.0) {
            h.frame(t, true, true);
            t += FRAME_S;
        }
        // 6 s of sound is only a pause.
        for _ in 0..frames(6.0) {
            h.frame(t, true, false);
            t += FRAME_S;
        }
        h.close();
        assert_eq!(h.spans.len(), 1, "{:?}", h.spans);
        assert!(h.spans[0].start_s < 0.1 && (h.spans[0].end_s - 30.0).abs() < 1.1);
    }
}
