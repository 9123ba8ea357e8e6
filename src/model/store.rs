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
    base.map(|b| b.join("twoears").join("models"))
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
    #[error("no Whisper model found (looked in {looked}); install one with `twoears model install`, or run with --no-stt")]
    NotInstalled { looked: String },
    #[error("no installed model named {name:?} (looked in {looked}); install it with `twoears model install {name}`, or pass the path of a ggml model file")]
    UnknownName { name: String, looked: String },
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
            let name = p.to_string_lossy();
            return installed(&name).ok_or_else(|| FindError::UnknownName {
                name: name.into_owned(),
                looked: looked(),
            });
        }
        return Err(FindError::Missing(p.display().to_string()));
    }
    if let Some(p) = std::env::var_os("TWOEARS_MODEL").filter(|v| !v.is_empty()) {
        let p = PathBuf::from(p);
        return if p.is_file() {
            Ok(p)
        } else {
            Err(FindError::EnvMissing(p.display().to_string()))
        };
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
        };
        std::fs::write(manifest_path(&model), serde_json::to_string(&m).unwrap()).unwrap();
        let l = list(dir.path());
        assert_eq!(l.len(), 1);
        assert_eq!(l[0].1.as_ref().unwrap().name, "tiny.en");
    }
}
