//! Reads a PyTorch checkpoint in the format `torch.save` wrote before PyTorch 1.6 (five
//! pickles, then the raw storages), as Resemblyzer's `pretrained.pt` is: candle reads only
//! the zip format that followed. Float32 tensors of a state dict, nothing else.

use std::collections::HashMap;
use std::io::BufRead;

use candle_core::pickle::{Object, Stack};

/// `torch.save`'s first pickle: protocol 2, the magic number 0x1950a86a20f9469cfc6c.
const MAGIC: [u8; 15] = [
    0x80, 0x02, 0x8a, 0x0a, 0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19, 0x2e,
];

/// One tensor: its shape and its values in row-major order.
pub struct Tensor {
    pub shape: Vec<usize>,
    pub values: Vec<f32>,
}

/// Why a checkpoint cannot be read.
#[derive(Debug, thiserror::Error)]
pub enum TorchError {
    #[error("damaged pickle")]
    Pickle(#[source] candle_core::Error),
    /// What in the checkpoint is not as the format has it.
    #[error("{0}")]
    Format(String),
}

fn err(reason: impl Into<String>) -> TorchError {
    TorchError::Format(reason.into())
}

fn pickle(r: &mut impl BufRead) -> Result<Object, TorchError> {
    let mut stack = Stack::empty();
    stack.read_loop(r).map_err(TorchError::Pickle)?;
    stack.finalize().map_err(TorchError::Pickle)
}

/// Where a tensor's values live: its storage's key, offset and shape (contiguous only).
struct View {
    key: String,
    offset: usize,
    shape: Vec<usize>,
}

fn usizes(o: Object) -> Option<Vec<usize>> {
    o.tuple()
        .ok()?
        .into_iter()
        .map(|v| v.int_or_long().ok().and_then(|n| usize::try_from(n).ok()))
        .collect()
}

/// `_rebuild_tensor_v2(storage, offset, size, stride, ...)`, its storage a persistent id
/// `('storage', FloatStorage, key, location, numel)`.
fn view(o: Object) -> Option<View> {
    let (callable, args) = o.reduce().ok()?;
    let (_, class) = callable.class().ok()?;
    if class != "_rebuild_tensor_v2" {
        return None;
    }
    let mut args = args.tuple().ok()?.into_iter();
    let storage = args.next()?.persistent_load().ok()?.tuple().ok()?;
    let offset = usize::try_from(args.next()?.int_or_long().ok()?).ok()?;
    let shape = usizes(args.next()?)?;
    let stride = usizes(args.next()?)?;
    let mut storage = storage.into_iter();
    let _tag = storage.next()?;
    let (_, kind) = storage.next()?.class().ok()?;
    if kind != "FloatStorage" {
        return None;
    }
    let key = storage.next()?.unicode().ok()?;
    // Row-major and contiguous, as a freshly trained state dict is.
    let mut want = 1;
    for (&n, &s) in shape.iter().zip(&stride).rev() {
        if n > 1 && s != want {
            return None;
        }
        want *= n;
    }
    Some(View { key, offset, shape })
}

/// The float32 tensors of the state dict stored under `dict_key` (e.g. `model_state`),
/// by name.
///
/// # Errors
/// A reason, when the file is not such a checkpoint or is cut short.
pub fn read(r: &mut impl BufRead, dict_key: &str) -> Result<HashMap<String, Tensor>, TorchError> {
    let mut head = [0u8; MAGIC.len()];
    r.read_exact(&mut head)
        .map_err(|_| err("too short for a PyTorch checkpoint"))?;
    if head != MAGIC {
        return Err(err("not a PyTorch checkpoint of the legacy format"));
    }
    let _protocol = pickle(r)?;
    let _sys_info = pickle(r)?;
    let root = pickle(r)?
        .dict()
        .map_err(|_| err("the checkpoint is not a dictionary"))?;
    let state = root
        .into_iter()
        .find(|(k, _)| matches!(k, Object::Unicode(s) if s == dict_key))
        .map(|(_, v)| v)
        .ok_or_else(|| err(format!("the checkpoint has no {dict_key}")))?;
    // An OrderedDict pickles as a reduce whose state comes with a build.
    let entries = match state {
        Object::Build { args, .. } => args.dict(),
        other => other.dict(),
    }
    .map_err(|_| err(format!("{dict_key} is not a dictionary")))?;
    let mut views = Vec::new();
    // Other entries (the `_metadata` PyTorch keeps beside the tensors) are passed over.
    for (k, v) in entries {
        if let (Ok(name), Some(v)) = (k.unicode(), view(v)) {
            views.push((name, v));
        }
    }
    let keys = match pickle(r)? {
        Object::List(keys) => keys,
        _ => return Err(err("the storage list is missing")),
    };
    let mut storages = HashMap::new();
    for key in keys {
        let key = key
            .unicode()
            .map_err(|_| err("a storage key is not a name"))?;
        let mut n = [0u8; 8];
        r.read_exact(&mut n)
            .map_err(|_| err(format!("storage {key} is cut short")))?;
        let n = usize::try_from(u64::from_le_bytes(n))
            .ok()
            .filter(|&n| n <= 1 << 28)
            .ok_or_else(|| err(format!("storage {key} claims an impossible size")))?;
        let mut bytes = vec![0u8; n * 4];
        r.read_exact(&mut bytes)
            .map_err(|_| err(format!("storage {key} is cut short")))?;
        let values: Vec<f32> = bytes
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .collect();
        storages.insert(key, values);
    }
    let mut out = HashMap::new();
    for (name, v) in views {
        let n: usize = v.shape.iter().product();
        let values = storages
            .get(&v.key)
            .and_then(|s| s.get(v.offset..v.offset.checked_add(n)?))
            .ok_or_else(|| err(format!("{name} lies outside its storage")))?
            .to_vec();
        out.insert(
            name,
            Tensor {
                shape: v.shape,
                values,
            },
        );
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn anything_else_is_a_reason_not_a_panic() {
        for bytes in [
            &b""[..],
            b"PK\x03\x04 a zip checkpoint",
            &MAGIC[..14],
            &MAGIC,
        ] {
            assert!(read(&mut &bytes[..], "model_state").is_err(), "{bytes:?}");
        }
        // The magic number, then a pickle cut short.
        let mut cut = MAGIC.to_vec();
        cut.extend_from_slice(&[0x80, 0x02, b'}', b'q']);
        assert!(read(&mut cut.as_slice(), "model_state").is_err());
    }
}
