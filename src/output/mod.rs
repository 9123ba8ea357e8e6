//! The files the user keeps (recording, event log, report): created private (0600), never
//! over an existing file unless the user said `--force`, never through a symbolic link,
//! and never over one of the run's own inputs. Nothing a user recorded is lost to a typo.
//! `sink`: the places a call's results go, written the same way by every mode.

pub mod sink;

use std::fs::{File, OpenOptions};
use std::io;
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

/// What an output holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutputKind {
    Recording,
    EventLog,
    Report,
    Page,
    Index,
    Trends,
    Team,
    History,
}

impl std::fmt::Display for OutputKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Recording => "recording",
            Self::EventLog => "event log",
            Self::Report => "report",
            Self::Page => "page",
            Self::Index => "index",
            Self::Trends => "trends",
            Self::Team => "team",
            Self::History => "history",
        })
    }
}

#[derive(Debug, thiserror::Error)]
pub enum OutputError {
    #[error("{}: already exists; choose another name, or pass --force to replace it", path.display())]
    Exists { path: PathBuf },
    #[error("{}: exists and is not a twoears report; choose another name, or remove it first", path.display())]
    NotAReport { path: PathBuf },
    #[error("{}: is also the input {}; write the {what} to another file", path.display(), input.display())]
    IsInput {
        path: PathBuf,
        input: PathBuf,
        what: OutputKind,
    },
    #[error("{}: named for both the {first} and the {second}; give each its own file", path.display())]
    Twice {
        path: PathBuf,
        first: OutputKind,
        second: OutputKind,
    },
    #[error("both the {first} and the {second} are to go to standard output (-); send one of them to a file")]
    StdoutTwice {
        first: OutputKind,
        second: OutputKind,
    },
    #[error("{}: cannot create the {what}; check the directory exists and is writable", path.display())]
    Create {
        path: PathBuf,
        what: OutputKind,
        #[source]
        source: io::Error,
    },
}

/// One output of a run: its path and what it holds.
#[derive(Debug, Clone, Copy)]
pub struct Output<'a> {
    pub path: &'a Path,
    pub what: OutputKind,
}

/// Device and inode: the same file under any name, link or `..`.
fn file_id(path: &Path) -> Option<(u64, u64)> {
    std::fs::metadata(path).ok().map(|m| (m.dev(), m.ino()))
}

/// Whether the regular file at `path` is empty or begins as a twoears report does (its
/// schema is its first field, or the page's marker its second line): an earlier report,
/// not a recording or another program's file given the wrong name.
fn holds_a_report(path: &Path, what: OutputKind) -> bool {
    use std::io::Read;
    let Ok(file) = OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK | libc::O_NOFOLLOW)
        .open(path)
    else {
        return false;
    };
    let mut head = Vec::with_capacity(64);
    let regular = file.metadata().is_ok_and(|m| m.is_file());
    let read = file.take(64).read_to_end(&mut head).is_ok();
    let text = String::from_utf8_lossy(&head);
    let ours = match what {
        OutputKind::Page => text.contains(crate::report::html::MARKER),
        OutputKind::Index => text.contains(crate::report::html::INDEX_MARKER),
        OutputKind::Trends => text.contains(crate::report::html::TRENDS_MARKER),
        OutputKind::Team => text.contains(crate::report::html::TEAM_MARKER),
        OutputKind::Report => text.contains("\"schema\": \"twoears.report/"),
        OutputKind::Recording | OutputKind::EventLog | OutputKind::History => false,
    };
    let empty_or_report = text.trim().is_empty() || ours;
    regular && read && empty_or_report
}

/// Whether an output path is `-`, standard output, as `--events -` and `--json -` mean.
pub fn is_stdout(path: &Path) -> bool {
    path.as_os_str() == "-"
}

/// Checks, before anything runs, that no output is an input or another output, and that
/// no output exists that may not be replaced: only `replaceable` kinds that hold a report
/// may be, unless `force`. `-` (stdout) is no file.
///
/// # Errors
/// The first conflict found.
pub fn check(
    outputs: &[Output<'_>],
    inputs: &[&Path],
    replaceable: &[OutputKind],
    force: bool,
) -> Result<(), OutputError> {
    let stdout: Vec<_> = outputs.iter().filter(|o| is_stdout(o.path)).collect();
    if let [first, second, ..] = stdout[..] {
        return Err(OutputError::StdoutTwice {
            first: first.what,
            second: second.what,
        });
    }
    let files: Vec<_> = outputs.iter().filter(|o| !is_stdout(o.path)).collect();
    for (i, out) in files.iter().enumerate() {
        if let Some(id) = file_id(out.path) {
            if let Some(input) = inputs.iter().find(|p| file_id(p) == Some(id)) {
                return Err(OutputError::IsInput {
                    path: out.path.to_path_buf(),
                    input: input.to_path_buf(),
                    what: out.what,
                });
            }
        }
        let absolute = std::path::absolute(out.path).ok();
        if let Some(other) = files[i + 1..]
            .iter()
            .find(|o| std::path::absolute(o.path).ok() == absolute)
        {
            return Err(OutputError::Twice {
                path: out.path.to_path_buf(),
                first: out.what,
                second: other.what,
            });
        }
        let exists = std::fs::symlink_metadata(out.path).is_ok();
        if exists && !force {
            if !replaceable.contains(&out.what) {
                return Err(OutputError::Exists {
                    path: out.path.to_path_buf(),
                });
            }
            if !holds_a_report(out.path, out.what) {
                return Err(OutputError::NotAReport {
                    path: out.path.to_path_buf(),
                });
            }
        }
    }
    Ok(())
}

/// Creates `out` as a new private file. With `force` an existing file (or link: the link
/// goes, its target stays) is removed first; without it an existing one is refused.
/// `O_EXCL` never follows a link, so a link planted after the check is refused too.
///
/// # Errors
/// See [`OutputError`].
pub fn create_new(out: Output<'_>, force: bool) -> Result<File, OutputError> {
    let create = |source| OutputError::Create {
        path: out.path.to_path_buf(),
        what: out.what,
        source,
    };
    if force {
        match std::fs::symlink_metadata(out.path) {
            Ok(m) if !m.is_dir() => std::fs::remove_file(out.path).map_err(create)?,
            _ => {}
        }
    }
    OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC)
        .open(out.path)
        .map_err(|e| match e.kind() {
            io::ErrorKind::AlreadyExists => OutputError::Exists {
                path: out.path.to_path_buf(),
            },
            _ => create(e),
        })
}

/// `target` as a URL relative to the directory of `page` (both as given, made absolute):
/// how a page links the recording beside it without copying it.
pub fn relative_url(target: &Path, page: &Path) -> Option<String> {
    use std::os::unix::ffi::OsStrExt;
    // Resolved through links and `..` where the paths exist (the recording does, the
    // page's directory does), so `../out/call.html` links correctly.
    let resolve = |p: &Path| std::fs::canonicalize(p).or_else(|_| std::path::absolute(p));
    let target = resolve(target).ok()?;
    let dir = resolve(std::path::absolute(page).ok()?.parent()?).ok()?;
    let t: Vec<_> = target.components().collect();
    let d: Vec<_> = dir.components().collect();
    let common = t.iter().zip(&d).take_while(|(a, b)| a == b).count();
    let mut parts: Vec<String> = vec!["..".into(); d.len() - common];
    parts.extend(
        t[common..]
            .iter()
            .map(|c| percent_encode(c.as_os_str().as_bytes())),
    );
    Some(parts.join("/"))
}

/// Percent-encodes one path segment: everything but RFC 3986's unreserved characters.
pub fn percent_encode(segment: &[u8]) -> String {
    let mut out = String::new();
    for &b in segment {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn rec(path: &Path) -> Output<'_> {
        Output {
            path,
            what: OutputKind::Recording,
        }
    }

    #[test]
    fn an_existing_file_is_kept_unless_forced_and_new_files_are_private() {
        let dir = tempfile::tempdir().unwrap();
        let old = dir.path().join("call.wav");
        std::fs::write(&old, b"the old call").unwrap();
        assert!(matches!(
            check(&[rec(&old)], &[], &[], false),
            Err(OutputError::Exists { .. })
        ));
        assert!(matches!(
            create_new(rec(&old), false),
            Err(OutputError::Exists { .. })
        ));
        assert_eq!(std::fs::read(&old).unwrap(), b"the old call");
        let f = create_new(rec(&old), true).unwrap();
        assert_eq!(f.metadata().unwrap().len(), 0);
        assert_eq!(f.metadata().unwrap().permissions().mode() & 0o777, 0o600);
    }

    #[test]
    fn a_link_at_the_output_path_is_not_followed() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("precious.wav");
        std::fs::write(&target, b"keep me").unwrap();
        let link = dir.path().join("call.wav");
        std::os::unix::fs::symlink(&target, &link).unwrap();
        assert!(create_new(rec(&link), false).is_err());
        create_new(rec(&link), true).unwrap();
        assert_eq!(std::fs::read(&target).unwrap(), b"keep me");
        assert!(!std::fs::symlink_metadata(&link).unwrap().is_symlink());
    }

    #[test]
    fn an_output_that_is_an_input_or_another_output_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let call = dir.path().join("call.wav");
        std::fs::write(&call, b"audio").unwrap();
        let report = |path| Output {
            path,
            what: OutputKind::Report,
        };
        // The same file through another spelling of its path.
        let other_name = dir.path().join(".").join("call.wav");
        assert!(matches!(
            check(
                &[report(&other_name)],
                &[&call],
                &[OutputKind::Report],
                true
            ),
            Err(OutputError::IsInput { .. })
        ));
        let new = dir.path().join("new.json");
        assert!(matches!(
            check(
                &[rec(&new), report(&new)],
                &[&call],
                &[OutputKind::Report],
                false
            ),
            Err(OutputError::Twice { .. })
        ));
        let stdout = Path::new("-");
        check(&[report(&new), report(stdout)], &[&call], &[], false).unwrap();
        // Standard output carries one thing, not a report and a page run together.
        assert!(matches!(
            check(&[report(stdout), rec(stdout)], &[&call], &[], false),
            Err(OutputError::StdoutTwice { .. })
        ));
        // An earlier report may be replaced; another kind of file may not.
        std::fs::write(&new, b"{\"schema\": \"twoears.report/1\"}").unwrap();
        check(&[report(&new)], &[&call], &[OutputKind::Report], false).unwrap();
        let other = dir.path().join("other.wav");
        std::fs::write(&other, b"RIFF").unwrap();
        assert!(matches!(
            check(&[report(&other)], &[&call], &[OutputKind::Report], false),
            Err(OutputError::NotAReport { .. })
        ));
    }

    #[test]
    fn a_recording_is_linked_relative_to_the_page_and_encoded() {
        let url = relative_url(
            Path::new("/calls/Q3 #1.wav"),
            Path::new("/calls/pages/q3.html"),
        );
        assert_eq!(url.as_deref(), Some("../Q3%20%231.wav"));
        let beside = relative_url(Path::new("/a/b/call.flac"), Path::new("/a/b/call.html"));
        assert_eq!(beside.as_deref(), Some("call.flac"));
    }
}
