//! Restatement: how much of a rep's sentence is the prospect's own words. A recap says back
//! what the prospect said ("so the night shift logs defects on paper and nobody reads them
//! till Friday"); a pitch brings what the product does. In the labelled dialogues a
//! recap's content words come from the prospect's turn before it about half the time
//! (median 0.47), a presentation's about one in ten (median 0.07; 5% reach 0.4). Words
//! are compared by their first five letters, so "scheduling" meets "schedule" and a
//! word tiny.en garbles the same way on both sides still matches.

use super::text::normalise;

/// Words that carry no topic: function words, fillers and the verbs of restating.
const STOP: &[&str] = &[
    "a",
    "an",
    "the",
    "and",
    "or",
    "but",
    "so",
    "if",
    "then",
    "than",
    "that",
    "this",
    "these",
    "those",
    "it",
    "its",
    "is",
    "are",
    "was",
    "were",
    "be",
    "been",
    "being",
    "do",
    "does",
    "did",
    "done",
    "have",
    "has",
    "had",
    "will",
    "would",
    "can",
    "could",
    "should",
    "may",
    "might",
    "must",
    "not",
    "no",
    "yes",
    "i",
    "me",
    "my",
    "we",
    "us",
    "our",
    "you",
    "your",
    "they",
    "them",
    "their",
    "he",
    "she",
    "his",
    "her",
    "him",
    "to",
    "of",
    "in",
    "on",
    "at",
    "for",
    "from",
    "by",
    "with",
    "about",
    "as",
    "into",
    "over",
    "up",
    "out",
    "just",
    "like",
    "um",
    "uh",
    "yeah",
    "right",
    "okay",
    "ok",
    "well",
    "really",
    "very",
    "much",
    "more",
    "most",
    "some",
    "any",
    "all",
    "there",
    "here",
    "what",
    "when",
    "where",
    "who",
    "how",
    "why",
    "which",
    "get",
    "got",
    "gets",
    "one",
    "lot",
    "also",
    "too",
    "now",
    "let",
    "make",
    "sure",
    "heard",
    "hear",
    "sounds",
    "say",
    "said",
    "says",
    "mean",
    "going",
    "go",
    "know",
    "think",
    "want",
    "need",
    "because",
    "still",
    "even",
    "every",
    "each",
    "other",
    "then",
    "thing",
    "things",
    "way",
    "kind",
    "sort",
    "bit",
    "actually",
    "basically",
    "honestly",
    "pretty",
    "gonna",
    "will",
];

/// The topic words of `text`, each cut to its first five letters.
fn topic_words(text: &str) -> Vec<String> {
    normalise(text)
        .split_whitespace()
        .filter(|w| w.len() > 2 && !STOP.contains(w))
        .map(|w| w.chars().take(5).collect())
        .collect()
}

/// The share of `sentence`'s topic words found in `theirs` (0 for a sentence without
/// topic words, or fewer than `MIN_WORDS`: too little to tell).
pub fn restated_share(sentence: &str, theirs: &[&str]) -> f64 {
    const MIN_WORDS: usize = 6;
    let own = topic_words(sentence);
    if own.len() < MIN_WORDS {
        return 0.0;
    }
    let said: std::collections::HashSet<String> =
        theirs.iter().flat_map(|t| topic_words(t)).collect();
    own.iter().filter(|w| said.contains(*w)).count() as f64 / own.len() as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_recap_is_their_words_and_a_pitch_is_not() {
        let theirs = [
            "Honestly the night shift logs every defect on paper.",
            "Nobody reads the sheets until Friday, so problems sit for days.",
        ];
        let recap = "So the night shift logs defects on paper and the sheets sit until Friday.";
        let pitch = "Our tablet app flags a defect to the day supervisor within a minute.";
        assert!(
            restated_share(recap, &theirs) >= 0.6,
            "{}",
            restated_share(recap, &theirs)
        );
        assert!(
            restated_share(pitch, &theirs) <= 0.2,
            "{}",
            restated_share(pitch, &theirs)
        );
        assert_eq!(restated_share("Right, so Friday.", &theirs), 0.0);
    }
}
