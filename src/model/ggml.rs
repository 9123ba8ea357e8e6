//! whisper.cpp's legacy ggml model file: magic, 11 hyper-parameters, mel filters,
//! vocabulary, then named tensors. Writer for the converter, reader for verification.

use std::io::{self, Read, Write};

use half::f16;

pub const MAGIC: u32 = 0x6767_6d6c;
/// ftype of the file (1 = mostly f16) and of a tensor (0 = f32, 1 = f16).
pub const FTYPE_F32: i32 = 0;
pub const FTYPE_F16: i32 = 1;

/// Whisper's hyper-parameters in the order whisper.cpp reads them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HParams {
    pub n_vocab: i32,
    pub n_audio_ctx: i32,
    pub n_audio_state: i32,
    pub n_audio_head: i32,
    pub n_audio_layer: i32,
    pub n_text_ctx: i32,
    pub n_text_state: i32,
    pub n_text_head: i32,
    pub n_text_layer: i32,
    pub n_mels: i32,
    pub ftype: i32,
}

impl HParams {
    fn to_array(self) -> [i32; 11] {
        [
            self.n_vocab,
            self.n_audio_ctx,
            self.n_audio_state,
            self.n_audio_head,
            self.n_audio_layer,
            self.n_text_ctx,
            self.n_text_state,
            self.n_text_head,
            self.n_text_layer,
            self.n_mels,
            self.ftype,
        ]
    }
}

/// A tensor to write: PyTorch-order shape (outermost first) and f32 values.
pub struct Tensor {
    pub name: String,
    pub shape: Vec<usize>,
    pub values: Vec<f32>,
    pub f16: bool,
}

fn i32le(w: &mut impl Write, v: i32) -> io::Result<()> {
    w.write_all(&v.to_le_bytes())
}

pub fn write_header(
    w: &mut impl Write,
    hp: &HParams,
    mel: &[f32],
    n_mel: usize,
    tokens: &[Vec<u8>],
) -> io::Result<()> {
    w.write_all(&MAGIC.to_le_bytes())?;
    for v in hp.to_array() {
        i32le(w, v)?;
    }
    i32le(w, n_mel as i32)?;
    i32le(w, (mel.len() / n_mel) as i32)?;
    for v in mel {
        w.write_all(&v.to_le_bytes())?;
    }
    i32le(w, tokens.len() as i32)?;
    for t in tokens {
        i32le(w, t.len() as i32)?;
        w.write_all(t)?;
    }
    Ok(())
}

pub fn write_tensor(w: &mut impl Write, t: &Tensor) -> io::Result<()> {
    let name = t.name.as_bytes();
    i32le(w, t.shape.len() as i32)?;
    i32le(w, name.len() as i32)?;
    i32le(w, if t.f16 { FTYPE_F16 } else { FTYPE_F32 })?;
    // ggml lists dimensions innermost first.
    for &d in t.shape.iter().rev() {
        i32le(w, d as i32)?;
    }
    w.write_all(name)?;
    let mut buf = Vec::with_capacity(t.values.len() * 4);
    if t.f16 {
        for v in &t.values {
            buf.extend_from_slice(&f16::from_f32(*v).to_le_bytes());
        }
    } else {
        for v in &t.values {
            buf.extend_from_slice(&v.to_le_bytes());
        }
    }
    w.write_all(&buf)
}

/// What [`read`] finds in a file: enough to verify a conversion without whisper.cpp.
#[derive(Debug)]
pub struct Summary {
    pub hparams: HParams,
    pub mel: Vec<f32>,
    pub tokens: Vec<Vec<u8>>,
    /// name, ggml-order dims, ftype, values as f32.
    pub tensors: Vec<(String, Vec<usize>, i32, Vec<f32>)>,
}

fn read_i32(r: &mut impl Read) -> io::Result<i32> {
    let mut b = [0u8; 4];
    r.read_exact(&mut b)?;
    Ok(i32::from_le_bytes(b))
}

fn bad(msg: &str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, msg.to_string())
}

/// Reads a whole ggml file (tests and `model list` verification).
pub fn read(r: &mut impl Read) -> io::Result<Summary> {
    if read_i32(r)? as u32 != MAGIC {
        return Err(bad("not a ggml whisper model (bad magic)"));
    }
    let mut h = [0i32; 11];
    for v in &mut h {
        *v = read_i32(r)?;
    }
    let hparams = HParams {
        n_vocab: h[0],
        n_audio_ctx: h[1],
        n_audio_state: h[2],
        n_audio_head: h[3],
        n_audio_layer: h[4],
        n_text_ctx: h[5],
        n_text_state: h[6],
        n_text_head: h[7],
        n_text_layer: h[8],
        n_mels: h[9],
        ftype: h[10],
    };
    let (n_mel, n_fft) = (read_i32(r)? as usize, read_i32(r)? as usize);
    let mut mel = vec![0f32; n_mel * n_fft];
    for v in &mut mel {
        *v = f32::from_bits(read_i32(r)? as u32);
    }
    let n_tokens = read_i32(r)?;
    let mut tokens = Vec::new();
    for _ in 0..n_tokens {
        let len = read_i32(r)?;
        let mut t = vec![0u8; len.max(0) as usize];
        r.read_exact(&mut t)?;
        tokens.push(t);
    }
    let mut tensors = Vec::new();
    loop {
        let n_dims = match read_i32(r) {
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => break,
            Err(e) => return Err(e),
        };
        let name_len = read_i32(r)?;
        let ftype = read_i32(r)?;
        let mut dims = Vec::new();
        for _ in 0..n_dims {
            dims.push(read_i32(r)? as usize);
        }
        let mut name = vec![0u8; name_len as usize];
        r.read_exact(&mut name)?;
        let n: usize = dims.iter().product();
        let width = if ftype == FTYPE_F16 { 2 } else { 4 };
        let mut raw = vec![0u8; n * width];
        r.read_exact(&mut raw)?;
        let values = if ftype == FTYPE_F16 {
            raw.chunks_exact(2)
                .map(|b| f16::from_le_bytes([b[0], b[1]]).to_f32())
                .collect()
        } else {
            raw.chunks_exact(4)
                .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
                .collect()
        };
        let name = String::from_utf8(name).map_err(|_| bad("tensor name is not UTF-8"))?;
        tensors.push((name, dims, ftype, values));
    }
    Ok(Summary {
        hparams,
        mel,
        tokens,
        tensors,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        let hp = HParams {
            n_vocab: 3,
            n_audio_ctx: 2,
            n_audio_state: 4,
            n_audio_head: 1,
            n_audio_layer: 1,
            n_text_ctx: 2,
            n_text_state: 4,
            n_text_head: 1,
            n_text_layer: 1,
            n_mels: 2,
            ftype: FTYPE_F16,
        };
        let mel = vec![0.25f32, 0.5, 0.75, 1.0, 1.25, 1.5];
        let tokens = vec![b"a".to_vec(), b" b".to_vec(), Vec::new()];
        let mut out = Vec::new();
        write_header(&mut out, &hp, &mel, 2, &tokens).unwrap();
        let t = Tensor {
            name: "w".into(),
            shape: vec![2, 3],
            values: vec![1.0, 2.0, 3.0, -1.0, 0.5, 0.0],
            f16: true,
        };
        write_tensor(&mut out, &t).unwrap();
        let b = Tensor {
            name: "b".into(),
            shape: vec![2],
            values: vec![0.1, 0.2],
            f16: false,
        };
        write_tensor(&mut out, &b).unwrap();
        let s = read(&mut out.as_slice()).unwrap();
        assert_eq!(s.hparams, hp);
        assert_eq!(s.mel, mel);
        assert_eq!(s.tokens, tokens);
        assert_eq!(s.tensors.len(), 2);
        assert_eq!(s.tensors[0].0, "w");
        assert_eq!(s.tensors[0].1, vec![3, 2], "ggml order is innermost first");
        assert_eq!(s.tensors[0].2, FTYPE_F16);
        assert_eq!(s.tensors[0].3, t.values);
        assert_eq!(s.tensors[1].2, FTYPE_F32);
        assert_eq!(s.tensors[1].3, b.values);
    }

    #[test]
    fn bad_magic_is_rejected() {
        let err = read(&mut [0u8; 64].as_slice()).unwrap_err();
        assert!(err.to_string().contains("magic"));
    }
}
