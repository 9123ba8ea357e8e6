//! Sentence embeddings: all-MiniLM-L6-v2 (a 6-layer BERT) run with candle, its token states
//! pooled three ways, each L2-normalised: over the whole sentence (the meaning; a dot
//! product of two is their cosine similarity), over its first word pieces (how it opens:
//! "let me show", "so if I", "what happens") and over its last (a tag or a question).

use std::path::{Path, PathBuf};

use candle_core::{DType, Device, Module, Tensor};
use candle_nn::{Embedding, LayerNorm, VarBuilder};
use candle_transformers::models::bert::{BertEncoder, Config};
use tokenizers::{PaddingParams, PaddingStrategy, Tokenizer, TruncationParams};

/// Width of the encoder's token states.
pub const DIM: usize = 384;
/// Word pieces that make a sentence's opening.
const OPENING: usize = 3;
/// Width of one embedding: the sentence mean, its opening and its close.
pub const WIDTH: usize = 3 * DIM;
/// How token states are pooled (change it with [`OPENING`] or [`pool`]): caches of
/// embeddings are keyed by it.
pub const POOLING: &str = "mean, first 3, last 3; f16 word table";

#[derive(Debug, thiserror::Error)]
pub enum EncoderError {
    #[error("{}: not a usable file of the sentence encoder", path.display())]
    Load {
        path: PathBuf,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// candle's or the tokenizer's error.
    #[error("the sentence encoder failed")]
    Run(#[source] Box<dyn std::error::Error + Send + Sync>),
}

pub struct Encoder {
    embeddings: Embeddings,
    encoder: BertEncoder,
    tokenizer: Tokenizer,
}

/// BERT's input layer with its word table kept in f16: the table is half the model (30,522
/// rows), and a row read in f16 moves a sentence's embedding by about 1e-6 in cosine.
/// Everything after the lookup runs in f32 as candle's `BertModel` does.
struct Embeddings {
    words: Embedding,
    positions: Tensor,
    token_types: Embedding,
    norm: LayerNorm,
}

impl Embeddings {
    fn load(vb: VarBuilder, config: &Config) -> candle_core::Result<Self> {
        let words = vb
            .pp("word_embeddings")
            .set_dtype(DType::F16)
            .get((config.vocab_size, config.hidden_size), "weight")?;
        let positions = vb.pp("position_embeddings").get(
            (config.max_position_embeddings, config.hidden_size),
            "weight",
        )?;
        let token_types = vb
            .pp("token_type_embeddings")
            .get((config.type_vocab_size, config.hidden_size), "weight")?;
        Ok(Self {
            words: Embedding::new(words, config.hidden_size),
            positions,
            token_types: Embedding::new(token_types, config.hidden_size),
            norm: candle_nn::layer_norm(
                config.hidden_size,
                config.layer_norm_eps,
                vb.pp("LayerNorm"),
            )?,
        })
    }

    fn forward(&self, ids: &Tensor, types: &Tensor) -> candle_core::Result<Tensor> {
        let len = ids.dim(1)?;
        let words = self.words.forward(ids)?.to_dtype(DType::F32)?;
        let x = (words + self.token_types.forward(types)?)?
            .broadcast_add(&self.positions.narrow(0, 0, len)?)?;
        self.norm.forward(&x)
    }
}

/// BERT's additive attention mask: 0 where a token is real, the lowest f32 where it is
/// padding, shaped to broadcast over heads and query positions.
fn attention_bias(mask: &Tensor) -> candle_core::Result<Tensor> {
    let mask = mask.unsqueeze(1)?.unsqueeze(1)?.to_dtype(DType::F32)?;
    (mask.ones_like()? - mask)?.affine(f32::MIN as f64, 0.0)
}

fn run_err(e: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> EncoderError {
    EncoderError::Run(e.into())
}

impl Encoder {
    /// Loads the encoder from an installed directory (see [`crate::model::encoder::FILES`]).
    ///
    /// # Errors
    /// A file is missing or is not what it should be.
    pub fn load(dir: &Path) -> Result<Self, EncoderError> {
        let load_err =
            |file: &str, source: Box<dyn std::error::Error + Send + Sync>| EncoderError::Load {
                path: dir.join(file),
                source,
            };
        let read = |file: &str| std::fs::read(dir.join(file)).map_err(|e| load_err(file, e.into()));
        let config: Config = serde_json::from_slice(&read("config.json")?)
            .map_err(|e| load_err("config.json", e.into()))?;
        if config.hidden_size != DIM {
            return Err(load_err(
                "config.json",
                format!(
                    "embeddings of {} values, not all-MiniLM-L6-v2's {DIM}",
                    config.hidden_size
                )
                .into(),
            ));
        }
        let mut tokenizer = Tokenizer::from_bytes(read("tokenizer.json")?)
            .map_err(|e| load_err("tokenizer.json", e))?;
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
            .map_err(|e| load_err("tokenizer.json", e))?;
        let weights = read("model.safetensors")?;
        let vb = VarBuilder::from_buffered_safetensors(weights, DType::F32, &Device::Cpu)
            .map_err(|e| load_err("model.safetensors", e.into()))?;
        let loaded = Embeddings::load(vb.pp("embeddings"), &config)
            .and_then(|e| Ok((e, BertEncoder::load(vb.pp("encoder"), &config)?)));
        let (embeddings, encoder) = loaded.map_err(|e| load_err("model.safetensors", e.into()))?;
        Ok(Self {
            embeddings,
            encoder,
            tokenizer,
        })
    }

    /// One unit-length embedding per sentence.
    ///
    /// # Errors
    /// The tokenizer or the model failed (not expected for any text).
    pub fn embed(&self, sentences: &[&str]) -> Result<Vec<[f32; WIDTH]>, EncoderError> {
        if sentences.is_empty() {
            return Ok(Vec::new());
        }
        let enc = self
            .tokenizer
            .encode_batch(sentences.to_vec(), true)
            .map_err(run_err)?;
        let dev = &Device::Cpu;
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
            .embeddings
            .forward(&ids, &types)
            .and_then(|x| self.encoder.forward(&x, &attention_bias(&mask)?))
            .map_err(run_err)?;
        let states = out.to_vec3::<f32>().map_err(run_err)?;
        Ok(states
            .iter()
            .zip(&enc)
            .map(|(tokens, e)| pool(tokens, e.get_attention_mask()))
            .collect())
    }
}

/// Token states pooled into one embedding: the mean over the real tokens, and the mean
/// over the first [`OPENING`] word pieces (after `[CLS]`), each unit length.
fn pool(tokens: &[Vec<f32>], mask: &[u32]) -> [f32; WIDTH] {
    let real = mask.iter().filter(|m| **m == 1).count();
    let mut v = [0f32; WIDTH];
    let mut add = |half: usize, range: std::ops::Range<usize>| {
        let part = &mut v[half * DIM..(half + 1) * DIM];
        for t in &tokens[range] {
            for (a, b) in part.iter_mut().zip(t) {
                *a += b;
            }
        }
        let norm = part.iter().map(|x| x * x).sum::<f32>().sqrt().max(1e-12);
        part.iter_mut().for_each(|x| *x /= norm);
    };
    add(0, 0..real.max(1));
    // [CLS] w1 w2 w3 ... [SEP]: the opening words, or [CLS] alone for an empty sentence.
    let open = (real.saturating_sub(2)).min(OPENING);
    add(1, if open == 0 { 0..1 } else { 1..1 + open });
    // ... w7 w8 w9 [SEP]: a tag ("right?", "you know") or a question mark lives here.
    add(
        2,
        if open == 0 {
            0..1
        } else {
            real - 1 - open..real - 1
        },
    );
    v
}

/// Cosine similarity of two sentence means (the first [`DIM`] values of an embedding).
pub fn cosine(a: &[f32], b: &[f32]) -> f32 {
    a[..DIM].iter().zip(&b[..DIM]).map(|(x, y)| x * y).sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Token states where token `i` is the unit vector along coordinate `i`.
    fn tokens(n: usize) -> Vec<Vec<f32>> {
        (0..n)
            .map(|i| (0..DIM).map(|d| f32::from(u8::from(d == i))).collect())
            .collect()
    }

    /// The coordinates a pooled part is non-zero on.
    fn on(part: &[f32]) -> Vec<usize> {
        (0..DIM).filter(|d| part[*d] != 0.0).collect()
    }

    #[test]
    fn the_opening_and_the_close_pool_their_own_word_pieces_and_skip_padding() {
        // [CLS] w1..w6 [SEP] and two padding tokens.
        let v = pool(&tokens(10), &[1, 1, 1, 1, 1, 1, 1, 1, 0, 0]);
        assert_eq!(on(&v[..DIM]), (0..8).collect::<Vec<_>>(), "mean");
        assert_eq!(on(&v[DIM..2 * DIM]), [1, 2, 3], "opening");
        assert_eq!(on(&v[2 * DIM..]), [4, 5, 6], "close");
        for half in v.chunks(DIM) {
            let norm: f32 = half.iter().map(|x| x * x).sum();
            assert!((norm - 1.0).abs() < 1e-5);
        }
        // [CLS] w1 [SEP]: w1 is both the opening and the close.
        let short = pool(&tokens(3), &[1, 1, 1]);
        assert_eq!(on(&short[DIM..2 * DIM]), [1]);
        assert_eq!(on(&short[2 * DIM..]), [1]);
        // [CLS] [SEP] alone: no panic, finite.
        assert!(pool(&tokens(2), &[1, 1]).iter().all(|x| x.is_finite()));
    }
}
