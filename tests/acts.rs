//! The dialogue-act classifier with the installed sentence encoder (`make test` installs
//! it): what it must get right on sentences it never saw, and the held-out split of the
//! labelled data (domains training never saw) as the recogniser transcribed it.

use std::path::PathBuf;
use std::sync::OnceLock;

use twoears::detect::acts::classifier::Classifier;
use twoears::detect::acts::labelled::{parse, Labelled};
use twoears::detect::acts::score::{score, Target};
use twoears::detect::acts::words::WordReader;
use twoears::detect::acts::{installed_encoder, Act, ActReader};
use twoears::event::Side;

fn encoder() -> PathBuf {
    installed_encoder().expect(
        "the sentence encoder is not installed: run `twoears model install` (make test does)",
    )
}

fn reader() -> &'static ActReader {
    static R: OnceLock<ActReader> = OnceLock::new();
    R.get_or_init(|| ActReader::Embedded(Box::new(Classifier::load(&encoder(), &[]).unwrap())))
}

/// The labelled sentences of a test set (`heldout`, `second_author`), or of its ASR copies
/// (`heldout/asr`).
fn test_set(dir: &str) -> Vec<Labelled> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("data/acts")
        .join(dir);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "jsonl"))
        .collect();
    files.sort();
    files
        .iter()
        .flat_map(|f| {
            parse(
                &f.display().to_string(),
                &std::fs::read_to_string(f).unwrap(),
            )
            .unwrap()
        })
        .collect()
}

/// The goal is 0.9 for all three (issue 9), and the floors are the goal; measured at this
/// commit: pitch P 0.93 R 0.93 (scored as the pitch rule takes a pitch), invitation
/// P 0.94 R 0.98, trigger P 0.96 R 0.91 (word lists: 0.74/0.27, 1.00/0.25, 0.87/0.49).
/// A change that reads worse fails.
const FLOORS: [(Target, f64, f64); 3] = [
    (Target::Pitch, 0.9, 0.9),
    (Target::Act(Act::Invitation), 0.9, 0.9),
    (Target::Act(Act::Trigger), 0.9, 0.9),
];

#[test]
fn held_out_transcripts_read_pitch_invitation_and_trigger_above_their_floors() {
    let data = test_set("heldout/asr");
    assert!(data.len() >= 300, "{} held-out ASR sentences", data.len());
    let (got, wrong) = score(reader(), &data);
    let words = ActReader::Words(WordReader {
        phrases: Default::default(),
    });
    let (base, _) = score(&words, &data);
    let mut failed = Vec::new();
    for (t, min_p, min_r) in FLOORS {
        let (c, b) = (got[&t], base[&t]);
        println!(
            "{}: encoder P {:.2} R {:.2}; word lists P {:.2} R {:.2}",
            t.name(),
            c.precision(),
            c.recall(),
            b.precision(),
            b.recall()
        );
        if c.precision() < min_p || c.recall() < min_r {
            failed.push(t.name());
        }
        // The encoder must stay ahead of the word lists it replaces.
        assert!(c.recall() > b.recall(), "{}", t.name());
    }
    assert!(
        failed.is_empty(),
        "below the floor: {failed:?}\n{}",
        wrong.join("\n")
    );
}

/// The edges of calls by an author nobody trained on (`heldout/openings/`), as whisper
/// heard them: greetings with names it garbles ("Hi Mr. Akefer, thanks for making the
/// time"), small talk, agenda and goodbyes must not read as pitches, and cold-call
/// openings that do pitch must. Judged at the pitch rule's own threshold. Measured when
/// the openings of another author were added to training (BENCHMARKS.md): rep sentences
/// labelled `other` read as pitches 0.167 -> 0.094, pitches found 0.812 -> 0.812; the
/// floors leave a little room for the encoder's rounding across machines.
#[test]
fn held_out_openings_and_closings_read_greetings_as_no_pitch_and_cold_pitches_as_pitch() {
    let data = test_set("heldout/openings/asr");
    assert!(data.len() >= 500, "{} sentences", data.len());
    let min = 0.35f32;
    let (mut other, mut other_pitched, mut pitches, mut found) = (0, 0, 0, 0);
    let mut wrong = Vec::new();
    for l in data.iter().filter(|l| l.side == Side::Rep) {
        // As the detector reads them: sentence by sentence, the most pitch-like counts.
        let read = twoears::detect::text::sentences(&l.text)
            .iter()
            .map(|s| reader().read(Side::Rep, s))
            .max_by(|a, b| a.pitch.total_cmp(&b.pitch))
            .expect("a sentence");
        if l.act.is_pitch() {
            pitches += 1;
            found += usize::from(read.pitch >= min);
        } else if l.act == Act::Other {
            other += 1;
            if read.pitch >= min {
                other_pitched += 1;
                wrong.push(format!("{:.2} {}", read.pitch, l.text));
            }
        }
    }
    let (false_rate, recall) = (
        other_pitched as f64 / other as f64,
        found as f64 / pitches as f64,
    );
    println!("{other} other, {false_rate:.3} read as pitch; {pitches} pitches, {recall:.3} found");
    assert!(
        false_rate <= 0.12 && recall >= 0.78,
        "false {false_rate:.3}, found {recall:.3}:\n{}",
        wrong.join("\n")
    );
}

/// Sentences written for this test, none in the labelled data.
/// A test set measures sentences and domains training never saw: none of its domains and
/// none of its sentences, the written ones or the ones the recogniser heard, may be in the
/// compiled-in training data (stock replies of a few words, "Yeah, that makes sense.",
/// are in every call).
#[test]
fn no_test_sentence_or_domain_is_trained_on() {
    let training = twoears::detect::acts::labelled::training();
    let norm = |t: &str| {
        t.to_lowercase()
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
    };
    let trained: std::collections::HashSet<String> =
        training.iter().map(|l| norm(&l.text)).collect();
    let domains: std::collections::HashSet<&str> =
        training.iter().map(|l| l.domain.as_str()).collect();
    for set in [
        "heldout",
        "heldout/asr",
        "heldout/openings",
        "heldout/openings/asr",
        "second_author",
        "second_author/asr",
    ] {
        let data = test_set(set);
        assert!(data.len() >= 270, "{set}: {} sentences", data.len());
        for l in &data {
            let text = norm(&l.text);
            let stock = text.split(' ').count() < 6;
            assert!(
                stock || !trained.contains(&text),
                "{set}: trained on {text:?}"
            );
            assert!(!domains.contains(l.domain.as_str()), "{set}: {}", l.domain);
        }
    }
}

#[test]
fn recaps_empathy_and_questions_about_the_product_are_not_pitches_and_a_tag_keeps_a_pitch() {
    let r = reader();
    let rep = |s: &str| r.read(Side::Rep, s).act;
    for s in [
        "So if I follow you, the crews fill in paper forms and the office retypes them on Friday.",
        "That sounds like a brutal month for the whole team.",
        "Have you ever looked at a scheduling tool like ours?",
        "Would it help if the dashboard flagged late invoices for you?",
        // Money named as a pain, no amount: an acknowledgement, not a price.
        "Yeah, that's a real expense for a small crew.",
        "Those callouts really add up.",
    ] {
        assert!(!rep(s).is_pitch(), "{s:?} read as {:?}", rep(s));
    }
    for s in [
        "Our planner moves every job to the next free crew automatically, right?",
        "Teams like yours usually cut their paperwork in half within the first month, you know?",
    ] {
        assert_eq!(rep(s), Act::Presentation, "{s:?}");
    }
    assert_eq!(
        rep("It comes to nine hundred a year for each depot."),
        Act::Price
    );
    assert!(!rep("Most depots take about three weeks to settle into a new routine.").is_pitch());
}

#[test]
fn the_prospect_asking_about_the_product_is_an_invitation_and_a_pain_is_a_trigger() {
    let r = reader();
    let pro = |s: &str| r.read(Side::Prospect, s).act;
    assert_eq!(
        pro("So what would your thing actually do for a depot like ours?"),
        Act::Invitation
    );
    assert_eq!(
        pro("roughly what does something like this cost us per year"),
        Act::Invitation
    );
    assert_eq!(
        pro("Honestly the rota spreadsheet eats my whole Monday."),
        Act::Trigger
    );
    assert_ne!(
        pro("Sorry, you broke up a bit there, could you say that again?"),
        Act::Invitation
    );
}

#[test]
fn a_reading_says_how_sure_it_is_and_what_it_sounds_like() {
    let read = reader().read(Side::Rep, "Our app sends the reminder texts for you.");
    assert_eq!(read.act, Act::Presentation);
    assert!(read.confidence > 0.5 && read.confidence <= 1.0, "{read:?}");
    assert!(read.why.starts_with("sounds like: \""), "{}", read.why);
}

#[test]
fn a_rules_file_example_teaches_the_classifier_a_new_phrasing() {
    // A house phrase for presenting that nothing labelled reads as one.
    let odd = "Cue the orange button moment.";
    let plain = reader().read(Side::Rep, odd).act;
    assert_ne!(plain, Act::Presentation, "already read as a presentation");
    let taught = Classifier::load(
        &encoder(),
        &[
            (
                Act::Presentation,
                "Cue the orange button moment.".to_string(),
            ),
            (
                Act::Presentation,
                "Time for the orange button moment.".to_string(),
            ),
        ],
    )
    .unwrap();
    let said = "Here comes the orange button moment.";
    assert_eq!(
        taught.read(Side::Rep, said).act,
        Act::Presentation,
        "{said}"
    );
}

#[test]
fn a_broken_encoder_directory_is_an_error_that_names_the_file() {
    use twoears::detect::acts::encoder::Encoder;
    let dir = tempfile::tempdir().unwrap();
    let err = Encoder::load(dir.path()).err().expect("nothing there");
    assert!(err.to_string().contains("config.json"), "{err}");
    // Another encoder's files: the wrong embedding width is refused, not a panic later.
    let src = encoder();
    for f in ["model.safetensors", "tokenizer.json"] {
        std::os::unix::fs::symlink(src.join(f), dir.path().join(f)).unwrap();
    }
    let config = std::fs::read_to_string(src.join("config.json"))
        .unwrap()
        .replace("\"hidden_size\": 384", "\"hidden_size\": 768");
    std::fs::write(dir.path().join("config.json"), config).unwrap();
    let err = Encoder::load(dir.path()).err().expect("wrong width");
    let cause = std::error::Error::source(&err).map(ToString::to_string);
    assert!(err.to_string().contains("config.json"), "{err}");
    assert!(
        cause.as_deref().is_some_and(|c| c.contains("768")),
        "{err}: {cause:?}"
    );
}
