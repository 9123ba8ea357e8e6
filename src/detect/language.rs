//! Language features of transcript text for the rules: sentences, questions, product
//! framing, triggers and invitations. Word classes, not scripts: each feature is a
//! grammatical or sales-conversation form that carries over to other products and wording.

use serde::Serialize;

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

/// Splits text into sentences at ., ! and ? (keeping the mark).
pub fn sentences(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    for c in text.chars() {
        cur.push(c);
        if matches!(c, '.' | '!' | '?') {
            let s = cur.trim().to_string();
            if s.chars().any(char::is_alphanumeric) {
                out.push(s);
            }
            cur.clear();
        }
    }
    let s = cur.trim().to_string();
    if s.chars().any(char::is_alphanumeric) {
        out.push(s);
    }
    out
}

/// Lower-case words with apostrophes kept, padded with spaces for phrase matching.
pub fn normalise(text: &str) -> String {
    let mut s = String::from(" ");
    for c in text.to_lowercase().chars() {
        if c.is_alphanumeric() || c == '\'' {
            s.push(c);
        } else if !s.ends_with(' ') {
            s.push(' ');
        }
    }
    if !s.ends_with(' ') {
        s.push(' ');
    }
    s.replace("n't", " not")
        .replace("'re", " are")
        .replace("'s", " is")
        .replace("'ll", " will")
}

const WH_OPENERS: &[&str] = &[
    "what",
    "how",
    "why",
    "when",
    "where",
    "who",
    "which",
    "tell me",
    "walk me through",
    "could you tell",
    "can you tell",
    "can you walk",
    "help me understand",
    "describe",
];
const AUX_OPENERS: &[&str] = &[
    "do", "does", "did", "is", "are", "was", "were", "can", "could", "would", "will", "should",
    "have", "has", "may", "shall", "am",
];

/// A question: a question mark, or an interrogative opening (whisper drops some marks).
pub fn is_question(sentence: &str) -> bool {
    if sentence.trim_end().ends_with('?') {
        return true;
    }
    let norm = normalise(sentence);
    let first = norm.split_whitespace().next().unwrap_or("");
    WH_OPENERS
        .iter()
        .any(|w| norm.starts_with(&format!(" {w} ")))
        && !norm.starts_with(" what a ")
        || AUX_OPENERS.contains(&first) && norm.contains(" you ")
        || sentence.split([',', ';']).skip(1).any(wh_clause)
}

/// A clause that opens with a question word and an auxiliary ("..., what would it be"):
/// a question even when the transcript lost its question mark.
fn wh_clause(clause: &str) -> bool {
    let norm = normalise(clause);
    let mut w = norm.split_whitespace();
    let (Some(wh), Some(aux)) = (w.next(), w.next()) else {
        return false;
    };
    // Not "which"/"who": ", which is chaos" is a relative clause, not a question.
    matches!(wh, "what" | "how" | "why" | "when" | "where") && AUX_OPENERS.contains(&aux)
}

/// An open discovery question: asks about the prospect's world, not yes/no about ours.
pub fn is_open_question(sentence: &str) -> bool {
    if !is_question(sentence) {
        return false;
    }
    let norm = normalise(sentence);
    let open = [
        " what ",
        " how ",
        " why ",
        " tell me ",
        " walk me through ",
        " describe ",
        " who ",
        " when ",
        " which ",
        " help me understand ",
    ];
    open.iter().any(|w| norm.contains(w))
        && (norm.contains(" you") || norm.contains(" your") || norm.contains(" team"))
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
    fn splits_sentences() {
        assert_eq!(
            sentences("Hi there. How are you? Fine"),
            vec!["Hi there.", "How are you?", "Fine"]
        );
    }

    #[test]
    fn finds_questions_with_and_without_marks() {
        assert!(is_question("What does your week look like?"));
        assert!(is_question("how do you run pipeline reviews today"));
        assert!(is_question("Do you use a CRM"));
        assert!(!is_question("We do a weekly review."));
        assert!(is_question(
            "If you could change one thing by next quarter, what would it"
        ));
        assert!(!is_question("We sync the calendars, which helps a lot."));
        assert!(!is_question(
            "Drivers text the dispatcher, which is chaos on busy days."
        ));
        assert!(is_open_question(
            "Walk me through how your team books meetings."
        ));
        assert!(!is_open_question("Is Tuesday good?"));
    }

    #[test]
    fn invitations() {
        assert!(invitation("So how would your product help us here?"));
        assert!(invitation("How long does setup take?"));
        assert!(!invitation("We should talk next week."));
    }
}
