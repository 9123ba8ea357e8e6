//! The call report: the JSON document (schema `twoears.report/1`) and the readable summary.

pub mod explain;
pub mod html;

use std::io::Write;

use serde::{Deserialize, Serialize};

use crate::detect::{Alert, DetectConfig, ReadSentence};
use crate::event::{clock, round3, Segment, Side};
use crate::frontend::room::Room;
use crate::talk::{TalkAccount, TalkFigures};

pub const SCHEMA: &str = "twoears.report/1";

/// The longest call a report read back is taken to describe. A report in an output folder
/// may have been edited or planted, and pages and tables are sized by its numbers.
pub const MAX_CALL_S: f64 = 24.0 * 3600.0;
/// The most turns, transcript lines or alerts a report read back may hold (a day-long
/// call has a few tens of thousands of turns).
pub const MAX_ITEMS: usize = 100_000;
/// Reports larger than this are not read back: an hour's report with its transcript is
/// about 1 MB.
pub const MAX_BYTES: u64 = 64 << 20;

/// Why a report read back (`value`) cannot be one twoears wrote: no duration, one over
/// [`MAX_CALL_S`] or below zero, a time outside the call, a list over [`MAX_ITEMS`].
pub fn out_of_range(value: &serde_json::Value) -> Option<String> {
    let Some(duration_s) = value["duration_s"].as_f64() else {
        return Some("it has no duration_s".into());
    };
    if !(0.0..=MAX_CALL_S).contains(&duration_s) {
        return Some(format!(
            "duration_s {duration_s} is not a call's length (0 to {MAX_CALL_S} s)"
        ));
    }
    // Times are rounded apart from the duration: a little past the end is still the call.
    let inside = |t: &serde_json::Value| {
        t.as_f64()
            .is_none_or(|t| (0.0..=duration_s + 1.0).contains(&t))
    };
    for (list, times) in [
        ("turns", &["start_s", "end_s"][..]),
        ("segments", &["start_s"]),
        ("sentences", &["end_s"]),
        ("alerts", &["at_s"]),
    ] {
        let items = value[list].as_array().map_or(&[][..], Vec::as_slice);
        if items.len() > MAX_ITEMS {
            return Some(format!(
                "{} {list} is more than a call has (at most {MAX_ITEMS})",
                items.len()
            ));
        }
        for item in items {
            if let Some(t) = times.iter().map(|k| &item[*k]).find(|t| !inside(t)) {
                return Some(format!(
                    "a time in {list}, {t}, is outside the call (0 to {duration_s} s)"
                ));
            }
        }
    }
    None
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct SttStats {
    pub chunks: u64,
    pub dropped_chunks: u64,
    pub failed_chunks: u64,
    pub audio_s: f64,
    pub busy_s: f64,
}

#[derive(Debug, Clone, Serialize)]
pub struct TurnRecord {
    pub side: Side,
    pub start_s: f64,
    pub end_s: f64,
}

#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub schema: &'static str,
    pub duration_s: f64,
    /// The Whisper model used, or null when speech-to-text was off.
    pub model: Option<String>,
    /// What read the transcript into dialogue acts ("sentence encoder" or "word lists"),
    /// or null when speech-to-text was off.
    pub acts: Option<&'static str>,
    pub talk: TalkFigures,
    /// What the talk figures leave out: the prospect on hold, other voices near the rep,
    /// sounds that are not speech.
    pub room: Room,
    /// Every speaking turn, in order of start: the call's timeline.
    pub turns: Vec<TurnRecord>,
    pub segments: Vec<Segment>,
    /// Every transcript sentence with the act it was read as (with speech-to-text on).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub sentences: Vec<ReadSentence>,
    pub alerts: Vec<Alert>,
    /// The rules the alerts were raised under (the rules file's sections).
    pub rules: DetectConfig,
    pub stt: Option<SttStats>,
    /// Live capture only: what each device delivered and what was lost.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub live: Option<LiveStats>,
    /// Review only: what the report was made from.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source: Option<Source>,
    pub warnings: Vec<String>,
}

/// What a reviewed report was made from: a later run compares it (with the rules) to
/// know the report is up to date, and a history keys the call by its audio.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Source {
    /// sha256 of the recording's bytes (two files: of the rep's, then the prospect's);
    /// null for an input that is not a regular file.
    pub audio_sha256: Option<String>,
    /// The recording file's modification day (UTC, YYYY-MM-DD): when the call was made,
    /// as far as the file knows.
    pub recorded: Option<String>,
    /// The channels chosen for the rep and the prospect, as given (null: the default).
    pub rep_channel: Option<String>,
    pub prospect_channel: Option<String>,
    /// sha256 of the Whisper model file; null without speech-to-text.
    pub model_sha256: Option<String>,
    pub language: Option<String>,
    /// A recording whose one channel holds the whole call: how its voices were split.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub voices: Option<crate::frontend::voices::VoicesNote>,
    /// sha256 of the `--rep-voice` recording, when one was given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rep_voice_sha256: Option<String>,
    /// The twoears version that wrote the report.
    pub twoears: String,
}

/// What a finished pipeline knows of the call, before it is a report.
pub struct CallRecord {
    pub duration_s: f64,
    pub talk: TalkAccount,
    /// Holds, and the voices and sounds set aside.
    pub room: Room,
    pub rep_questions: u32,
    pub segments: Vec<Segment>,
    pub sentences: Vec<ReadSentence>,
    pub alerts: Vec<Alert>,
    pub rules: DetectConfig,
    /// The model's name and the transcriber's figures, when speech-to-text ran.
    pub stt: Option<(String, SttStats)>,
    /// What read the transcript into acts, when speech-to-text ran.
    pub acts: Option<&'static str>,
    /// What went wrong in the pipeline without stopping the call.
    pub warnings: Vec<String>,
}

impl Report {
    /// The report of a call: the pipeline's record, the live capture's figures (listen
    /// only), what a review read (review only) and the warnings met on the way.
    pub fn from_call(
        call: CallRecord,
        live: Option<LiveStats>,
        source: Option<Source>,
        mut warnings: Vec<String>,
    ) -> Self {
        // A one-channel call's split and its pipeline may both say the profile is unusable.
        for w in call.warnings {
            if !warnings.contains(&w) {
                warnings.push(w);
            }
        }
        let duration_s = round3(call.duration_s);
        let talk = call.talk.figures(duration_s, call.rep_questions);
        let mut turns: Vec<TurnRecord> = Side::BOTH
            .into_iter()
            .flat_map(|side| {
                call.talk.turns(side).iter().map(move |t| TurnRecord {
                    side,
                    start_s: round3(t.start_s),
                    end_s: round3(t.end_s),
                })
            })
            .collect();
        turns.sort_by(|a, b| a.start_s.total_cmp(&b.start_s));
        let mut alerts = call.alerts;
        alerts.sort_by(|a, b| a.at_s.total_cmp(&b.at_s));
        for a in &mut alerts {
            a.at_s = (a.at_s * 100.0).round() / 100.0;
        }
        let (model, stt) = match call.stt {
            Some((model, mut stats)) => {
                stats.audio_s = round3(stats.audio_s);
                stats.busy_s = round3(stats.busy_s);
                (Some(model), Some(stats))
            }
            None => (None, None),
        };
        Self {
            schema: SCHEMA,
            duration_s,
            model,
            acts: call.acts,
            talk,
            room: call.room,
            turns,
            segments: call.segments,
            sentences: call.sentences,
            alerts,
            rules: call.rules,
            stt,
            live,
            source,
            warnings,
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct LiveStats {
    pub capture: Vec<CaptureStats>,
    /// From a sample's arrival in the audio callback to its VAD frame, sampled every tick
    /// on the sample waiting longest: median, 95th percentile and maximum, in ms.
    pub audio_path_ms: [f64; 3],
}

/// One live device over the call.
#[derive(Debug, Clone, Serialize)]
pub struct CaptureStats {
    pub side: Side,
    pub device: String,
    pub rate_hz: u32,
    /// Frames the audio callback could not queue (the stage thread fell behind).
    pub dropped_frames: u64,
    /// Call seconds filled with silence because the device delivered nothing.
    pub gap_s: f64,
    /// Seconds dropped to bring this side back in line with the other.
    pub realigned_s: f64,
    /// Times the device was lost and opened again.
    pub reopened: u32,
    /// Times the sound server moved the stream to another device (each moved back until
    /// the moves come too often; then a warning says so).
    pub moves: u32,
    /// The device clock against the system's monotonic clock (least-squares fit over the
    /// first stretch of uninterrupted audio, after 3 s); null under 30 s. Resolution is
    /// about one device period over the span: 10 ms in 60 s is 170 ppm.
    pub drift_ppm: Option<f64>,
}

impl Report {
    /// Writes the JSON report to `path` through a temporary file (created 0600) renamed over
    /// it: a reader never sees half, and a link at `path` is replaced, not followed.
    ///
    /// # Errors
    /// The directory is not writable.
    pub fn write_json(&self, path: &std::path::Path) -> std::io::Result<()> {
        let dir = path
            .parent()
            .filter(|d| !d.as_os_str().is_empty())
            .unwrap_or(std::path::Path::new("."));
        let mut tmp = tempfile::NamedTempFile::new_in(dir)?;
        serde_json::to_writer_pretty(&mut tmp, self)?;
        tmp.write_all(b"\n")?;
        tmp.persist(path).map_err(|e| e.error)?;
        Ok(())
    }

    /// The readable summary printed after a review.
    pub fn write_summary(&self, w: &mut dyn Write) -> std::io::Result<()> {
        let t = &self.talk;
        writeln!(
            w,
            "Call: {} ({:.1} s)",
            clock(self.duration_s),
            self.duration_s
        )?;
        writeln!(w)?;
        writeln!(w, "Talk")?;
        writeln!(
            w,
            "  rep talk ratio        {:>5.0}%   (rep {:.1} s, prospect {:.1} s)",
            t.rep_ratio * 100.0,
            t.rep_s,
            t.prospect_s
        )?;
        writeln!(
            w,
            "  longest rep monologue {:>6.1} s",
            t.longest_monologue_s.rep
        )?;
        writeln!(
            w,
            "  longest customer story{:>6.1} s",
            t.longest_monologue_s.prospect
        )?;
        writeln!(
            w,
            "  interactivity         {:>6.1} switches/min",
            t.interactivity_per_min
        )?;
        writeln!(w, "  patience              {:>6.1} s", t.patience_s)?;
        writeln!(w, "  overlap               {:>6.1} s", t.overlap_s)?;
        writeln!(
            w,
            "  interruptions         rep {}, prospect {}",
            t.interruptions.rep, t.interruptions.prospect
        )?;
        if self.model.is_some() {
            writeln!(w, "  rep questions         {:>6}", t.rep_questions)?;
        }
        let r = &self.room;
        if r.hold_s > 0.0 {
            writeln!(
                w,
                "  on hold               {:>6.1} s (not talk: sound without speech on the prospect's side)",
                r.hold_s
            )?;
        }
        let a = &r.set_aside;
        if a.rep_other_voices_s >= 1.0 {
            writeln!(
                w,
                "  not the rep           {:>6.1} s (voices far quieter than the rep's on the mic)",
                a.rep_other_voices_s
            )?;
        }
        writeln!(w)?;
        if self.alerts.is_empty() {
            writeln!(w, "Alerts: none")?;
        } else {
            writeln!(w, "Alerts")?;
            for a in &self.alerts {
                writeln!(
                    w,
                    "  {:>5}  {:<10} {}",
                    clock(a.at_s),
                    a.kind.name(),
                    a.message
                )?;
                writeln!(w, "         {:<10} {}", "", a.evidence)?;
            }
        }
        if !self.segments.is_empty() {
            writeln!(w)?;
            writeln!(w, "Transcript (first lines)")?;
            for s in self.segments.iter().take(12) {
                let who = match s.side {
                    Side::Rep => "rep     ",
                    Side::Prospect => "prospect",
                };
                writeln!(w, "  {:>5}  {who}  {}", clock(s.start_s), s.text)?;
            }
            if self.segments.len() > 12 {
                writeln!(
                    w,
                    "  ... {} more lines (see --json)",
                    self.segments.len() - 12
                )?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clock_formats_minutes_and_seconds() {
        assert_eq!(clock(0.0), "0:00");
        assert_eq!(clock(61.4), "1:01");
        assert_eq!(clock(3599.6), "60:00");
    }

    #[test]
    fn a_report_read_back_must_have_a_call_s_numbers() {
        let ok = serde_json::json!({
            "duration_s": 60.0,
            "turns": [{"side": "rep", "start_s": 0.5, "end_s": 60.4}],
            "segments": [], "alerts": [{"at_s": 30.0}]
        });
        assert_eq!(out_of_range(&ok), None);
        let with = |key: &str, v: serde_json::Value| {
            let mut r = ok.clone();
            r[key] = v;
            out_of_range(&r).expect("refused")
        };
        assert!(with("duration_s", serde_json::json!(1e12)).contains("duration_s"));
        assert!(with("duration_s", serde_json::json!(-1.0)).contains("duration_s"));
        let late = serde_json::json!([{"side": "rep", "start_s": 1.0, "end_s": 9e9}]);
        assert!(with("turns", late).contains("turns"));
        let early = serde_json::json!([{"at_s": -2.0}]);
        assert!(with("alerts", early).contains("alerts"));
        let many = serde_json::Value::Array(vec![serde_json::json!({}); MAX_ITEMS + 1]);
        assert!(with("segments", many).contains("segments"));
    }
}
