//! whisper.cpp's legacy ggml model file: magic, 11 hyper-parameters, mel filters,
//! vocabulary, then named tensors. Writer for the converter, reader for tests, and
//! [`check`]: the walk every file gets before whisper.cpp sees it, because whisper.cpp
//! trusts the header (a bad length aborts it, a short file loads and transcribes nothing).

use std::collections::HashMap;
use std::io::{self, Read, Seek, SeekFrom, Write};

use half::f16;

pub const MAGIC: u32 = 0x6767_6d6c;
/// ftype of the file (1 = mostly f16) and of a tensor (0 = f32, 1 = f16).
pub const FTYPE_F32: i32 = 0;
pub const FTYPE_F16: i32 = 1;
/// ftype of a file whose matrices are q8_0 (ggml's `GGML_FTYPE_MOSTLY_Q8_0`), with the
/// quantisation format version (2) in the thousands, as whisper.cpp's quantiser writes it.
pub const FTYPE_Q8_0: i32 = 2007;
/// ggml's tensor type id of q8_0: blocks of 32 values, an f16 scale and 32 signed bytes.
pub const TYPE_Q8_0: i32 = 8;
const Q8_BLOCK: usize = 32;

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
    /// The eleven header values, in the order whisper.cpp writes them.
    fn from_header(h: [i32; 11]) -> Self {
        Self {
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
        }
    }

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

/// How a tensor's values are stored in the file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Storage {
    F32,
    F16,
    /// Rows of whole 32-value blocks (the innermost dimension a multiple of 32).
    Q8_0,
}

impl Storage {
    /// The file ftype of a model whose matrices are stored so.
    pub fn ftype(self) -> i32 {
        match self {
            Storage::F32 => FTYPE_F32,
            Storage::F16 => FTYPE_F16,
            Storage::Q8_0 => FTYPE_Q8_0,
        }
    }

    fn type_id(self) -> i32 {
        match self {
            Storage::F32 => FTYPE_F32,
            Storage::F16 => FTYPE_F16,
            Storage::Q8_0 => TYPE_Q8_0,
        }
    }
}

/// A tensor to write: PyTorch-order shape (outermost first) and f32 values.
pub struct Tensor {
    pub name: String,
    pub shape: Vec<usize>,
    pub values: Vec<f32>,
    pub storage: Storage,
}

/// ggml's reference q8_0 quantisation of one block: scale = max |x| / 127, each value
/// rounded to the nearest multiple of the scale.
fn q8_0_block(values: &[f32], buf: &mut Vec<u8>) {
    let amax = values.iter().fold(0f32, |m, v| m.max(v.abs()));
    let d = amax / 127.0;
    let inv = if d > 0.0 { 1.0 / d } else { 0.0 };
    buf.extend_from_slice(&f16::from_f32(d).to_le_bytes());
    buf.extend(values.iter().map(|v| (v * inv).round() as i8 as u8));
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
    // n_mel is checked by the caller; zero must still not divide.
    i32le(w, mel.len().checked_div(n_mel).unwrap_or(0) as i32)?;
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
    i32le(w, t.storage.type_id())?;
    // ggml lists dimensions innermost first.
    for &d in t.shape.iter().rev() {
        i32le(w, d as i32)?;
    }
    w.write_all(name)?;
    let mut buf = Vec::with_capacity(t.values.len() * 4);
    match t.storage {
        Storage::F32 => {
            for v in &t.values {
                buf.extend_from_slice(&v.to_le_bytes());
            }
        }
        Storage::F16 => {
            for v in &t.values {
                buf.extend_from_slice(&f16::from_f32(*v).to_le_bytes());
            }
        }
        Storage::Q8_0 => {
            let inner = t.shape.last().copied().unwrap_or(0);
            if inner % Q8_BLOCK != 0 {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidInput,
                    format!("{}: rows of {inner} do not fill q8_0 blocks", t.name),
                ));
            }
            for block in t.values.chunks(Q8_BLOCK) {
                q8_0_block(block, &mut buf);
            }
        }
    }
    w.write_all(&buf)
}

/// The ftype in a ggml file's header, if it is one.
pub fn stored_ftype(path: &std::path::Path) -> Option<i32> {
    let mut r = std::fs::File::open(path).ok()?;
    if read_i32(&mut r).ok()? as u32 != MAGIC {
        return None;
    }
    let mut h = [0i32; 11];
    for v in &mut h {
        *v = read_i32(&mut r).ok()?;
    }
    Some(h[10])
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
    let hparams = HParams::from_header(h);
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
        let bytes = match ftype {
            FTYPE_F16 => n * 2,
            TYPE_Q8_0 => n / Q8_BLOCK * 34,
            _ => n * 4,
        };
        let mut raw = vec![0u8; bytes];
        r.read_exact(&mut raw)?;
        let values = match ftype {
            FTYPE_F16 => raw
                .chunks_exact(2)
                .map(|b| f16::from_le_bytes([b[0], b[1]]).to_f32())
                .collect(),
            TYPE_Q8_0 => raw
                .chunks_exact(34)
                .flat_map(|b| {
                    let d = f16::from_le_bytes([b[0], b[1]]).to_f32();
                    b[2..].iter().map(move |&q| f32::from(q as i8) * d)
                })
                .collect(),
            _ => raw
                .chunks_exact(4)
                .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
                .collect(),
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

/// A hyper-parameter whisper.cpp cannot run with. Shared by [`check`] and the converter,
/// so an import is refused before it writes anything whisper.cpp would choke on.
#[derive(Debug, thiserror::Error)]
pub enum HParamError {
    #[error("{name} is {value}, expected {want}")]
    Range {
        name: &'static str,
        value: i64,
        want: &'static str,
    },
    #[error("{heads_name} is {heads}, which does not divide {width_name} = {width}")]
    Heads {
        heads_name: &'static str,
        heads: i32,
        width_name: &'static str,
        width: i32,
    },
    #[error("n_audio_state is {audio}, n_text_state is {text}; whisper.cpp needs them equal")]
    Widths { audio: i32, text: i32 },
}

/// Checks the ranges whisper.cpp relies on without checking them itself.
///
/// # Errors
/// The first hyper-parameter out of range.
pub fn check_hparams(hp: &HParams) -> Result<(), HParamError> {
    fn range(
        name: &'static str,
        value: i32,
        ok: bool,
        want: &'static str,
    ) -> Result<(), HParamError> {
        if ok {
            Ok(())
        } else {
            Err(HParamError::Range {
                name,
                value: value.into(),
                want,
            })
        }
    }
    // whisper.cpp computes its special token ids from the vocabulary size, and indexes
    // logits with them: only the three Whisper vocabularies are safe.
    range(
        "n_vocab",
        hp.n_vocab,
        (51864..=51866).contains(&hp.n_vocab),
        "51864 to 51866 (a Whisper vocabulary)",
    )?;
    // Its 30-second window is fixed: 3000 mel frames, 1500 encoder frames, 448 text tokens.
    range(
        "n_audio_ctx",
        hp.n_audio_ctx,
        hp.n_audio_ctx == 1500,
        "1500",
    )?;
    range("n_text_ctx", hp.n_text_ctx, hp.n_text_ctx == 448, "448")?;
    range(
        "n_mels",
        hp.n_mels,
        hp.n_mels == 80 || hp.n_mels == 128,
        "80 or 128",
    )?;
    for (name, v) in [
        ("n_audio_state", hp.n_audio_state),
        ("n_text_state", hp.n_text_state),
    ] {
        range(name, v, (1..=MAX_STATE).contains(&v), "1 to 4096")?;
    }
    for (name, v) in [
        ("n_audio_layer", hp.n_audio_layer),
        ("n_text_layer", hp.n_text_layer),
    ] {
        range(name, v, (1..=MAX_LAYERS).contains(&v), "1 to 64")?;
    }
    for (heads_name, heads, width_name, width) in [
        (
            "n_audio_head",
            hp.n_audio_head,
            "n_audio_state",
            hp.n_audio_state,
        ),
        (
            "n_text_head",
            hp.n_text_head,
            "n_text_state",
            hp.n_text_state,
        ),
    ] {
        range(
            heads_name,
            heads,
            (1..=MAX_HEADS).contains(&heads),
            "1 to 64",
        )?;
        if width % heads != 0 {
            return Err(HParamError::Heads {
                heads_name,
                heads,
                width_name,
                width,
            });
        }
    }
    // Cross-attention multiplies decoder weights with encoder output.
    if hp.n_audio_state != hp.n_text_state {
        return Err(HParamError::Widths {
            audio: hp.n_audio_state,
            text: hp.n_text_state,
        });
    }
    let ftype = hp.ftype % 1000;
    range(
        "ftype",
        hp.ftype,
        ggml_type_for_ftype(ftype).is_some(),
        "a ggml file type (0 f32, 1 f16, or a quantisation)",
    )
}

/// Widest Whisper (large) is 1280; the caps keep a hostile header's products small.
const MAX_STATE: i32 = 4096;
const MAX_LAYERS: i32 = 64;
const MAX_HEADS: i32 = 64;
const MAX_TENSOR_NAME: i32 = 256;
const MAX_TOKEN_BYTES: u32 = 1024;

/// The tensor type of a whole-file ftype (ggml's `ggml_ftype_to_ggml_type`).
fn ggml_type_for_ftype(ftype: i32) -> Option<i32> {
    Some(match ftype {
        0 => 0,
        1 => 1,
        2 => 2,
        3 => 3,
        7 => 8,
        8 => 6,
        9 => 7,
        10..=14 => ftype,
        _ => return None,
    })
}

/// (elements per block, bytes per block) of a ggml tensor type.
fn block(ttype: i32) -> Option<(u64, u64)> {
    Some(match ttype {
        0 => (1, 4),
        1 | 30 => (1, 2),
        2 => (32, 18),
        3 => (32, 20),
        6 => (32, 22),
        7 => (32, 24),
        8 => (32, 34),
        9 => (32, 36),
        10 => (256, 84),
        11 => (256, 110),
        12 => (256, 144),
        13 => (256, 176),
        14 => (256, 210),
        15 => (256, 292),
        _ => return None,
    })
}

/// Why a file cannot be handed to whisper.cpp.
#[derive(Debug, thiserror::Error)]
pub enum CheckError {
    #[error("cannot read it")]
    Io(#[from] io::Error),
    #[error("it starts with {0:#010x}, not the ggml magic: not a whisper.cpp model")]
    Magic(u32),
    #[error("it is {len} bytes and ends inside the {part}: the file is truncated")]
    Truncated { part: &'static str, len: u64 },
    #[error(transparent)]
    HParams(#[from] HParamError),
    #[error("its mel filter table is {n_mel} x {n_fft}, expected {want_mel} x 201")]
    Filters {
        n_mel: i32,
        n_fft: i32,
        want_mel: i32,
    },
    #[error("its vocabulary has {0} tokens, more than n_vocab")]
    Vocab(i64),
    #[error("vocabulary token {index} claims {len} bytes")]
    Token { index: u32, len: u32 },
    #[error("tensor {index} has a bad header ({what} is {value})")]
    TensorHeader {
        index: usize,
        what: &'static str,
        value: i64,
    },
    #[error("tensor {name:?} is not part of a Whisper model of these dimensions")]
    Unexpected { name: String },
    #[error("tensor {name:?} appears twice")]
    Duplicate { name: String },
    #[error("tensor {name:?} has {got} elements, the header implies {want}")]
    Elements { name: String, got: u64, want: u64 },
    #[error("tensor {name:?}: {elements} elements do not fill whole blocks of type {ttype}")]
    Blocks {
        name: String,
        elements: u64,
        ttype: i32,
    },
    #[error("it has {got} of the {want} tensors its header implies (first missing: {missing:?}): the file is truncated")]
    Missing {
        got: usize,
        want: usize,
        missing: String,
    },
}

/// What [`check`] proved about a file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Layout {
    pub hparams: HParams,
    pub tensors: usize,
    pub len: u64,
}

/// The tensors a Whisper model of `hp` has, with their element counts (whisper.cpp's
/// `whisper_model_load` creates the same set and refuses a file that lacks one).
fn expected_tensors(hp: &HParams) -> HashMap<String, u64> {
    // check_hparams bounds every factor, so these products fit easily in u64.
    let (a, t) = (hp.n_audio_state as u64, hp.n_text_state as u64);
    let (m, v) = (hp.n_mels as u64, hp.n_vocab as u64);
    let mut out = HashMap::new();
    let mut add = |name: String, n: u64| {
        out.insert(name, n);
    };
    add(
        "encoder.positional_embedding".into(),
        hp.n_audio_ctx as u64 * a,
    );
    add("encoder.conv1.weight".into(), 3 * m * a);
    add("encoder.conv1.bias".into(), a);
    add("encoder.conv2.weight".into(), 3 * a * a);
    add("encoder.conv2.bias".into(), a);
    add("encoder.ln_post.weight".into(), a);
    add("encoder.ln_post.bias".into(), a);
    add(
        "decoder.positional_embedding".into(),
        hp.n_text_ctx as u64 * t,
    );
    add("decoder.token_embedding.weight".into(), v * t);
    add("decoder.ln.weight".into(), t);
    add("decoder.ln.bias".into(), t);
    let block = |add: &mut dyn FnMut(String, u64), p: &str, attn: &str, w: u64| {
        for n in ["ln.weight", "ln.bias"] {
            add(format!("{p}.{attn}_{n}"), w);
        }
        for n in ["query", "value", "out"] {
            add(format!("{p}.{attn}.{n}.weight"), w * w);
            add(format!("{p}.{attn}.{n}.bias"), w);
        }
        add(format!("{p}.{attn}.key.weight"), w * w);
    };
    for (side, layers, w) in [
        ("encoder", hp.n_audio_layer, a),
        ("decoder", hp.n_text_layer, t),
    ] {
        for i in 0..layers {
            let p = format!("{side}.blocks.{i}");
            block(&mut add, &p, "attn", w);
            if side == "decoder" {
                block(&mut add, &p, "cross_attn", w);
            }
            add(format!("{p}.mlp_ln.weight"), w);
            add(format!("{p}.mlp_ln.bias"), w);
            add(format!("{p}.mlp.0.weight"), 4 * w * w);
            add(format!("{p}.mlp.0.bias"), 4 * w);
            add(format!("{p}.mlp.2.weight"), 4 * w * w);
            add(format!("{p}.mlp.2.bias"), w);
        }
    }
    out
}

/// Reads through a file by its own lengths, never allocating what the file claims.
struct Walk<R> {
    r: R,
    pos: u64,
    len: u64,
}

impl<R: Read + Seek> Walk<R> {
    fn need(&self, n: u64, part: &'static str) -> Result<(), CheckError> {
        match self.pos.checked_add(n) {
            Some(end) if end <= self.len => Ok(()),
            _ => Err(CheckError::Truncated {
                part,
                len: self.len,
            }),
        }
    }
    fn i32(&mut self, part: &'static str) -> Result<i32, CheckError> {
        self.need(4, part)?;
        let mut b = [0u8; 4];
        self.r.read_exact(&mut b)?;
        self.pos += 4;
        Ok(i32::from_le_bytes(b))
    }
    fn skip(&mut self, n: u64, part: &'static str) -> Result<(), CheckError> {
        self.need(n, part)?;
        // need() proved n fits in the file, so it fits in i64.
        self.r.seek(SeekFrom::Current(n as i64))?;
        self.pos += n;
        Ok(())
    }
}

/// Walks a ggml model: magic, sane hyper-parameters, filters and vocabulary within the
/// file, then every tensor header (data skipped, not read) against the set the
/// hyper-parameters imply, and the file must end exactly after the last tensor.
///
/// # Errors
/// The first thing whisper.cpp would trip on; see [`CheckError`].
pub fn check(mut r: impl Read + Seek) -> Result<Layout, CheckError> {
    let len = r.seek(SeekFrom::End(0))?;
    r.seek(SeekFrom::Start(0))?;
    let mut w = Walk { r, pos: 0, len };
    let magic = w.i32("magic")? as u32;
    if magic != MAGIC {
        return Err(CheckError::Magic(magic));
    }
    let mut h = [0i32; 11];
    for v in &mut h {
        *v = w.i32("hyper-parameters")?;
    }
    let hparams = HParams::from_header(h);
    check_hparams(&hparams)?;
    let (n_mel, n_fft) = (w.i32("mel filters")?, w.i32("mel filters")?);
    if n_mel != hparams.n_mels || n_fft != 201 {
        return Err(CheckError::Filters {
            n_mel,
            n_fft,
            want_mel: hparams.n_mels,
        });
    }
    w.skip(n_mel as u64 * n_fft as u64 * 4, "mel filters")?;
    let n_tokens = w.i32("vocabulary")?;
    if !(0..=hparams.n_vocab).contains(&n_tokens) {
        return Err(CheckError::Vocab(n_tokens.into()));
    }
    for index in 0..n_tokens as u32 {
        let len = w.i32("vocabulary")? as u32;
        if len > MAX_TOKEN_BYTES {
            return Err(CheckError::Token { index, len });
        }
        w.skip(len.into(), "vocabulary")?;
    }
    let mut want = expected_tensors(&hparams);
    let total = want.len();
    let mut index = 0;
    while w.pos < w.len {
        let bad = |what, value: i32| CheckError::TensorHeader {
            index,
            what,
            value: value.into(),
        };
        let n_dims = w.i32("tensor header")?;
        let name_len = w.i32("tensor header")?;
        let ttype = w.i32("tensor header")?;
        // whisper.cpp reads the dimensions into an array of four.
        if !(1..=4).contains(&n_dims) {
            return Err(bad("n_dims", n_dims));
        }
        if !(1..=MAX_TENSOR_NAME).contains(&name_len) {
            return Err(bad("name length", name_len));
        }
        let (per_block, block_bytes) = block(ttype).ok_or_else(|| bad("type", ttype))?;
        let mut elements = 1u64;
        let mut first = 0;
        for d in 0..n_dims {
            let ne = w.i32("tensor header")?;
            if ne < 1 {
                return Err(bad("a dimension", ne));
            }
            if d == 0 {
                first = ne as u64;
            }
            // At most four factors below 2^31 each: checked, since the file chose them.
            elements = elements
                .checked_mul(ne as u64)
                .ok_or_else(|| bad("a dimension", ne))?;
        }
        w.need(name_len as u64, "tensor header")?;
        let mut name = vec![0u8; name_len as usize];
        w.r.read_exact(&mut name)?;
        w.pos += name_len as u64;
        let name = String::from_utf8_lossy(&name).into_owned();
        let Some(expected) = want.remove(&name) else {
            return Err(if expected_tensors(&hparams).contains_key(&name) {
                CheckError::Duplicate { name }
            } else {
                CheckError::Unexpected { name }
            });
        };
        if elements != expected {
            return Err(CheckError::Elements {
                name,
                got: elements,
                want: expected,
            });
        }
        // ggml asserts that rows fill whole blocks.
        if first % per_block != 0 {
            return Err(CheckError::Blocks {
                name,
                elements,
                ttype,
            });
        }
        w.skip(elements / per_block * block_bytes, "tensor data")?;
        index += 1;
    }
    if let Some(missing) = want.keys().min() {
        return Err(CheckError::Missing {
            got: index,
            want: total,
            missing: missing.clone(),
        });
    }
    Ok(Layout {
        hparams,
        tensors: index,
        len,
    })
}

#[cfg(test)]
pub(crate) mod tests {
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
            storage: Storage::F16,
        };
        write_tensor(&mut out, &t).unwrap();
        let b = Tensor {
            name: "b".into(),
            shape: vec![2],
            values: vec![0.1, 0.2],
            storage: Storage::F32,
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
    fn q8_0_rows_round_trip_within_half_a_step() {
        let values: Vec<f32> = (0..128)
            .map(|i| ((i * 37 % 101) as f32 - 50.0) / 7.0)
            .collect();
        let t = Tensor {
            name: "m".into(),
            shape: vec![2, 64],
            values: values.clone(),
            storage: Storage::Q8_0,
        };
        let mut out = Vec::new();
        write_tensor(&mut out, &t).unwrap();
        // Header (3 + 2 dims + name) and 4 blocks of 34 bytes.
        assert_eq!(out.len(), 4 * 5 + 1 + 4 * 34);
        let mut file = Vec::new();
        let hp = HParams::from_header([51864, 1500, 4, 2, 1, 448, 4, 2, 1, 80, FTYPE_Q8_0]);
        write_header(&mut file, &hp, &[], 80, &[]).unwrap();
        file.extend_from_slice(&out);
        let s = read(&mut file.as_slice()).unwrap();
        assert_eq!(s.tensors[0].2, TYPE_Q8_0);
        for (block, got) in values.chunks(32).zip(s.tensors[0].3.chunks(32)) {
            let step = block.iter().fold(0f32, |m, v| m.max(v.abs())) / 127.0;
            for (a, b) in block.iter().zip(got) {
                assert!((a - b).abs() <= step * 0.51, "{a} vs {b} (step {step})");
            }
        }
        let ragged = Tensor {
            shape: vec![2, 48],
            values: vec![1.0; 96],
            ..t
        };
        assert!(write_tensor(&mut Vec::new(), &ragged).is_err());
    }

    #[test]
    fn bad_magic_is_rejected() {
        let err = read(&mut [0u8; 64].as_slice()).unwrap_err();
        assert!(err.to_string().contains("magic"));
    }

    /// A file that passes [`check`]: real Whisper dimensions except a width of 4.
    pub(crate) fn valid_file() -> Vec<u8> {
        let hp = HParams {
            n_vocab: 51864,
            n_audio_ctx: 1500,
            n_audio_state: 4,
            n_audio_head: 2,
            n_audio_layer: 1,
            n_text_ctx: 448,
            n_text_state: 4,
            n_text_head: 2,
            n_text_layer: 1,
            n_mels: 80,
            ftype: FTYPE_F16,
        };
        let mut out = Vec::new();
        write_header(&mut out, &hp, &vec![0.5; 80 * 201], 80, &[b"a".to_vec()]).unwrap();
        let mut names: Vec<(String, u64)> = expected_tensors(&hp).into_iter().collect();
        names.sort();
        for (name, n) in names {
            let t = Tensor {
                name,
                shape: vec![n as usize],
                values: vec![0.25; n as usize],
                storage: if n > 1000 { Storage::F16 } else { Storage::F32 },
            };
            write_tensor(&mut out, &t).unwrap();
        }
        out
    }

    fn check_bytes(b: &[u8]) -> Result<Layout, CheckError> {
        check(io::Cursor::new(b))
    }

    #[test]
    fn a_valid_file_passes_the_walk() {
        let f = valid_file();
        let l = check_bytes(&f).unwrap();
        assert_eq!(l.tensors, 7 + 15 + 4 + 24);
        assert_eq!(l.len, f.len() as u64);
    }

    // Issue 11: a cut model aborted whisper.cpp or loaded and heard nothing.
    #[test]
    fn every_truncation_is_a_clear_error() {
        let f = valid_file();
        let step = (f.len() / 997).max(1);
        for cut in (0..f.len()).step_by(step).chain([f.len() - 1]) {
            let err = check_bytes(&f[..cut]).unwrap_err();
            assert!(
                matches!(
                    err,
                    CheckError::Truncated { .. } | CheckError::Missing { .. }
                ),
                "cut {cut}: {err}"
            );
            assert!(err.to_string().contains("truncated"), "cut {cut}: {err}");
        }
    }

    #[test]
    fn trailing_bytes_are_refused() {
        let mut f = valid_file();
        f.extend_from_slice(&[0; 10]);
        assert!(check_bytes(&f).is_err());
    }

    // Issue 11: a header patched to absurd sizes aborted whisper.cpp.
    #[test]
    fn absurd_header_values_are_refused_before_any_allocation() {
        let f = valid_file();
        for field in 0..11 {
            for value in [0, -1, 7, i32::MAX, i32::MIN, 1 << 20] {
                let mut g = f.clone();
                let at = 4 + 4 * field;
                g[at..at + 4].copy_from_slice(&value.to_le_bytes());
                // ftype 0 (f32) and 7 (q8_0) are legal in the header; the tensors then
                // disagree in type, which whisper.cpp reports itself.
                if field == 10 && (value == 0 || value == 7) {
                    continue;
                }
                let err = check_bytes(&g).unwrap_err();
                assert!(!err.to_string().is_empty(), "field {field} = {value}");
            }
        }
        // A token length far beyond the file: whisper.cpp threw std::length_error.
        let mut g = f.clone();
        let at = 4 + 44 + 8 + 80 * 201 * 4 + 4;
        g[at..at + 4].copy_from_slice(&u32::MAX.to_le_bytes());
        assert!(matches!(check_bytes(&g), Err(CheckError::Token { .. })));
    }

    #[test]
    fn heads_must_divide_the_width() {
        let err = check_hparams(&HParams {
            n_vocab: 51864,
            n_audio_ctx: 1500,
            n_audio_state: 384,
            n_audio_head: 7,
            n_audio_layer: 4,
            n_text_ctx: 448,
            n_text_state: 384,
            n_text_head: 6,
            n_text_layer: 4,
            n_mels: 80,
            ftype: 1,
        })
        .unwrap_err();
        assert!(
            err.to_string()
                .contains("n_audio_head is 7, which does not divide"),
            "{err}"
        );
    }
}
