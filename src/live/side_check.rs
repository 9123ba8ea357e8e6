//! A side that delivers digital silence (or nothing) while the other side talks as if in
//! a conversation: a muted microphone, or a call playing on another output than the one
//! twoears hears. Found out during the call, not afterwards: warned once, cleared when the
//! side delivers sound.
//!
//! Silence alone is no fault: before and between calls nothing plays, and a rep who opens
//! a call greets a silent line, or talks to a colleague between calls. What counts is an
//! exchange: the other side speaking, pausing as if answered (a quarter of the time or
//! more), and speaking again, for the rules' `silent_side_s` from its first words.

use crate::dsp::resample::SPEECH_RATE_HZ;
use crate::event::{PerSide, Side};

/// Below this a sample is digital silence: what a muted source, an idle monitor or the
/// aligner's padding delivers (any real microphone's noise floor is far above it).
pub(super) const DIGITAL_SILENCE: f32 = 1e-6;
/// The other side must have spoken this long during the silence: a rep who listens to a
/// quiet prospect is no capture fault.
const OTHER_SPEECH_S: f64 = 3.0;
/// The other side must still be speaking when the warning is due: spoken this recently.
/// At a call's end both sides fall quiet, and a side that stays silent after the other's
/// closing words is no capture fault (a background call ends after 60 s of that).
const OTHER_RECENT_S: f64 = 10.0;
/// A pause of the other side this long, then more speech, is a turn the silent side
/// should have taken: an answer it did not deliver. Pauses between one speaker's
/// sentences are shorter.
const ANSWER_GAP_S: f64 = 1.5;
/// The share of the exchange the other side spent waiting for answers: in a call the
/// other party talks a good part of the time; someone talking on to a person in the room,
/// or dictating, pauses only for breath and thought.
const WAITING_SHARE: f64 = 0.25;
/// After this long without the other side speaking, what came before was another
/// exchange (the last call, a word to a colleague): the count starts again.
const NEW_EXCHANGE_S: f64 = 30.0;

/// What changed about a side.
#[derive(Debug, Clone, PartialEq)]
pub enum Change {
    Silent { side: Side, message: String },
    Back { side: Side, message: String },
}

#[derive(Default)]
struct Run {
    /// Seconds of digital silence in a row.
    silent_s: f64,
    /// The other side's speech in this exchange.
    other_speech_s: f64,
    /// Time since the other side's first words in this exchange: what counts. Silence
    /// before it (a quiet line before a call, the idle hours of a background monitor) is
    /// no fault.
    since_other_s: Option<f64>,
    /// Time since the other side last spoke in this silence.
    other_quiet_s: f64,
    /// The other side's pauses long enough to be answered, in this exchange: how many,
    /// and how long in all.
    answers: u32,
    waited_s: f64,
    warned: bool,
}

impl Run {
    /// The other side spoke (`speaks`) or not in `dt` more seconds of silence.
    fn silent_for(&mut self, dt: f64, speaks: bool) {
        self.silent_s += dt;
        if speaks {
            if self.since_other_s.is_some() && self.other_quiet_s >= ANSWER_GAP_S {
                self.answers += 1;
                self.waited_s += self.other_quiet_s;
            }
            self.other_speech_s += dt;
            self.other_quiet_s = 0.0;
            self.since_other_s.get_or_insert(0.0);
        } else {
            self.other_quiet_s += dt;
            if self.other_quiet_s >= NEW_EXCHANGE_S && !self.warned {
                self.since_other_s = None;
                self.other_speech_s = 0.0;
                self.answers = 0;
                self.waited_s = 0.0;
            }
        }
        if let Some(t) = self.since_other_s.as_mut() {
            *t += dt;
        }
    }

    /// The silence has lasted through enough of an exchange to be a fault.
    fn is_fault(&self, limit_s: f64) -> bool {
        self.since_other_s
            .is_some_and(|t| t >= limit_s && self.waited_s >= WAITING_SHARE * t)
            && self.other_speech_s >= OTHER_SPEECH_S
            && self.other_quiet_s <= OTHER_RECENT_S
            && self.answers >= 1
    }
}

pub struct SideCheck {
    limit_s: f64,
    runs: PerSide<Run>,
}

impl SideCheck {
    /// Warns after `limit_s` of digital silence while the other side talks as if
    /// answered.
    pub fn new(limit_s: f64) -> Self {
        Self {
            limit_s,
            runs: PerSide::default(),
        }
    }

    /// One aligned block of both sides, and who the VAD hears speaking in it.
    pub fn push(
        &mut self,
        rep: &[f32],
        prospect: &[f32],
        speaking: PerSide<bool>,
    ) -> Option<Change> {
        let dt = rep.len() as f64 / f64::from(SPEECH_RATE_HZ);
        let mut change = None;
        for (side, samples) in [(Side::Rep, rep), (Side::Prospect, prospect)] {
            let silent = samples.iter().all(|x| x.abs() < DIGITAL_SILENCE);
            let run = &mut self.runs[side];
            if silent {
                run.silent_for(dt, speaking[side.other()]);
                if !run.warned && run.is_fault(self.limit_s) {
                    run.warned = true;
                    let secs = run.since_other_s.unwrap_or(run.silent_s);
                    change.get_or_insert(Change::Silent {
                        side,
                        message: silent_message(side, secs),
                    });
                }
            } else if !samples.is_empty() {
                if run.warned {
                    change.get_or_insert(Change::Back {
                        side,
                        message: back_message(side),
                    });
                }
                *run = Run::default();
            }
        }
        change
    }
}

fn silent_message(side: Side, secs: f64) -> String {
    match side {
        Side::Rep => format!(
            "capture: the microphone has delivered digital silence for {secs:.0} s while the \
             prospect talks: it is muted (on the headset or in the sound settings) or not the \
             one in use; `twoears devices` lists the microphones, pass --mic NAME"
        ),
        Side::Prospect => format!(
            "capture: the call audio has been digital silence for {secs:.0} s while you talk \
             and pause for answers: the call may be playing on another output (headphones?); \
             `twoears devices` lists the monitors, pass --system NAME"
        ),
    }
}

fn back_message(side: Side) -> String {
    match side {
        Side::Rep => "capture: the microphone delivers sound again".into(),
        Side::Prospect => "capture: the call audio delivers sound again".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const BLOCK: usize = 1600; // 0.1 s

    fn run(
        check: &mut SideCheck,
        secs: f64,
        rep: f32,
        prospect: f32,
        speaking: PerSide<bool>,
    ) -> Vec<Change> {
        let (r, p) = (vec![rep; BLOCK], vec![prospect; BLOCK]);
        (0..(secs * 10.0).round() as usize)
            .filter_map(|_| check.push(&r, &p, speaking))
            .collect()
    }

    /// `secs` of one side talking in turns (`talk_s` of speech, then `pause_s` for the
    /// answer), the other side at `level` throughout.
    fn exchange(
        check: &mut SideCheck,
        secs: f64,
        talker: Side,
        (talk_s, pause_s): (f64, f64),
        level: f32,
    ) -> Vec<Change> {
        let mut out = Vec::new();
        let mut t = 0.0;
        while t < secs - 1e-9 {
            let (talk, pause) = (
                talk_s.min(secs - t),
                pause_s.min(secs - t - talk_s).max(0.0),
            );
            let speaks = PerSide::from_fn(|s| s == talker);
            let (r, p) = match talker {
                Side::Rep => (0.1, level),
                Side::Prospect => (level, 0.1),
            };
            out.extend(run(check, talk, r, p, speaks));
            let quiet = match talker {
                Side::Rep => (0.0, level),
                Side::Prospect => (level, 0.0),
            };
            out.extend(run(
                check,
                pause,
                quiet.0,
                quiet.1,
                PerSide::new(false, false),
            ));
            t += talk + pause;
        }
        out
    }

    #[test]
    fn a_silent_call_side_is_warned_once_while_the_rep_talks_in_turns_and_cleared() {
        let mut c = SideCheck::new(20.0);
        // The rep opens: 4 s, a pause for the answer, again.
        assert!(exchange(&mut c, 19.0, Side::Rep, (4.0, 3.0), 0.0).is_empty());
        let got = exchange(&mut c, 30.0, Side::Rep, (4.0, 3.0), 0.0);
        assert_eq!(got.len(), 1, "once: {got:?}");
        assert!(
            matches!(&got[0], Change::Silent { side: Side::Prospect, message } if message.contains("--system")),
            "{got:?}"
        );
        let back = run(&mut c, 1.0, 0.1, 0.01, PerSide::new(true, false));
        assert!(matches!(
            &back[..],
            [Change::Back {
                side: Side::Prospect,
                ..
            }]
        ));
    }

    #[test]
    fn silence_while_nobody_speaks_or_a_quiet_prospect_is_no_fault() {
        let mut c = SideCheck::new(20.0);
        // Both sides digitally silent, nobody speaking: between calls.
        assert!(run(&mut c, 120.0, 0.0, 0.0, PerSide::new(false, false)).is_empty());
        // The mic has sound (noise) while the prospect talks: listening, not muted.
        assert!(exchange(&mut c, 60.0, Side::Prospect, (5.0, 2.0), 0.001).is_empty());
        // A muted mic while the prospect talks is.
        let got = exchange(&mut c, 25.0, Side::Prospect, (5.0, 2.0), 0.0);
        assert!(
            matches!(&got[..], [Change::Silent { side: Side::Rep, message }] if message.contains("muted")),
            "{got:?}"
        );
    }

    #[test]
    fn a_long_first_answer_is_enough() {
        // The example call's opening: the rep 6 s, the prospect 13 s, the rep again.
        let mut c = SideCheck::new(20.0);
        assert!(run(&mut c, 6.3, 0.1, 0.0, PerSide::new(true, false)).is_empty());
        assert!(run(&mut c, 13.5, 0.0, 0.0, PerSide::new(false, false)).is_empty());
        let got = run(&mut c, 5.0, 0.1, 0.0, PerSide::new(true, false));
        assert!(
            matches!(
                &got[..],
                [Change::Silent {
                    side: Side::Prospect,
                    ..
                }]
            ),
            "{got:?}"
        );
    }

    #[test]
    fn a_rep_talking_on_without_pausing_for_answers_is_no_fault() {
        // A minute of the rep talking to a colleague or dictating notes between calls:
        // sentences with short breaths, nobody answered.
        let mut c = SideCheck::new(20.0);
        assert!(exchange(&mut c, 60.0, Side::Rep, (6.0, 0.6), 0.0).is_empty());
        // With a pause to think now and then.
        let mut c = SideCheck::new(20.0);
        assert!(exchange(&mut c, 60.0, Side::Rep, (12.0, 2.5), 0.0).is_empty());
        // Nor a greeting and one more turn, then nothing (a word on a mobile).
        let mut c = SideCheck::new(20.0);
        assert!(exchange(&mut c, 8.0, Side::Rep, (3.0, 2.0), 0.0).is_empty());
        assert!(run(&mut c, 120.0, 0.0, 0.0, PerSide::new(false, false)).is_empty());
    }

    #[test]
    fn silence_after_the_other_sides_closing_words_is_no_fault() {
        // A synthetic call's rep channel is digital zeros between turns: the prospect's
        // closing words, then a minute of silence on both sides before the call ends.
        let mut c = SideCheck::new(20.0);
        assert!(run(&mut c, 5.0, 0.1, 0.0, PerSide::new(true, false)).is_empty());
        assert!(run(&mut c, 4.0, 0.0, 0.1, PerSide::new(false, true)).is_empty());
        assert!(run(&mut c, 60.0, 0.0, 0.0, PerSide::new(false, false)).is_empty());
        // A prospect who goes on talking into a muted microphone is warned about, when
        // they speak again if the 20 s fell in their pause.
        let mut c = SideCheck::new(20.0);
        assert!(exchange(&mut c, 8.0, Side::Prospect, (3.0, 2.0), 0.0).is_empty());
        assert!(run(&mut c, 14.0, 0.0, 0.0, PerSide::new(false, false)).is_empty());
        let got = run(&mut c, 1.0, 0.0, 0.1, PerSide::new(false, true));
        assert!(
            matches!(
                &got[..],
                [Change::Silent {
                    side: Side::Rep,
                    ..
                }]
            ),
            "{got:?}"
        );
    }

    #[test]
    fn the_count_starts_at_the_reps_first_words_of_each_call() {
        // A background monitor: the last call ended with the rep's words, then 80 s of
        // silence, then the rep opens the next call 4 s before the prospect answers.
        let mut c = SideCheck::new(20.0);
        run(&mut c, 6.0, 0.1, 0.0, PerSide::new(true, false));
        run(&mut c, 4.0, 0.0, 0.1, PerSide::new(false, true));
        run(&mut c, 3.0, 0.1, 0.0, PerSide::new(true, false));
        assert!(run(&mut c, 80.0, 0.0, 0.0, PerSide::new(false, false)).is_empty());
        assert!(
            run(&mut c, 4.0, 0.1, 0.0, PerSide::new(true, false)).is_empty(),
            "the greeting of the next call"
        );
        assert!(run(&mut c, 6.0, 0.1, 0.1, PerSide::new(false, true)).is_empty());
        // And after ten minutes of nothing, the count starts at the rep's first words.
        let mut c = SideCheck::new(20.0);
        assert!(run(&mut c, 600.0, 0.0, 0.0, PerSide::new(false, false)).is_empty());
        assert!(exchange(&mut c, 19.0, Side::Rep, (4.0, 3.0), 0.0).is_empty());
        let got = exchange(&mut c, 10.0, Side::Rep, (4.0, 3.0), 0.0);
        assert!(
            matches!(&got[..], [Change::Silent { message, .. }] if message.contains("for 20 s")),
            "{got:?}"
        );
    }
}
