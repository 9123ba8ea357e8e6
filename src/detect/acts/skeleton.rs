//! The skeleton of a sentence: its words with every content word replaced by a
//! placeholder, so only the grammar is left ("let me show you the X", "so X is X for you",
//! "we X your X"). What a sentence does lives in its function words and how it opens; its
//! topic lives in the content words, which differ from one market to the next. The
//! skeleton's word patterns (one, two and three words; the opening marked apart) are hashed
//! into a fixed number of features beside the embedding.

use crate::detect::text::normalise;

/// Number of skeleton features.
pub const N: usize = 512;

/// Words that carry grammar, stance or a speech act rather than a topic: pronouns,
/// auxiliaries, question words, connectives, discourse markers, negation and the common
/// verbs of talking, showing and helping. Any other word is content.
const FUNCTION: &[&str] = &[
    // pronouns and determiners
    "i",
    "me",
    "my",
    "mine",
    "we",
    "us",
    "our",
    "ours",
    "you",
    "your",
    "yours",
    "they",
    "them",
    "their",
    "he",
    "she",
    "his",
    "her",
    "it",
    "its",
    "this",
    "that",
    "these",
    "those",
    "there",
    "here",
    "the",
    "a",
    "an",
    "some",
    "any",
    "every",
    "each",
    "all",
    "most",
    "anyone",
    "someone",
    "nobody",
    "everyone",
    "something",
    "anything",
    "nothing",
    "everything",
    "one",
    "other",
    "another",
    "own",
    // auxiliaries and modals
    "do",
    "does",
    "did",
    "is",
    "are",
    "was",
    "were",
    "be",
    "been",
    "being",
    "am",
    "have",
    "has",
    "had",
    "can",
    "could",
    "will",
    "would",
    "should",
    "may",
    "might",
    "must",
    "shall",
    // question words
    "what",
    "how",
    "why",
    "when",
    "where",
    "who",
    "which",
    "whether",
    // connectives and prepositions
    "and",
    "but",
    "so",
    "or",
    "if",
    "because",
    "then",
    "than",
    "to",
    "of",
    "in",
    "on",
    "for",
    "with",
    "without",
    "at",
    "from",
    "by",
    "about",
    "into",
    "out",
    "up",
    "down",
    "over",
    "after",
    "before",
    "while",
    "until",
    "like",
    "as",
    "just",
    "also",
    "too",
    "still",
    "yet",
    "again",
    "even",
    "only",
    "right",
    "now",
    "today",
    "already",
    "ever",
    "never",
    // discourse markers and stance
    "well",
    "okay",
    "ok",
    "yeah",
    "yes",
    "no",
    "not",
    "um",
    "uh",
    "oh",
    "mm",
    "hmm",
    "wow",
    "honestly",
    "really",
    "actually",
    "basically",
    "exactly",
    "sure",
    "totally",
    "great",
    "sorry",
    "thanks",
    "thank",
    "please",
    "maybe",
    "probably",
    "pretty",
    "quite",
    "very",
    "kind",
    "sort",
    "lot",
    "bit",
    "much",
    "many",
    "more",
    "less",
    // verbs of talking, showing, knowing, feeling and helping
    "let",
    "show",
    "walk",
    "tell",
    "say",
    "said",
    "ask",
    "give",
    "send",
    "get",
    "gets",
    "got",
    "make",
    "makes",
    "set",
    "see",
    "seen",
    "look",
    "looks",
    "hear",
    "heard",
    "sound",
    "sounds",
    "mean",
    "know",
    "think",
    "guess",
    "understand",
    "feel",
    "help",
    "helps",
    "try",
    "need",
    "needs",
    "want",
    "wants",
    "use",
    "uses",
    "using",
    "work",
    "works",
    "handle",
    "happen",
    "happens",
    "happened",
    "go",
    "goes",
    "going",
    "come",
    "take",
    "takes",
    "keep",
    "cost",
    "costs",
    "pay",
    "price",
    "free",
    "trial",
    "demo",
    "plan",
    "month",
    "year",
    "week",
    "day",
    "curious",
    "imagine",
    "frustrating",
    "painful",
    "tough",
    "hard",
    "annoying",
    "stressful",
];

/// Token a number becomes, and one for any other content word.
const NUMBER: &str = "#";
const CONTENT: &str = "x";

fn skeleton(sentence: &str) -> Vec<&'static str> {
    let norm = normalise(sentence);
    let mut out: Vec<&'static str> = Vec::new();
    for w in norm.split_whitespace() {
        let t = if w.chars().any(|c| c.is_ascii_digit()) {
            NUMBER
        } else {
            FUNCTION
                .iter()
                .find(|f| **f == w)
                .copied()
                .unwrap_or(CONTENT)
        };
        // Runs of content words are one slot: "the night shift manager" is "the x".
        if !(t == CONTENT && out.last() == Some(&CONTENT)) {
            out.push(t);
        }
    }
    out
}

/// Whether the sentence has a topic at all: a content word or a number. "Right, right."
/// and "Okay, sure." have none, so they cannot present anything.
pub fn has_content(sentence: &str) -> bool {
    skeleton(sentence)
        .iter()
        .any(|w| *w == CONTENT || *w == NUMBER)
}

fn fnv(parts: &[&str], salt: u8) -> usize {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325 ^ u64::from(salt);
    for p in parts {
        for b in p.bytes().chain([0xff]) {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
    }
    (h % N as u64) as usize
}

/// The hashed skeleton patterns of one sentence, each present pattern counting once.
pub fn features(sentence: &str) -> [f32; N] {
    let words = skeleton(sentence);
    let mut out = [0f32; N];
    for n in 1..=3 {
        for (i, gram) in words.windows(n).enumerate() {
            out[fnv(gram, n as u8)] = 1.0;
            if i == 0 {
                // How a sentence opens says most about what it does.
                out[fnv(gram, 10 + n as u8)] = 1.0;
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_words_fold_into_one_slot_and_grammar_stays() {
        assert_eq!(
            skeleton("Let me show you the dispatch board, it's the best part."),
            ["let", "me", "show", "you", "the", "x", "it", "is", "the", "x"]
        );
        assert_eq!(skeleton("We cut returns by 30%."), ["we", "x", "by", "#"]);
    }

    #[test]
    fn a_backchannel_has_no_content_and_a_claim_has() {
        assert!(!has_content("Right, right."));
        assert!(!has_content("okay yeah sure"));
        assert!(has_content("Our app flags it."));
        assert!(has_content("It's 40 a month."));
    }

    #[test]
    fn two_markets_with_one_grammar_share_their_patterns() {
        let a = features("So your drivers still log their hours on paper?");
        let b = features("So your nurses still log their visits on paper?");
        assert_eq!(a, b);
        let c = features("Our app logs every visit for you.");
        assert_ne!(a, c);
    }
}
