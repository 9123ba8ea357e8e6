//! Many calls at once (`review CALL... --out DIR`): each call goes through the same
//! review as one call, several at a time, into `DIR/NAME.json` and `DIR/NAME.html`; then
//! `DIR/index.html` lists every call reviewed there. A call that fails is reported and
//! skipped; a call whose report is up to date is not transcribed again.

pub mod calls;
mod fresh;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

use crossbeam_channel::Sender;

use crate::detect::DetectConfig;
use crate::input::InputSpec;
use crate::output::sink::{finish_all, CallSink, Finished, PageFile, ReportFile};
use crate::output::{self, Output, OutputKind};
use crate::pipeline::SttSettings;
use crate::report::Report;
pub use calls::{gather, Call};

/// How the calls are reviewed.
pub struct Settings {
    pub stt: Option<SttSettings>,
    pub rules: DetectConfig,
    pub rep_channel: Option<String>,
    pub prospect_channel: Option<String>,
    /// A recording of the rep alone, for calls whose one channel holds the whole call.
    pub rep_voice: Option<PathBuf>,
    /// Calls reviewed at once.
    pub jobs: usize,
    /// Review calls whose report is up to date too.
    pub force: bool,
    /// The rules file, an input no output may replace.
    pub rules_file: Option<PathBuf>,
}

/// How one call ended.
#[derive(Debug, Clone)]
pub enum Outcome {
    Reviewed {
        duration_s: f64,
        rep_ratio: f64,
        alerts: usize,
        warnings: Vec<String>,
    },
    /// Its report was already right; the page was drawn again if it was missing.
    UpToDate,
    Failed(String),
}

/// What the jobs tell the caller as they go, call by call (`call` indexes the calls).
pub enum Event {
    Started {
        call: usize,
    },
    Progress {
        call: usize,
        done_s: f64,
        total_s: Option<f64>,
    },
    Finished {
        call: usize,
        outcome: Outcome,
    },
    /// Something the user should know that does not stop the call.
    Warning {
        call: usize,
        message: String,
    },
}

/// The report and page of a call named `name` in `dir`.
pub fn outputs(dir: &Path, name: &str) -> (PathBuf, PathBuf) {
    (
        dir.join(format!("{name}.json")),
        dir.join(format!("{name}.html")),
    )
}

/// Reviews `calls` into `dir` with `settings.jobs` jobs; `observe` hears every event on
/// the calling thread. Returns each call's outcome, in the calls' order.
pub fn run(
    calls: &[Call],
    dir: &Path,
    settings: &Settings,
    observe: &mut dyn FnMut(&Event),
) -> Vec<Outcome> {
    let next = AtomicUsize::new(0);
    let (tx, rx) = crossbeam_channel::unbounded::<Event>();
    let mut outcomes = vec![None; calls.len()];
    std::thread::scope(|scope| {
        for _ in 0..settings.jobs.clamp(1, calls.len().max(1)) {
            let tx = tx.clone();
            let next = &next;
            scope.spawn(move || loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(call) = calls.get(i) else { break };
                let _ = tx.send(Event::Started { call: i });
                let outcome = crate::panic::catch(|| one(i, call, calls, dir, settings, &tx))
                    .unwrap_or_else(|panic| {
                        Outcome::Failed(format!("internal error: {panic}; please report it"))
                    });
                let _ = tx.send(Event::Finished { call: i, outcome });
            });
        }
        drop(tx);
        for event in rx {
            if let Event::Finished { call, outcome } = &event {
                outcomes[*call] = Some(outcome.clone());
            }
            observe(&event);
        }
    });
    outcomes
        .into_iter()
        .map(|o| o.unwrap_or_else(|| Outcome::Failed("not reviewed".into())))
        .collect()
}

/// One call, start to end: refuse outputs that are not ours, skip it when its report
/// is up to date, else review it and write its report and page.
fn one(
    i: usize,
    call: &Call,
    calls: &[Call],
    dir: &Path,
    settings: &Settings,
    tx: &Sender<Event>,
) -> Outcome {
    let spec = InputSpec::Stereo {
        path: call.path.clone(),
        rep_channel: settings.rep_channel.clone(),
        prospect_channel: settings.prospect_channel.clone(),
        rep_voice: settings.rep_voice.clone(),
    };
    let (json, html) = outputs(dir, &call.name);
    let mut inputs: Vec<&Path> = calls.iter().map(|c| c.path.as_path()).collect();
    inputs.extend(settings.rules_file.as_deref());
    let outs = [
        Output {
            path: &json,
            what: OutputKind::Report,
        },
        Output {
            path: &html,
            what: OutputKind::Page,
        },
    ];
    if let Err(e) = output::check(
        &outs,
        &inputs,
        &[OutputKind::Report, OutputKind::Page],
        false,
    ) {
        return Outcome::Failed(e.to_string());
    }
    if !settings.force {
        if let Some(earlier) = fresh_report(&spec, &json, settings, &mut |message| {
            let _ = tx.send(Event::Warning { call: i, message });
        }) {
            // A page deleted beside an up-to-date report is drawn again from it.
            if html.is_file() {
                return Outcome::UpToDate;
            }
            let (title, date) = shown(call);
            return match PageFile(html).write(&earlier, &title, date.as_deref(), Some(&call.path)) {
                Ok(()) => Outcome::UpToDate,
                Err(e) => Outcome::Failed(crate::term::chain(&e)),
            };
        }
    }
    let mut last = std::time::Instant::now();
    let mut progress = |done_s: f64, total_s: Option<f64>| {
        // A few updates a second are plenty for a bar.
        if last.elapsed().as_millis() >= 100 {
            last = std::time::Instant::now();
            let _ = tx.send(Event::Progress {
                call: i,
                done_s,
                total_s,
            });
        }
    };
    let report = match crate::review::review(
        &spec,
        settings.stt.as_ref(),
        settings.rules.clone(),
        &mut progress,
    ) {
        Ok(r) => r,
        Err(e) => return Outcome::Failed(crate::term::chain(&e)),
    };
    let value = match serde_json::to_value(&report) {
        Ok(v) => v,
        Err(e) => return Outcome::Failed(e.to_string()),
    };
    let (title, date) = shown(call);
    let finished = Finished {
        report: &report,
        value: &value,
        title: &title,
        date: date.as_deref(),
        audio: Some(&call.path),
    };
    let mut sinks: [Box<dyn CallSink + Send>; 2] =
        [Box::new(ReportFile(json)), Box::new(PageFile(html))];
    if let Err(e) = finish_all(&mut sinks, &finished) {
        return Outcome::Failed(crate::term::chain(&e));
    }
    outcome(&report)
}

fn outcome(report: &Report) -> Outcome {
    Outcome::Reviewed {
        duration_s: report.duration_s,
        rep_ratio: report.talk.rep_ratio,
        alerts: report.alerts.len(),
        warnings: report.warnings.clone(),
    }
}

/// The earlier report at `json`, when it is what reviewing `spec` would write again; one
/// whose numbers no call has is not, and `warn` is told why.
fn fresh_report(
    spec: &InputSpec,
    json: &Path,
    settings: &Settings,
    warn: &mut dyn FnMut(String),
) -> Option<serde_json::Value> {
    let earlier = match read_back(json) {
        Ok(v) => v,
        Err(NotOurs::Unreadable) => return None,
        Err(NotOurs::OutOfRange(why)) => {
            warn(format!(
                "{}: {why}; reviewing the call again",
                json.display()
            ));
            return None;
        }
    };
    let source = crate::review::source(spec, settings.stt.as_ref());
    let acts = settings.stt.as_ref().map(|s| {
        if s.encoder.is_some() {
            "sentence encoder"
        } else {
            "word lists"
        }
    });
    let now = fresh::Expected {
        source: &source,
        rules: &settings.rules,
        acts,
    };
    fresh::is_fresh(&earlier, &now).then_some(earlier)
}

/// Why a report in the output folder is not read back.
pub enum NotOurs {
    /// Missing, too large, not JSON or not a twoears report.
    Unreadable,
    /// A twoears report whose numbers no call has (edited or planted): why.
    OutOfRange(String),
}

/// The report at `path`, read back: at most [`crate::report::MAX_BYTES`], of our schema, its
/// duration, times and lists those of a call ([`crate::report::out_of_range`]).
///
/// # Errors
/// The file is not such a report.
pub fn read_back(path: &Path) -> Result<serde_json::Value, NotOurs> {
    let bytes = read_capped(path, crate::report::MAX_BYTES).ok_or(NotOurs::Unreadable)?;
    let value: serde_json::Value =
        serde_json::from_slice(&bytes).map_err(|_| NotOurs::Unreadable)?;
    if value.get("schema").and_then(|s| s.as_str()) != Some(crate::report::SCHEMA) {
        return Err(NotOurs::Unreadable);
    }
    match crate::report::out_of_range(&value) {
        Some(why) => Err(NotOurs::OutOfRange(why)),
        None => Ok(value),
    }
}

fn read_capped(path: &Path, max: u64) -> Option<Vec<u8>> {
    use std::io::Read;
    let file = std::fs::File::open(path).ok()?;
    if !file.metadata().ok()?.is_file() {
        return None;
    }
    let mut bytes = Vec::new();
    file.take(max + 1).read_to_end(&mut bytes).ok()?;
    (bytes.len() as u64 <= max).then_some(bytes)
}

/// Draws the call's page beside its report, the recording linked relative to it.
/// A call's page title (its file's name) and day (the file's).
fn shown(call: &Call) -> (String, Option<String>) {
    let title = call
        .path
        .file_name()
        .map_or_else(|| call.name.clone(), |n| n.to_string_lossy().into_owned());
    (title, crate::clock::file_date(&call.path))
}

/// Every call reviewed in `dir` (a report with its page beside it), by name, as index
/// rows; reports that do not read back are left out.
pub fn index_rows(dir: &Path) -> Vec<crate::report::html::IndexRow> {
    let mut reports: Vec<(String, PathBuf)> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .filter_map(|p| {
            let name = p.file_stem()?.to_string_lossy().into_owned();
            p.with_extension("html").is_file().then_some((name, p))
        })
        .collect();
    reports.sort();
    reports
        .into_iter()
        .filter_map(|(name, json)| {
            let value = read_back(&json).ok()?;
            let page = json.with_extension("html");
            let href = output::percent_encode(page.file_name()?.as_encoded_bytes());
            crate::report::html::IndexRow::new(&name, &href, &value).ok()
        })
        .collect()
}
