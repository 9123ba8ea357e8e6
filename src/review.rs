//! Review mode: feeds a recording through the same pipeline live capture feeds, as fast as
//! the machine allows, and builds the call report.

use anyhow::{Context, Result};

use crate::detect::DetectConfig;
use crate::frontend::ChunkPolicy;
use crate::input::{CallReader, InputSpec};
use crate::pipeline::{Backpressure, Pipeline, SttSettings};
use crate::report::Report;
use crate::source::drive;
use crate::vad::VadConfig;

/// Reviews the call in `spec`; `progress` is told the call seconds done so far.
///
/// # Errors
/// The input cannot be opened or holds no audio, or the model cannot be loaded.
pub fn review(
    spec: &InputSpec,
    stt: Option<&SttSettings>,
    rules: DetectConfig,
    progress: &mut dyn FnMut(f64, Option<f64>),
) -> Result<Report> {
    let mut reader = CallReader::open(spec)?;
    let mut pipeline = Pipeline::new(
        VadConfig::default(),
        ChunkPolicy::REVIEW,
        rules,
        stt,
        Backpressure::Wait,
    )
    .context("cannot start speech-to-text")?;
    drive(&mut reader, &mut pipeline, |reader, block| {
        progress(block.pipeline.now_s(), reader.duration_s);
    });
    reader.check_not_empty()?;
    Ok(pipeline.finish(reader.warnings()))
}
