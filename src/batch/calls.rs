//! The calls a batch review reads: the files named, and the recordings in each folder
//! named, each with a name of its own for its report and page.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};

/// What a folder is searched for: the formats the input reads.
const AUDIO: [&str; 13] = [
    "wav", "wave", "flac", "ogg", "oga", "opus", "mp3", "m4a", "aac", "mp4", "webm", "mka", "mkv",
];

/// One call of a batch: its recording and the name its report and page are written under.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Call {
    pub path: PathBuf,
    pub name: String,
}

/// A path given that holds no call: a folder without recordings, or nothing there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotACall {
    pub path: PathBuf,
    pub why: &'static str,
}

/// The calls of `given`: files as named, folders as the recordings directly in them (by
/// name). The same file given twice is one call. Names are the file stems, made unique
/// with the extension, then the folder, then a number.
pub fn gather(given: &[PathBuf]) -> (Vec<Call>, Vec<NotACall>) {
    let mut paths = Vec::new();
    let mut missing = Vec::new();
    for p in given {
        if p.is_dir() {
            let mut found: Vec<PathBuf> = std::fs::read_dir(p)
                .into_iter()
                .flatten()
                .filter_map(Result::ok)
                .map(|e| e.path())
                .filter(|f| f.is_file() && is_audio(f))
                .collect();
            if found.is_empty() {
                missing.push(NotACall {
                    path: p.clone(),
                    why: "a folder with no recordings in it (wav, flac, ogg, opus, mp3, m4a, mp4, webm)",
                });
            }
            found.sort();
            paths.extend(found);
        } else if std::fs::symlink_metadata(p).is_ok() {
            // Anything else is the reader's to judge, call by call.
            paths.push(p.clone());
        } else {
            missing.push(NotACall {
                path: p.clone(),
                why: "no such file or folder",
            });
        }
    }
    let mut seen = HashSet::new();
    paths.retain(|p| seen.insert(std::fs::canonicalize(p).unwrap_or_else(|_| p.clone())));
    (name(paths), missing)
}

fn is_audio(path: &Path) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| AUDIO.contains(&e.to_ascii_lowercase().as_str()))
}

/// Gives each path a unique name: its stem; where stems clash, the file name; then the
/// parent folder and the file name; then a number. The same inputs get the same names.
fn name(paths: Vec<PathBuf>) -> Vec<Call> {
    let ways: [fn(&Path) -> String; 3] = [
        |p| lossy(p.file_stem()),
        |p| lossy(p.file_name()),
        |p| {
            let parent = p.parent().and_then(|d| d.file_name());
            format!("{}-{}", lossy(parent), lossy(p.file_name()))
        },
    ];
    let mut names: Vec<String> = paths.iter().map(|p| ways[0](p)).collect();
    for way in &ways[1..] {
        let clashing = clashes(&names);
        for (i, p) in paths.iter().enumerate() {
            if clashing.contains(&names[i]) {
                names[i] = way(p);
            }
        }
    }
    // `index` is the batch's own page.
    for n in &mut names {
        if n == "index" {
            *n = "index-call".into();
        }
    }
    let mut used: HashMap<String, u32> = HashMap::new();
    let clashing = clashes(&names);
    for n in &mut names {
        if clashing.contains(n) {
            let k = used.entry(n.clone()).or_insert(0);
            *k += 1;
            *n = format!("{n}-{k}");
        }
    }
    paths
        .into_iter()
        .zip(names)
        .map(|(path, name)| Call { path, name })
        .collect()
}

fn clashes(names: &[String]) -> HashSet<String> {
    let mut count: HashMap<&str, u32> = HashMap::new();
    for n in names {
        *count.entry(n).or_insert(0) += 1;
    }
    count
        .into_iter()
        .filter(|(_, c)| *c > 1)
        .map(|(n, _)| n.to_string())
        .collect()
}

/// A name part as text; a leading dot is dropped so no report is a hidden file.
fn lossy(part: Option<&std::ffi::OsStr>) -> String {
    let s = part.map_or_else(|| "call".into(), |p| p.to_string_lossy().into_owned());
    let s = s.trim_start_matches('.');
    if s.is_empty() {
        "call".into()
    } else {
        s.into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(paths: &[&str]) -> Vec<String> {
        name(paths.iter().map(PathBuf::from).collect())
            .into_iter()
            .map(|c| c.name)
            .collect()
    }

    #[test]
    fn names_are_stems_until_they_clash() {
        assert_eq!(names(&["a/mon.wav", "a/tue.flac"]), ["mon", "tue"]);
        assert_eq!(
            names(&["a/call.wav", "a/call.flac", "b/x.wav"]),
            ["call.wav", "call.flac", "x"]
        );
        assert_eq!(
            names(&["a/call.wav", "b/call.wav"]),
            ["a-call.wav", "b-call.wav"]
        );
        assert_eq!(
            names(&["a/call.wav", "b/a/call.wav"]),
            ["a-call.wav-1", "a-call.wav-2"]
        );
        assert_eq!(names(&["d/.hidden.wav"]), ["hidden"]);
        assert_eq!(
            names(&["d/index.wav"]),
            ["index-call"],
            "index.html is the batch's"
        );
    }

    #[test]
    fn folders_give_their_recordings_in_order_and_a_file_twice_is_one_call() {
        let dir = tempfile::tempdir().unwrap();
        for f in ["b.wav", "a.FLAC", "notes.txt"] {
            std::fs::write(dir.path().join(f), b"x").unwrap();
        }
        let empty = dir.path().join("empty");
        std::fs::create_dir(&empty).unwrap();
        let given = [
            dir.path().to_path_buf(),
            dir.path().join("b.wav"),
            dir.path().join("nothing.wav"),
            empty.clone(),
        ];
        let (calls, missing) = gather(&given);
        let got: Vec<_> = calls.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(got, ["a", "b"]);
        let missing: Vec<_> = missing.iter().map(|m| m.path.clone()).collect();
        assert_eq!(missing, [dir.path().join("nothing.wav"), empty]);
    }
}
