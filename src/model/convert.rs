//! CTranslate2 Whisper model directory -> whisper.cpp ggml file. Owns the tensor mapping
//! (fused attention projections split, key biases dropped, int8 dequantised).

use std::io::Write;
use std::path::Path;

use super::ct2::{self, Ct2Model};
use super::ggml::{self, HParams, Storage, Tensor};
use super::{mel, vocab};

#[derive(Debug, thiserror::Error)]
pub enum ConvertError {
    #[error("cannot read {path}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}")]
    Ct2 {
        path: String,
        #[source]
        source: ct2::Ct2Error,
    },
    #[error("{path} is {size_bytes} bytes, more than the {budget_bytes} a conversion may hold in memory; convert a smaller model")]
    TooLarge {
        path: String,
        size_bytes: u64,
        budget_bytes: u64,
    },
    #[error("{dir}: no model.bin; give a CTranslate2 (faster-whisper) model directory")]
    NoModel { dir: String },
    #[error("{dir}: no vocabulary.txt or vocabulary.json beside model.bin")]
    NoVocabulary { dir: String },
    #[error(transparent)]
    Vocab(#[from] vocab::VocabError),
    #[error("model.bin lacks variable {0:?}; is it a complete Whisper model?")]
    Missing(String),
    #[error("variable {name:?} has shape {got:?}, expected {want}; the model is damaged or not a Whisper model, export it again with ct2-transformers-converter")]
    Shape {
        name: String,
        got: Vec<usize>,
        want: String,
    },
    #[error("model.bin's dimensions are not a Whisper model whisper.cpp can run (export it again with ct2-transformers-converter)")]
    HParams(#[source] ggml::HParamError),
    #[error("cannot write the converted model")]
    Write(#[source] std::io::Error),
}

/// The largest model.bin a conversion reads (large-v3 in f16 is 3.1 GB); the file and a
/// copy of its variables are held while converting.
const MAX_MODEL_BIN_BYTES: u64 = 4 << 30;
/// The largest vocabulary file read (Whisper's are about 1 MB).
const MAX_VOCABULARY_BYTES: u64 = 16 << 20;

fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> ConvertError + '_ {
    move |source| ConvertError::Io {
        path: path.display().to_string(),
        source,
    }
}

/// What a conversion produced.
#[derive(Debug, Clone)]
pub struct Converted {
    pub hparams: HParams,
    pub tensors: usize,
    pub multilingual: bool,
}

struct Source<'a> {
    model: &'a Ct2Model,
}

impl Source<'_> {
    fn raw(&self, name: &str) -> Result<&ct2::Variable, ConvertError> {
        self.model
            .get(name)
            .ok_or_else(|| ConvertError::Missing(name.to_string()))
    }

    /// The shape of a variable of `rank` dimensions.
    fn dims(&self, name: &str, rank: usize) -> Result<&[usize], ConvertError> {
        let v = self.raw(name)?;
        if v.dims.len() != rank {
            return Err(ConvertError::Shape {
                name: name.into(),
                got: v.dims.clone(),
                want: format!("{rank} dimensions"),
            });
        }
        Ok(&v.dims)
    }

    /// The variable as f32, after checking its shape is `want`; int8/int16 weights are
    /// divided by their per-row `weight_scale`.
    fn values(&self, name: &str, want: &[usize]) -> Result<Vec<f32>, ConvertError> {
        let v = self.raw(name)?;
        if v.dims != want {
            return Err(ConvertError::Shape {
                name: name.into(),
                got: v.dims.clone(),
                want: format!("{want:?}"),
            });
        }
        let mut values = v.to_f32();
        if matches!(v.dtype, ct2::DType::I8 | ct2::DType::I16) {
            let scale_name = format!("{name}_scale");
            let scale = self.raw(&scale_name)?.to_f32();
            // want comes from checked hyper-parameters: at least one row of one column.
            let rows = want.first().copied().unwrap_or(1);
            if scale.len() == 1 {
                values.iter_mut().for_each(|x| *x /= scale[0]);
            } else if scale.len() == rows {
                let cols = values.len() / rows;
                for (r, s) in scale.iter().enumerate() {
                    values[r * cols..(r + 1) * cols]
                        .iter_mut()
                        .for_each(|x| *x /= s);
                }
            } else {
                return Err(ConvertError::Shape {
                    name: scale_name,
                    got: vec![scale.len()],
                    want: format!("[1] or [{rows}]"),
                });
            }
        }
        Ok(values)
    }

    /// A one-element integer variable such as `encoder/num_heads`.
    fn scalar(&self, name: &str) -> Result<i32, ConvertError> {
        let v = self.raw(name)?;
        if v.dims.iter().product::<usize>() != 1 {
            return Err(ConvertError::Shape {
                name: name.into(),
                got: v.dims.clone(),
                want: "one value".into(),
            });
        }
        // Out of i32 range is out of every range check_hparams allows.
        let n = v.scalar_i64().unwrap_or(0);
        Ok(i32::try_from(n).unwrap_or(if n < 0 { i32::MIN } else { i32::MAX }))
    }
}

/// Splits a fused [k*rows, cols] weight or [k*rows] bias (shape already checked) into k
/// row blocks.
fn split_rows(dims: &[usize], values: Vec<f32>, k: usize) -> Vec<(Vec<usize>, Vec<f32>)> {
    let rows = dims[0] / k;
    let cols = values.len() / dims[0];
    let mut shape = dims.to_vec();
    shape[0] = rows;
    (0..k)
        .map(|i| {
            (
                shape.clone(),
                values[i * rows * cols..(i + 1) * rows * cols].to_vec(),
            )
        })
        .collect()
}

/// Tensors go to the file as they are mapped: one in memory at a time.
struct Out<'w> {
    w: &'w mut dyn Write,
    tensors: usize,
    /// How weight matrices are stored: f16, or q8_0 for a smaller, faster model.
    matrices: Storage,
}

impl Out<'_> {
    fn write(&mut self, t: Tensor) -> Result<(), ConvertError> {
        ggml::write_tensor(&mut self.w, &t).map_err(ConvertError::Write)?;
        self.tensors += 1;
        Ok(())
    }
    /// 1-D tensors stay f32 (whisper.cpp's loader expects them so); matrices go to f16.
    fn push(
        &mut self,
        name: String,
        shape: Vec<usize>,
        values: Vec<f32>,
    ) -> Result<(), ConvertError> {
        let storage = match shape.len() {
            1 => Storage::F32,
            2 => self.matrices,
            _ => Storage::F16,
        };
        self.write(Tensor {
            name,
            shape,
            values,
            storage,
        })
    }
    fn push_f32(
        &mut self,
        name: String,
        shape: Vec<usize>,
        values: Vec<f32>,
    ) -> Result<(), ConvertError> {
        self.write(Tensor {
            name,
            shape,
            values,
            storage: Storage::F32,
        })
    }
}

fn layer_count(model: &Ct2Model, prefix: &str) -> usize {
    (0..)
        .take_while(|i| {
            let p = format!("{prefix}/layer_{i}/");
            model
                .vars
                .range(p.clone()..)
                .next()
                .is_some_and(|(k, _)| k.starts_with(&p))
        })
        .count()
}

/// A [rows, cols] weight and [rows] bias.
fn linear(
    src: &Source,
    out: &mut Out,
    from: &str,
    to: &str,
    rows: usize,
    cols: usize,
) -> Result<(), ConvertError> {
    let w = src.values(&format!("{from}/weight"), &[rows, cols])?;
    out.push(format!("{to}.weight"), vec![rows, cols], w)?;
    let b = src.values(&format!("{from}/bias"), &[rows])?;
    out.push(format!("{to}.bias"), vec![rows], b)
}

fn norm(
    src: &Source,
    out: &mut Out,
    from: &str,
    to: &str,
    width: usize,
) -> Result<(), ConvertError> {
    let g = src.values(&format!("{from}/gamma"), &[width])?;
    out.push(format!("{to}.weight"), vec![width], g)?;
    let b = src.values(&format!("{from}/beta"), &[width])?;
    out.push(format!("{to}.bias"), vec![width], b)
}

/// Fused q/k/v (k = 3) or k/v (k = 2) projection: the key gets no bias in whisper.cpp.
fn fused(
    src: &Source,
    out: &mut Out,
    from: &str,
    to: &str,
    names: &[&str],
    width: usize,
) -> Result<(), ConvertError> {
    let k = names.len();
    let (wd, bd) = (vec![k * width, width], vec![k * width]);
    let w = src.values(&format!("{from}/weight"), &wd)?;
    let b = src.values(&format!("{from}/bias"), &bd)?;
    let weights = split_rows(&wd, w, k);
    let biases = split_rows(&bd, b, k);
    for ((name, (wd, wv)), (bd, bv)) in names.iter().zip(weights).zip(biases) {
        out.push(format!("{to}.{name}.weight"), wd, wv)?;
        if *name != "key" {
            out.push(format!("{to}.{name}.bias"), bd, bv)?;
        }
    }
    Ok(())
}

fn block_common(
    src: &Source,
    out: &mut Out,
    from: &str,
    to: &str,
    width: usize,
) -> Result<(), ConvertError> {
    let w = width;
    norm(
        src,
        out,
        &format!("{from}/self_attention/layer_norm"),
        &format!("{to}.attn_ln"),
        w,
    )?;
    fused(
        src,
        out,
        &format!("{from}/self_attention/linear_0"),
        &format!("{to}.attn"),
        &["query", "key", "value"],
        w,
    )?;
    linear(
        src,
        out,
        &format!("{from}/self_attention/linear_1"),
        &format!("{to}.attn.out"),
        w,
        w,
    )?;
    norm(
        src,
        out,
        &format!("{from}/ffn/layer_norm"),
        &format!("{to}.mlp_ln"),
        w,
    )?;
    linear(
        src,
        out,
        &format!("{from}/ffn/linear_0"),
        &format!("{to}.mlp.0"),
        4 * w,
        w,
    )?;
    linear(
        src,
        out,
        &format!("{from}/ffn/linear_1"),
        &format!("{to}.mlp.2"),
        w,
        4 * w,
    )
}

/// The hyper-parameters the variables imply, checked against what whisper.cpp can run
/// before any tensor is read: every later shape is derived from them.
fn hparams(model: &Ct2Model) -> Result<HParams, ConvertError> {
    let src = Source { model };
    let conv1 = src.dims("encoder/conv1/weight", 3)?;
    let emb = src.dims("decoder/embeddings/weight", 2)?;
    let enc_pos = src.dims("encoder/position_encodings/encodings", 2)?;
    let dec_pos = src.dims("decoder/position_encodings/encodings", 2)?;
    // Too large for i32 is too large for check_hparams.
    let n = |x: usize| i32::try_from(x).unwrap_or(i32::MAX);
    let hp = HParams {
        n_vocab: n(emb[0]),
        n_audio_ctx: n(enc_pos[0]),
        n_audio_state: n(conv1[0]),
        n_audio_head: src.scalar("encoder/num_heads")?,
        n_audio_layer: n(layer_count(model, "encoder")),
        n_text_ctx: n(dec_pos[0]),
        n_text_state: n(emb[1]),
        n_text_head: src.scalar("decoder/num_heads")?,
        n_text_layer: n(layer_count(model, "decoder")),
        n_mels: n(conv1[1]),
        ftype: ggml::FTYPE_F16,
    };
    ggml::check_hparams(&hp).map_err(ConvertError::HParams)?;
    Ok(hp)
}

/// Maps every variable, each checked against the shape `hp` implies, into whisper.cpp
/// naming and writes it.
fn map_tensors(model: &Ct2Model, hp: &HParams, out: &mut Out) -> Result<(), ConvertError> {
    let src = Source { model };
    // check_hparams bounded all of these.
    let (a, t) = (hp.n_audio_state as usize, hp.n_text_state as usize);
    let (m, v) = (hp.n_mels as usize, hp.n_vocab as usize);
    let (actx, tctx) = (hp.n_audio_ctx as usize, hp.n_text_ctx as usize);

    for (conv, inputs) in [("conv1", m), ("conv2", a)] {
        let w = src.values(&format!("encoder/{conv}/weight"), &[a, inputs, 3])?;
        out.push(format!("encoder.{conv}.weight"), vec![a, inputs, 3], w)?;
        let b = src.values(&format!("encoder/{conv}/bias"), &[a])?;
        out.push_f32(format!("encoder.{conv}.bias"), vec![a, 1], b)?;
    }
    let pos = src.values("encoder/position_encodings/encodings", &[actx, a])?;
    out.push_f32("encoder.positional_embedding".into(), vec![actx, a], pos)?;
    for i in 0..hp.n_audio_layer {
        block_common(
            &src,
            out,
            &format!("encoder/layer_{i}"),
            &format!("encoder.blocks.{i}"),
            a,
        )?;
    }
    norm(&src, out, "encoder/layer_norm", "encoder.ln_post", a)?;

    let emb = src.values("decoder/embeddings/weight", &[v, t])?;
    out.push("decoder.token_embedding.weight".into(), vec![v, t], emb)?;
    let pos = src.values("decoder/position_encodings/encodings", &[tctx, t])?;
    out.push_f32("decoder.positional_embedding".into(), vec![tctx, t], pos)?;
    for i in 0..hp.n_text_layer {
        let (from, to) = (format!("decoder/layer_{i}"), format!("decoder.blocks.{i}"));
        block_common(&src, out, &from, &to, t)?;
        norm(
            &src,
            out,
            &format!("{from}/attention/layer_norm"),
            &format!("{to}.cross_attn_ln"),
            t,
        )?;
        linear(
            &src,
            out,
            &format!("{from}/attention/linear_0"),
            &format!("{to}.cross_attn.query"),
            t,
            t,
        )?;
        fused(
            &src,
            out,
            &format!("{from}/attention/linear_1"),
            &format!("{to}.cross_attn"),
            &["key", "value"],
            t,
        )?;
        linear(
            &src,
            out,
            &format!("{from}/attention/linear_2"),
            &format!("{to}.cross_attn.out"),
            t,
            t,
        )?;
    }
    norm(&src, out, "decoder/layer_norm", "decoder.ln", t)
}

/// Reads `dir` (model.bin + vocabulary) and writes the ggml model to `out`.
///
/// # Errors
/// Missing or unreadable files, a model.bin over the memory budget or that is not a
/// complete Whisper model whisper.cpp can run, or a write failure (the caller writes to a
/// temporary file and renames on success).
pub fn convert_dir(
    dir: &Path,
    matrices: Storage,
    out: &mut impl Write,
) -> Result<Converted, ConvertError> {
    let bin_path = dir.join("model.bin");
    if !bin_path.is_file() {
        return Err(ConvertError::NoModel {
            dir: dir.display().to_string(),
        });
    }
    let (vocab_path, json) = [("vocabulary.json", true), ("vocabulary.txt", false)]
        .iter()
        .map(|(n, j)| (dir.join(n), *j))
        .find(|(p, _)| p.is_file())
        .ok_or_else(|| ConvertError::NoVocabulary {
            dir: dir.display().to_string(),
        })?;
    let size_bytes = std::fs::metadata(&bin_path)
        .map_err(io_err(&bin_path))?
        .len();
    if size_bytes > MAX_MODEL_BIN_BYTES {
        return Err(ConvertError::TooLarge {
            path: bin_path.display().to_string(),
            size_bytes,
            budget_bytes: MAX_MODEL_BIN_BYTES,
        });
    }
    let bytes = std::fs::read(&bin_path).map_err(io_err(&bin_path))?;
    let model = ct2::parse(&bytes).map_err(|source| ConvertError::Ct2 {
        path: bin_path.display().to_string(),
        source,
    })?;
    drop(bytes);
    // Whisper's vocabularies are about 1 MB; a bigger file is not one.
    let vocab_bytes = std::fs::metadata(&vocab_path)
        .map_err(io_err(&vocab_path))?
        .len();
    if vocab_bytes > MAX_VOCABULARY_BYTES {
        return Err(ConvertError::TooLarge {
            path: vocab_path.display().to_string(),
            size_bytes: vocab_bytes,
            budget_bytes: MAX_VOCABULARY_BYTES,
        });
    }
    let text = std::fs::read_to_string(&vocab_path).map_err(io_err(&vocab_path))?;
    let tokens = vocab::parse_tokens(&text, json)?;
    convert_model(&model, &tokens, matrices, out)
}

/// Converts a parsed model with its vocabulary tokens.
///
/// # Errors
/// A variable is missing or has a shape other than the hyper-parameters imply, the
/// hyper-parameters are not ones whisper.cpp can run, or the write fails.
pub fn convert_model(
    model: &Ct2Model,
    tokens: &[String],
    matrices: Storage,
    out: &mut impl Write,
) -> Result<Converted, ConvertError> {
    let mut hparams = hparams(model)?;
    // Every matrix row is n_state or 4 n_state long: whole q8_0 blocks in every released
    // Whisper (384 to 1280); anything else keeps f16.
    let matrices = match matrices {
        Storage::Q8_0 if hparams.n_text_state % 32 == 0 => Storage::Q8_0,
        Storage::Q8_0 => Storage::F16,
        other => other,
    };
    hparams.ftype = match matrices {
        Storage::Q8_0 => ggml::FTYPE_Q8_0,
        _ => ggml::FTYPE_F16,
    };
    let multilingual = hparams.n_vocab >= 51865;
    let tokens = vocab::ggml_tokens(tokens, multilingual)?;
    let n_mels = hparams.n_mels as usize;
    // Whisper's mel bank: its 16 kHz input, 400-point FFT.
    let filters = mel::filters(f64::from(crate::dsp::resample::SPEECH_RATE_HZ), 400, n_mels);
    ggml::write_header(out, &hparams, &filters, n_mels, &tokens).map_err(ConvertError::Write)?;
    let mut sink = Out {
        w: out,
        tensors: 0,
        matrices,
    };
    map_tensors(model, &hparams, &mut sink)?;
    let tensors = sink.tensors;
    out.flush().map_err(ConvertError::Write)?;
    Ok(Converted {
        hparams,
        tensors,
        multilingual,
    })
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::model::ct2::{DType, Variable};

    fn f32_var(dims: &[usize], seed: f32) -> Variable {
        let n: usize = dims.iter().product::<usize>();
        let data = (0..n)
            .flat_map(|i| (seed + i as f32 * 0.01).to_le_bytes())
            .collect();
        Variable {
            dims: dims.to_vec(),
            dtype: DType::F32,
            data,
        }
    }

    /// A complete Whisper-shaped CT2 model, tiny but for the dimensions whisper.cpp fixes
    /// (vocabulary, contexts, mels): d = 4, 1 encoder and 1 decoder layer.
    pub(crate) fn synthetic(int8_ffn: bool) -> Vec<(String, Variable)> {
        synthetic_of_width(int8_ffn, 4)
    }

    fn synthetic_of_width(int8_ffn: bool, d: usize) -> Vec<(String, Variable)> {
        let mut v: Vec<(String, Variable)> = Vec::new();
        let mut add = |n: String, dims: &[usize]| {
            let seed = v.len() as f32;
            v.push((n, f32_var(dims, seed)));
        };
        add("encoder/conv1/weight".into(), &[d, 80, 3]);
        add("encoder/conv1/bias".into(), &[d]);
        add("encoder/conv2/weight".into(), &[d, d, 3]);
        add("encoder/conv2/bias".into(), &[d]);
        add("encoder/position_encodings/encodings".into(), &[1500, d]);
        add("decoder/embeddings/weight".into(), &[51864, d]);
        add("decoder/position_encodings/encodings".into(), &[448, d]);
        for p in ["encoder/layer_norm", "decoder/layer_norm"] {
            add(format!("{p}/gamma"), &[d]);
            add(format!("{p}/beta"), &[d]);
        }
        for side in ["encoder", "decoder"] {
            let l = format!("{side}/layer_0");
            for n in ["self_attention/layer_norm", "ffn/layer_norm"] {
                add(format!("{l}/{n}/gamma"), &[d]);
                add(format!("{l}/{n}/beta"), &[d]);
            }
            add(format!("{l}/self_attention/linear_0/weight"), &[3 * d, d]);
            add(format!("{l}/self_attention/linear_0/bias"), &[3 * d]);
            add(format!("{l}/self_attention/linear_1/weight"), &[d, d]);
            add(format!("{l}/self_attention/linear_1/bias"), &[d]);
            if !int8_ffn {
                add(format!("{l}/ffn/linear_0/weight"), &[4 * d, d]);
            }
            add(format!("{l}/ffn/linear_0/bias"), &[4 * d]);
            add(format!("{l}/ffn/linear_1/weight"), &[d, 4 * d]);
            add(format!("{l}/ffn/linear_1/bias"), &[d]);
        }
        let l = "decoder/layer_0/attention";
        add(format!("{l}/layer_norm/gamma"), &[d]);
        add(format!("{l}/layer_norm/beta"), &[d]);
        add(format!("{l}/linear_0/weight"), &[d, d]);
        add(format!("{l}/linear_0/bias"), &[d]);
        add(format!("{l}/linear_1/weight"), &[2 * d, d]);
        add(format!("{l}/linear_1/bias"), &[2 * d]);
        add(format!("{l}/linear_2/weight"), &[d, d]);
        add(format!("{l}/linear_2/bias"), &[d]);
        let heads = Variable {
            dims: vec![],
            dtype: DType::I16,
            data: 2i16.to_le_bytes().to_vec(),
        };
        v.push(("encoder/num_heads".into(), heads.clone()));
        v.push(("decoder/num_heads".into(), heads));
        if int8_ffn {
            for side in ["encoder", "decoder"] {
                // Row r holds q = [r+1, -(r+1), 0, 127], scale 127 / (r+1): w = q / scale.
                let rows = 4 * d;
                let q: Vec<u8> = (0..rows)
                    .flat_map(|r| {
                        let a = (r + 1) as i8;
                        [a as u8, (-a) as u8, 0, 127]
                    })
                    .collect();
                let scale: Vec<u8> = (0..rows)
                    .flat_map(|r| (127.0f32 / (r + 1) as f32).to_le_bytes())
                    .collect();
                let l = format!("{side}/layer_0/ffn/linear_0");
                v.push((
                    format!("{l}/weight"),
                    Variable {
                        dims: vec![rows, d],
                        dtype: DType::I8,
                        data: q,
                    },
                ));
                v.push((
                    format!("{l}/weight_scale"),
                    Variable {
                        dims: vec![rows],
                        dtype: DType::F32,
                        data: scale,
                    },
                ));
            }
        }
        v
    }

    fn convert_synthetic(int8: bool) -> ggml::Summary {
        convert_vars(&synthetic(int8), Storage::F16)
    }

    fn convert_vars(vars: &[(String, Variable)], matrices: Storage) -> ggml::Summary {
        let refs: Vec<(&str, Variable)> =
            vars.iter().map(|(n, v)| (n.as_str(), v.clone())).collect();
        let bin = ct2::write(
            "WhisperSpec",
            3,
            &refs,
            &[("decoder/projection/weight", "decoder/embeddings/weight")],
        );
        let model = ct2::parse(&bin).unwrap();
        let tokens: Vec<String> = ["a", "Ġb", "<|endoftext|>", "<|en|>"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        let mut out = Vec::new();
        let c = convert_model(&model, &tokens, matrices, &mut out).unwrap();
        assert_eq!(
            c.tensors,
            7 + 15 + 4 + 24,
            "tiny layout: 7 + 15/enc layer + 4 + 24/dec layer"
        );
        ggml::check(std::io::Cursor::new(&out)).expect("the output passes the load-time walk");
        ggml::read(&mut out.as_slice()).unwrap()
    }

    /// Converts the synthetic model after `edit`; the error, if any, as the user sees it.
    fn convert_edited(edit: impl FnOnce(&mut Vec<(String, Variable)>)) -> Result<(), String> {
        let mut vars = synthetic(false);
        edit(&mut vars);
        let refs: Vec<(&str, Variable)> =
            vars.iter().map(|(n, v)| (n.as_str(), v.clone())).collect();
        let model = ct2::parse(&ct2::write("WhisperSpec", 3, &refs, &[])).unwrap();
        let tokens = vec!["a".to_string(), "<|endoftext|>".to_string()];
        convert_model(&model, &tokens, Storage::F16, &mut Vec::new())
            .map(drop)
            .map_err(|e| format!("{:#}", anyhow::Error::from(e)))
    }

    fn set(vars: &mut [(String, Variable)], name: &str, v: Variable) {
        vars.iter_mut().find(|(n, _)| n == name).unwrap().1 = v;
    }

    fn scalar_i16(v: i16) -> Variable {
        Variable {
            dims: vec![],
            dtype: DType::I16,
            data: v.to_le_bytes().to_vec(),
        }
    }

    // Issue 11: rank-0 shapes indexed and divided by zero (convert.rs:97, :98, :252, :271).
    #[test]
    fn rank_zero_shapes_are_shape_errors() {
        for name in [
            "encoder/layer_0/self_attention/linear_0/weight",
            "encoder/layer_0/self_attention/linear_0/bias",
            "encoder/conv1/bias",
            "decoder/embeddings/weight",
            "encoder/conv1/weight",
            "decoder/layer_0/attention/linear_1/weight",
        ] {
            let err = convert_edited(|v| set(v, name, f32_var(&[], 1.0))).unwrap_err();
            assert!(
                err.contains(name) && err.contains("shape []"),
                "{name}: {err}"
            );
            assert!(err.contains("export it again"), "says what to do: {err}");
        }
    }

    #[test]
    fn zero_dimensions_are_refused() {
        let err = convert_edited(|v| {
            set(
                v,
                "encoder/layer_0/self_attention/linear_0/weight",
                f32_var(&[0, 4], 1.0),
            )
        })
        .unwrap_err();
        assert!(err.contains("shape [0, 4], expected [12, 4]"), "{err}");
    }

    // Issue 11: n_mels = 0 divided by zero in ggml::write_header.
    #[test]
    fn zero_mels_is_refused() {
        let err = convert_edited(|v| set(v, "encoder/conv1/weight", f32_var(&[4, 0, 3], 1.0)))
            .unwrap_err();
        assert!(err.contains("n_mels is 0, expected 80 or 128"), "{err}");
    }

    // Issue 11: 0, 7 and negative heads hit SIGFPE and ggml asserts in the check clip.
    #[test]
    fn heads_out_of_range_or_not_dividing_the_width_are_refused() {
        for (heads, want) in [
            (0, "n_audio_head is 0, expected 1 to 64"),
            (-2, "n_audio_head is -2, expected 1 to 64"),
            (
                3,
                "n_audio_head is 3, which does not divide n_audio_state = 4",
            ),
        ] {
            let err =
                convert_edited(|v| set(v, "encoder/num_heads", scalar_i16(heads))).unwrap_err();
            assert!(err.contains(want), "{heads}: {err}");
            assert!(err.contains("whisper.cpp can run"), "{err}");
        }
        let err = convert_edited(|v| set(v, "decoder/num_heads", f32_var(&[3], 2.0))).unwrap_err();
        assert!(err.contains("expected one value"), "{err}");
    }

    #[test]
    fn a_wrong_scale_length_is_refused() {
        let err = convert_edited(|v| {
            let l = "encoder/layer_0/ffn/linear_0";
            set(
                v,
                &format!("{l}/weight"),
                Variable {
                    dims: vec![16, 4],
                    dtype: DType::I8,
                    data: vec![1; 64],
                },
            );
            v.push((format!("{l}/weight_scale"), f32_var(&[3], 1.0)));
        })
        .unwrap_err();
        assert!(
            err.contains("weight_scale") && err.contains("[1] or [16]"),
            "{err}"
        );
    }

    #[test]
    fn maps_names_shapes_and_types() {
        let s = convert_synthetic(false);
        assert_eq!(s.hparams.n_vocab, 51864);
        assert_eq!(s.hparams.n_audio_ctx, 1500);
        assert_eq!(s.hparams.n_audio_state, 4);
        assert_eq!(s.hparams.n_audio_head, 2);
        assert_eq!(s.hparams.n_audio_layer, 1);
        assert_eq!(s.hparams.n_text_ctx, 448);
        assert_eq!(s.hparams.n_text_layer, 1);
        assert_eq!(s.hparams.n_mels, 80);
        assert_eq!(s.tokens, vec![b"a".to_vec(), b" b".to_vec()]);
        let find = |n: &str| {
            s.tensors
                .iter()
                .find(|t| t.0 == n)
                .unwrap_or_else(|| panic!("{n} missing"))
        };
        assert!(
            s.tensors.iter().all(|t| !t.0.ends_with("key.bias")),
            "no key biases"
        );
        assert_eq!(
            find("encoder.conv1.bias").1,
            vec![1, 4],
            "conv bias is (n, 1)"
        );
        assert_eq!(find("encoder.conv1.bias").2, ggml::FTYPE_F32);
        assert_eq!(find("encoder.positional_embedding").2, ggml::FTYPE_F32);
        assert_eq!(find("decoder.positional_embedding").2, ggml::FTYPE_F32);
        assert_eq!(
            find("encoder.blocks.0.attn.query.weight").2,
            ggml::FTYPE_F16
        );
        assert_eq!(find("encoder.blocks.0.mlp_ln.bias").2, ggml::FTYPE_F32);
        // The fused projection is split by rows: value = rows 8..12 of linear_0.
        let vars = synthetic(false);
        let fused = vars
            .iter()
            .find(|(n, _)| n == "encoder/layer_0/self_attention/linear_0/bias")
            .unwrap()
            .1
            .to_f32();
        assert_eq!(
            find("encoder.blocks.0.attn.value.bias").3,
            fused[8..12].to_vec()
        );
        assert_eq!(
            find("encoder.blocks.0.attn.query.bias").3,
            fused[0..4].to_vec()
        );
        let cross = vars
            .iter()
            .find(|(n, _)| n == "decoder/layer_0/attention/linear_1/weight")
            .unwrap()
            .1
            .to_f32();
        let value = &find("decoder.blocks.0.cross_attn.value.weight").3;
        for (a, b) in value.iter().zip(&cross[16..32]) {
            assert!(
                (a - b).abs() <= 1e-3 * b.abs().max(1.0),
                "f16 copy of the value rows: {a} vs {b}"
            );
        }
    }

    #[test]
    fn q8_0_stores_the_matrices_and_keeps_embeddings_and_convolutions() {
        let vars = synthetic_of_width(false, 64);
        let s = convert_vars(&vars, Storage::Q8_0);
        assert_eq!(s.hparams.ftype, ggml::FTYPE_Q8_0);
        let find = |n: &str| s.tensors.iter().find(|t| t.0 == n).unwrap();
        for q in [
            "encoder.blocks.0.attn.query.weight",
            "encoder.blocks.0.mlp.2.weight",
            "decoder.token_embedding.weight",
            "decoder.blocks.0.cross_attn.value.weight",
        ] {
            assert_eq!(find(q).2, ggml::TYPE_Q8_0, "{q}");
        }
        assert_eq!(find("encoder.conv1.weight").2, ggml::FTYPE_F16);
        assert_eq!(find("encoder.positional_embedding").2, ggml::FTYPE_F32);
        assert_eq!(find("decoder.positional_embedding").2, ggml::FTYPE_F32);
        assert_eq!(find("encoder.blocks.0.mlp_ln.bias").2, ggml::FTYPE_F32);
        let source = vars
            .iter()
            .find(|(n, _)| n == "encoder/layer_0/self_attention/linear_1/weight")
            .unwrap()
            .1
            .to_f32();
        let got = &find("encoder.blocks.0.attn.out.weight").3;
        for (block, q) in source.chunks(32).zip(got.chunks(32)) {
            let step = block.iter().fold(0f32, |m, v| m.max(v.abs())) / 127.0;
            for (a, b) in block.iter().zip(q) {
                // Half a step, and the f16 scale's own rounding.
                assert!((a - b).abs() <= step * 0.51 + a.abs() * 1e-3, "{a} vs {b}");
            }
        }
    }

    #[test]
    fn q8_0_is_not_used_when_rows_do_not_fill_its_blocks() {
        let s = convert_vars(&synthetic(false), Storage::Q8_0);
        assert_eq!(s.hparams.ftype, ggml::FTYPE_F16);
        let query = s
            .tensors
            .iter()
            .find(|t| t.0 == "encoder.blocks.0.attn.query.weight")
            .unwrap();
        assert_eq!(query.2, ggml::FTYPE_F16);
    }

    #[test]
    fn dequantises_int8_weights() {
        let s = convert_synthetic(true);
        let w = &s
            .tensors
            .iter()
            .find(|t| t.0 == "encoder.blocks.0.mlp.0.weight")
            .unwrap()
            .3;
        // Row r: [r+1, -(r+1), 0, 127] / (127 / (r+1)).
        for r in 0..8 {
            let a = (r + 1) as f32;
            let want = [a * a / 127.0, -a * a / 127.0, 0.0, a];
            for (got, want) in w[r * 4..r * 4 + 4].iter().zip(want) {
                assert!(
                    (got - want).abs() < 2e-2 * want.abs().max(1.0),
                    "row {r}: {got} vs {want}"
                );
            }
        }
    }

    #[test]
    fn missing_variable_names_it() {
        let vars = synthetic(false);
        let refs: Vec<(&str, Variable)> = vars
            .iter()
            .filter(|(n, _)| n != "decoder/layer_norm/gamma")
            .map(|(n, v)| (n.as_str(), v.clone()))
            .collect();
        let model = ct2::parse(&ct2::write("WhisperSpec", 3, &refs, &[])).unwrap();
        let err = convert_model(
            &model,
            &["<|endoftext|>".into()],
            Storage::F16,
            &mut Vec::new(),
        )
        .unwrap_err();
        assert!(
            err.to_string().contains("decoder/layer_norm/gamma"),
            "{err}"
        );
    }
}
