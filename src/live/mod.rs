//! Listen mode: the review pipeline fed from the two live devices (`LiveSource`), with
//! what a live monitor adds around it: the recording, the event log, the status line.
//! Speech-to-text runs on the pipeline's worker and drops chunks rather than stall, so
//! talk alerts are always on time.

pub mod background;
pub mod call_finder;
pub mod check;
pub mod drift;
pub mod events;
pub mod latency;
pub mod preroll;
pub mod recorder;
pub mod same_signal;
pub mod side_check;
pub mod source;
pub mod status;
pub mod writer;

use std::path::PathBuf;
use std::sync::atomic::AtomicBool;

use crate::capture::CaptureError;
use crate::detect::{Alert, DetectConfig};
use crate::event::{round3, PerSide, Side};
use crate::frontend::{ChunkPolicy, FrontEndConfig};
use crate::output::sink::CallSink;
use crate::output::{self, Output, OutputError};
use crate::pipeline::{Backpressure, Pipeline, PipelineError, SttSettings};
use crate::report::Report;
use crate::source::{drive, Block};

use check::FirstLook;
use events::{EventLog, Running};
use recorder::Recorder;
use side_check::{Change, SideCheck};
use source::{LiveSource, Note, NoteKind};
use status::{About, Meters, Status};

#[derive(Debug, thiserror::Error)]
pub enum ListenError {
    #[error(transparent)]
    Capture(#[from] CaptureError),
    #[error("{}: cannot write the recording; check the disk has room", path.display())]
    Recording {
        path: PathBuf,
        #[source]
        source: hound::Error,
    },
    #[error(transparent)]
    Output(#[from] OutputError),
    #[error("cannot start speech-to-text")]
    Stt(#[source] PipelineError),
}

/// What both monitors (one call, or every call in the background) are asked to do.
pub struct Monitor {
    pub mic: Option<String>,
    pub system: Option<String>,
    pub events: Option<PathBuf>,
    /// Replace an existing recording or event log.
    pub force: bool,
    pub notify: bool,
    pub quiet: bool,
    /// Stop by itself after this many seconds of call.
    pub duration_s: Option<f64>,
    /// Seconds between running-figure lines in the event log.
    pub period_s: f64,
    pub rules: DetectConfig,
}

pub struct ListenOptions {
    pub monitor: Monitor,
    pub record: Option<PathBuf>,
}

/// A live pipeline on the installed front end: talk figures at once, words with `stt`.
///
/// # Errors
/// The model or the sentence encoder cannot be loaded.
pub(crate) fn pipeline(
    rules: &DetectConfig,
    stt: Option<&SttSettings>,
) -> Result<Pipeline, PipelineError> {
    Pipeline::new(
        FrontEndConfig::installed(),
        ChunkPolicy::LIVE,
        rules.clone(),
        stt,
        Backpressure::Drop,
    )
}

/// Both devices, and the event log when asked for (created after the devices open: a
/// missing device must not touch the user's files).
fn open_capture<'a>(
    monitor: &Monitor,
    stop: &'a AtomicBool,
) -> Result<(LiveSource<'a>, Option<EventLog>), ListenError> {
    let source = LiveSource::open(
        monitor.mic.as_deref(),
        monitor.system.as_deref(),
        stop,
        monitor.duration_s,
    )?;
    let events = monitor
        .events
        .as_deref()
        .map(|p| EventLog::open(p, monitor.force))
        .transpose()?;
    Ok((source, events))
}

/// Each alert to every live output: the status line (and desktop), the event log.
fn show_alerts(alerts: &[Alert], status: &mut Status, events: Option<&mut EventLog>) {
    let mut live: [Option<&mut dyn CallSink>; 2] = [Some(status), events.map(|e| e as _)];
    for alert in alerts {
        for out in live.iter_mut().flatten() {
            out.alert(alert);
        }
    }
}

/// Who the VAD hears speaking now.
fn speaking(pipeline: &Pipeline) -> PerSide<bool> {
    crate::event::PerSide::from_fn(|side| pipeline.state().speaking(side))
}

/// Shows a side check's finding: status line (and desktop), event log; a silent side
/// goes into the report's warnings.
fn report_change(
    change: Change,
    at_s: f64,
    status: &mut Status,
    events: Option<&mut EventLog>,
    warnings: &mut Vec<String>,
) {
    match change {
        Change::Silent { side, message } => {
            status.warn(About::Capture, &message);
            if let Some(e) = events {
                e.capture(Some(side), "silent", &message, at_s);
            }
            warnings.push(message);
        }
        Change::Back { side, message } => {
            status.note(&message);
            if let Some(e) = events {
                e.capture(Some(side), "back", &message, at_s);
            }
        }
    }
}

/// A device's news: a line above the status. A problem also goes to the desktop (with
/// `--notify`), the report's warnings, and both as a `capture` line to the event log.
fn report_note(
    note: Note,
    at_s: f64,
    status: &mut Status,
    events: Option<&mut EventLog>,
    warnings: &mut Vec<String>,
) {
    let state = match note.kind {
        NoteKind::Info => {
            status.note(&note.text);
            "notice"
        }
        NoteKind::Warning => {
            status.warn(About::Capture, &note.text);
            "warning"
        }
    };
    if let Some(e) = events {
        e.capture(note.side, state, &note.text, at_s);
    }
    if note.kind == NoteKind::Warning {
        warnings.push(note.text);
    }
}

/// The self-checks both monitors run on every block: the devices' news, the level meters,
/// the first look and the silent-side check.
struct SelfChecks {
    first_look: FirstLook,
    silent: SideCheck,
    meters: Meters,
}

impl SelfChecks {
    fn new(silent_side_s: f64) -> Self {
        Self {
            first_look: FirstLook::default(),
            silent: SideCheck::new(silent_side_s),
            meters: Meters::default(),
        }
    }

    /// Says what changed; who the VAD hears speaking in the block.
    fn push(
        &mut self,
        source: &mut LiveSource<'_>,
        block: &Block<'_>,
        status: &mut Status,
        mut events: Option<&mut EventLog>,
        warnings: &mut Vec<String>,
    ) -> PerSide<bool> {
        let now = block.pipeline.now_s();
        for note in source.take_notes() {
            report_note(note, now, status, events.as_deref_mut(), warnings);
        }
        self.meters.push(block.rep, block.prospect);
        let who = speaking(block.pipeline);
        let devices = source.devices();
        for line in self
            .first_look
            .push(now, block.rep, block.prospect, who, devices)
            .into_iter()
            .flatten()
        {
            status.note(&line);
        }
        if let Some(change) = self.silent.push(block.rep, block.prospect, who) {
            report_change(change, now, status, events, warnings);
        }
        who
    }
}

fn running(pipeline: &Pipeline, dropped_frames: u64) -> Running {
    let st = pipeline.state();
    let now = pipeline.now_s();
    let ratio = |lo: f64| st.rep_share_since(lo).unwrap_or(0.0);
    let speaking = match (st.speaking(Side::Rep), st.speaking(Side::Prospect)) {
        (true, true) => Some("both"),
        (true, false) => Some("rep"),
        (false, true) => Some("prospect"),
        (false, false) => None,
    };
    Running {
        at_s: round3(now),
        rep_s: round3(st.spoken_since(Side::Rep, 0.0)),
        prospect_s: round3(st.spoken_since(Side::Prospect, 0.0)),
        rep_ratio: round3(ratio(0.0)),
        rep_ratio_5min: round3(ratio(now - 300.0)),
        speaking,
        rep_turn_s: round3(st.open_since.rep.map_or(0.0, |s| now - s)),
        stt_dropped_chunks: pipeline.dropped_chunks(),
        dropped_frames,
    }
}

/// Runs the monitor until `stop` is set (Ctrl-C) or the duration is reached.
///
/// # Errors
/// A device, the recording or the event log cannot be opened, or the model cannot load.
pub fn listen(
    opts: &ListenOptions,
    stt: Option<&SttSettings>,
    stop: &AtomicBool,
    status: &mut Status,
) -> Result<Report, ListenError> {
    let mut pipeline = pipeline(&opts.monitor.rules, stt).map_err(ListenError::Stt)?;
    // The user's files come last: a bad model or device must not touch them. The event log
    // first: if it cannot be made, no recording has been replaced yet.
    let (mut source, mut events) = open_capture(&opts.monitor, stop)?;
    let mut recorder = opts
        .record
        .as_deref()
        .map(|path| {
            let file = output::create_new(
                Output {
                    path,
                    what: crate::output::OutputKind::Recording,
                },
                opts.monitor.force,
            )?;
            Recorder::create(path, file).map_err(|source| ListenError::Recording {
                path: path.to_path_buf(),
                source,
            })
        })
        .transpose()?;
    let (mic, system) = source.devices();
    status.note(&format!(
        "listening: mic {mic} | system audio {system}{}; Ctrl-C ends the call",
        recorder
            .as_ref()
            .map(|r| format!(" | recording to {}", r.path().display()))
            .unwrap_or_default()
    ));
    let mut warnings = Vec::new();
    let mut next_period = opts.monitor.period_s;
    let mut checks = SelfChecks::new(opts.monitor.rules.capture.silent_side_s);
    drive(&mut source, &mut pipeline, |source, block| {
        if let Some(r) = recorder.as_mut() {
            r.write(block.rep, block.prospect);
        }
        checks.push(source, &block, status, events.as_mut(), &mut warnings);
        for w in block.warnings {
            status.warn(About::SpeechToText, w);
        }
        show_alerts(block.alerts, status, events.as_mut());
        // The running figures walk every turn: only when a line or a redraw is due.
        let period_due = block.pipeline.now_s() >= next_period;
        if period_due || status.due() {
            let r = running(block.pipeline, source.dropped_frames());
            if period_due {
                next_period += opts.monitor.period_s;
                if let Some(e) = events.as_mut() {
                    e.talk(&r);
                }
            }
            status.draw(&r, &checks.meters);
        }
    });
    status.finish();
    let live_warnings = warnings.len();
    let summary = source.finish();
    for c in &summary.capture {
        if c.dropped_frames > 0 {
            warnings.push(format!(
                "{} lost {} frames to a full ring (the machine fell behind)",
                c.device, c.dropped_frames
            ));
        }
    }
    let mut call = pipeline.finish();
    warnings.append(&mut call.warnings);
    if let Some((_, stt)) = call.stt.as_ref().filter(|(_, s)| s.dropped_chunks > 0) {
        warnings.push(format!(
            "speech-to-text fell behind and skipped {} chunks; their words are missing from \
             the transcript (talk figures are complete)",
            stt.dropped_chunks
        ));
    }
    if let Some(f) = recorder.and_then(|r| r.finish().failure) {
        warnings.push(f);
    }
    if let Some(f) = events.and_then(EventLog::finish) {
        warnings.push(f);
    }
    for w in &warnings[live_warnings..] {
        status.note(&format!("warning: {w}"));
    }
    // The summary comes next: everything above it is on the terminal first.
    status.sync();
    let report = Report::from_call(call, Some(summary.into()), None, warnings);
    Ok(report)
}
