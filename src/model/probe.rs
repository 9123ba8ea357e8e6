//! What a freshly written model must do before it is put in place. Running a model is the
//! business of the stage that uses it (speech-to-text, speech detection, voices, acts), so
//! the installer asks through this trait and the command layer answers by joining those
//! stages: `model` depends on none of them.

use std::path::Path;

/// Why a model could not be run: the running stage's own error, kept as the cause.
pub type ProbeError = Box<dyn std::error::Error + Send + Sync>;

pub trait Probe {
    /// What the Whisper model at `path` hears in `clip` (16 kHz mono).
    fn transcribe(&self, path: &Path, clip: &[f32]) -> Result<String, ProbeError>;
    /// The highest speech probability the Silero weights at `path` give to a second of
    /// silence.
    fn silence(&self, path: &Path) -> Result<f32, ProbeError>;
    /// The voice encoder's embedding of `sound` (one encoder window, 16 kHz).
    fn embed_voice(&self, path: &Path, sound: &[f32]) -> Result<Vec<f32>, ProbeError>;
    /// The sentence encoder's embeddings of `sentences`, from its directory `dir`.
    fn embed_sentences(&self, dir: &Path, sentences: &[&str]) -> Result<Vec<Vec<f32>>, ProbeError>;
    /// Readies the act reader on the encoder in `dir` (it trains once, then caches), so the
    /// first call does not wait for it.
    fn warm_acts(&self, dir: &Path) -> Result<(), ProbeError>;
}

/// Cosine similarity of two embeddings.
pub fn cosine(a: &[f32], b: &[f32]) -> f32 {
    let dot: f32 = a.iter().zip(b).map(|(x, y)| x * y).sum();
    let na: f32 = a.iter().map(|x| x * x).sum::<f32>().sqrt();
    let nb: f32 = b.iter().map(|x| x * x).sum::<f32>().sqrt();
    dot / (na * nb).max(f32::EPSILON)
}
