//! CTranslate2 Whisper model directory -> whisper.cpp ggml file. Owns the tensor mapping
//! (fused attention projections split, key biases dropped, int8 dequantised).

use std::io::Write;
use std::path::Path;

use super::ct2::{self, Ct2Model};
use super::ggml::{self, HParams, Tensor};
use super::{mel, vocab};

#[derive(Debug, thiserror::Error)]
pub enum ConvertError {
    #[error("{path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    #[error("{path}: {source}")]
    Ct2 { path: String, source: ct2::Ct2Error },
    #[error("{dir}: no model.bin; give a CTranslate2 (faster-whisper) model directory")]
    NoModel { dir: String },
    #[error("{dir}: no vocabulary.txt or vocabulary.json beside model.bin")]
    NoVocabulary { dir: String },
    #[error("{0}")]
    Vocab(#[from] vocab::VocabError),
    #[error("model.bin lacks variable {0:?}; is it a complete Whisper model?")]
    Missing(String),
    #[error("variable {name:?} has shape {got:?}, expected {want:?}")]
    Shape {
        name: String,
        got: Vec<usize>,
        want: Vec<usize>,
    },
}

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

    /// The variable as f32; int8/int16 weights are divided by their per-row `weight_scale`.
    fn values(&self, name: &str) -> Result<(Vec<usize>, Vec<f32>), ConvertError> {
        let v = self.raw(name)?;
        let mut values = v.to_f32();
        if matches!(v.dtype, ct2::DType::I8 | ct2::DType::I16) {
            let scale_name = format!("{name}_scale");
            let scale = self.raw(&scale_name)?.to_f32();
            let rows = v.dims.first().copied().unwrap_or(1);
            if scale.len() == 1 {
                values.iter_mut().for_each(|x| *x /= scale[0]);
            } else if scale.len() == rows {
                let cols = values.len() / rows.max(1);
                for (r, s) in scale.iter().enumerate() {
                    values[r * cols..(r + 1) * cols]
                        .iter_mut()
                        .for_each(|x| *x /= s);
                }
            } else {
                return Err(ConvertError::Shape {
                    name: scale_name,
                    got: vec![scale.len()],
                    want: vec![rows],
                });
            }
        }
        Ok((v.dims.clone(), values))
    }

    fn scalar(&self, name: &str) -> Result<i32, ConvertError> {
        Ok(self.raw(name)?.scalar_i64().unwrap_or(0) as i32)
    }
}

/// Splits a fused [k*d, ...] weight or [k*d] bias into k row blocks.
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

struct Out {
    tensors: Vec<Tensor>,
}

impl Out {
    /// 1-D tensors stay f32 (whisper.cpp's loader expects them so); matrices go to f16.
    fn push(&mut self, name: String, shape: Vec<usize>, values: Vec<f32>) {
        let f16 = shape.len() >= 2;
        self.tensors.push(Tensor {
            name,
            shape,
            values,
            f16,
        });
    }
    fn push_f32(&mut self, name: String, shape: Vec<usize>, values: Vec<f32>) {
        self.tensors.push(Tensor {
            name,
            shape,
            values,
            f16: false,
        });
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

fn linear(src: &Source, out: &mut Out, from: &str, to: &str) -> Result<(), ConvertError> {
    let (d, w) = src.values(&format!("{from}/weight"))?;
    out.push(format!("{to}.weight"), d, w);
    let (d, b) = src.values(&format!("{from}/bias"))?;
    out.push(format!("{to}.bias"), d, b);
    Ok(())
}

fn norm(src: &Source, out: &mut Out, from: &str, to: &str) -> Result<(), ConvertError> {
    let (d, g) = src.values(&format!("{from}/gamma"))?;
    out.push(format!("{to}.weight"), d, g);
    let (d, b) = src.values(&format!("{from}/beta"))?;
    out.push(format!("{to}.bias"), d, b);
    Ok(())
}

/// Fused q/k/v (k = 3) or k/v (k = 2) projection: the key gets no bias in whisper.cpp.
fn fused(
    src: &Source,
    out: &mut Out,
    from: &str,
    to: &str,
    names: &[&str],
) -> Result<(), ConvertError> {
    let k = names.len();
    let (d, w) = src.values(&format!("{from}/weight"))?;
    let (bd, b) = src.values(&format!("{from}/bias"))?;
    let weights = split_rows(&d, w, k);
    let biases = split_rows(&bd, b, k);
    for ((name, (wd, wv)), (bd, bv)) in names.iter().zip(weights).zip(biases) {
        out.push(format!("{to}.{name}.weight"), wd, wv);
        if *name != "key" {
            out.push(format!("{to}.{name}.bias"), bd, bv);
        }
    }
    Ok(())
}

fn block_common(src: &Source, out: &mut Out, from: &str, to: &str) -> Result<(), ConvertError> {
    norm(
        src,
        out,
        &format!("{from}/self_attention/layer_norm"),
        &format!("{to}.attn_ln"),
    )?;
    fused(
        src,
        out,
        &format!("{from}/self_attention/linear_0"),
        &format!("{to}.attn"),
        &["query", "key", "value"],
    )?;
    linear(
        src,
        out,
        &format!("{from}/self_attention/linear_1"),
        &format!("{to}.attn.out"),
    )?;
    norm(
        src,
        out,
        &format!("{from}/ffn/layer_norm"),
        &format!("{to}.mlp_ln"),
    )?;
    linear(
        src,
        out,
        &format!("{from}/ffn/linear_0"),
        &format!("{to}.mlp.0"),
    )?;
    linear(
        src,
        out,
        &format!("{from}/ffn/linear_1"),
        &format!("{to}.mlp.2"),
    )
}

/// Maps every variable; returns hyper-parameters and the tensors in whisper.cpp naming.
fn map_model(model: &Ct2Model) -> Result<(HParams, Vec<Tensor>), ConvertError> {
    let src = Source { model };
    let mut out = Out {
        tensors: Vec::new(),
    };
    let n_audio_layer = layer_count(model, "encoder");
    let n_text_layer = layer_count(model, "decoder");

    let (conv1_dims, conv1) = src.values("encoder/conv1/weight")?;
    if conv1_dims.len() != 3 {
        return Err(ConvertError::Shape {
            name: "encoder/conv1/weight".into(),
            got: conv1_dims,
            want: vec![0, 80, 3],
        });
    }
    let (n_audio_state, n_mels) = (conv1_dims[0], conv1_dims[1]);
    out.push("encoder.conv1.weight".into(), conv1_dims, conv1);
    for conv in ["conv1", "conv2"] {
        if conv == "conv2" {
            let (d, w) = src.values("encoder/conv2/weight")?;
            out.push("encoder.conv2.weight".into(), d, w);
        }
        let (d, b) = src.values(&format!("encoder/{conv}/bias"))?;
        out.push_f32(format!("encoder.{conv}.bias"), vec![d[0], 1], b);
    }
    let (enc_pos_dims, enc_pos) = src.values("encoder/position_encodings/encodings")?;
    out.push_f32(
        "encoder.positional_embedding".into(),
        enc_pos_dims.clone(),
        enc_pos,
    );
    for i in 0..n_audio_layer {
        block_common(
            &src,
            &mut out,
            &format!("encoder/layer_{i}"),
            &format!("encoder.blocks.{i}"),
        )?;
    }
    norm(&src, &mut out, "encoder/layer_norm", "encoder.ln_post")?;

    let (emb_dims, emb) = src.values("decoder/embeddings/weight")?;
    let (n_vocab, n_text_state) = (emb_dims[0], emb_dims[1]);
    out.push("decoder.token_embedding.weight".into(), emb_dims, emb);
    let (dec_pos_dims, dec_pos) = src.values("decoder/position_encodings/encodings")?;
    out.push_f32(
        "decoder.positional_embedding".into(),
        dec_pos_dims.clone(),
        dec_pos,
    );
    for i in 0..n_text_layer {
        let (from, to) = (format!("decoder/layer_{i}"), format!("decoder.blocks.{i}"));
        block_common(&src, &mut out, &from, &to)?;
        norm(
            &src,
            &mut out,
            &format!("{from}/attention/layer_norm"),
            &format!("{to}.cross_attn_ln"),
        )?;
        linear(
            &src,
            &mut out,
            &format!("{from}/attention/linear_0"),
            &format!("{to}.cross_attn.query"),
        )?;
        fused(
            &src,
            &mut out,
            &format!("{from}/attention/linear_1"),
            &format!("{to}.cross_attn"),
            &["key", "value"],
        )?;
        linear(
            &src,
            &mut out,
            &format!("{from}/attention/linear_2"),
            &format!("{to}.cross_attn.out"),
        )?;
    }
    norm(&src, &mut out, "decoder/layer_norm", "decoder.ln")?;

    let hparams = HParams {
        n_vocab: n_vocab as i32,
        n_audio_ctx: enc_pos_dims[0] as i32,
        n_audio_state: n_audio_state as i32,
        n_audio_head: src.scalar("encoder/num_heads")?,
        n_audio_layer: n_audio_layer as i32,
        n_text_ctx: dec_pos_dims[0] as i32,
        n_text_state: n_text_state as i32,
        n_text_head: src.scalar("decoder/num_heads")?,
        n_text_layer: n_text_layer as i32,
        n_mels: n_mels as i32,
        ftype: ggml::FTYPE_F16,
    };
    Ok((hparams, out.tensors))
}

/// Reads `dir` (model.bin + vocabulary) and writes the ggml model to `out`.
///
/// # Errors
/// Missing or unreadable files, a model.bin that is not a complete Whisper model, or a
/// write failure (the caller writes to a temporary file and renames on success).
pub fn convert_dir(dir: &Path, out: &mut impl Write) -> Result<Converted, ConvertError> {
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
    let bytes = std::fs::read(&bin_path).map_err(io_err(&bin_path))?;
    let model = ct2::parse(&bytes).map_err(|source| ConvertError::Ct2 {
        path: bin_path.display().to_string(),
        source,
    })?;
    drop(bytes);
    let text = std::fs::read_to_string(&vocab_path).map_err(io_err(&vocab_path))?;
    let tokens = vocab::parse_tokens(&text, json)?;
    convert_model(&model, &tokens, out)
}

/// Converts a parsed model with its vocabulary tokens.
pub fn convert_model(
    model: &Ct2Model,
    tokens: &[String],
    out: &mut impl Write,
) -> Result<Converted, ConvertError> {
    let (hparams, tensors) = map_model(model)?;
    let multilingual = hparams.n_vocab >= 51865;
    let tokens = vocab::ggml_tokens(tokens, multilingual)?;
    let n_mels = hparams.n_mels as usize;
    let filters = mel::filters(16000.0, 400, n_mels);
    let io = |source| ConvertError::Io {
        path: "output model".into(),
        source,
    };
    ggml::write_header(out, &hparams, &filters, n_mels, &tokens).map_err(io)?;
    for t in &tensors {
        ggml::write_tensor(out, t).map_err(io)?;
    }
    out.flush().map_err(io)?;
    Ok(Converted {
        hparams,
        tensors: tensors.len(),
        multilingual,
    })
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::model::ct2::{DType, Variable};

    fn f32_var(dims: &[usize], seed: f32) -> Variable {
        let n: usize = dims.iter().product::<usize>().max(1);
        let data = (0..n)
            .flat_map(|i| (seed + i as f32 * 0.01).to_le_bytes())
            .collect();
        Variable {
            dims: dims.to_vec(),
            dtype: DType::F32,
            data,
        }
    }

    /// A complete, tiny Whisper-shaped CT2 model: d = 4, 1 encoder and 1 decoder layer.
    pub(crate) fn synthetic(int8_ffn: bool) -> Vec<(String, Variable)> {
        let d = 4;
        let mut v: Vec<(String, Variable)> = Vec::new();
        let mut add = |n: String, dims: &[usize]| {
            let seed = v.len() as f32;
            v.push((n, f32_var(dims, seed)));
        };
        add("encoder/conv1/weight".into(), &[d, 2, 3]);
        add("encoder/conv1/bias".into(), &[d]);
        add("encoder/conv2/weight".into(), &[d, d, 3]);
        add("encoder/conv2/bias".into(), &[d]);
        add("encoder/position_encodings/encodings".into(), &[6, d]);
        add("decoder/embeddings/weight".into(), &[5, d]);
        add("decoder/position_encodings/encodings".into(), &[3, d]);
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
                add(format!("{l}/ffn/linear_0/weight"), &[2 * d, d]);
            }
            add(format!("{l}/ffn/linear_0/bias"), &[2 * d]);
            add(format!("{l}/ffn/linear_1/weight"), &[d, 2 * d]);
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
                let rows = 2 * d;
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
        let vars = synthetic(int8);
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
        let c = convert_model(&model, &tokens, &mut out).unwrap();
        assert_eq!(
            c.tensors,
            7 + 15 + 4 + 24,
            "tiny layout: 7 + 15/enc layer + 4 + 24/dec layer"
        );
        ggml::read(&mut out.as_slice()).unwrap()
    }

    #[test]
    fn maps_names_shapes_and_types() {
        let s = convert_synthetic(false);
        assert_eq!(s.hparams.n_vocab, 5);
        assert_eq!(s.hparams.n_audio_ctx, 6);
        assert_eq!(s.hparams.n_audio_state, 4);
        assert_eq!(s.hparams.n_audio_head, 2);
        assert_eq!(s.hparams.n_audio_layer, 1);
        assert_eq!(s.hparams.n_text_ctx, 3);
        assert_eq!(s.hparams.n_text_layer, 1);
        assert_eq!(s.hparams.n_mels, 2);
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
        let err = convert_model(&model, &["<|endoftext|>".into()], &mut Vec::new()).unwrap_err();
        assert!(
            err.to_string().contains("decoder/layer_norm/gamma"),
            "{err}"
        );
    }
}
