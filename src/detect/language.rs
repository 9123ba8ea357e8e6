//! The sales-conversation features the rules ask about: product framing, triggers and
//! invitations, built in and extended by a rules file's phrases. Word classes, not
//! scripts: each feature is a grammatical or sales-conversation form that carries over to
//! other products and wording. Sits above `framing` and `trigger`, below the rules.

use serde::Serialize;

use super::text::{is_question, normalise};

/// Phrases a rules file adds to the built-in features (matched on normalised words, like
/// the built-in lists). They extend the features; they never switch one off.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Phrases {
    /// The rep presenting the product ("our workspace", "we replace").
    pub product: Vec<String>,
    /// The prospect naming a tool, a gap or a pain ("drives me crazy").
    pub triggers: Vec<String>,
    /// The prospect asking to hear about the product ("what exactly do you do").
    pub invitations: Vec<String>,
}

fn extra_hit(sentence: &str, phrases: &[String]) -> Option<String> {
    let norm = normalise(sentence);
    phrases
        .iter()
        .find(|p| norm.contains(&normalise(p)))
        .map(|p| p.trim().to_lowercase())
}

impl Phrases {
    /// Why a rep sentence presents the product (see `framing`), or the user's phrase.
    pub fn product_framing(&self, sentence: &str) -> Option<String> {
        super::framing::product_framing(sentence)
            .or_else(|| extra_hit(sentence, &self.product).map(|p| format!("your phrase \"{p}\"")))
    }

    /// What a prospect sentence raises (see `trigger`), or the user's phrase.
    pub fn trigger(&self, sentence: &str) -> Option<String> {
        super::trigger::trigger(sentence)
            .map(str::to_owned)
            .or_else(|| {
                (!is_question(sentence))
                    .then(|| extra_hit(sentence, &self.triggers))
                    .flatten()
                    .map(|p| format!("your phrase \"{p}\""))
            })
    }

    pub fn invitation(&self, sentence: &str) -> bool {
        invitation(sentence)
            || is_question(sentence) && extra_hit(sentence, &self.invitations).is_some()
    }

    /// Adds another file's lists (one per language; all of them apply).
    pub fn extend(&mut self, other: Phrases) {
        self.product.extend(other.product);
        self.triggers.extend(other.triggers);
        self.invitations.extend(other.invitations);
    }
}

/// The prospect asks about the product: an invitation to present it.
pub fn invitation(sentence: &str) -> bool {
    if !is_question(sentence) {
        return false;
    }
    const ASKS: &[&str] = &[
        "your product",
        "your platform",
        "your tool",
        "your solution",
        "how does it work",
        "how would it",
        "how would that",
        "how would your",
        "how would you help",
        "what do you do",
        "what does it do",
        "what does your",
        "how much",
        "what does it cost",
        "pricing",
        "can you show",
        "how long does setup",
        "how long does it take",
        "does it integrate",
        "can it",
        "does it",
    ];
    let norm = normalise(sentence);
    ASKS.iter().any(|p| norm.contains(&format!(" {p} ")))
        || norm.contains(" you ") && (norm.contains(" help ") || norm.contains(" offer "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invitations() {
        assert!(invitation("So how would your product help us here?"));
        assert!(invitation("How long does setup take?"));
        assert!(!invitation("We should talk next week."));
    }
}
