//! Review mode: feeds a recording through the same pipeline live capture feeds, as fast as
//! the machine allows, and builds the call report.

use crate::detect::DetectConfig;
use crate::frontend::ChunkPolicy;
use crate::frontend::FrontEndConfig;
use crate::input::{CallReader, InputError, InputSpec};
use crate::pipeline::{Backpressure, Pipeline, PipelineError, SttSettings};
use crate::report::{Report, Source};
use crate::source::drive;

#[derive(Debug, thiserror::Error)]
pub enum ReviewError {
    #[error(transparent)]
    Input(#[from] InputError),
    #[error("cannot start speech-to-text")]
    Stt(#[source] PipelineError),
}

/// Reviews the call in `spec`; `progress` is told the call seconds done so far.
///
/// # Errors
/// The input cannot be opened or holds no audio, or the model cannot be loaded.
pub fn review(
    spec: &InputSpec,
    stt: Option<&SttSettings>,
    rules: DetectConfig,
    progress: &mut dyn FnMut(f64, Option<f64>),
) -> Result<Report, ReviewError> {
    let mut reader = CallReader::open(spec)?;
    // Hashed before it is read: a file still growing is then stale at the next run.
    let mut source = source(spec, stt);
    source.voices = reader.voices.clone();
    if source.voices.is_none() {
        // A two-channel call does not depend on a voice.
        source.rep_voice_sha256 = None;
    }
    let mut pipeline = Pipeline::new(
        FrontEndConfig::installed(),
        ChunkPolicy::REVIEW,
        rules,
        stt,
        Backpressure::Wait,
    )
    .map_err(ReviewError::Stt)?;
    drive(&mut reader, &mut pipeline, |reader, block| {
        progress(block.pipeline.now_s(), reader.duration_s);
    });
    reader.check_not_empty()?;
    Ok(Report::from_call(
        pipeline.finish(),
        None,
        Some(source),
        reader.warnings(),
    ))
}

/// What the call was made from: the audio's and the model's hashes, the channels chosen.
pub fn source(spec: &InputSpec, stt: Option<&SttSettings>) -> Source {
    use sha2::{Digest, Sha256};
    let paths = spec.paths();
    // Only regular files: the reader has already drained a pipe or device.
    let audio_sha256 = paths.iter().all(|p| p.is_file()).then(|| {
        let hashes: Option<Vec<String>> = paths
            .iter()
            .map(|p| crate::model::store::sha256_file(p).ok())
            .collect();
        hashes.map(|h| match h.as_slice() {
            [one] => one.clone(),
            many => format!("{:x}", Sha256::digest(many.join("\n"))),
        })
    });
    let (rep_channel, prospect_channel, rep_voice) = match spec {
        InputSpec::Stereo {
            rep_channel,
            prospect_channel,
            rep_voice,
            ..
        } => (
            rep_channel.clone(),
            prospect_channel.clone(),
            rep_voice.as_deref(),
        ),
        InputSpec::Pair { .. } => (None, None, None),
    };
    Source {
        audio_sha256: audio_sha256.flatten(),
        recorded: paths.first().and_then(|p| crate::clock::file_date(p)),
        rep_channel,
        prospect_channel,
        model_sha256: stt.and_then(|s| crate::model::store::model_sha256(&s.model).ok()),
        language: stt.and_then(|s| s.language.clone()),
        voices: None,
        // What a one-channel call's rep is known by: the --rep-voice recording, else the
        // enrolled profile (a later run with another makes another report).
        rep_voice_sha256: rep_voice
            .map(std::path::Path::to_path_buf)
            .or_else(|| crate::frontend::voices::profile::path().filter(|p| p.is_file()))
            .and_then(|p| crate::model::store::sha256_file(&p).ok()),
        twoears: env!("CARGO_PKG_VERSION").into(),
    }
}
