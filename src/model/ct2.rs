//! Reader for CTranslate2 `model.bin` files (binary version 6), the format faster-whisper
//! models ship in. Owns parsing and dtype conversion; knows nothing about Whisper layout.

use std::collections::BTreeMap;

use half::{bf16, f16};

/// A CTranslate2 dtype code as stored in `model.bin`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DType {
    F32,
    I8,
    I16,
    I32,
    F16,
    Bf16,
}

impl DType {
    fn from_code(code: u8) -> Option<Self> {
        Some(match code {
            0 => Self::F32,
            1 => Self::I8,
            2 => Self::I16,
            3 => Self::I32,
            4 => Self::F16,
            5 => Self::Bf16,
            _ => return None,
        })
    }

    pub fn code(self) -> u8 {
        match self {
            Self::F32 => 0,
            Self::I8 => 1,
            Self::I16 => 2,
            Self::I32 => 3,
            Self::F16 => 4,
            Self::Bf16 => 5,
        }
    }

    pub fn size(self) -> usize {
        match self {
            Self::I8 => 1,
            Self::I16 | Self::F16 | Self::Bf16 => 2,
            Self::F32 | Self::I32 => 4,
        }
    }
}

/// One named variable of the model.
#[derive(Debug, Clone)]
pub struct Variable {
    pub dims: Vec<usize>,
    pub dtype: DType,
    pub data: Vec<u8>,
}

impl Variable {
    /// The values as f32, whatever the stored dtype (integers are converted as numbers;
    /// int8 weights need their scale applied by the caller).
    pub fn to_f32(&self) -> Vec<f32> {
        let d = &self.data;
        match self.dtype {
            DType::F32 => d
                .chunks_exact(4)
                .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
                .collect(),
            DType::F16 => d
                .chunks_exact(2)
                .map(|b| f16::from_le_bytes([b[0], b[1]]).to_f32())
                .collect(),
            DType::Bf16 => d
                .chunks_exact(2)
                .map(|b| bf16::from_le_bytes([b[0], b[1]]).to_f32())
                .collect(),
            DType::I8 => d.iter().map(|&b| b as i8 as f32).collect(),
            DType::I16 => d
                .chunks_exact(2)
                .map(|b| i16::from_le_bytes([b[0], b[1]]) as f32)
                .collect(),
            DType::I32 => d
                .chunks_exact(4)
                .map(|b| i32::from_le_bytes([b[0], b[1], b[2], b[3]]) as f32)
                .collect(),
        }
    }

    /// A scalar integer variable (e.g. `encoder/num_heads`).
    pub fn scalar_i64(&self) -> Option<i64> {
        self.to_f32().first().map(|&v| v as i64)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum Ct2Error {
    #[error(
        "truncated model.bin: {0} ends early; the file is incomplete, download or copy it again"
    )]
    Truncated(&'static str),
    #[error("unsupported CTranslate2 model.bin version {0} (expected 6); convert the model with a CTranslate2 release that writes version 6")]
    Version(u32),
    #[error("not a Whisper model: spec is {0:?}, expected \"WhisperSpec\"")]
    NotWhisper(String),
    #[error("variable {name:?} has unknown dtype code {code}")]
    DType { name: String, code: u8 },
    #[error("variable {name:?} declares {declared} bytes but its shape needs {expected}")]
    Size {
        name: String,
        declared: usize,
        expected: usize,
    },
    #[error("variable {name:?} has shape {dims:?}, whose size overflows")]
    Overflow { name: String, dims: Vec<usize> },
    #[error("alias {alias:?} points at unknown variable {target:?}")]
    Alias { alias: String, target: String },
    #[error("invalid UTF-8 in a variable name")]
    Utf8,
}

/// A parsed `model.bin`: variables by name, and aliases by name of their target.
#[derive(Debug)]
pub struct Ct2Model {
    pub spec: String,
    pub revision: u32,
    pub vars: BTreeMap<String, Variable>,
    /// Resolved on lookup, never copied: a file may alias one large tensor thousands of
    /// times.
    pub aliases: BTreeMap<String, String>,
}

impl Ct2Model {
    pub fn get(&self, name: &str) -> Option<&Variable> {
        self.vars
            .get(name)
            .or_else(|| self.vars.get(self.aliases.get(name)?))
    }
}

struct Cursor<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Cursor<'a> {
    fn take(&mut self, n: usize, what: &'static str) -> Result<&'a [u8], Ct2Error> {
        let end = self.pos.checked_add(n).ok_or(Ct2Error::Truncated(what))?;
        let s = self
            .buf
            .get(self.pos..end)
            .ok_or(Ct2Error::Truncated(what))?;
        self.pos = end;
        Ok(s)
    }
    fn u8(&mut self, what: &'static str) -> Result<u8, Ct2Error> {
        Ok(self.take(1, what)?[0])
    }
    fn u16(&mut self, what: &'static str) -> Result<u16, Ct2Error> {
        let b = self.take(2, what)?;
        Ok(u16::from_le_bytes([b[0], b[1]]))
    }
    fn u32(&mut self, what: &'static str) -> Result<u32, Ct2Error> {
        let b = self.take(4, what)?;
        Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }
    /// u16 length (including the trailing NUL), bytes, NUL.
    fn string(&mut self, what: &'static str) -> Result<String, Ct2Error> {
        let n = self.u16(what)? as usize;
        let b = self.take(n, what)?;
        let b = b.strip_suffix(&[0]).unwrap_or(b);
        String::from_utf8(b.to_vec()).map_err(|_| Ct2Error::Utf8)
    }
}

/// Parses a whole `model.bin` held in memory.
///
/// # Errors
/// Truncated data, a version other than 6, a spec other than `WhisperSpec`, an unknown
/// dtype, a byte count that disagrees with the shape, or a dangling alias.
pub fn parse(buf: &[u8]) -> Result<Ct2Model, Ct2Error> {
    let mut c = Cursor { buf, pos: 0 };
    let version = c.u32("header")?;
    if version != 6 {
        return Err(Ct2Error::Version(version));
    }
    let spec = c.string("spec name")?;
    if spec != "WhisperSpec" {
        return Err(Ct2Error::NotWhisper(spec));
    }
    let revision = c.u32("revision")?;
    let count = c.u32("variable count")?;
    let mut vars = BTreeMap::new();
    for _ in 0..count {
        let name = c.string("variable name")?;
        let rank = c.u8("variable rank")? as usize;
        let mut dims = Vec::with_capacity(rank);
        for _ in 0..rank {
            dims.push(c.u32("variable shape")? as usize);
        }
        let code = c.u8("variable dtype")?;
        let dtype = DType::from_code(code).ok_or_else(|| Ct2Error::DType {
            name: name.clone(),
            code,
        })?;
        let declared = c.u32("variable size")? as usize;
        // The file chose these numbers: a product that wraps must not pass for small.
        let expected = dims
            .iter()
            .try_fold(dtype.size(), |acc, &d| acc.checked_mul(d))
            .ok_or_else(|| Ct2Error::Overflow {
                name: name.clone(),
                dims: dims.clone(),
            })?;
        if declared != expected {
            return Err(Ct2Error::Size {
                name,
                declared,
                expected,
            });
        }
        let data = c.take(declared, "variable data")?.to_vec();
        vars.insert(name, Variable { dims, dtype, data });
    }
    // Older writers may end right after the variables; an alias table is optional.
    let mut aliases = BTreeMap::new();
    if c.pos < buf.len() {
        let n = c.u32("alias count")?;
        for _ in 0..n {
            let alias = c.string("alias name")?;
            let target = c.string("alias target")?;
            if !vars.contains_key(&target) {
                return Err(Ct2Error::Alias { alias, target });
            }
            aliases.insert(alias, target);
        }
    }
    Ok(Ct2Model {
        spec,
        revision,
        vars,
        aliases,
    })
}

/// Writes a `model.bin`; the inverse of [`parse`], used to build synthetic models in tests.
pub fn write(
    spec: &str,
    revision: u32,
    vars: &[(&str, Variable)],
    aliases: &[(&str, &str)],
) -> Vec<u8> {
    fn string(out: &mut Vec<u8>, s: &str) {
        out.extend_from_slice(&((s.len() + 1) as u16).to_le_bytes());
        out.extend_from_slice(s.as_bytes());
        out.push(0);
    }
    let mut out = Vec::new();
    out.extend_from_slice(&6u32.to_le_bytes());
    string(&mut out, spec);
    out.extend_from_slice(&revision.to_le_bytes());
    out.extend_from_slice(&(vars.len() as u32).to_le_bytes());
    for (name, v) in vars {
        string(&mut out, name);
        out.push(v.dims.len() as u8);
        for &d in &v.dims {
            out.extend_from_slice(&(d as u32).to_le_bytes());
        }
        out.push(v.dtype.code());
        out.extend_from_slice(&(v.data.len() as u32).to_le_bytes());
        out.extend_from_slice(&v.data);
    }
    out.extend_from_slice(&(aliases.len() as u32).to_le_bytes());
    for (a, t) in aliases {
        string(&mut out, a);
        string(&mut out, t);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn var(dims: &[usize], dtype: DType, values: &[f32]) -> Variable {
        let data = values
            .iter()
            .flat_map(|&v| match dtype {
                DType::F32 => v.to_le_bytes().to_vec(),
                DType::F16 => f16::from_f32(v).to_le_bytes().to_vec(),
                DType::Bf16 => bf16::from_f32(v).to_le_bytes().to_vec(),
                DType::I8 => vec![v as i8 as u8],
                DType::I16 => (v as i16).to_le_bytes().to_vec(),
                DType::I32 => (v as i32).to_le_bytes().to_vec(),
            })
            .collect();
        Variable {
            dims: dims.to_vec(),
            dtype,
            data,
        }
    }

    #[test]
    fn reads_every_dtype_and_aliases() {
        let values = [1.0, -2.0, 0.5, 3.0];
        let dtypes = [
            DType::F32,
            DType::I8,
            DType::I16,
            DType::I32,
            DType::F16,
            DType::Bf16,
        ];
        let names: Vec<String> = dtypes.iter().map(|d| format!("v/{d:?}")).collect();
        let vars: Vec<(&str, Variable)> = dtypes
            .iter()
            .zip(&names)
            .map(|(&d, n)| {
                let vals: Vec<f32> = if matches!(d, DType::I8 | DType::I16 | DType::I32) {
                    vec![1.0, -2.0, 0.0, 3.0]
                } else {
                    values.to_vec()
                };
                (n.as_str(), var(&[2, 2], d, &vals))
            })
            .collect();
        let bin = write("WhisperSpec", 3, &vars, &[("alias/x", "v/F16")]);
        let m = parse(&bin).unwrap();
        assert_eq!(m.revision, 3);
        assert_eq!(m.get("v/F32").unwrap().to_f32(), values);
        assert_eq!(m.get("v/F16").unwrap().to_f32(), values);
        assert_eq!(m.get("v/Bf16").unwrap().to_f32(), values);
        assert_eq!(m.get("v/I8").unwrap().to_f32(), [1.0, -2.0, 0.0, 3.0]);
        assert_eq!(m.get("v/I16").unwrap().to_f32(), [1.0, -2.0, 0.0, 3.0]);
        assert_eq!(m.get("v/I32").unwrap().to_f32(), [1.0, -2.0, 0.0, 3.0]);
        assert_eq!(m.get("alias/x").unwrap().to_f32(), values);
        assert_eq!(m.get("v/F32").unwrap().dims, [2, 2]);
    }

    #[test]
    fn truncated_file_is_a_clear_error() {
        let bin = write(
            "WhisperSpec",
            3,
            &[("a", var(&[4], DType::F32, &[1.0; 4]))],
            &[],
        );
        for cut in [2, 10, 30, bin.len() - 5] {
            let err = parse(&bin[..cut]).unwrap_err();
            assert!(matches!(err, Ct2Error::Truncated(_)), "cut {cut}: {err}");
            assert!(err.to_string().contains("truncated"));
        }
    }

    #[test]
    fn wrong_version_and_spec_are_rejected() {
        let mut bin = write("WhisperSpec", 3, &[], &[]);
        bin[0] = 5;
        assert!(matches!(parse(&bin), Err(Ct2Error::Version(5))));
        let bin = write("TransformerSpec", 3, &[], &[]);
        let err = parse(&bin).unwrap_err();
        assert!(err.to_string().contains("not a Whisper model"), "{err}");
    }

    // Issue 11: a shape whose product wraps passed the size check as a tiny variable.
    #[test]
    fn a_wrapping_shape_is_refused() {
        // By hand: `write` derives the rank from real data.
        let mut bin = Vec::new();
        bin.extend_from_slice(&6u32.to_le_bytes());
        bin.extend_from_slice(&12u16.to_le_bytes());
        bin.extend_from_slice(b"WhisperSpec\0");
        bin.extend_from_slice(&3u32.to_le_bytes());
        bin.extend_from_slice(&1u32.to_le_bytes());
        bin.extend_from_slice(&2u16.to_le_bytes());
        bin.extend_from_slice(b"a\0");
        bin.push(4);
        for d in [1u32 << 31, 1 << 31, 1 << 31, 1 << 31] {
            bin.extend_from_slice(&d.to_le_bytes());
        }
        bin.push(DType::F32.code());
        bin.extend_from_slice(&0u32.to_le_bytes());
        let err = parse(&bin).unwrap_err();
        assert!(matches!(err, Ct2Error::Overflow { .. }), "{err}");
    }

    // Issue 11: 2.2 GB for a 75 MB model when every alias copied its target.
    #[test]
    fn aliases_share_their_target() {
        let names: Vec<String> = (0..10_000).map(|i| format!("alias/{i}")).collect();
        let aliases: Vec<(&str, &str)> = names.iter().map(|n| (n.as_str(), "big")).collect();
        let big = var(&[1 << 16], DType::F32, &vec![1.0; 1 << 16]);
        let m = parse(&write("WhisperSpec", 3, &[("big", big)], &aliases)).unwrap();
        assert_eq!(m.vars.len(), 1, "one copy of the data");
        assert_eq!(m.get("alias/9999").unwrap().dims, [1 << 16]);
    }

    #[test]
    fn dangling_alias_is_rejected() {
        let bin = write("WhisperSpec", 3, &[], &[("a", "missing")]);
        assert!(matches!(parse(&bin), Err(Ct2Error::Alias { .. })));
    }
}
