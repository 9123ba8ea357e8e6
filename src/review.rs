//! Review mode: feeds a recording through the same pipeline live capture feeds, as fast as
//! the machine allows, and builds the call report.

use crate::detect::DetectConfig;
use crate::frontend::ChunkPolicy;
use crate::input::{CallReader, InputError, InputSpec};
use crate::pipeline::{Backpressure, Pipeline, SttSettings};
use crate::report::Report;
use crate::source::drive;
use crate::stt::engine::SttError;
use crate::vad::VadConfig;

#[derive(Debug, thiserror::Error)]
pub enum ReviewError {
    #[error(transparent)]
    Input(#[from] InputError),
    #[error("cannot start speech-to-text")]
    Stt(#[source] SttError),
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
    let mut pipeline = Pipeline::new(
        VadConfig::default(),
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
        reader.warnings(),
    ))
}
