//! No questions: the rep has asked nothing for a while and has done most of the talking,
//! which is telling, not learning. Needs the transcript; silent without speech-to-text.

use serde::Serialize;

use super::{Alert, AlertKind, CallState};
use crate::event::{clock, Side};

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NoQuestionsConfig {
    pub enabled: bool,
    /// Raised when no rep question was heard for this long...
    pub window_s: f64,
    /// ...while the rep had at least this share of the talk in it.
    pub min_rep_share: f64,
}

impl Default for NoQuestionsConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            window_s: 180.0,
            min_rep_share: 0.6,
        }
    }
}

pub struct NoQuestions {
    cfg: NoQuestionsConfig,
    /// No new alert before this call time (one per quiet stretch).
    quiet_until_s: f64,
    next_check_s: f64,
}

impl NoQuestions {
    pub fn new(cfg: NoQuestionsConfig) -> Self {
        Self {
            quiet_until_s: cfg.window_s,
            cfg,
            next_check_s: 0.0,
        }
    }

    pub fn tick(&mut self, state: &CallState) -> Option<Alert> {
        let now = state.now_s;
        if now < self.next_check_s || now < self.quiet_until_s {
            return None;
        }
        self.next_check_s = now + 1.0;
        let lo = now - self.cfg.window_s;
        let rep_segments: Vec<_> = state
            .read_segments()
            .filter(|(s, _)| s.side == Side::Rep && s.end_s > lo)
            .collect();
        // Without a transcript of the rep in the window there is nothing to judge.
        if rep_segments.is_empty() {
            return None;
        }
        if let Some((q, _)) = rep_segments
            .iter()
            .rev()
            .find(|(_, read)| read.iter().any(|r| r.act.is_question()))
        {
            self.quiet_until_s = q.end_s + self.cfg.window_s;
            return None;
        }
        let share = state.rep_share_since(state.now_s - self.cfg.window_s)?;
        if share < self.cfg.min_rep_share {
            return None;
        }
        self.quiet_until_s = now + self.cfg.window_s;
        let mins = self.cfg.window_s / 60.0;
        Some(Alert {
            kind: AlertKind::NoQuestions,
            at_s: now,
            side: Side::Rep,
            message: format!(
                "No questions from you in {mins:.0} minutes, and you did {:.0}% of the talking. Ask them something and listen.",
                share * 100.0
            ),
            evidence: format!(
                "no rep question since {}; rep share {share:.2} (limit {:.2})",
                clock(lo),
                self.cfg.min_rep_share
            ),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::Turn;
    use crate::event::{PerSide, Segment};
    use crate::talk::TalkAccount;

    fn state(lines: &[(Side, f64, f64, &str)], now_s: f64) -> CallState {
        let mut talk = TalkAccount::default();
        let mut segments = Vec::new();
        for &(side, start_s, end_s, text) in lines {
            talk.add(side, Turn { start_s, end_s });
            segments.push(Segment {
                side,
                start_s,
                end_s,
                text: text.into(),
            });
        }
        let words = crate::detect::acts::words::WordReader {
            phrases: Default::default(),
        };
        let readings = segments
            .iter()
            .map(|s| {
                crate::detect::text::sentences(&s.text)
                    .iter()
                    .map(|x| words.read(s.side, x))
                    .collect()
            })
            .collect();
        CallState {
            talk,
            open_since: PerSide::default(),
            now_s,
            segments,
            readings,
        }
    }

    #[test]
    fn telling_for_three_minutes_is_alerted_once() {
        let lines = [
            (
                Side::Rep,
                0.0,
                60.0,
                "We started the company in 2015. It grew fast.",
            ),
            (Side::Prospect, 61.0, 65.0, "Okay."),
            (
                Side::Rep,
                66.0,
                190.0,
                "Then we opened offices in Berlin and Austin.",
            ),
        ];
        let mut r = NoQuestions::new(NoQuestionsConfig::default());
        let a = r.tick(&state(&lines, 190.0)).expect("alert");
        assert_eq!(a.kind, AlertKind::NoQuestions);
        assert!(r.tick(&state(&lines, 191.5)).is_none(), "once per stretch");
    }

    #[test]
    fn a_question_or_a_talking_prospect_keeps_it_quiet() {
        let asked = [
            (
                Side::Rep,
                0.0,
                120.0,
                "We grew fast. How is your team set up?",
            ),
            (Side::Rep, 121.0, 190.0, "We opened offices in Berlin."),
        ];
        let mut r = NoQuestions::new(NoQuestionsConfig::default());
        assert!(r.tick(&state(&asked, 190.0)).is_none());
        let listening = [
            (Side::Rep, 0.0, 20.0, "That makes sense."),
            (
                Side::Prospect,
                21.0,
                190.0,
                "So our main issue is the reporting.",
            ),
        ];
        let mut r = NoQuestions::new(NoQuestionsConfig::default());
        assert!(r.tick(&state(&listening, 190.0)).is_none());
    }
}
