//! Reads sentences as the detector does and prints each one's act, confidence and pitch
//! probability: for looking at one call's transcript, or at a wording, by hand.
//!   printf 'rep\tOur app removes that step.\n' | cargo run --release --example acts_read

use std::io::BufRead;

use twoears::detect::acts::classifier::Classifier;
use twoears::detect::acts::installed_encoder;
use twoears::event::Side;

fn main() {
    let dir = installed_encoder().expect("sentence encoder installed (twoears model install)");
    let reader = Classifier::load(&dir, &[]).expect("classifier");
    for line in std::io::stdin().lock().lines() {
        let line = line.expect("stdin");
        let Some((side, sentence)) = line.split_once('\t') else {
            eprintln!("skipped (want SIDE<TAB>SENTENCE): {line}");
            continue;
        };
        let side = if side == "prospect" {
            Side::Prospect
        } else {
            Side::Rep
        };
        let r = reader.read(side, sentence);
        println!(
            "{:15} {:.2} pitch {:.2}  {sentence}\n    {}",
            r.act.name(),
            r.confidence,
            r.pitch,
            r.why
        );
    }
}
