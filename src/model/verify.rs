//! Checks a Whisper model file before whisper.cpp sees it. whisper.cpp trusts what it
//! reads: a truncated file or a patched header aborts the process or loads a model that
//! hears nothing. Every file gets the ggml walk ([`ggml::check`]: header, dimensions, and a
//! length that matches its tensors); an installed one is also held to its manifest: the
//! size on every load, the sha256 when asked (`twoears model verify`) or when the file's
//! mtime is not the one recorded when it was last hashed.

use std::path::Path;

use super::ggml::{self, CheckError};
use super::store::sha256_file;
use super::store::{self, Manifest};

/// When to hash a file that has a manifest.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Hash {
    /// Only when its mtime differs from the one last verified (hashing tiny.en takes
    /// ~0.3 s, base twice that; too slow for every start of `listen`).
    IfChanged,
    Always,
    /// Never: the size and the walk only, a quick look before a run whose load hashes.
    Never,
}

#[derive(Debug, thiserror::Error)]
pub enum VerifyError {
    #[error("{path}: cannot read the model file")]
    Read {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{path} is {got} bytes but its manifest says {want}: the file is truncated or was changed; {remedy}")]
    Size {
        path: String,
        got: u64,
        want: u64,
        remedy: String,
    },
    #[error("{path}: sha256 is {got} but its manifest says {want}: the file is corrupt or was changed; {remedy}")]
    Hash {
        path: String,
        got: String,
        want: String,
        remedy: String,
    },
    #[error("{path} is not a usable Whisper model ({remedy})")]
    Ggml {
        path: String,
        remedy: String,
        #[source]
        source: CheckError,
    },
}

/// What to tell the user to do about a bad file.
fn remedy(manifest: Option<&Manifest>) -> String {
    match manifest {
        Some(m) if m.source.starts_with("import:") => format!(
            "import it again with `twoears model import {} --name {}`",
            m.source.trim_start_matches("import:"),
            m.name
        ),
        Some(m) => format!("reinstall it with `twoears model install {}`", m.name),
        None => "download or convert it again, or pass an installed model's name such as `--model tiny.en`".into(),
    }
}

/// The manifest beside `path`, if it is one of ours; any other JSON there is not.
fn manifest(path: &Path) -> Option<Manifest> {
    let at = store::manifest_path(path);
    // Ours are a few hundred bytes; a big file there is not one of ours.
    if std::fs::metadata(&at).ok()?.len() > 64 << 10 {
        return None;
    }
    let text = std::fs::read_to_string(at).ok()?;
    serde_json::from_str(&text).ok()
}

/// Verifies `path`; see the module doc for what is checked when.
///
/// # Errors
/// The file is unreadable, disagrees with its manifest, or fails the ggml walk.
pub fn verify(path: &Path, hash: Hash) -> Result<ggml::Layout, VerifyError> {
    let p = || path.display().to_string();
    let read = |source| VerifyError::Read { path: p(), source };
    let file = std::fs::File::open(path).map_err(read)?;
    let meta = file.metadata().map_err(read)?;
    let manifest = manifest(path);
    if let Some(m) = &manifest {
        if meta.len() != m.size_bytes {
            return Err(VerifyError::Size {
                path: p(),
                got: meta.len(),
                want: m.size_bytes,
                remedy: remedy(Some(m)),
            });
        }
    }
    let layout =
        ggml::check(std::io::BufReader::new(file)).map_err(|source| VerifyError::Ggml {
            path: p(),
            remedy: remedy(manifest.as_ref()),
            source,
        })?;
    if let Some(m) = manifest {
        let mtime = store::mtime_ns(&meta);
        let stale = mtime.is_none() || mtime != m.verified_mtime_ns;
        if hash == Hash::Always || (hash == Hash::IfChanged && stale) {
            let got = sha256_file(path).map_err(read)?;
            if got != m.sha256 {
                return Err(VerifyError::Hash {
                    path: p(),
                    got,
                    want: m.sha256.clone(),
                    remedy: remedy(Some(&m)),
                });
            }
            if mtime != m.verified_mtime_ns {
                // Best effort: a read-only models dir only costs a hash on each load.
                let _ = store::write_manifest(
                    path,
                    &Manifest {
                        verified_mtime_ns: mtime,
                        ..m
                    },
                );
            }
        }
    }
    Ok(layout)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An installed-looking model in a temp dir: (dir guard, model path).
    fn installed() -> (tempfile::TempDir, std::path::PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(store::file_name("t"));
        std::fs::write(&path, ggml::tests::valid_file()).unwrap();
        let m = Manifest {
            name: "t".into(),
            source: "test".into(),
            sha256: sha256_file(&path).unwrap(),
            size_bytes: std::fs::metadata(&path).unwrap().len(),
            verified_mtime_ns: None,
        };
        store::write_manifest(&path, &m).unwrap();
        (dir, path)
    }

    #[test]
    fn a_first_load_hashes_and_records_the_mtime() {
        let (_d, path) = installed();
        verify(&path, Hash::IfChanged).unwrap();
        let m = manifest(&path).unwrap();
        let meta = std::fs::metadata(&path).unwrap();
        assert_eq!(m.verified_mtime_ns, store::mtime_ns(&meta));
    }

    #[test]
    fn a_changed_byte_is_caught_by_the_hash_when_the_mtime_moved() {
        let (_d, path) = installed();
        verify(&path, Hash::IfChanged).unwrap();
        let mut b = std::fs::read(&path).unwrap();
        let last = b.len() - 1;
        b[last] ^= 1;
        std::thread::sleep(std::time::Duration::from_millis(20));
        std::fs::write(&path, b).unwrap();
        let err = verify(&path, Hash::IfChanged).unwrap_err();
        assert!(matches!(err, VerifyError::Hash { .. }), "{err}");
        assert!(err.to_string().contains("twoears model install t"), "{err}");
    }

    #[test]
    fn a_short_installed_file_is_refused_by_its_size() {
        let (_d, path) = installed();
        let b = std::fs::read(&path).unwrap();
        std::fs::write(&path, &b[..b.len() / 2]).unwrap();
        let err = verify(&path, Hash::IfChanged).unwrap_err();
        assert!(matches!(err, VerifyError::Size { .. }), "{err}");
    }

    #[test]
    fn a_file_without_our_manifest_still_gets_the_walk() {
        let (_d, path) = installed();
        std::fs::write(store::manifest_path(&path), b"{\"not\": \"ours\"}").unwrap();
        verify(&path, Hash::Always).unwrap();
        let b = std::fs::read(&path).unwrap();
        std::fs::write(&path, &b[..100]).unwrap();
        let err = verify(&path, Hash::IfChanged).unwrap_err();
        assert!(matches!(err, VerifyError::Ggml { .. }), "{err}");
        assert!(
            err.to_string().contains("download or convert it again"),
            "{err}"
        );
    }
}
