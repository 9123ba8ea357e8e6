//! Text primitives every rule builds on: sentences, normalised words, phrase matching and
//! question forms. The bottom layer of `detect`: it calls nothing above it.

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
        || asks_by_inversion(sentence)
}

/// A question word, an auxiliary and a person, in that order, anywhere in the sentence
/// ("...to keep dropping what did they look like a year ago"): a question by its word
/// order alone. Whisper drops the commas and the question mark of a long run-on question;
/// the inversion survives. "It" is no person here: "that's what does it" tells.
pub fn asks_by_inversion(sentence: &str) -> bool {
    let norm = normalise(sentence);
    let words: Vec<&str> = norm.split_whitespace().collect();
    words.windows(3).any(|w| {
        matches!(w[0], "what" | "how" | "why" | "when" | "where")
            && AUX_OPENERS.contains(&w[1])
            && matches!(
                w[2],
                "you" | "your" | "they" | "their" | "we" | "our" | "i" | "he" | "she"
            )
    })
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

/// Whether normalised text holds `phrase` as whole words.
pub fn has(norm: &str, phrase: &str) -> bool {
    norm.contains(&format!(" {phrase} "))
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
        assert!(is_question(
            "That makes sense when you say it keeps dropping what did it look like and what did they do."
        ));
        assert!(!is_question("That is what does it for most teams."));
        assert!(!is_question("Here is how we do it and what we found."));
        assert!(is_open_question(
            "Walk me through how your team books meetings."
        ));
        assert!(!is_open_question("Is Tuesday good?"));
    }

    #[test]
    fn whole_words_only() {
        assert!(has(&normalise("We use Excel today."), "use excel"));
        assert!(!has(&normalise("We refuse excellence."), "use excel"));
    }
}
