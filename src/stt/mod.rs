//! Speech-to-text: whisper on each side's speech chunks, off the audio path.

pub mod engine;
pub mod filter;
