//! The labelled sentences the act classifier learns from (`data/acts/`, compiled in):
//! sentences written in fifty-two domains, and the same sentences as the shipped Whisper
//! model heard them spoken by two voices (`data/acts/asr/`), so the classifier learns
//! from transcripts as they really come out. The held-out domains are not compiled in.

use serde::Deserialize;

use super::Act;
use crate::event::Side;

#[derive(Debug, Clone, Deserialize)]
pub struct Labelled {
    pub text: String,
    pub side: Side,
    pub act: Act,
    #[serde(default)]
    pub domain: String,
}

/// Parses JSON lines; `name` is for the error message.
///
/// # Errors
/// A line that is not a labelled sentence, with its file and line number.
pub fn parse(name: &str, text: &str) -> Result<Vec<Labelled>, String> {
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(i, l)| serde_json::from_str(l).map_err(|e| format!("{name}:{}: {e}", i + 1)))
        .collect()
}

const TRAINING: &[(&str, &str)] = &[
    ("dental", include_str!("../../../data/acts/dental.jsonl")),
    (
        "cleaning",
        include_str!("../../../data/acts/cleaning.jsonl"),
    ),
    (
        "cybersecurity",
        include_str!("../../../data/acts/cybersecurity.jsonl"),
    ),
    (
        "construction",
        include_str!("../../../data/acts/construction.jsonl"),
    ),
    (
        "shipping",
        include_str!("../../../data/acts/shipping.jsonl"),
    ),
    ("legal", include_str!("../../../data/acts/legal.jsonl")),
    (
        "veterinary",
        include_str!("../../../data/acts/veterinary.jsonl"),
    ),
    (
        "manufacturing",
        include_str!("../../../data/acts/manufacturing.jsonl"),
    ),
    (
        "education",
        include_str!("../../../data/acts/education.jsonl"),
    ),
    (
        "property",
        include_str!("../../../data/acts/property.jsonl"),
    ),
    ("hotel", include_str!("../../../data/acts/hotel.jsonl")),
    (
        "helpdesk",
        include_str!("../../../data/acts/helpdesk.jsonl"),
    ),
    (
        "marketing",
        include_str!("../../../data/acts/marketing.jsonl"),
    ),
    ("solar", include_str!("../../../data/acts/solar.jsonl")),
    (
        "benefits",
        include_str!("../../../data/acts/benefits.jsonl"),
    ),
    (
        "insurance",
        include_str!("../../../data/acts/insurance.jsonl"),
    ),
    (
        "restaurant",
        include_str!("../../../data/acts/restaurant.jsonl"),
    ),
    ("fleet", include_str!("../../../data/acts/fleet.jsonl")),
    (
        "recruiting",
        include_str!("../../../data/acts/recruiting.jsonl"),
    ),
    (
        "pharmacy",
        include_str!("../../../data/acts/pharmacy.jsonl"),
    ),
    ("events", include_str!("../../../data/acts/events.jsonl")),
    (
        "accounting",
        include_str!("../../../data/acts/accounting.jsonl"),
    ),
    ("retail", include_str!("../../../data/acts/retail.jsonl")),
    (
        "callcenter",
        include_str!("../../../data/acts/callcenter.jsonl"),
    ),
    (
        "homecare",
        include_str!("../../../data/acts/homecare.jsonl"),
    ),
    (
        "ecommerce",
        include_str!("../../../data/acts/ecommerce.jsonl"),
    ),
    (
        "itassets",
        include_str!("../../../data/acts/itassets.jsonl"),
    ),
    (
        "money_talk",
        include_str!("../../../data/acts/money_talk.jsonl"),
    ),
    (
        "acknowledged",
        include_str!("../../../data/acts/acknowledged.jsonl"),
    ),
    (
        "continued",
        include_str!("../../../data/acts/continued.jsonl"),
    ),
    ("results", include_str!("../../../data/acts/results.jsonl")),
    (
        "walkthroughs",
        include_str!("../../../data/acts/walkthroughs.jsonl"),
    ),
    ("spoken", include_str!("../../../data/acts/spoken.jsonl")),
    (
        "third_author",
        include_str!("../../../data/acts/third_author.jsonl"),
    ),
    (
        "openings",
        include_str!("../../../data/acts/openings.jsonl"),
    ),
    (
        "asr/openings-espeak",
        include_str!("../../../data/acts/asr/openings-espeak.jsonl"),
    ),
    (
        "asr/openings-piper",
        include_str!("../../../data/acts/asr/openings-piper.jsonl"),
    ),
    (
        "asr/espeak",
        include_str!("../../../data/acts/asr/espeak.jsonl"),
    ),
    (
        "asr/piper",
        include_str!("../../../data/acts/asr/piper.jsonl"),
    ),
];

/// Every compiled-in training sentence.
pub fn training() -> Vec<Labelled> {
    TRAINING
        .iter()
        .flat_map(|(name, text)| parse(name, text).expect("compiled-in labelled data parses"))
        .collect()
}

/// One sentence of a labelled dialogue.
#[derive(Debug, Clone, Deserialize)]
pub struct DialogueSentence {
    pub text: String,
    pub act: Act,
}

#[derive(Debug, Clone, Deserialize)]
pub struct DialogueTurn {
    pub side: Side,
    pub sentences: Vec<DialogueSentence>,
}

/// A short labelled conversation (`data/acts/dialogues/`): a prospect turn and the rep's
/// answer (sometimes the rep's question before them), each sentence labelled with what it
/// does there. The act reader's context head learns from these.
#[derive(Debug, Clone, Deserialize)]
pub struct Dialogue {
    #[serde(default)]
    pub id: String,
    #[serde(default)]
    pub domain: String,
    pub turns: Vec<DialogueTurn>,
}

/// Dialogues written by three authors, each with a fresh start; the held-out authors'
/// (`data/acts/heldout/dialogues/`) are not compiled in.
const DIALOGUES: &[(&str, &str)] = &[
    ("a", include_str!("../../../data/acts/dialogues/a.jsonl")),
    ("b", include_str!("../../../data/acts/dialogues/b.jsonl")),
    ("c", include_str!("../../../data/acts/dialogues/c.jsonl")),
];

/// Parses dialogues, one JSON object per line; `name` is for the error message.
///
/// # Errors
/// A line that is not a dialogue, or a sentence whose act is not one of its side's.
pub fn parse_dialogues(name: &str, text: &str) -> Result<Vec<Dialogue>, String> {
    let mut out = Vec::new();
    for (i, line) in text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
    {
        let d: Dialogue =
            serde_json::from_str(line).map_err(|e| format!("{name}:{}: {e}", i + 1))?;
        for t in &d.turns {
            if let Some(s) = t
                .sentences
                .iter()
                .find(|s| !Act::of(t.side).contains(&s.act))
            {
                return Err(format!(
                    "{name}:{}: {:?} is not a {:?} act",
                    i + 1,
                    s.act,
                    t.side
                ));
            }
        }
        out.push(d);
    }
    Ok(out)
}

/// Every compiled-in dialogue.
pub fn dialogues() -> Vec<Dialogue> {
    DIALOGUES
        .iter()
        .flat_map(|(name, text)| parse_dialogues(name, text).expect("compiled-in dialogues parse"))
        .collect()
}

/// A digest of the training data, so caches built from it know when it changed.
pub fn digest() -> String {
    use sha2::{Digest, Sha256};
    let mut h = Sha256::new();
    for (name, text) in TRAINING.iter().chain(DIALOGUES) {
        h.update(name.as_bytes());
        h.update(text.as_bytes());
    }
    format!("{:x}", h.finalize())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn training_data_parses_and_covers_every_act_of_each_side() {
        let all = training();
        assert!(all.len() >= 600, "{} sentences", all.len());
        for side in Side::BOTH {
            for act in Act::of(side) {
                let n = all
                    .iter()
                    .filter(|l| l.side == side && l.act == *act)
                    .count();
                assert!(n >= 30, "{side:?} {act:?}: {n} examples");
            }
        }
        assert!(all.iter().all(|l| Act::of(l.side).contains(&l.act)));
    }

    #[test]
    fn dialogues_parse_and_give_the_rep_context_before_its_sentences() {
        let all = dialogues();
        assert!(all.len() >= 140, "{} dialogues", all.len());
        let answered = all
            .iter()
            .filter(|d| {
                d.turns
                    .windows(2)
                    .any(|w| w[0].side == Side::Prospect && w[1].side == Side::Rep)
            })
            .count();
        assert!(
            answered * 10 >= all.len() * 9,
            "{answered} of {}",
            all.len()
        );
        let bad = parse_dialogues(
            "d.jsonl",
            r#"{"turns":[{"side":"prospect","sentences":[{"text":"a","act":"recap"}]}]}"#,
        )
        .unwrap_err();
        assert!(bad.starts_with("d.jsonl:1:"), "{bad}");
    }

    #[test]
    fn a_bad_line_names_its_file_and_line() {
        let err = parse(
            "x.jsonl",
            "{\"text\":\"a\",\"side\":\"rep\",\"act\":\"other\"}\n{oops}\n",
        )
        .unwrap_err();
        assert!(err.starts_with("x.jsonl:2:"), "{err}");
    }
}
