//! The outputs of one call the user asked for, as sinks (`output::sink`), and handing
//! them the finished call.

use std::path::{Path, PathBuf};

use anyhow::Result;

use crate::history::Keep;
use crate::output::sink::{CallSink, Finished, History, PageFile, ReportFile};
use crate::report::Report;
use crate::term;

/// The report and page files of `--json` and `--html`.
pub(super) fn files(json: Option<&Path>, html: Option<&Path>) -> Vec<Box<dyn CallSink + Send>> {
    let mut sinks: Vec<Box<dyn CallSink + Send>> = Vec::new();
    if let Some(p) = json {
        sinks.push(Box::new(ReportFile(p.to_path_buf())));
    }
    if let Some(p) = html {
        sinks.push(Box::new(PageFile(p.to_path_buf())));
    }
    sinks
}

/// The history, unless the user said `--no-save`.
pub(super) fn history(
    keep: Option<Keep>,
    name: &str,
    key: Option<String>,
) -> Option<Box<dyn CallSink + Send>> {
    keep.map(|keep| {
        Box::new(History {
            keep,
            name: name.to_string(),
            key,
            date: None,
        }) as Box<dyn CallSink + Send>
    })
}

/// What the page shows of the call.
pub(super) struct Shown<'a> {
    pub title: &'a str,
    pub date: Option<&'a str>,
    pub audio: Option<PathBuf>,
}

/// Hands each sink the call; their warnings go to stderr.
///
/// # Errors
/// An output cannot be written.
pub(super) fn finish(
    sinks: &mut [Box<dyn CallSink + Send>],
    report: &Report,
    shown: &Shown<'_>,
) -> Result<()> {
    let value = serde_json::to_value(report)?;
    let call = Finished {
        report,
        value: &value,
        title: shown.title,
        date: shown.date,
        audio: shown.audio.as_deref(),
    };
    for s in sinks {
        for w in s.finish(&call)? {
            eprintln!("twoears: warning: {}", term::escape(&w));
        }
    }
    Ok(())
}
