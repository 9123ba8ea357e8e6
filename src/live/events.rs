//! `--events`: JSON Lines for other tools, one object per alert and one per period with
//! the running talk figures, each flushed as it happens.

use std::io::{BufWriter, Write};
use std::path::Path;
use std::sync::{Arc, Mutex};

use serde::Serialize;
use serde_json::json;

use super::writer::Offload;
use crate::detect::Alert;
use crate::output::{self, Output, OutputError};

/// The event log is one of a live call's outputs.
impl crate::output::sink::CallSink for EventLog {
    fn alert(&mut self, alert: &Alert) {
        EventLog::alert(self, alert);
    }
}

pub struct EventLog {
    out: Offload<String>,
    /// Set by the writer when a write fails; the monitor goes on without the log.
    failure: Arc<Mutex<Option<String>>>,
    /// Lines the writer had no room for (it is that far behind).
    dropped: u64,
}

/// The running figures a period line carries.
#[derive(Debug, Clone, Serialize)]
pub struct Running {
    pub at_s: f64,
    pub rep_s: f64,
    pub prospect_s: f64,
    pub rep_ratio: f64,
    pub rep_ratio_5min: f64,
    pub speaking: Option<&'static str>,
    pub rep_turn_s: f64,
    pub stt_dropped_chunks: u64,
    pub dropped_frames: u64,
}

impl EventLog {
    /// `-` is standard output; a file is created new (see [`output::create_new`]).
    ///
    /// # Errors
    /// The file exists (without `force`) or cannot be created.
    pub fn open(path: &Path, force: bool) -> Result<Self, OutputError> {
        let mut file: Box<dyn Write + Send> = if path.as_os_str() == "-" {
            Box::new(std::io::stdout())
        } else {
            let what = crate::output::OutputKind::EventLog;
            Box::new(BufWriter::new(output::create_new(
                Output { path, what },
                force,
            )?))
        };
        let failure = Arc::new(Mutex::new(None));
        let failed = failure.clone();
        // Written by a thread of its own: a slow disk or a paused pipe never holds up the
        // audio. Each line is flushed as it is written.
        let out = Offload::spawn("events", 1024, move |line: String| {
            let Ok(mut f) = failed.lock() else { return };
            if f.is_some() {
                return;
            }
            let r = file
                .write_all(line.as_bytes())
                .and_then(|()| file.write_all(b"\n"))
                .and_then(|()| file.flush());
            if let Err(e) = r {
                *f = Some(format!("events: writing stopped: {e}"));
            }
        });
        Ok(Self {
            out,
            failure,
            dropped: 0,
        })
    }

    fn line(&mut self, value: &serde_json::Value) {
        if self.out.send(value.to_string()).is_err() {
            self.dropped += 1;
        }
    }

    /// Writes what is queued; why the log is incomplete, if it is.
    pub fn finish(mut self) -> Option<String> {
        self.out.close();
        let failed = self.failure.lock().ok().and_then(|mut f| f.take());
        failed.or_else(|| {
            (self.dropped > 0).then(|| {
                format!(
                    "events: {} lines were dropped: the log's writer fell behind",
                    self.dropped
                )
            })
        })
    }

    /// Writes `fields` as one object tagged with `"type": kind`.
    fn tagged(&mut self, kind: &str, fields: &impl Serialize) {
        let mut v = json!({ "type": kind });
        if let (Some(obj), Ok(serde_json::Value::Object(f))) =
            (v.as_object_mut(), serde_json::to_value(fields))
        {
            obj.extend(f);
        }
        self.line(&v);
    }

    pub fn alert(&mut self, alert: &Alert) {
        self.tagged("alert", alert);
    }

    pub fn talk(&mut self, running: &Running) {
        self.tagged("talk", running);
    }

    /// A side went digitally silent while the other spoke (`state` "silent"), or came
    /// back ("back"); its device had a problem ("warning": muted on the server, lost) or
    /// news ("notice": unmuted, back); `side` is null when it concerns both.
    /// `at_s` is the monitor's clock (seconds of audio since it started listening).
    pub fn capture(
        &mut self,
        side: Option<crate::event::Side>,
        state: &str,
        message: &str,
        at_s: f64,
    ) {
        let at_s = (at_s * 1000.0).round() / 1000.0;
        self.line(&json!({
            "type": "capture", "at_s": at_s, "side": side, "state": state, "message": message
        }));
    }

    /// Background mode: a call began (`call_start`) or its report was written
    /// (`call_end`, with the files); `fields` says which call.
    pub fn call(&mut self, kind: &str, fields: &serde_json::Value) {
        self.tagged(kind, fields);
    }
}
