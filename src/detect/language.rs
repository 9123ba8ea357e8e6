//! Language features of transcript text for the rules: sentences, questions, product
//! framing, triggers and invitations. Word classes, not scripts: each feature is a
//! grammatical or sales-conversation form that carries over to other products and wording.

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

fn first_hit(norm: &str, phrases: &[&'static str]) -> Option<&'static str> {
    phrases
        .iter()
        .copied()
        .find(|p| norm.contains(&format!(" {p} ")))
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

/// Product framing: the rep presenting what we sell, what it does, costs or achieves.
/// Returns the phrase that matched, for the evidence.
pub fn product_framing(sentence: &str) -> Option<&'static str> {
    const FRAMING: &[&str] = &[
        // what we are and offer
        "our platform",
        "our product",
        "our solution",
        "our tool",
        "our software",
        "our app",
        "our feature",
        "our features",
        "our pricing",
        "our plans",
        "our integration",
        "our system",
        "our service",
        "our technology",
        "our dashboard",
        "our dialer",
        "our analytics",
        "our customers",
        "our clients",
        "we offer",
        "we provide",
        "we integrate",
        "we built",
        "we have built",
        "we have a feature",
        "we are the leading",
        "the leading",
        "we can help",
        "where we can help",
        "where we come in",
        "we help teams",
        "we help companies",
        "we specialize",
        // what it does for you
        "it lets you",
        "it allows you",
        "it helps you",
        "lets your",
        "allows your",
        "so your reps can",
        "so your team can",
        "you will be able to",
        "integrates with",
        "integrate directly",
        "out of the box",
        "is built for",
        "built for teams",
        "feature is",
        "features",
        // results, price and calls to action
        "customers see",
        "customers get",
        "our customers see",
        "increase in",
        "roi",
        "per seat",
        "per user",
        "per month",
        "pricing",
        "discount",
        "free trial",
        "trial",
        "demo",
        "let me show you",
        "i can show you",
        "show you how",
        "send over the deck",
        "proposal",
        "sign up",
        "get started",
    ];
    const PRODUCT_NOUNS: &[&str] = &[
        "platform",
        "product",
        "products",
        "solution",
        "tool",
        "software",
        "app",
        "feature",
        "features",
        "system",
        "service",
        "dashboard",
        "plan",
        "plans",
        "pricing",
        "integration",
        "api",
        "engine",
        "assistant",
        "suite",
        "module",
        "technology",
        "offering",
    ];
    let norm = normalise(sentence);
    // "our <up to two modifiers> <product noun>": our new scheduling platform, our AI assistant.
    let words: Vec<&str> = norm.split_whitespace().collect();
    for (i, w) in words.iter().enumerate() {
        let near = &words[i + 1..words.len().min(i + 4)];
        if *w == "our" && near.iter().any(|n| PRODUCT_NOUNS.contains(n)) {
            return Some("our <product>");
        }
    }
    first_hit(&norm, FRAMING)
}

/// The prospect mentions a tool they use, something they lack, or a pain.
pub fn trigger(sentence: &str) -> Option<&'static str> {
    const TRIGGERS: &[&str] = &[
        "we use",
        "we are using",
        "we currently use",
        "we tried",
        "we do not use",
        "we do not have",
        "we do not do",
        "we never",
        "we have no",
        "we are not using",
        "we switched",
        "we rely on",
        "everything lives in",
        "spreadsheet",
        "spreadsheets",
        "manually",
        "manual",
        "struggle",
        "struggling",
        "problem",
        "pain",
        "frustrating",
        "takes forever",
        "too long",
        "too much time",
        "not working",
        "did not work",
        "did not really stick",
        "does not work",
        "broken",
        "missed",
        "losing",
        "flat",
        "dropping",
        "nobody owns",
        "worries me",
    ];
    first_hit(&normalise(sentence), TRIGGERS)
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
        assert!(is_open_question(
            "Walk me through how your team books meetings."
        ));
        assert!(!is_open_question("Is Tuesday good?"));
    }

    #[test]
    fn product_framing_on_unseen_wording() {
        assert!(
            product_framing("Our scheduling platform syncs every calendar automatically.")
                .is_some()
        );
        assert!(product_framing(
            "It lets you route leads in seconds, and pricing starts at ten dollars per user."
        )
        .is_some());
        assert!(product_framing("Let me show you the dashboard.").is_some());
        assert!(product_framing("We had a great quarter, thanks for asking.").is_none());
        assert!(product_framing("So you are losing deals late in the cycle.").is_none());
    }

    #[test]
    fn triggers_and_invitations() {
        assert!(trigger("Honestly we just use spreadsheets for all of it.").is_some());
        assert!(trigger("We do not have anyone doing onboarding.").is_some());
        assert!(trigger("The weather was lovely.").is_none());
        assert!(invitation("So how would your product help us here?"));
        assert!(invitation("How long does setup take?"));
        assert!(!invitation("We should talk next week."));
    }
}
