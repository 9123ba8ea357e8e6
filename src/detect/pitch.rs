//! Premature pitch: the rep presents the product or its price when the prospect did not
//! ask for it, right after the prospect raised something the rep has not asked about, or
//! before discovery (open questions asked and the prospect given the floor). Reads acts,
//! not words: a recap, empathy or a question that names the product is never a pitch.
//! Evaluated per transcript chunk, so it fires on the first chunk that carries the pitch.

use serde::Serialize;

use super::acts::{form, Act, Reading};
use super::{Alert, AlertKind, CallState};
use crate::event::{Segment, Side};

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PitchConfig {
    pub enabled: bool,
    /// A trigger counts this long after the prospect's sentence ends.
    pub trigger_window_s: f64,
    /// Open questions the rep must have asked before presenting is fine.
    pub min_open_questions: u32,
    /// Share of talk the prospect must have had before presenting is fine.
    pub min_prospect_share: f64,
    /// No second pitch alert within this long.
    pub cooldown_s: f64,
    /// How sure the act reader must be that a sentence presents the product or its price.
    /// 0.35 has the best F1 for pitch in leave-one-domain-out cross-validation on the
    /// training sentences (`acts_eval --cv`: 0.818, against 0.809 at 0.4 and 0.791 at 0.5).
    pub min_confidence: f64,
    /// One sentence this sure is a pitch on its own. Below it, a sentence read as
    /// presenting is a pitch when it speaks for the seller (we, our, an offer), or when
    /// another sentence of the rep's turn backs it (read as presenting too, or speaking
    /// for us and leaning that way): a recap of the prospect's process, a story about
    /// other teams or a garbled greeting reads as a presentation now and then, one
    /// sentence at a time, without us in it; a pitch seldom stops at one sentence.
    pub sure_confidence: f64,
}

impl Default for PitchConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            trigger_window_s: 15.0,
            min_open_questions: 3,
            min_prospect_share: 0.4,
            cooldown_s: 60.0,
            min_confidence: crate::detect::acts::PITCH_CONFIDENCE,
            sure_confidence: 0.9,
        }
    }
}

/// How far a sentence that speaks for us must lean to presenting to back a doubtful one.
const LEANING: f64 = 0.2;

pub struct PitchRule {
    cfg: PitchConfig,
    last_alert_s: Option<f64>,
    /// An alert was raised and the prospect has not spoken since (one alert per rep turn).
    alerted_this_turn: bool,
    /// Sentences of this rep turn that count toward a run (see `on_segment`).
    leaning_this_turn: u32,
    /// One of them was read as presenting (`min_confidence`).
    doubtful_seen: bool,
    /// The rep announced a recap earlier in this turn ("let me make sure I've got it").
    recap_cued: bool,
}

/// The prospect's last trigger within the window that the rep has not asked about since.
fn open_trigger(state: &CallState, at_s: f64, window_s: f64) -> Option<&Reading> {
    for (seg, read) in state.read_segments().rev() {
        if seg.end_s < at_s - window_s {
            break;
        }
        match seg.side {
            Side::Rep if read.iter().any(|r| r.act.is_question()) => return None,
            Side::Rep => {}
            Side::Prospect => {
                if let Some(r) = read.iter().rev().find(|r| r.act == Act::Trigger) {
                    return Some(r);
                }
            }
        }
    }
    None
}

/// The prospect's latest turn asked to hear about the product (its price, a demo, how it
/// works): the rep's answer, however long, is invited.
fn invited(state: &CallState) -> bool {
    state
        .read_segments()
        .rev()
        .skip_while(|(s, _)| s.side == Side::Rep)
        .take_while(|(s, _)| s.side == Side::Prospect)
        .any(|(_, read)| read.iter().any(|r| r.act == Act::Invitation))
}

/// How a reading reads, for the evidence: its act, how sure, and what it sounds like.
pub fn describe(r: &Reading) -> String {
    let mut s = format!("{} ({:.2})", r.act.name(), r.confidence);
    if !r.why.is_empty() {
        s.push_str(", ");
        s.push_str(&r.why);
    }
    s
}

impl PitchRule {
    pub fn new(cfg: PitchConfig) -> Self {
        Self {
            cfg,
            last_alert_s: None,
            alerted_this_turn: false,
            leaning_this_turn: 0,
            doubtful_seen: false,
            recap_cued: false,
        }
    }

    /// How sure the act reader must be that a sentence pitches.
    pub fn min_confidence(&self) -> f64 {
        self.cfg.min_confidence
    }

    /// `at[i]` is when a monitor has sentence `i` of the segment.
    pub fn on_segment(
        &mut self,
        state: &CallState,
        seg: &Segment,
        read: &[Reading],
        at: &[f64],
    ) -> Option<Alert> {
        if seg.side != Side::Rep {
            self.alerted_this_turn = false;
            self.leaning_this_turn = 0;
            self.doubtful_seen = false;
            self.recap_cued = false;
            return None;
        }
        if self.alerted_this_turn {
            return None;
        }
        let (pitch, &available_s) = read.iter().zip(at).find(|(r, _)| {
            let p = f64::from(r.pitch);
            // After "let me make sure I've got it" the turn restates the prospect's world;
            // only a sentence that speaks for us turns it into a pitch.
            if form::cues_recap(&r.sentence) && p < self.cfg.min_confidence {
                self.recap_cued = true;
                return false;
            }
            if self.recap_cued && !form::speaks_for_us(&r.sentence) {
                return false;
            }
            if p >= self.cfg.sure_confidence {
                return true;
            }
            let doubtful = p >= self.cfg.min_confidence;
            let ours = p >= LEANING && form::speaks_for_us(&r.sentence);
            // A doubtful presentation that speaks for the seller is a pitch on its own.
            if doubtful && ours {
                return true;
            }
            // Otherwise it takes a second sentence of the turn: another doubtful one, or
            // one that speaks for us and leans that way ("...we get a ping and text out the
            // same day" after "Every bait box gets a little wireless sensor").
            if doubtful || ours {
                self.leaning_this_turn += 1;
                self.doubtful_seen |= doubtful;
            }
            self.leaning_this_turn >= 2 && self.doubtful_seen
        })?;
        if invited(state) {
            return None;
        }
        if self
            .last_alert_s
            .is_some_and(|t| available_s - t < self.cfg.cooldown_s)
        {
            return None;
        }
        let open_questions = state.rep_acts(|a| a == Act::OpenQuestion);
        let rep = state.talk.spoken_in(Side::Rep, 0.0, seg.start_s, None);
        let pro = state.talk.spoken_in(Side::Prospect, 0.0, seg.start_s, None);
        let prospect_share = if rep + pro > 0.0 {
            pro / (rep + pro)
        } else {
            0.0
        };
        let discovered = open_questions >= self.cfg.min_open_questions
            && prospect_share >= self.cfg.min_prospect_share;
        let (message, why) = if let Some(trigger) =
            open_trigger(state, seg.start_s, self.cfg.trigger_window_s)
        {
            (
                format!(
                    "They said: '{}'. Ask why before you pitch.",
                    trigger.sentence.trim_end_matches(['.', '!'])
                ),
                format!(
                    "pitch right after a trigger they raised (\"{}\": {})",
                    trigger.sentence,
                    describe(trigger)
                ),
            )
        } else if !discovered {
            (
                "You are pitching before you know their world. Ask about their situation first.".to_string(),
                format!(
                    "pitch before discovery: {open_questions} open questions, prospect share {:.0}%",
                    prospect_share * 100.0
                ),
            )
        } else {
            return None;
        };
        self.last_alert_s = Some(available_s);
        self.alerted_this_turn = true;
        Some(Alert {
            kind: AlertKind::Pitch,
            at_s: available_s,
            side: Side::Rep,
            message,
            evidence: format!("\"{}\" - {}; {why}", pitch.sentence, describe(pitch)),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::detect::{DetectConfig, Detector};
    use crate::event::Turn;
    use crate::event::{Available, Event};

    /// Plays a transcript through the detector: (side, start, end, text).
    fn run(lines: &[(Side, f64, f64, &str)]) -> Vec<Alert> {
        let mut d = Detector::new(DetectConfig::default());
        for &(side, start_s, end_s, text) in lines {
            d.on_event(&Event::TurnStarted { side, start_s });
            d.on_event(&Event::TurnEnded {
                side,
                turn: Turn { start_s, end_s },
            });
            d.on_event(&Event::Transcript {
                segment: Segment {
                    side,
                    start_s,
                    end_s,
                    text: text.into(),
                },
                available: Available::At(end_s + 0.5),
            });
        }
        d.alerts
            .into_iter()
            .filter(|a| a.kind == AlertKind::Pitch)
            .collect()
    }

    use Side::{Prospect as P, Rep as R};

    #[test]
    fn in_review_a_pitch_is_placed_where_its_sentence_ends_not_at_the_chunk_end() {
        let mut d = Detector::new(DetectConfig::default());
        let segment = Segment {
            side: R,
            start_s: 0.0,
            end_s: 18.0,
            // 41, 81 and 53 characters: the pitch ends at 18 * 122 / 175 = 12.55 s.
            text: "Hi Alex, thanks for joining me this week. So our platform is the \
                   leading analytics suite and it lets you see every account. It \
                   texts your reps a summary after every single call."
                .into(),
        };
        d.on_event(&Event::TurnStarted {
            side: R,
            start_s: 0.0,
        });
        let at = |d: &mut Detector, available| {
            d.on_event(&Event::Transcript {
                segment: segment.clone(),
                available,
            })
            .iter()
            .find(|a| a.kind == AlertKind::Pitch)
            .map(|a| a.at_s)
        };
        let said = at(&mut d, Available::AsSaid).expect("a pitch before discovery");
        assert!((said - 12.55).abs() < 0.01, "{said}");
        // Live, the alert is raised when the chunk arrives, never earlier.
        let mut d = Detector::new(DetectConfig::default());
        assert_eq!(at(&mut d, Available::At(18.7)), Some(18.7));
    }

    #[test]
    fn trigger_then_pitch_is_alerted_with_the_trigger_quoted() {
        let a = run(&[
            (R, 0.0, 4.0, "How does your team book demos today?"),
            (
                P,
                5.0,
                12.0,
                "Mostly by email. We do not have a scheduling tool at all.",
            ),
            (
                R,
                12.5,
                20.0,
                "Great, that is where we come in. Our scheduler books meetings for you.",
            ),
        ]);
        assert_eq!(a.len(), 1);
        assert!(
            a[0].message
                .contains("We do not have a scheduling tool at all"),
            "{}",
            a[0].message
        );
        assert_eq!(a[0].at_s, 20.5);
    }

    #[test]
    fn pitch_before_discovery_is_alerted() {
        let a = run(&[
            (R, 0.0, 2.0, "Hi Alex, thanks for joining."),
            (P, 2.5, 4.0, "Sure."),
            (R, 4.5, 14.0, "So our platform is the leading analytics suite, and it lets you see every account."),
        ]);
        assert_eq!(a.len(), 1);
        assert!(
            a[0].evidence.contains("before discovery"),
            "{}",
            a[0].evidence
        );
    }

    #[test]
    fn asking_about_the_trigger_is_not_a_pitch() {
        let a = run(&[
            (R, 0.0, 4.0, "What tools does your team use?"),
            (P, 5.0, 12.0, "We use spreadsheets for everything."),
            (
                R,
                12.5,
                16.0,
                "Interesting, why spreadsheets? What breaks first when the team grows?",
            ),
        ]);
        assert!(a.is_empty(), "{a:?}");
    }

    #[test]
    fn product_inside_a_question_is_not_a_pitch() {
        let a = run(&[
            (R, 0.0, 4.0, "Tell me about your buyers."),
            (
                P,
                5.0,
                12.0,
                "Mostly finance teams. We never use video with them.",
            ),
            (
                R,
                12.5,
                16.0,
                "Would a short demo video fit buyers like that?",
            ),
        ]);
        assert!(a.is_empty(), "{a:?}");
    }

    #[test]
    fn invited_presentation_after_discovery_is_fine() {
        let a = run(&[
            (R, 0.0, 4.0, "What is your biggest challenge this quarter?"),
            (
                P,
                5.0,
                30.0,
                "Hiring. We lose weeks on scheduling interviews, it is painful and slow.",
            ),
            (R, 31.0, 34.0, "How do you schedule them today?"),
            (
                P,
                35.0,
                60.0,
                "By hand, across four calendars. It is a mess and everybody hates it.",
            ),
            (R, 61.0, 64.0, "Who else feels that pain on your side?"),
            (
                P,
                65.0,
                80.0,
                "The recruiters most of all. So how would your product help us here?",
            ),
            (
                R,
                81.0,
                90.0,
                "Our platform reads all four calendars and it lets you book in one click.",
            ),
        ]);
        assert!(a.is_empty(), "{a:?}");
    }
}
