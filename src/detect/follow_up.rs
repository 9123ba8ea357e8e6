//! Missed follow-up: the prospect names a tool, a gap or a pain, and the rep moves on
//! without a question and without coming back to it. Judged on everything the rep said
//! between the trigger and the prospect's next words (transcript chunks end mid-sentence,
//! so a question may only close in the rep's last chunk).

use serde::Serialize;

use super::acts::{Act, Reading};
use super::text::normalise;
use super::{Alert, AlertKind};
use crate::event::{Segment, Side};

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FollowUpConfig {
    pub enabled: bool,
    /// Rep words after the trigger, with no question and nothing about it, that make a
    /// change of topic.
    pub min_words: u32,
}

impl Default for FollowUpConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            min_words: 30,
        }
    }
}

/// Words too common to show the rep picked up the prospect's topic.
const COMMON: &[&str] = &[
    "about", "after", "again", "also", "because", "been", "before", "being", "could", "does",
    "doing", "each", "every", "from", "going", "have", "having", "into", "just", "know", "like",
    "made", "make", "many", "more", "most", "much", "need", "only", "other", "over", "really",
    "right", "same", "should", "some", "that", "their", "them", "then", "there", "these", "they",
    "thing", "things", "this", "those", "time", "very", "want", "well", "were", "what", "when",
    "where", "which", "while", "will", "with", "would", "your", "yours", "we're", "it's",
];

/// Openings that stay with what the prospect just said.
const EMPATHY: &[&str] = &[
    "that sounds",
    "sounds like",
    "that must",
    "that is a real",
    "that is real",
    "that is tough",
    "that is hard",
    "i hear you",
    "i can imagine",
    "ouch",
];

/// Content words of a sentence (lower case, crude plural folding).
fn content_words(text: &str) -> Vec<String> {
    normalise(text)
        .split_whitespace()
        .filter(|w| w.len() >= 4 && !COMMON.contains(w))
        .map(|w| w.trim_end_matches('s').to_string())
        .collect()
}

struct Pending {
    said: String,
    topic: Vec<String>,
    /// The rep's words since the trigger.
    reply: String,
    /// The rep asked, recapped or acknowledged since the trigger.
    stayed: bool,
}

pub struct FollowUp {
    cfg: FollowUpConfig,
    pending: Option<Pending>,
}

impl FollowUp {
    pub fn new(cfg: FollowUpConfig) -> Self {
        Self { cfg, pending: None }
    }

    /// `read`: the segment's sentences as acts; `pitched`: this segment already raised a
    /// pitch alert.
    pub fn on_segment(
        &mut self,
        seg: &Segment,
        read: &[Reading],
        available_s: f64,
        pitched: bool,
    ) -> Option<Alert> {
        if seg.side == Side::Rep {
            if pitched {
                self.pending = None;
            } else if let Some(p) = self.pending.as_mut() {
                p.reply.push(' ');
                p.reply.push_str(&seg.text);
                p.stayed |= read
                    .iter()
                    .any(|r| r.act.is_question() || matches!(r.act, Act::Recap | Act::Empathy));
            }
            return None;
        }
        // The prospect speaks again: judge the rep's reply to the last trigger.
        let alert = self.pending.take().and_then(|p| self.judge(p, available_s));
        self.pending = read
            .iter()
            .rev()
            .find(|r| r.act == Act::Trigger)
            .map(|r| Pending {
                said: r.sentence.clone(),
                topic: content_words(&r.sentence),
                reply: String::new(),
                stayed: false,
            });
        alert
    }

    fn judge(&self, p: Pending, available_s: f64) -> Option<Alert> {
        let words = p.reply.split_whitespace().count() as u32;
        let picked_up = content_words(&p.reply).iter().any(|w| p.topic.contains(w));
        // "That sounds hard", "that is a real cost": staying with their feelings about it.
        let reply = normalise(&p.reply);
        let empathy = EMPATHY.iter().any(|e| reply.contains(&format!(" {e} ")));
        if words < self.cfg.min_words || p.stayed || picked_up || empathy {
            return None;
        }
        Some(Alert {
            kind: AlertKind::FollowUpMissed,
            at_s: available_s,
            side: Side::Rep,
            message: format!(
                "They said: '{}'. You moved on. Go back and ask what is behind it.",
                p.said.trim_end_matches(['.', '!'])
            ),
            evidence: format!(
                "\"{}\" - {words} rep words after it, no question, nothing about it",
                p.reply.trim()
            ),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seg(side: Side, text: &str) -> Segment {
        Segment {
            side,
            start_s: 0.0,
            end_s: 1.0,
            text: text.into(),
        }
    }

    /// Plays the lines, then the prospect's next words.
    fn run(lines: &[(Side, &str)]) -> Vec<Alert> {
        let mut r = FollowUp::new(FollowUpConfig::default());
        let words = crate::detect::acts::words::WordReader {
            phrases: Default::default(),
        };
        lines
            .iter()
            .chain(&[(Side::Prospect, "Okay.")])
            .filter_map(|(side, text)| {
                let read: Vec<Reading> = crate::detect::text::sentences(text)
                    .iter()
                    .map(|s| words.read(*side, s))
                    .collect();
                r.on_segment(&seg(*side, text), &read, 1.0, false)
            })
            .collect()
    }

    #[test]
    fn changing_the_topic_after_a_pain_is_alerted() {
        let a = run(&[
            (Side::Prospect, "Honestly, onboarding new clients takes forever, six weeks at least."),
            (
                Side::Rep,
                "Sure. By the way, I saw your company is hiring in Denver, that is exciting news, congratulations on the new office and the team growth this year. We are growing too, we just opened a second office in Austin.",
            ),
        ]);
        assert_eq!(a.len(), 1, "{a:?}");
        assert!(a[0]
            .message
            .contains("onboarding new clients takes forever"));
    }

    #[test]
    fn a_question_or_picking_up_the_topic_is_a_follow_up() {
        // Empathy first, and a question the transcriber garbled.
        assert!(run(&[
            (Side::Prospect, "That worries me more than the reply rate, to be honest."),
            (
                Side::Rep,
                "That is a real cost, if you can change one thing about how the network works by the end of next quarter, well, toward the tree, and then the rest of it as well.",
            ),
        ])
        .is_empty());
        // The question closes in the rep's second chunk.
        assert!(run(&[
            (
                Side::Prospect,
                "Everything lives in one shared inbox and nobody owns it."
            ),
            (
                Side::Rep,
                "That's a real cost. If you could change one thing by the end of next quarter,"
            ),
            (Side::Rep, "what would it be?"),
        ])
        .is_empty());
        assert!(run(&[
            (Side::Prospect, "We use spreadsheets for every forecast."),
            (Side::Rep, "Got it. How many people touch those spreadsheets every week, and what breaks first?"),
        ])
        .is_empty());
        assert!(run(&[
            (Side::Prospect, "Our onboarding takes forever, six weeks at least."),
            (
                Side::Rep,
                "Six weeks of onboarding is a long time for a new client to wait before they see any value at all from the work.",
            ),
        ])
        .is_empty());
    }
}
