//! The rep's voice profile (`twoears voice enroll FILE`): the mean embedding of a recording
//! of the rep alone, kept per user so every one-channel call knows the rep without
//! `--rep-voice`. A JSON file in the user's data directory, versioned with the encoder it
//! was made by: a profile from another version, or a damaged one, is refused by name with
//! how to enroll again, and the call goes on without it.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// Bumped when the encoder or the way a voice is embedded changes: older profiles no longer
/// compare.
pub const VERSION: u32 = 1;
const FILE: &str = "voice-profile.json";

#[derive(Debug, Serialize, Deserialize)]
pub struct Profile {
    pub version: u32,
    /// Seconds of speech the profile was made from.
    pub speech_s: f64,
    /// The recording's file name, for `voice show`.
    pub source: String,
    pub embedding: Vec<f32>,
}

#[derive(Debug, thiserror::Error)]
pub enum ProfileError {
    #[error("the voice profile {} is damaged; enroll again with `twoears voice enroll FILE`", path.display())]
    Damaged {
        path: std::path::PathBuf,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    #[error("the voice profile {path} was made by another version of twoears; enroll again with `twoears voice enroll FILE`")]
    Version { path: String },
    #[error("the voice profile {} cannot be read; make it readable, or enroll again with `twoears voice enroll FILE`", path.display())]
    Unreadable {
        path: std::path::PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// Where the profile lives (None without a home directory).
pub fn path() -> Option<PathBuf> {
    crate::model::store::user_data_dir().map(|d| d.join(FILE))
}

/// The enrolled profile: None when there is none.
///
/// # Errors
/// A profile that cannot be used, saying how to enroll again.
pub fn load() -> Result<Option<Profile>, ProfileError> {
    let Some(p) = path() else { return Ok(None) };
    read(&p)
}

fn read(p: &Path) -> Result<Option<Profile>, ProfileError> {
    let text = match std::fs::read_to_string(p) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => {
            return Err(ProfileError::Unreadable {
                path: p.to_path_buf(),
                source: e,
            })
        }
    };
    let damaged = |source: Box<dyn std::error::Error + Send + Sync>| ProfileError::Damaged {
        path: p.to_path_buf(),
        source,
    };
    let value: serde_json::Value = serde_json::from_str(&text).map_err(|e| damaged(e.into()))?;
    if value.get("version").and_then(serde_json::Value::as_u64) != Some(u64::from(VERSION)) {
        return Err(ProfileError::Version {
            path: p.display().to_string(),
        });
    }
    let profile: Profile = serde_json::from_value(value).map_err(|e| damaged(e.into()))?;
    let norm = profile.embedding.iter().map(|v| v * v).sum::<f32>().sqrt();
    if profile.embedding.len() != super::encoder::DIM || !(0.99..=1.01).contains(&norm) {
        return Err(damaged("its voice is not a voice embedding".into()));
    }
    Ok(Some(profile))
}

/// Writes the profile (replacing an older one), readable by the user alone.
///
/// # Errors
/// The data directory cannot be written.
pub fn save(profile: &Profile) -> std::io::Result<PathBuf> {
    let p = path().ok_or_else(|| std::io::Error::other("no home directory: set HOME"))?;
    let dir = p.parent().expect("a file in a directory");
    std::fs::create_dir_all(dir)?;
    let mut tmp = tempfile::Builder::new()
        .prefix(".voice-profile-")
        .tempfile_in(dir)?;
    std::io::Write::write_all(
        &mut tmp,
        serde_json::to_string(profile)
            .expect("a profile serialises")
            .as_bytes(),
    )?;
    tmp.persist(&p).map_err(|e| e.error)?;
    Ok(p)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_damaged_or_foreign_profile_says_how_to_enroll_again() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join(FILE);
        assert!(read(&p).unwrap().is_none(), "none enrolled");
        let unit = {
            let mut v = vec![0f32; super::super::encoder::DIM];
            v[3] = 1.0;
            v
        };
        for (text, want) in [
            ("{\"version\": 1, \"embed", "damaged"),
            (
                "{\"version\": 99, \"speech_s\": 9, \"source\": \"a\", \"embedding\": []}",
                "another version",
            ),
            (
                "{\"version\": 1, \"speech_s\": 9, \"source\": \"a\", \"embedding\": [0.5]}",
                "not a voice",
            ),
        ] {
            std::fs::write(&p, text).unwrap();
            let e = crate::term::chain(&read(&p).unwrap_err());
            assert!(
                e.contains(want) && e.contains("twoears voice enroll"),
                "{e}"
            );
        }
        let good = Profile {
            version: VERSION,
            speech_s: 12.0,
            source: "me.wav".into(),
            embedding: unit,
        };
        std::fs::write(&p, serde_json::to_string(&good).unwrap()).unwrap();
        assert_eq!(read(&p).unwrap().unwrap().speech_s, 12.0);
    }
}
