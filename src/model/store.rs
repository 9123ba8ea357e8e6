//! Where models live and which one a run uses: `--model PATH`, then `$TWOEARS_MODEL`,
//! then `models/` of the working tree, then the user data dir.

use std::path::{Path, PathBuf};

pub const DEFAULT_MODEL: &str = "tiny.en";

pub fn file_name(name: &str) -> String {
    format!("ggml-{name}.bin")
}

/// The manifest written beside each installed model.
pub fn manifest_path(model: &Path) -> PathBuf {
    model.with_extension("json")
}

#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Manifest {
    pub name: String,
    pub source: String,
    pub sha256: String,
    pub size_bytes: u64,
    /// The file's mtime when its sha256 last matched; a load hashes again when it differs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verified_mtime_ns: Option<u64>,
}

/// A file's mtime as nanoseconds since 1970, as manifests record it.
pub fn mtime_ns(meta: &std::fs::Metadata) -> Option<u64> {
    let d = meta
        .modified()
        .ok()?
        .duration_since(std::time::UNIX_EPOCH)
        .ok()?;
    u64::try_from(d.as_nanos()).ok()
}

/// The sha256 of a model file: its manifest's when the file is still the one last
/// verified against it (same size and mtime), else hashed now.
///
/// # Errors
/// The file cannot be read.
pub fn model_sha256(model: &Path) -> std::io::Result<String> {
    let meta = std::fs::metadata(model)?;
    let manifest: Option<Manifest> = std::fs::read_to_string(manifest_path(model))
        .ok()
        .and_then(|t| serde_json::from_str(&t).ok());
    match manifest {
        Some(m)
            if m.size_bytes == meta.len()
                && m.verified_mtime_ns.is_some()
                && m.verified_mtime_ns == mtime_ns(&meta) =>
        {
            Ok(m.sha256)
        }
        _ => sha256_file(model),
    }
}

/// `name` in the first models directory (the checkout's, then the user's) where `found`
/// accepts it: a model another stage loads by itself (the encoders, Silero).
pub fn installed(name: &str, found: impl Fn(&Path) -> bool) -> Option<PathBuf> {
    [checkout_models_dir(), user_models_dir()]
        .into_iter()
        .flatten()
        .map(|d| d.join(name))
        .find(|p| found(p))
}

/// The sha256 of a file, read in 1 MiB blocks.
///
/// # Errors
/// The file cannot be read.
pub fn sha256_file(path: &Path) -> std::io::Result<String> {
    use sha2::{Digest, Sha256};
    use std::io::Read;
    let mut f = std::fs::File::open(path)?;
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = f.read(&mut buf)?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
    }
    Ok(format!("{:x}", h.finalize()))
}

/// Writes the manifest of `model` atomically (temp file + rename, 0600).
///
/// # Errors
/// The models dir is not writable.
pub fn write_manifest(model: &Path, manifest: &Manifest) -> std::io::Result<()> {
    use std::io::Write;
    let dir = model.parent().unwrap_or(Path::new("."));
    let json = serde_json::to_string_pretty(manifest).expect("manifest serialises");
    let mut tmp = tempfile::NamedTempFile::new_in(dir)?;
    tmp.write_all(json.as_bytes())?;
    tmp.persist(manifest_path(model)).map_err(|e| e.error)?;
    Ok(())
}

/// The prefix of a file or directory being written into a models dir; it carries the
/// writer's pid so [`clean_partials`] can tell a crashed writer from a running one.
pub fn partial_prefix(kind: &str) -> String {
    format!(".partial-{kind}{}-", std::process::id())
}

/// A partial left by a writer that is gone: its pid is dead, or (no pid in the name, or
/// the pid reused) it has not been touched for a day.
fn is_stale(name: &str, age: std::time::Duration) -> bool {
    let Some(rest) = name.strip_prefix(".partial-") else {
        return false;
    };
    let rest = rest.strip_prefix("encoder-").unwrap_or(rest);
    let pid = rest
        .split('-')
        .next()
        .and_then(|p| p.parse::<libc::pid_t>().ok())
        .filter(|&p| p > 0);
    let dead = pid.is_some_and(|pid| {
        // SAFETY: signal 0 only asks whether the process exists.
        let r = unsafe { libc::kill(pid, 0) };
        r != 0 && std::io::Error::last_os_error().raw_os_error() == Some(libc::ESRCH)
    });
    let day = std::time::Duration::from_secs(24 * 3600);
    // A name without a pid is from an older twoears; an hour outlives any install.
    let old = if pid.is_some() {
        age > day
    } else {
        age > std::time::Duration::from_secs(3600)
    };
    dead || old
}

/// Removes partial files and directories that a crashed or killed install left in `dir`;
/// returns what it removed. Partials of a running install are left alone.
pub fn clean_partials(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut removed = Vec::new();
    for e in entries.filter_map(Result::ok) {
        let name = e.file_name();
        let Some(name) = name.to_str() else { continue };
        let age = e
            .metadata()
            .ok()
            .and_then(|m| m.modified().ok())
            .and_then(|t| t.elapsed().ok())
            .unwrap_or_default();
        if !is_stale(name, age) {
            continue;
        }
        let path = e.path();
        let gone = if path.is_dir() {
            std::fs::remove_dir_all(&path)
        } else {
            std::fs::remove_file(&path)
        };
        if gone.is_ok() {
            removed.push(path);
        }
    }
    removed
}

/// `models/` of the twoears checkout that contains the current directory, else of the
/// checkout this binary was built in (while it still exists).
pub fn checkout_models_dir() -> Option<PathBuf> {
    let is_checkout = |d: &Path| {
        std::fs::read_to_string(d.join("Cargo.toml"))
            .is_ok_and(|t| t.contains("name = \"twoears\""))
    };
    let cwd = std::env::current_dir().ok();
    cwd.as_deref()
        .and_then(|c| {
            c.ancestors()
                .find(|d| is_checkout(d))
                .map(Path::to_path_buf)
        })
        .or_else(|| Some(PathBuf::from(env!("CARGO_MANIFEST_DIR"))).filter(|d| is_checkout(d)))
        .map(|d| d.join("models"))
}

/// The per-user data directory for models (XDG on Linux, the platform's elsewhere).
pub fn user_models_dir() -> Option<PathBuf> {
    user_data_dir().map(|d| d.join("models"))
}

/// twoears's per-user data directory: `$XDG_DATA_HOME/twoears` (`~/.local/share/twoears`)
/// on Linux, the platform's data dir elsewhere. Models and the call history live there.
pub fn user_data_dir() -> Option<PathBuf> {
    let base = if cfg!(target_os = "windows") {
        std::env::var_os("APPDATA").map(PathBuf::from)
    } else if cfg!(target_os = "macos") {
        std::env::var_os("HOME").map(|h| PathBuf::from(h).join("Library/Application Support"))
    } else {
        std::env::var_os("XDG_DATA_HOME")
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
            .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".local/share")))
    };
    base.map(|b| b.join("twoears"))
}

/// The directory `model install` writes to.
pub fn install_dir(explicit: Option<&Path>) -> Option<PathBuf> {
    explicit
        .map(Path::to_path_buf)
        .or_else(checkout_models_dir)
        .or_else(user_models_dir)
}

#[derive(Debug, thiserror::Error)]
pub enum FindError {
    #[error("model {0} does not exist; pass the path of a ggml model file")]
    Missing(String),
    #[error(
        "$TWOEARS_MODEL is {0}, which does not exist; unset it or point it at a ggml model file"
    )]
    EnvMissing(String),
    #[error("model {path} is {kind}, not a model file; pass the path of a ggml model file or an installed model's name")]
    NotAFile { path: String, kind: &'static str },
    #[error("$TWOEARS_MODEL is {path}, which is {kind}, not a model file; unset it or point it at a ggml model file")]
    EnvNotAFile { path: String, kind: &'static str },
    #[error("no Whisper model found (looked in {looked}); install one with `twoears model install`, or run with --no-stt")]
    NotInstalled { looked: String },
    #[error("no installed model named {name:?} (looked in {looked}); install it with `twoears model install {name}`, or pass the path of a ggml model file")]
    UnknownName { name: String, looked: String },
}

/// What `path` is when it is there but no regular file (a folder, a device, a pipe).
fn not_a_file(path: &Path) -> Option<&'static str> {
    use std::os::unix::fs::FileTypeExt;
    let t = std::fs::metadata(path).ok()?.file_type();
    Some(if t.is_file() {
        return None;
    } else if t.is_dir() {
        "a folder"
    } else if t.is_char_device() || t.is_block_device() {
        "a device"
    } else if t.is_fifo() {
        "a pipe"
    } else {
        "a special file"
    })
}

/// Whether `--model` names an installed model (`base`, `tiny.en`) rather than a file.
fn is_name(value: &Path) -> bool {
    value.components().count() == 1 && value.extension().is_none_or(|e| e != "bin")
}

/// Finds the model a run should use, in the documented order.
///
/// # Errors
/// An explicit path or `$TWOEARS_MODEL` that does not exist, or no model anywhere.
pub fn find(explicit: Option<&Path>, name: &str) -> Result<PathBuf, FindError> {
    let dirs: Vec<PathBuf> = [checkout_models_dir(), user_models_dir()]
        .into_iter()
        .flatten()
        .collect();
    let looked = || {
        dirs.iter()
            .map(|d| d.display().to_string())
            .collect::<Vec<_>>()
            .join(", ")
    };
    let installed = |name: &str| {
        dirs.iter()
            .map(|d| d.join(file_name(name)))
            .find(|p| p.is_file())
    };
    if let Some(p) = explicit {
        if p.is_file() {
            return Ok(p.to_path_buf());
        }
        if is_name(p) {
            if let Some(found) = installed(&p.to_string_lossy()) {
                return Ok(found);
            }
        }
        if let Some(kind) = not_a_file(p) {
            return Err(FindError::NotAFile {
                path: p.display().to_string(),
                kind,
            });
        }
        if is_name(p) {
            return Err(FindError::UnknownName {
                name: p.to_string_lossy().into_owned(),
                looked: looked(),
            });
        }
        return Err(FindError::Missing(p.display().to_string()));
    }
    if let Some(p) = std::env::var_os("TWOEARS_MODEL").filter(|v| !v.is_empty()) {
        let p = PathBuf::from(p);
        if p.is_file() {
            return Ok(p);
        }
        return Err(match not_a_file(&p) {
            Some(kind) => FindError::EnvNotAFile {
                path: p.display().to_string(),
                kind,
            },
            None => FindError::EnvMissing(p.display().to_string()),
        });
    }
    installed(name).ok_or_else(|| FindError::NotInstalled { looked: looked() })
}

/// Installed models in `dir`: (model path, manifest if present).
pub fn list(dir: &Path) -> Vec<(PathBuf, Option<Manifest>)> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut out: Vec<(PathBuf, Option<Manifest>)> = entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| {
            p.extension().is_some_and(|e| e == "bin")
                && p.file_name()
                    .and_then(|n| n.to_str())
                    .is_some_and(|n| n.starts_with("ggml-"))
        })
        .map(|p| {
            let m = std::fs::read_to_string(manifest_path(&p))
                .ok()
                .and_then(|t| serde_json::from_str(&t).ok());
            (p, m)
        })
        .collect();
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn explicit_path_must_exist() {
        let err = find(Some(Path::new("/nonexistent/ggml.bin")), DEFAULT_MODEL).unwrap_err();
        assert!(err.to_string().contains("/nonexistent/ggml.bin"));
        let f = tempfile::NamedTempFile::new().unwrap();
        assert_eq!(find(Some(f.path()), DEFAULT_MODEL).unwrap(), f.path());
    }

    #[test]
    fn a_bare_name_is_an_installed_model_not_a_file() {
        assert!(is_name(Path::new("base")));
        assert!(is_name(Path::new("tiny.en")));
        assert!(!is_name(Path::new("ggml-base.bin")));
        assert!(!is_name(Path::new("models/base")));
        let err = find(Some(Path::new("no-such-model")), DEFAULT_MODEL).unwrap_err();
        assert!(
            err.to_string()
                .contains("twoears model install no-such-model"),
            "{err}"
        );
    }

    #[test]
    fn list_reads_manifests() {
        let dir = tempfile::tempdir().unwrap();
        let model = dir.path().join(file_name("tiny.en"));
        std::fs::write(&model, b"x").unwrap();
        std::fs::write(dir.path().join("notes.txt"), b"x").unwrap();
        let m = Manifest {
            name: "tiny.en".into(),
            source: "test".into(),
            sha256: "ab".into(),
            size_bytes: 1,
            verified_mtime_ns: None,
        };
        std::fs::write(manifest_path(&model), serde_json::to_string(&m).unwrap()).unwrap();
        let l = list(dir.path());
        assert_eq!(l.len(), 1);
        assert_eq!(l[0].1.as_ref().unwrap().name, "tiny.en");
    }

    #[test]
    fn only_partials_of_dead_writers_or_old_ones_are_stale() {
        let minute = std::time::Duration::from_secs(60);
        let me = partial_prefix("");
        assert!(!is_stale(&format!("{me}abc.bin"), minute), "a live writer");
        let mine = partial_prefix("encoder-");
        assert!(
            !is_stale(&format!("{mine}abc"), minute),
            "a live encoder writer"
        );
        // pid_t max on Linux is 2^22; this one cannot exist.
        assert!(is_stale(".partial-999999999-abc.bin", minute));
        assert!(is_stale(".partial-encoder-999999999-abc", minute));
        assert!(!is_stale(".partial-abc.bin", minute), "no pid, recent");
        assert!(is_stale(".partial-abc.bin", 61 * minute), "no pid, old");
        assert!(!is_stale("ggml-tiny.en.bin", 10_000 * minute));
    }

    #[test]
    fn clean_partials_removes_dead_writers_files_and_dirs_only() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        std::fs::write(d.join(".partial-999999999-x.bin"), b"x").unwrap();
        std::fs::create_dir(d.join(".partial-encoder-999999999-y")).unwrap();
        std::fs::write(d.join(format!("{}z.bin", partial_prefix(""))), b"x").unwrap();
        std::fs::write(d.join("ggml-tiny.en.bin"), b"x").unwrap();
        assert_eq!(clean_partials(d).len(), 2);
        assert_eq!(std::fs::read_dir(d).unwrap().count(), 2);
    }
}
