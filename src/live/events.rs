//! `--events`: JSON Lines for other tools, one object per alert and one per period with
//! the running talk figures, each flushed as it happens.

use std::io::{BufWriter, Write};
use std::path::Path;

use serde::Serialize;
use serde_json::json;

use crate::detect::Alert;
use crate::output::{self, Output, OutputError};

pub struct EventLog {
    out: Box<dyn Write + Send>,
    /// Set when a write fails; the monitor goes on without the log.
    pub failure: Option<String>,
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
        let out: Box<dyn Write + Send> = if path.as_os_str() == "-" {
            Box::new(std::io::stdout())
        } else {
            let what = "event log";
            Box::new(BufWriter::new(output::create_new(
                Output { path, what },
                force,
            )?))
        };
        Ok(Self { out, failure: None })
    }

    fn line(&mut self, value: &serde_json::Value) {
        if self.failure.is_some() {
            return;
        }
        let r = serde_json::to_writer(&mut self.out, value)
            .map_err(std::io::Error::from)
            .and_then(|()| self.out.write_all(b"\n"))
            .and_then(|()| self.out.flush());
        if let Err(e) = r {
            self.failure = Some(format!("events: writing stopped: {e}"));
        }
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
    /// back ("back").
    pub fn capture(&mut self, side: crate::event::Side, state: &str, message: &str) {
        self.line(&json!({ "type": "capture", "side": side, "state": state, "message": message }));
    }

    /// Background mode: a call began (`call_start`) or its report was written
    /// (`call_end`, with the files); `fields` says which call.
    pub fn call(&mut self, kind: &str, fields: &serde_json::Value) {
        self.tagged(kind, fields);
    }
}
