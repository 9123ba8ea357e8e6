//! The messages stages exchange: the front end's frames, turns and speech chunks, the
//! transcriber's segments. Call times are seconds from the start of the call.

use serde::Serialize;

use crate::vad::Turn;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Side {
    Rep,
    Prospect,
}

impl Side {
    pub fn other(self) -> Self {
        match self {
            Self::Rep => Self::Prospect,
            Self::Prospect => Self::Rep,
        }
    }
}

/// One side's speech, cut at a pause, for the transcriber.
#[derive(Debug, Clone)]
pub struct Chunk {
    pub side: Side,
    pub start_s: f64,
    pub end_s: f64,
    /// 16 kHz mono; for the rep, after echo cancellation.
    pub samples: Vec<f32>,
}

/// What the transcriber heard in one chunk.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Segment {
    pub side: Side,
    pub start_s: f64,
    pub end_s: f64,
    pub text: String,
}

/// What the front end reports, in call order.
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    /// A 16 ms frame ended at `t_s`; who was speaking (turns held open by hangover).
    Frame {
        t_s: f64,
        rep: bool,
        prospect: bool,
    },
    TurnStarted {
        side: Side,
        start_s: f64,
    },
    TurnEnded {
        side: Side,
        turn: Turn,
    },
    /// A transcript, available to a live monitor at `available_s` call time.
    Transcript {
        segment: Segment,
        available_s: f64,
    },
}
