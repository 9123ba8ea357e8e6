//! The messages stages exchange: the front end's frames, turns and speech chunks, the
//! transcriber's segments; the two sides and what each holds. Call times are seconds
//! from the start of the call.

use std::ops::{Index, IndexMut};

use serde::{Deserialize, Serialize};

/// A finished speaking turn, in call seconds.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Turn {
    pub start_s: f64,
    pub end_s: f64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Side {
    Rep,
    Prospect,
}

impl Side {
    pub const BOTH: [Side; 2] = [Side::Rep, Side::Prospect];

    pub fn other(self) -> Self {
        match self {
            Self::Rep => Self::Prospect,
            Self::Prospect => Self::Rep,
        }
    }
}

/// One value per side of the call, indexed by [`Side`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct PerSide<T> {
    pub rep: T,
    pub prospect: T,
}

impl<T> PerSide<T> {
    pub fn new(rep: T, prospect: T) -> Self {
        Self { rep, prospect }
    }

    /// Builds each side's value from the side.
    pub fn from_fn(mut f: impl FnMut(Side) -> T) -> Self {
        Self {
            rep: f(Side::Rep),
            prospect: f(Side::Prospect),
        }
    }

    pub fn map<U>(&self, mut f: impl FnMut(&T) -> U) -> PerSide<U> {
        PerSide {
            rep: f(&self.rep),
            prospect: f(&self.prospect),
        }
    }

    /// (side, value) for both sides, rep first.
    pub fn iter(&self) -> impl Iterator<Item = (Side, &T)> {
        [(Side::Rep, &self.rep), (Side::Prospect, &self.prospect)].into_iter()
    }
}

impl<T> Index<Side> for PerSide<T> {
    type Output = T;
    fn index(&self, side: Side) -> &T {
        match side {
            Side::Rep => &self.rep,
            Side::Prospect => &self.prospect,
        }
    }
}

impl<T> IndexMut<Side> for PerSide<T> {
    fn index_mut(&mut self, side: Side) -> &mut T {
        match side {
            Side::Rep => &mut self.rep,
            Side::Prospect => &mut self.prospect,
        }
    }
}

/// Call time as m:ss.
pub fn clock(t_s: f64) -> String {
    let t = t_s.max(0.0).round() as u64;
    format!("{}:{:02}", t / 60, t % 60)
}

/// Rounded to three decimals, as reports carry figures (times to the millisecond);
/// `+ 0.0` turns the -0.0 an empty float sum gives into 0.0.
pub fn round3(v: f64) -> f64 {
    (v * 1000.0).round() / 1000.0 + 0.0
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
    /// A transcript, and when a live monitor has it.
    Transcript {
        segment: Segment,
        available: Available,
    },
}

/// When a monitor has a transcript's sentences, in call time.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Available {
    /// Live: the whole chunk arrived then.
    At(f64),
    /// Review: each sentence as it was said (its estimated end). Review transcribes long
    /// chunks, but a live monitor cuts short ones and has a sentence a moment after it
    /// ends; placing it at the end of a 20 s chunk would report a pitch 15 s late.
    AsSaid,
}

impl Available {
    /// When a sentence that ended at `said_s` is available.
    pub fn of(self, said_s: f64) -> f64 {
        match self {
            Self::At(t) => t,
            Self::AsSaid => said_s,
        }
    }
}
