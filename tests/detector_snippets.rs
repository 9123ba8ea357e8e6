//! The detector on labelled transcript snippets written for this test (other products,
//! other wordings than the corpus): precision and recall of `pitch` alerts on the last rep
//! turn, and of trigger detection in the prospect's turns, with the acts read as a run
//! reads them (the installed sentence encoder). Prints both. These snippets were written
//! for the word lists, which reach 0.9 on them; the encoder reads pitch P 0.96 R 0.82 and
//! triggers P 0.85 R 0.92 (and generalises far better to new domains, tests/acts.rs): the
//! floors below guard that.

use std::sync::{Arc, OnceLock};

use twoears::detect::acts::classifier::Classifier;
use twoears::detect::acts::{installed_encoder, Act, ActReader};
use twoears::detect::{text, AlertKind, DetectConfig, Detector};
use twoears::event::Turn;
use twoears::event::{Available, Event, Segment, Side};

#[derive(serde::Deserialize)]
struct Snippet {
    id: String,
    pitch: bool,
    trigger: bool,
    lines: Vec<(String, String)>,
}

/// Plays the snippet as a call (0.35 s a word, 0.6 s between turns); returns whether a
/// pitch alert fired on the last line.
fn reader() -> Arc<ActReader> {
    static R: OnceLock<Arc<ActReader>> = OnceLock::new();
    R.get_or_init(|| {
        let dir = installed_encoder()
            .expect("the sentence encoder is not installed: run `twoears model install`");
        Arc::new(ActReader::Embedded(Box::new(
            Classifier::load(&dir, &[]).unwrap(),
        )))
    })
    .clone()
}

fn pitch_on_last_line(s: &Snippet) -> bool {
    let mut d = Detector::with_reader(DetectConfig::default(), reader());
    let mut t = 0.5;
    let mut last = false;
    for (i, (who, text)) in s.lines.iter().enumerate() {
        let side = if who == "R" {
            Side::Rep
        } else {
            Side::Prospect
        };
        let end = t + 0.35 * text.split_whitespace().count() as f64;
        d.on_event(&Event::TurnStarted { side, start_s: t });
        d.on_event(&Event::TurnEnded {
            side,
            turn: Turn {
                start_s: t,
                end_s: end,
            },
        });
        let fired = d.on_event(&Event::Transcript {
            segment: Segment {
                side,
                start_s: t,
                end_s: end,
                text: text.clone(),
            },
            available: Available::At(end + 0.5),
        });
        last = i + 1 == s.lines.len() && fired.iter().any(|a| a.kind == AlertKind::Pitch);
        t = end + 0.6;
    }
    last
}

fn has_trigger(s: &Snippet) -> bool {
    s.lines
        .iter()
        .filter(|(who, _)| who == "P")
        .flat_map(|(_, text)| text::sentences(text))
        .any(|x| reader().read(Side::Prospect, &x).act == Act::Trigger)
}

/// (precision, recall) and the misclassified ids.
fn score(
    snippets: &[Snippet],
    truth: impl Fn(&Snippet) -> bool,
    got: impl Fn(&Snippet) -> bool,
) -> (f64, f64, Vec<String>) {
    let (mut tp, mut fp, mut fneg) = (0.0, 0.0, 0.0);
    let mut wrong = Vec::new();
    for s in snippets {
        match (truth(s), got(s)) {
            (true, true) => tp += 1.0,
            (false, true) => {
                fp += 1.0;
                wrong.push(format!("{} (false positive)", s.id));
            }
            (true, false) => {
                fneg += 1.0;
                wrong.push(format!("{} (missed)", s.id));
            }
            (false, false) => {}
        }
    }
    (tp / (tp + fp), tp / (tp + fneg), wrong)
}

#[test]
fn pitch_and_trigger_precision_and_recall_on_fresh_snippets() {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/data/detector_snippets.json"
    );
    let snippets: Vec<Snippet> =
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).expect("valid snippets");
    assert!(snippets.len() >= 40, "{} snippets", snippets.len());
    let (pp, pr, pw) = score(&snippets, |s| s.pitch, pitch_on_last_line);
    let (tp, tr, tw) = score(&snippets, |s| s.trigger, has_trigger);
    println!(
        "{} snippets: pitch precision {pp:.2} recall {pr:.2}; trigger precision {tp:.2} recall {tr:.2}",
        snippets.len()
    );
    println!("pitch misses: {pw:?}\ntrigger misses: {tw:?}");
    assert!(pp >= 0.9 && pr >= 0.8, "pitch: {pw:?}");
    assert!(tp >= 0.8 && tr >= 0.9, "trigger: {tw:?}");
}

/// Review places a pitch where it was said: in a run-on sentence, where its opening clauses
/// already pitch, not at the end of the 20 s chunk that carried it; live, at the chunk's
/// arrival.
#[test]
fn a_run_on_pitch_is_placed_where_it_became_a_pitch() {
    let text = "Yeah, so what we do, and honestly this is the bit people like most, is the \
                app sends every driver their whole route the night before, the customers \
                get a text with a two hour window, and if something slips the window just \
                moves on its own, so nobody in your office is stuck on the phone all \
                morning chasing drivers.";
    let at = |available| {
        let mut d = Detector::with_reader(DetectConfig::default(), reader());
        d.on_event(&Event::TurnStarted {
            side: Side::Rep,
            start_s: 0.0,
        });
        let fired = d.on_event(&Event::Transcript {
            segment: Segment {
                side: Side::Rep,
                start_s: 0.0,
                end_s: 20.0,
                text: text.into(),
            },
            available,
        });
        fired
            .iter()
            .find(|a| a.kind == AlertKind::Pitch)
            .map(|a| a.at_s)
    };
    let said = at(Available::AsSaid).expect("a pitch before discovery");
    assert!(said < 14.0, "placed at {said} s of a 20 s sentence");
    assert_eq!(at(Available::At(20.8)), Some(20.8));
}

/// A chunk cut inside a sentence: its second half alone reads as a presentation (a rep
/// giving advice, from a rendered call); joined to the sentence it continues, it does not.
/// The words are the moment as a clean transcript has them: tiny.en's garbled copy ("A
/// flash light that's dedication I hear that a lot owners who started this climbers end up
/// the estimator") reads 0.41 joined since the call openings were trained on (0.34
/// before), a doubtful pitch either way.
#[test]
fn a_fragment_that_continues_the_last_chunk_is_read_with_it() {
    let first = "I hear that a lot, owners who started as climbers end up the estimator.";
    let second = "Dispatcher and mechanic and the climbing was the bit they liked.";
    // How much the last chunk's most pitch-like sentence pitches.
    let pitch = |lines: &[(f64, f64, &str)]| {
        let mut d = Detector::with_reader(DetectConfig::default(), reader());
        for &(start_s, end_s, text) in lines {
            d.on_event(&Event::Transcript {
                segment: Segment {
                    side: Side::Rep,
                    start_s,
                    end_s,
                    text: text.into(),
                },
                available: Available::AsSaid,
            });
        }
        let (_, read) = d.state.read_segments().last().expect("read");
        read.iter().map(|r| r.pitch).fold(0.0, f32::max)
    };
    let min = DetectConfig::default().pitch.min_confidence as f32;
    assert!(pitch(&[(61.744, 67.016, second)]) >= min);
    assert!(pitch(&[(55.272, 61.744, first), (61.744, 67.016, second)]) < min);
}

/// One sentence read as presenting with doubt, about the prospect's world or other teams
/// and not about us, is no pitch on its own: a recap or a story reads like that now and
/// then (the false alerts of calls by other authors). Two such sentences in one turn are a
/// run, one that speaks for us is a pitch, and so is one backed by a sentence that speaks
/// for us and leans to presenting (a quiet pitch: "Every bait box gets a little wireless
/// sensor." then "...we get a ping...").
#[test]
fn a_lone_doubtful_presentation_needs_us_in_it_or_a_second_sentence() {
    let trigger = "Honestly we lose a whole day every time the compressor trips on a weekend.";
    let lone = "Information goes out through four channels, a calendar, a whiteboard, a \
                newsletter, and you on the phone.";
    let ours = "Information goes out through our four channels, a calendar, a whiteboard, \
                a newsletter, and you on the phone.";
    let second = "Then the schedule fills the gap on its own.";
    // Speaks for us and leans to presenting, below the doubtful bar.
    let leaning = "We get a ping the second something chews in there.";
    let cfg = DetectConfig::default();
    for s in [lone, ours, second] {
        let p = f64::from(reader().read(Side::Rep, s).pitch);
        assert!(
            (cfg.pitch.min_confidence..cfg.pitch.sure_confidence).contains(&p),
            "{s}: {p:.2}, not a doubtful presentation"
        );
    }
    let p = f64::from(reader().read(Side::Rep, leaning).pitch);
    assert!(
        (0.2..cfg.pitch.min_confidence).contains(&p),
        "{leaning}: {p:.2}"
    );
    let pitches = |rep: &str| {
        pitch_on_last_line(&Snippet {
            id: String::new(),
            pitch: true,
            trigger: true,
            lines: vec![("P".into(), trigger.into()), ("R".into(), rep.into())],
        })
    };
    assert!(!pitches(lone), "a lone doubtful sentence");
    assert!(pitches(ours), "one that speaks for us");
    assert!(pitches(&format!("{lone} {second}")), "a run of two");
    assert!(
        pitches(&format!("{lone} {leaning}")),
        "backed by one that speaks for us"
    );
    assert!(!pitches(leaning), "leaning alone");
}
