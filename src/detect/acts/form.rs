//! The form of a sentence, whatever its topic: a question mark, how it opens, a tag
//! question at the end, whom it is about (we and our, you and your, I and my), numbers and
//! money, negation, length. The embedding carries meaning; these carry the grammar that
//! a recogniser's transcript keeps and a topic-heavy embedding can blur ("Have you seen
//! our scheduler?" asks; "Our scheduler books it, right?" presents).

use crate::detect::text::{asks_by_inversion, has, is_open_question, is_question, normalise};

/// Number of form features.
pub const N: usize = 12;

fn share(words: &[&str], set: &[&str]) -> f32 {
    let n = words.iter().filter(|w| set.contains(w)).count();
    (n as f32 / words.len().max(1) as f32 * 8.0).min(2.0)
}

fn flag(b: bool) -> f32 {
    if b {
        1.0
    } else {
        0.0
    }
}

/// A tag at the end ("..., right?", "you know?") that asks for a nod, not an answer.
fn tagged(norm: &str, trimmed: &str) -> bool {
    trimmed.ends_with('?')
        && [
            " right ",
            " you know ",
            " correct ",
            " yeah ",
            " is not it ",
            " does not it ",
            " okay ",
        ]
        .iter()
        .any(|t| norm.ends_with(t))
}

/// A question by its form: an interrogative sentence that ends in a question mark, and not
/// a statement with a tag; or, where the transcript lost the mark, one whose words are in
/// question order. Such a sentence asks, whatever it names.
pub fn asks(sentence: &str) -> bool {
    let trimmed = sentence.trim_end();
    if trimmed.ends_with('?') {
        is_question(sentence) && !tagged(&normalise(sentence), trimmed)
    } else {
        asks_by_inversion(sentence)
    }
}

/// Whether a sentence names an amount: a number, money, or free or a discount. A price
/// statement does (199 of the 207 labelled ones; the rest are garbled transcripts); "that's
/// a real cost" acknowledges a pain and names none.
pub fn names_an_amount(sentence: &str) -> bool {
    let norm = normalise(sentence);
    let words: Vec<&str> = norm.split_whitespace().collect();
    let [numbers, money] = amounts(sentence, &norm, &words);
    numbers
        || money
        || words.iter().any(|w| {
            matches!(
                *w,
                "two"
                    | "three"
                    | "four"
                    | "five"
                    | "six"
                    | "seven"
                    | "eight"
                    | "nine"
                    | "ten"
                    | "eleven"
                    | "twelve"
                    | "fifteen"
                    | "sixty"
                    | "seventy"
                    | "eighty"
                    | "ninety"
                    | "free"
                    | "discount"
                    | "cents"
            )
        })
}

/// Whether the words hold a number, and whether they hold money.
fn amounts(sentence: &str, norm: &str, words: &[&str]) -> [bool; 2] {
    let numbers = words.iter().any(|w| w.chars().any(|c| c.is_ascii_digit()))
        || words.iter().any(|w| {
            matches!(
                *w,
                "hundred"
                    | "thousand"
                    | "million"
                    | "twenty"
                    | "thirty"
                    | "forty"
                    | "fifty"
                    | "percent"
                    | "half"
                    | "third"
            )
        });
    let money = [
        "dollar", "dollars", "euro", "euros", "pound", "pounds", "bucks", "grand",
    ]
    .iter()
    .any(|m| has(norm, m))
        || sentence.contains(['$', '€', '£'])
        || [
            " per seat ",
            " a seat ",
            " per user ",
            " a user ",
            " per month ",
            " per year ",
        ]
        .iter()
        .any(|p| norm.contains(p));
    [numbers, money]
}

/// The form features of one sentence, each about unit size.
pub fn features(sentence: &str) -> [f32; N] {
    let norm = normalise(sentence);
    let words: Vec<&str> = norm.split_whitespace().collect();
    let first = words.first().copied().unwrap_or("");
    let second = words.get(1).copied().unwrap_or("");
    let trimmed = sentence.trim_end();
    let tag = tagged(&norm, trimmed);
    let aux_you = matches!(
        first,
        "do" | "does"
            | "did"
            | "is"
            | "are"
            | "was"
            | "were"
            | "have"
            | "has"
            | "can"
            | "could"
            | "would"
            | "will"
            | "should"
    ) && matches!(
        second,
        "you" | "your" | "it" | "they" | "we" | "there" | "that" | "anyone"
    );
    let [numbers, money] = amounts(sentence, &norm, &words);
    let mut out = [0f32; N];
    let shape = [
        flag(trimmed.ends_with('?')),
        flag(is_question(sentence)),
        flag(is_open_question(sentence)),
        flag(aux_you),
        flag(tag),
        share(&words, &["we", "our", "us", "ours", "we're", "we've"]),
        share(&words, &["you", "your", "yours", "you're", "you've"]),
        share(&words, &["i", "my", "me", "i'm", "i've", "mine"]),
        flag(numbers),
        flag(money),
        share(
            &words,
            &["not", "no", "never", "nobody", "nothing", "without"],
        ),
        (words.len() as f32 / 15.0).min(3.0),
    ];
    out.copy_from_slice(&shape);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_question_about_the_product_and_a_presentation_with_a_tag_differ_in_form() {
        let asks = features("Have you seen what our scheduler does?");
        let tells = features("Our scheduler books the whole week for you, right?");
        assert_eq!(asks[3], 1.0, "opens with an auxiliary and you");
        assert_eq!(tells[3], 0.0);
        assert_eq!(tells[4], 1.0, "a tag question");
        assert_eq!(asks[4], 0.0);
        assert!(super::asks("Have you seen what our scheduler does?"));
        assert!(!super::asks(
            "Our scheduler books the whole week for you, right?"
        ));
        assert!(super::asks(
            "Makes sense, and when you say it keeps dropping, what did it look like last year?"
        ));
        assert!(super::asks(
            "Makes sense when you say it keeps dropping what did you see a year ago."
        ));
        assert!(!super::asks(
            "Our scheduler is what does it for most teams."
        ));
    }

    #[test]
    fn a_price_names_an_amount_and_a_pain_about_cost_does_not() {
        assert!(names_an_amount("It is forty dollars a seat per month."));
        assert!(names_an_amount("the first three months are free"));
        assert!(names_an_amount("We take 2% off if you pay upfront."));
        assert!(!names_an_amount("That's a real cost."));
        assert!(!names_an_amount("Those fees really add up."));
    }

    #[test]
    fn money_is_not_any_number() {
        assert_eq!(features("It is forty dollars a seat per month.")[9], 1.0);
        assert_eq!(
            features("Most teams switch over in about two weeks.")[9],
            0.0
        );
        assert_eq!(
            features("Most teams switch over in about two weeks.")[8],
            0.0
        );
    }
}
