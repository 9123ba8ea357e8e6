//! Where a call's results go. Review, batch, listen and the background monitor end a call
//! the same way: each output the user asked for is handed the finished call (`finish`).
//! A live monitor also hands its live outputs (the status line, the event log) each alert
//! as it fires (`alert`).

use std::io::Write;
use std::path::{Path, PathBuf};

use super::{is_stdout, relative_url, OutputKind};
use crate::detect::Alert;
use crate::history::Keep;
use crate::report::Report;

/// A finished call, as its outputs see it.
pub struct Finished<'a> {
    pub report: &'a Report,
    /// The report as JSON: what pages and the history read.
    pub value: &'a serde_json::Value,
    /// The call's name on its page ("call.wav", "live call").
    pub title: &'a str,
    /// The day of the call (YYYY-MM-DD), when known.
    pub date: Option<&'a str>,
    /// The recording its page plays, when there is one.
    pub audio: Option<&'a Path>,
}

/// Why an output of a call was not written.
#[derive(Debug, thiserror::Error)]
pub enum SinkError {
    #[error("{}: cannot write the {kind}; check the directory exists and is writable", path.display())]
    File {
        kind: OutputKind,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot write the {kind} to stdout")]
    Stdout {
        kind: OutputKind,
        #[source]
        source: std::io::Error,
    },
    #[error(transparent)]
    Page(#[from] crate::report::html::HtmlError),
}

/// One place a call's results go.
/// Each method has a default that ignores it: an output implements what it keeps.
pub trait CallSink {
    /// An alert as it fires (live monitors only).
    fn alert(&mut self, _alert: &Alert) {}

    /// Writes what this output keeps of the finished call. What the user should know but
    /// does not fail the call (a history not updated) comes back as warnings.
    ///
    /// # Errors
    /// The output cannot be written.
    fn finish(&mut self, _call: &Finished<'_>) -> Result<Vec<String>, SinkError> {
        Ok(Vec::new())
    }
}

/// Hands every sink the finished call, in order; the warnings they return.
///
/// # Errors
/// The first output that cannot be written; the ones after it are not tried.
pub fn finish_all(
    sinks: &mut [Box<dyn CallSink + Send>],
    call: &Finished<'_>,
) -> Result<Vec<String>, SinkError> {
    let mut warnings = Vec::new();
    for s in sinks {
        warnings.extend(s.finish(call)?);
    }
    Ok(warnings)
}

/// Writes `bytes` to stdout (`-` as an output), flushed.
fn to_stdout(kind: OutputKind, bytes: &[u8]) -> Result<(), SinkError> {
    let mut out = std::io::stdout().lock();
    out.write_all(bytes)
        .and_then(|()| out.flush())
        .map_err(|source| SinkError::Stdout { kind, source })
}

/// The call's JSON report (`--json`), or stdout for `-`.
pub struct ReportFile(pub PathBuf);

impl CallSink for ReportFile {
    fn finish(&mut self, call: &Finished<'_>) -> Result<Vec<String>, SinkError> {
        if is_stdout(&self.0) {
            let mut json = serde_json::to_vec_pretty(call.report).expect("a report serialises");
            json.push(b'\n');
            to_stdout(OutputKind::Report, &json)?;
        } else {
            call.report
                .write_json(&self.0)
                .map_err(|source| SinkError::File {
                    kind: OutputKind::Report,
                    path: self.0.clone(),
                    source,
                })?;
        }
        Ok(Vec::new())
    }
}

/// The call's page (`--html`), or stdout for `-`; it links the recording relative to
/// itself.
pub struct PageFile(pub PathBuf);

impl CallSink for PageFile {
    fn finish(&mut self, call: &Finished<'_>) -> Result<Vec<String>, SinkError> {
        self.write(call.value, call.title, call.date, call.audio)?;
        Ok(Vec::new())
    }
}

impl PageFile {
    /// Draws the page of a report (as JSON: an earlier one read back will do) and writes
    /// it.
    ///
    /// # Errors
    /// The report is not ours, or the page cannot be written.
    pub fn write(
        &self,
        value: &serde_json::Value,
        title: &str,
        date: Option<&str>,
        audio: Option<&Path>,
    ) -> Result<(), SinkError> {
        let link = audio.and_then(|a| relative_url(a, &self.0));
        let page = crate::report::html::render(value, title, date, link.as_deref())?;
        if is_stdout(&self.0) {
            to_stdout(OutputKind::Page, page.as_bytes())?;
        } else {
            crate::report::html::write(&self.0, &page).map_err(|source| SinkError::File {
                kind: OutputKind::Page,
                path: self.0.clone(),
                source,
            })?;
        }
        Ok(())
    }
}

/// The history (and a team store): a call that cannot be stored is a warning, since its
/// report is written.
pub struct History {
    pub keep: Keep,
    /// The call's name in the history.
    pub name: String,
    /// What the call is keyed by when it has no file to hash (a live call).
    pub key: Option<String>,
    /// The call's day, when the report does not say it.
    pub date: Option<String>,
}

impl CallSink for History {
    fn finish(&mut self, call: &Finished<'_>) -> Result<Vec<String>, SinkError> {
        Ok(self.store(call.value))
    }
}

impl History {
    /// Stores a report (as JSON: an earlier one read back will do); why it was not, in
    /// full or in part.
    pub fn store(&self, value: &serde_json::Value) -> Vec<String> {
        let stored = crate::history::Call::of_report(
            value,
            &self.name,
            self.key.clone(),
            self.date.clone(),
            self.keep.rep.as_deref(),
        );
        match stored {
            Some(c) => self.keep.store(c),
            None => vec![format!(
                "{}: not stored in the history (no file to key it by)",
                self.name
            )],
        }
    }
}
