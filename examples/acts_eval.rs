//! Per-act precision and recall of the sentence-encoder classifier and the word lists,
//! side by side, on labelled sentence files (default: the held-out split and the second
//! author's sentences, clean and ASR; neither is trained on).
//!   cargo run --release --example acts_eval [-- FILE.jsonl ...]
//!   cargo run --release --example acts_eval -- --cv    leave-one-domain-out on the
//!                                                       training data (for tuning; the
//!                                                       held-out split is never tuned on)

use twoears::detect::acts::classifier::{training_set, Classifier};
use twoears::detect::acts::labelled::{parse, Labelled};
use twoears::detect::acts::score::{score, tally, targets, Counts, Target};
use twoears::detect::acts::words::WordReader;
use twoears::detect::acts::{installed_encoder, ActReader};

fn load(files: &[String]) -> Vec<Labelled> {
    files
        .iter()
        .flat_map(|f| parse(f, &std::fs::read_to_string(f).expect("readable")).expect("labelled"))
        .collect()
}

/// Trains without one domain at a time and reads that domain: P/R per target.
fn cross_validate(dir: &std::path::Path) {
    use std::collections::HashMap;
    let (encoder, data, embs) = training_set(dir).expect("training set");
    let encoder = std::sync::Arc::new(encoder);
    let mut domains: Vec<&str> = data.iter().map(|l| l.domain.as_str()).collect();
    domains.sort_unstable();
    domains.dedup();
    // ACTS_CV_SKIP="a|b": train on these domains but score no fold of theirs, so data added
    // in new domains is judged on the same folds as before it.
    let skip = std::env::var("ACTS_CV_SKIP").unwrap_or_default();
    let skip: Vec<&str> = skip.split('|').filter(|s| !s.is_empty()).collect();
    let mut total: HashMap<_, Counts> = HashMap::new();
    let mut pitch_probs: Vec<(bool, f32)> = Vec::new();
    for d in domains.iter().filter(|d| !skip.contains(d)) {
        let train: Vec<_> = data
            .iter()
            .zip(&embs)
            .filter(|(l, _)| l.domain != *d)
            .map(|(l, e)| (l.clone(), *e, 1.0))
            .collect();
        let c = Classifier::fit(encoder.clone(), &train);
        for (l, e) in data.iter().zip(&embs).filter(|(l, _)| l.domain == *d) {
            let reading = c.read_embedded(l.side, &l.text, e);
            let got = reading.act;
            tally(&mut total, l.act, &reading);
            if l.side == twoears::event::Side::Rep {
                pitch_probs.push((l.act.is_pitch(), reading.pitch));
            }
            if got != l.act && std::env::var_os("ACTS_WRONG").is_some() {
                eprintln!("  {} -> {}: {}", l.act.name(), got.name(), l.text);
            }
        }
    }
    println!(
        "leave-one-domain-out over {} domains ({} scored), {} sentences",
        domains.len(),
        domains.iter().filter(|d| !skip.contains(d)).count(),
        data.len()
    );
    for t in targets() {
        let k = total[&t];
        println!("{:32} P {:.2} R {:.2}", t.name(), k.precision(), k.recall());
    }
    for threshold in [0.2, 0.25, 0.3, 0.35, 0.4, 0.45, 0.5] {
        let mut k = Counts::default();
        for (truth, p) in &pitch_probs {
            k.add(*truth, *p >= threshold);
        }
        let (p, r) = (k.precision(), k.recall());
        println!(
            "pitch probability >= {threshold:.2}          P {p:.3} R {r:.3} F1 {:.3}",
            2.0 * p * r / (p + r).max(1e-9)
        );
    }
}

/// Sentences of labelled dialogues (default: the held-out authors', never trained on),
/// each read alone and in its context: P/R per target both ways, on the sentences that
/// have a context.
fn dialogues(dir: &std::path::Path, files: &[String]) {
    use twoears::detect::acts::context::Context;
    use twoears::detect::acts::labelled::parse_dialogues;
    use twoears::detect::acts::Reading;
    let files: Vec<String> = if files.is_empty() {
        let d = format!("{}/data/acts/heldout/dialogues", env!("CARGO_MANIFEST_DIR"));
        let mut v: Vec<String> = std::fs::read_dir(&d)
            .expect("data/acts/heldout/dialogues")
            .filter_map(|e| e.ok().map(|e| e.path().display().to_string()))
            .filter(|p| p.ends_with(".jsonl"))
            .collect();
        v.sort();
        v
    } else {
        files.to_vec()
    };
    let c = Classifier::load(dir, &[]).expect("loads");
    let (mut alone_counts, mut ctx_counts) = Default::default();
    let mut n = 0;
    for f in &files {
        let text = std::fs::read_to_string(f).expect("readable");
        for d in parse_dialogues(f, &text).expect("dialogues") {
            let mut turns: Vec<(twoears::event::Side, Vec<Reading>)> = Vec::new();
            for t in &d.turns {
                let other: Vec<&Reading> = turns
                    .last()
                    .filter(|(side, _)| *side != t.side)
                    .map(|(_, r)| r.iter().collect())
                    .unwrap_or_default();
                let mut read: Vec<Reading> = Vec::new();
                for s in &t.sentences {
                    let ctx = Context {
                        before: read.last(),
                        other: &other,
                    };
                    let alone = c.read(t.side, &s.text);
                    let in_ctx = c.read_in(t.side, &s.text, &ctx);
                    if !ctx.is_empty() {
                        n += 1;
                        tally(&mut alone_counts, s.act, &alone);
                        tally(&mut ctx_counts, s.act, &in_ctx);
                    }
                    read.push(in_ctx);
                }
                turns.push((t.side, read));
            }
        }
    }
    println!("\n{}: {n} sentences with a context\n", files.join(" "));
    table(["alone", "in context"], &alone_counts, &ctx_counts);
}

/// P/R per target of two readers side by side, as a markdown table.
fn table(
    names: [&str; 2],
    a: &std::collections::HashMap<Target, Counts>,
    b: &std::collections::HashMap<Target, Counts>,
) {
    let [x, y] = names;
    println!("| act | {x} P | {x} R | {y} P | {y} R |");
    println!("|---|---|---|---|---|");
    for t in targets() {
        let (a, b) = (a[&t], b[&t]);
        println!(
            "| {} | {:.3} | {:.3} | {:.3} | {:.3} |",
            t.name(),
            a.precision(),
            a.recall(),
            b.precision(),
            b.recall()
        );
    }
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let dir = installed_encoder().expect("install the encoder: twoears model install minilm");
    if args.first().is_some_and(|a| a == "--cv") {
        cross_validate(&dir);
        return;
    }
    if args.first().is_some_and(|a| a == "--dialogues") {
        dialogues(&dir, &args[1..]);
        return;
    }
    let t = std::time::Instant::now();
    let embedded = ActReader::Embedded(Box::new(Classifier::load(&dir, &[]).expect("loads")));
    eprintln!("classifier ready in {:.1} s", t.elapsed().as_secs_f64());
    let words = ActReader::Words(WordReader {
        phrases: Default::default(),
    });
    let files = |sub: &str| -> Vec<String> {
        let d = format!("{}/data/acts/{sub}", env!("CARGO_MANIFEST_DIR"));
        let mut v: Vec<String> = std::fs::read_dir(&d)
            .expect("the labelled test sets under data/acts")
            .filter_map(|e| e.ok().map(|e| e.path().display().to_string()))
            .filter(|p| p.ends_with(".jsonl"))
            .collect();
        v.sort();
        v
    };
    let sets: Vec<(String, Vec<String>)> = if args.is_empty() {
        vec![
            ("held-out, clean text".into(), files("heldout")),
            ("held-out, ASR text (tiny.en)".into(), files("heldout/asr")),
            ("second author, clean text".into(), files("second_author")),
            (
                "second author, ASR text (tiny.en)".into(),
                files("second_author/asr"),
            ),
        ]
    } else {
        vec![(args.join(" "), args.clone())]
    };
    for (name, files) in sets {
        let data = load(&files);
        let t = std::time::Instant::now();
        let (e, wrong) = score(&embedded, &data);
        let per_ms = t.elapsed().as_secs_f64() * 1000.0 / data.len().max(1) as f64;
        let (w, _) = score(&words, &data);
        println!(
            "\n{name}: {} sentences, {per_ms:.1} ms per sentence read (one at a time)\n",
            data.len()
        );
        table(["encoder", "word lists"], &e, &w);
        if std::env::var_os("ACTS_WRONG").is_some() {
            for w in wrong {
                eprintln!("  {w}");
            }
        }
    }
}
