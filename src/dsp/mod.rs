//! Signal plumbing before the pipeline: to the pipeline's 16 kHz (`resample`), and the two
//! sides on one timeline (`align`).

pub mod align;
pub mod resample;
