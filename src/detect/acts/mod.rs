//! Dialogue acts: what a transcript sentence does in the conversation (asks openly,
//! recaps, presents the product, names a pain...). The rules above read acts, never
//! words. Two readers produce them: the sentence-embedding classifier (`classifier`,
//! over `encoder`, trained on `labelled` sentences) and, when the encoder is not
//! installed, the word-list reader (`words`).

pub mod classifier;
pub mod context;
pub mod encoder;
pub mod form;
pub mod labelled;
pub mod score;
pub mod skeleton;
pub mod words;

use serde::Serialize;

use crate::event::Side;

/// How sure a reading must be that a sentence presents before the pitch rule acts on it
/// (the rule's default; a rules file may change it).
pub const PITCH_CONFIDENCE: f64 = 0.35;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Act {
    OpenQuestion,
    ClosedQuestion,
    Recap,
    Empathy,
    Presentation,
    Price,
    Trigger,
    Invitation,
    Other,
}

impl Act {
    /// The acts a side's sentences are read as.
    pub fn of(side: Side) -> &'static [Act] {
        match side {
            Side::Rep => &[
                Act::OpenQuestion,
                Act::ClosedQuestion,
                Act::Recap,
                Act::Empathy,
                Act::Presentation,
                Act::Price,
                Act::Other,
            ],
            Side::Prospect => &[Act::Trigger, Act::Invitation, Act::Other],
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Act::OpenQuestion => "open_question",
            Act::ClosedQuestion => "closed_question",
            Act::Recap => "recap",
            Act::Empathy => "empathy",
            Act::Presentation => "presentation",
            Act::Price => "price",
            Act::Trigger => "trigger",
            Act::Invitation => "invitation",
            Act::Other => "other",
        }
    }

    pub fn from_name(name: &str) -> Option<Act> {
        ALL.iter().copied().find(|a| a.name() == name)
    }

    pub fn is_question(self) -> bool {
        matches!(self, Act::OpenQuestion | Act::ClosedQuestion)
    }

    /// The rep selling: presenting the product or its price.
    pub fn is_pitch(self) -> bool {
        matches!(self, Act::Presentation | Act::Price)
    }
}

pub const ALL: &[Act] = &[
    Act::OpenQuestion,
    Act::ClosedQuestion,
    Act::Recap,
    Act::Empathy,
    Act::Presentation,
    Act::Price,
    Act::Trigger,
    Act::Invitation,
    Act::Other,
];

/// One sentence, read.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Reading {
    pub sentence: String,
    pub act: Act,
    /// How sure the reader is, 0..1 (the word lists say 1 when a list matched).
    pub confidence: f32,
    /// How sure the reader is that the sentence presents the product or its price (the
    /// two acts together): what the pitch rule weighs.
    pub pitch: f32,
    /// Why: the nearest labelled sentences, or the word-list feature that matched.
    pub why: String,
    /// The pitch read alone, when the sentence's context changed it.
    #[serde(skip)]
    pub alone_pitch: Option<f32>,
    /// What a later sentence's context reading needs of this one (the encoder's readings).
    #[serde(skip)]
    pub cue: Option<Box<context::Cue>>,
}

/// Reads sentences into acts.
pub enum ActReader {
    Embedded(Box<classifier::Classifier>),
    Words(words::WordReader),
}

impl ActReader {
    pub fn read(&self, side: Side, sentence: &str) -> Reading {
        self.read_in(side, sentence, &context::Context::default())
    }

    /// Reads a sentence in its conversation (the word lists read it alone).
    pub fn read_in(&self, side: Side, sentence: &str, ctx: &context::Context) -> Reading {
        match self {
            ActReader::Embedded(c) => c.read_in(side, sentence, ctx),
            ActReader::Words(w) => w.read(side, sentence),
        }
    }

    /// Which reader this is, for reports and explanations.
    pub fn kind(&self) -> &'static str {
        match self {
            ActReader::Embedded(_) => "sentence encoder",
            ActReader::Words(_) => "word lists",
        }
    }
}

pub use crate::model::encoder::installed as installed_encoder;
