//! Sentence embeddings: all-MiniLM-L6-v2 (a 6-layer BERT) run with candle, mean-pooled over
//! the tokens and L2-normalised, so a dot product is the cosine similarity.

use std::path::Path;

use candle_core::{DType, Device, Tensor};
use candle_nn::VarBuilder;
use candle_transformers::models::bert::{BertModel, Config};
use tokenizers::{PaddingParams, PaddingStrategy, Tokenizer, TruncationParams};

/// Width of one embedding.
pub const DIM: usize = 384;

/// The files an installed encoder directory holds.
pub const FILES: &[&str] = &["model.safetensors", "tokenizer.json", "config.json"];

#[derive(Debug, thiserror::Error)]
pub enum EncoderError {
    #[error("{path}: {reason}")]
    Load { path: String, reason: String },
    #[error("the sentence encoder failed: {0}")]
    Run(String),
}

pub struct Encoder {
    model: BertModel,
    tokenizer: Tokenizer,
}

fn run_err(e: impl std::fmt::Display) -> EncoderError {
    EncoderError::Run(e.to_string())
}

impl Encoder {
    /// Loads the encoder from an installed directory (see [`FILES`]).
    ///
    /// # Errors
    /// A file is missing or is not what it should be.
    pub fn load(dir: &Path) -> Result<Self, EncoderError> {
        let load_err = |file: &str, reason: String| EncoderError::Load {
            path: dir.join(file).display().to_string(),
            reason,
        };
        let read =
            |file: &str| std::fs::read(dir.join(file)).map_err(|e| load_err(file, e.to_string()));
        let config: Config = serde_json::from_slice(&read("config.json")?)
            .map_err(|e| load_err("config.json", e.to_string()))?;
        if config.hidden_size != DIM {
            return Err(load_err(
                "config.json",
                format!(
                    "embeddings of {} values, not all-MiniLM-L6-v2's {DIM}",
                    config.hidden_size
                ),
            ));
        }
        let mut tokenizer = Tokenizer::from_bytes(read("tokenizer.json")?)
            .map_err(|e| load_err("tokenizer.json", e.to_string()))?;
        // The shipped file pads every sentence to 128 tokens: pad to the batch's longest.
        tokenizer.with_padding(Some(PaddingParams {
            strategy: PaddingStrategy::BatchLongest,
            ..PaddingParams::default()
        }));
        tokenizer
            .with_truncation(Some(TruncationParams {
                max_length: 256,
                ..TruncationParams::default()
            }))
            .map_err(|e| load_err("tokenizer.json", e.to_string()))?;
        let weights = read("model.safetensors")?;
        let vb = VarBuilder::from_buffered_safetensors(weights, DType::F32, &Device::Cpu)
            .map_err(|e| load_err("model.safetensors", e.to_string()))?;
        let model = BertModel::load(vb, &config)
            .map_err(|e| load_err("model.safetensors", e.to_string()))?;
        Ok(Self { model, tokenizer })
    }

    /// One unit-length embedding per sentence.
    ///
    /// # Errors
    /// The tokenizer or the model failed (not expected for any text).
    pub fn embed(&self, sentences: &[&str]) -> Result<Vec<[f32; DIM]>, EncoderError> {
        if sentences.is_empty() {
            return Ok(Vec::new());
        }
        let enc = self
            .tokenizer
            .encode_batch(sentences.to_vec(), true)
            .map_err(run_err)?;
        let dev = &self.model.device;
        let stack = |f: &dyn Fn(&tokenizers::Encoding) -> &[u32]| -> Result<Tensor, EncoderError> {
            let rows = enc
                .iter()
                .map(|e| Tensor::new(f(e), dev))
                .collect::<Result<Vec<_>, _>>()
                .map_err(run_err)?;
            Tensor::stack(&rows, 0).map_err(run_err)
        };
        let ids = stack(&|e| e.get_ids())?;
        let types = stack(&|e| e.get_type_ids())?;
        let mask = stack(&|e| e.get_attention_mask())?;
        let out = self
            .model
            .forward(&ids, &types, Some(&mask))
            .map_err(run_err)?;
        // Mean over the real tokens only, then unit length.
        let pooled = (|| {
            let m = mask.to_dtype(DType::F32)?.unsqueeze(2)?;
            let sum = out.broadcast_mul(&m)?.sum(1)?;
            let mean = sum.broadcast_div(&m.sum(1)?)?;
            let norm = mean.sqr()?.sum_keepdim(1)?.sqrt()?;
            mean.broadcast_div(&norm)?.to_vec2::<f32>()
        })()
        .map_err(run_err)?;
        Ok(pooled
            .into_iter()
            .map(|row| {
                let mut v = [0f32; DIM];
                v.copy_from_slice(&row[..DIM]);
                v
            })
            .collect())
    }
}

/// Cosine similarity of two unit vectors.
pub fn cosine(a: &[f32; DIM], b: &[f32; DIM]) -> f32 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}
