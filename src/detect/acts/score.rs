//! Precision and recall of an act reader on labelled sentences: how `acts_eval` and the
//! tests measure the classifier against the word lists.

use std::collections::HashMap;

use super::labelled::Labelled;
use super::{Act, ActReader, Reading};

/// The groups the rules decide on, besides single acts: a pitch is a presentation or a
/// price, a question is open or closed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Target {
    Act(Act),
    Pitch,
    Question,
}

impl Target {
    pub fn name(self) -> &'static str {
        match self {
            Target::Act(a) => a.name(),
            Target::Pitch => "pitch (presentation or price)",
            Target::Question => "question (open or closed)",
        }
    }

    fn holds(self, act: Act) -> bool {
        match self {
            Target::Act(a) => a == act,
            Target::Pitch => act.is_pitch(),
            Target::Question => act.is_question(),
        }
    }

    /// Whether a reading counts as this target. A pitch is what the pitch rule acts on: a
    /// presentation and a price together at least as likely as the rule's default
    /// `min_confidence` (chosen by cross-validation on the training data), not the top act.
    fn read_as(self, read: &Reading) -> bool {
        match self {
            Target::Pitch => f64::from(read.pitch) >= super::PITCH_CONFIDENCE,
            t => t.holds(read.act),
        }
    }
}

#[derive(Debug, Default, Clone, Copy)]
pub struct Counts {
    pub tp: u32,
    pub fp: u32,
    pub fn_: u32,
}

impl Counts {
    /// Counts one decision against the truth.
    pub fn add(&mut self, truth: bool, got: bool) {
        match (truth, got) {
            (true, true) => self.tp += 1,
            (false, true) => self.fp += 1,
            (true, false) => self.fn_ += 1,
            (false, false) => {}
        }
    }
    pub fn precision(&self) -> f64 {
        f64::from(self.tp) / f64::from((self.tp + self.fp).max(1))
    }
    pub fn recall(&self) -> f64 {
        f64::from(self.tp) / f64::from((self.tp + self.fn_).max(1))
    }
}

/// Every target the report lists, in order.
pub fn targets() -> Vec<Target> {
    let mut t: Vec<Target> = super::ALL
        .iter()
        .filter(|a| **a != Act::Other)
        .map(|a| Target::Act(*a))
        .collect();
    t.extend([Target::Pitch, Target::Question]);
    t
}

/// Reads every sentence; counts per target, and the sentences read wrongly.
pub fn score(reader: &ActReader, data: &[Labelled]) -> (HashMap<Target, Counts>, Vec<String>) {
    let mut counts: HashMap<Target, Counts> = HashMap::new();
    let mut wrong = Vec::new();
    for l in data {
        let read = reader.read(l.side, &l.text);
        let got = read.act;
        if got != l.act {
            wrong.push(format!(
                "{:?} {} -> {} ({:.2}, {}): {}",
                l.side,
                l.act.name(),
                got.name(),
                read.confidence,
                read.why,
                l.text
            ));
        }
        tally(&mut counts, l.act, &read);
    }
    (counts, wrong)
}

/// Counts one reading of a sentence labelled `truth`, for every target.
pub fn tally(counts: &mut HashMap<Target, Counts>, truth: Act, read: &Reading) {
    for t in targets() {
        counts
            .entry(t)
            .or_default()
            .add(t.holds(truth), t.read_as(read));
    }
}
