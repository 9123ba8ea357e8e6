//! What a sentence is read against: the other side's latest turn and the sentence just
//! before it in its own turn. "Let me make sure I have this right." makes the long
//! restatement after it a recap; "Right, so that is the exact gap we close." makes the
//! description after it a pitch; an answer to "what do you pay today?" is not a pain.
//! The context head (in `classifier`) reads a sentence's own act probabilities together
//! with these features, learnt from labelled dialogues.

use super::encoder::DIM;
use super::{Act, Reading};
use crate::event::Side;

/// What the context head needs of a sentence read before: its act probabilities (as the
/// sentence alone reads) and its sentence mean (for similarity).
#[derive(Debug, Clone, PartialEq)]
pub struct Cue {
    pub probs: Vec<f32>,
    pub mean: Box<[f32; DIM]>,
}

/// A sentence's context, from the readings already made.
#[derive(Default, Clone, Copy)]
pub struct Context<'a> {
    /// The sentence just before, in the same turn.
    pub before: Option<&'a Reading>,
    /// The other side's latest turn.
    pub other: &'a [&'a Reading],
}

impl Context<'_> {
    pub fn is_empty(&self) -> bool {
        self.cue_before().is_none() && self.other_cues().next().is_none()
    }

    fn cue_before(&self) -> Option<&Cue> {
        self.before.and_then(|r| r.cue.as_deref())
    }

    fn other_cues(&self) -> impl Iterator<Item = &Cue> {
        self.other.iter().filter_map(|r| r.cue.as_deref())
    }
}

fn dot(a: &[f32; DIM], b: &[f32; DIM]) -> f32 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

/// The number of context features for a sentence by `side`.
pub fn width(side: Side) -> usize {
    let own = Act::of(side).len();
    own + (1 + own + 1) + (1 + Act::of(side.other()).len() + 1)
}

/// The context head's inputs: the sentence's own log-probabilities; the sentence before
/// (there or not, its probabilities, how alike); the other side's turn (there or not, the
/// strongest reading of each of its acts, and the most alike of its sentences).
pub fn features(side: Side, own: &[f32], mean: &[f32; DIM], ctx: &Context) -> Vec<f32> {
    let mut x = Vec::with_capacity(width(side));
    x.extend(own.iter().map(|p| p.max(1e-4).ln()));
    match ctx.cue_before() {
        Some(b) => {
            x.push(1.0);
            x.extend(b.probs.iter().map(|p| p.max(1e-4).ln()));
            x.push(dot(mean, &b.mean));
        }
        None => x.extend(std::iter::repeat_n(0.0, 2 + own.len())),
    }
    let k = Act::of(side.other()).len();
    let mut strongest = vec![0f32; k];
    let mut alike = 0f32;
    let mut any = false;
    for c in ctx.other_cues() {
        any = true;
        for (s, p) in strongest.iter_mut().zip(&c.probs) {
            *s = s.max(*p);
        }
        alike = alike.max(dot(mean, &c.mean));
    }
    x.push(f32::from(u8::from(any)));
    x.extend(strongest);
    x.push(alike);
    x
}
