//! A side that delivers digital silence (or nothing) while the other side speaks: a muted
//! microphone, or a call playing on another output than the one twoears hears. Found out
//! during the call, not afterwards: warned once, cleared when the side delivers sound.

use crate::event::{PerSide, Side};
use crate::resample::SPEECH_RATE_HZ;

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
    /// The other side's speech during that silence.
    other_speech_s: f64,
    /// Time since the other side first spoke in that silence: what counts. Silence before
    /// it (a quiet line before a call, the idle hours of a background monitor) is no fault:
    /// the rep who opens a call is not yet talking to a silent prospect.
    since_other_s: Option<f64>,
    /// Time since the other side last spoke in that silence.
    other_quiet_s: f64,
    warned: bool,
}

pub struct SideCheck {
    limit_s: f64,
    runs: PerSide<Run>,
}

impl SideCheck {
    /// Warns after `limit_s` of digital silence while the other side speaks.
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
            let other_speaks = speaking[side.other()];
            let limit = self.limit_s;
            let run = &mut self.runs[side];
            if silent {
                run.silent_s += dt;
                if other_speaks {
                    run.other_speech_s += dt;
                    run.other_quiet_s = 0.0;
                    run.since_other_s.get_or_insert(0.0);
                } else {
                    run.other_quiet_s += dt;
                }
                let since = run.since_other_s.as_mut().map(|t| {
                    *t += dt;
                    *t
                });
                if !run.warned
                    && since.is_some_and(|t| t >= limit)
                    && run.other_speech_s >= OTHER_SPEECH_S
                    && run.other_quiet_s <= OTHER_RECENT_S
                {
                    run.warned = true;
                    change.get_or_insert(Change::Silent {
                        side,
                        message: silent_message(side, since.unwrap_or(run.silent_s)),
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
             prospect speaks: it is muted (on the headset or in the sound settings) or not the \
             one in use; `twoears devices` lists the microphones, pass --mic NAME"
        ),
        Side::Prospect => format!(
            "capture: the call audio has been digital silence for {secs:.0} s while you speak: \
             the call may be playing on another output (headphones?); `twoears devices` lists \
             the monitors, pass --system NAME"
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

    #[test]
    fn a_silent_call_side_is_warned_once_while_the_rep_speaks_and_cleared() {
        let mut c = SideCheck::new(20.0);
        let rep_speaks = PerSide::new(true, false);
        assert!(run(&mut c, 19.5, 0.1, 0.0, rep_speaks).is_empty());
        let got = run(&mut c, 30.0, 0.1, 0.0, rep_speaks);
        assert_eq!(got.len(), 1, "once: {got:?}");
        assert!(
            matches!(&got[0], Change::Silent { side: Side::Prospect, message } if message.contains("--system"))
        );
        let back = run(&mut c, 1.0, 0.1, 0.01, rep_speaks);
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
        assert!(run(&mut c, 60.0, 0.001, 0.1, PerSide::new(false, true)).is_empty());
        // A muted mic while the prospect talks is.
        let got = run(&mut c, 25.0, 0.0, 0.1, PerSide::new(false, true));
        assert!(
            matches!(&got[..], [Change::Silent { side: Side::Rep, message }] if message.contains("muted"))
        );
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
        assert!(run(&mut c, 8.0, 0.0, 0.1, PerSide::new(false, true)).is_empty());
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
    fn silence_before_anyone_speaks_does_not_count() {
        // A background monitor between calls: both sides silent for minutes, then the rep
        // opens the call a few seconds before the prospect's audio arrives.
        let mut c = SideCheck::new(20.0);
        let nobody = PerSide::new(false, false);
        assert!(run(&mut c, 600.0, 0.0, 0.0, nobody).is_empty());
        let rep_speaks = PerSide::new(true, false);
        assert!(
            run(&mut c, 7.0, 0.1, 0.0, rep_speaks).is_empty(),
            "the rep's greeting is no capture fault"
        );
        let got = run(&mut c, 14.0, 0.1, 0.0, rep_speaks);
        assert_eq!(got.len(), 1, "20 s of the rep talking to silence: {got:?}");
        assert!(
            matches!(&got[0], Change::Silent { message, .. } if message.contains("for 20 s")),
            "{got:?}"
        );
    }
}
