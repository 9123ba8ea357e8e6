//! Text primitives every rule builds on: sentences, normalised words, phrase matching and
//! question forms. The bottom layer of `detect`: it calls nothing above it.

/// Titles and abbreviations whose full stop ends no sentence ("Hi Mr. Okafor" is one).
const ABBREVIATIONS: &[&str] = &[
    "mr", "mrs", "ms", "dr", "prof", "st", "jr", "sr", "vs", "etc", "approx", "inc", "ltd", "corp",
    "dept", "mt", "ft",
];

/// Splits text into sentences at ., ! and ? (keeping the mark). A full stop ends a
/// sentence only before a space or the end, not after a title ("Mr.") or an initial
/// ("J."), and not before a lower-case word ("9 a.m. tomorrow"): whisper writes numbers
/// and names with stops that a reader must not take as sentence ends.
pub fn sentences(text: &str) -> Vec<String> {
    let chars: Vec<char> = text.chars().collect();
    let mut out = Vec::new();
    let mut cur = String::new();
    for (i, &c) in chars.iter().enumerate() {
        cur.push(c);
        let ends = match c {
            '!' | '?' => true,
            '.' => full_stop_ends(&cur, &chars[i + 1..]),
            _ => false,
        };
        if ends {
            push_sentence(&mut out, &cur);
            cur.clear();
        }
    }
    push_sentence(&mut out, &cur);
    out
}

fn push_sentence(out: &mut Vec<String>, s: &str) {
    let s = s.trim();
    if s.chars().any(char::is_alphanumeric) {
        out.push(s.to_string());
    }
}

/// Whether the full stop that ends `so_far` ends its sentence, given the text after it.
fn full_stop_ends(so_far: &str, rest: &[char]) -> bool {
    match rest.first() {
        None => return true,
        Some(c) if !c.is_whitespace() => return false,
        _ => {}
    }
    if let Some(next) = rest.iter().find(|c| !c.is_whitespace()) {
        if next.is_lowercase() {
            return false;
        }
    }
    let word = so_far[..so_far.len() - 1]
        .rsplit(|c: char| !c.is_alphanumeric())
        .next()
        .unwrap_or("");
    // "I" and "A" are words ("so do I."), other lone capitals initials.
    let initial = word.chars().count() == 1
        && word.chars().all(char::is_uppercase)
        && !matches!(word, "I" | "A");
    !(initial || ABBREVIATIONS.contains(&word.to_lowercase().as_str()))
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
    fn titles_initials_numbers_and_times_end_no_sentence() {
        assert_eq!(
            sentences("Hi Mr. Okafor, thanks for the time. How are things?"),
            vec!["Hi Mr. Okafor, thanks for the time.", "How are things?"]
        );
        assert_eq!(
            sentences("Dr. J. Alvarez runs it. We pay 2.5 percent at 9 a.m. daily. Okay."),
            vec![
                "Dr. J. Alvarez runs it.",
                "We pay 2.5 percent at 9 a.m. daily.",
                "Okay."
            ]
        );
        // Whisper's ellipsis before a new sentence still ends one.
        assert_eq!(sentences("Well... It hurts."), vec!["Well...", "It hurts."]);
        // "I" and "A" are words, not initials; "no" is an answer, not "No. 5".
        assert_eq!(
            sentences("So do I. Plan A. The answer is no. Fine."),
            vec!["So do I.", "Plan A.", "The answer is no.", "Fine."]
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
