//! The word-list reader: acts from the built-in phrase features (`framing`, `trigger`,
//! `language`) and question forms. Used when the sentence encoder is not installed, and
//! as the baseline the encoder is measured against.

use super::{Act, Reading};
use crate::detect::language::Phrases;
use crate::detect::text::{is_open_question, is_question};
use crate::event::Side;

pub struct WordReader {
    pub phrases: Phrases,
}

impl WordReader {
    pub fn read(&self, side: Side, sentence: &str) -> Reading {
        let (act, why) = match side {
            Side::Rep => self.rep(sentence),
            Side::Prospect => self.prospect(sentence),
        };
        Reading {
            sentence: sentence.into(),
            act,
            confidence: 1.0,
            pitch: if act.is_pitch() { 1.0 } else { 0.0 },
            why,
            alone_pitch: None,
            cue: None,
        }
    }

    fn rep(&self, sentence: &str) -> (Act, String) {
        if is_open_question(sentence) {
            return (Act::OpenQuestion, "an open question form".into());
        }
        if is_question(sentence) {
            return (Act::ClosedQuestion, "a question form".into());
        }
        match self.phrases.product_framing(sentence) {
            Some(why) if why.starts_with("a price") => (Act::Price, why),
            Some(why) => (Act::Presentation, why),
            None => (Act::Other, String::new()),
        }
    }

    fn prospect(&self, sentence: &str) -> (Act, String) {
        if self.phrases.invitation(sentence) {
            return (Act::Invitation, "asks about the product".into());
        }
        match self.phrases.trigger(sentence) {
            Some(why) => (Act::Trigger, why),
            None => (Act::Other, String::new()),
        }
    }
}
