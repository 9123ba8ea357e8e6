//! Background mode (`listen --background --out DIR`): runs for hours on the two devices,
//! finds each call by itself and writes its report, page and (with `--record`) recording
//! into DIR, named by the call's start time (UTC). Between calls only echo cancelling and
//! the VAD run, on a watch pipeline without speech-to-text; the last seconds of audio are
//! kept so a call's first words are in it. A call's own pipeline (the model loaded) is
//! made ready while the machine is idle, and finished off the audio path.

use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;
use std::thread::JoinHandle;
use std::time::{Duration, SystemTime};

use crossbeam_channel::Sender;

use super::call_finder::{CallFinder, Turn, LEAD_S};
use super::events::EventLog;
use super::preroll::Preroll;
use super::recorder::Recorder;
use super::source::CaptureMark;
use super::status::{About, Status};
use super::{running, show_alerts, ListenError, SelfChecks};
use crate::detect::{Alert, DetectConfig};
use crate::dsp::resample::SPEECH_RATE_HZ;
use crate::output::sink::{self, finish_all, CallSink, History, PageFile, ReportFile};
use crate::pipeline::{Pipeline, PipelineError, SttSettings};
use crate::report::{LiveStats, Report};
use crate::source::drive;

/// After this long with nobody speaking, a call's audio is held back rather than fed: if
/// the call ends there, the report stops at the last words, not a minute of silence later.
const HOLD_AFTER_S: f64 = 2.0;

pub struct BackgroundOptions {
    pub monitor: super::Monitor,
    pub out: PathBuf,
    /// Record each call beside its report.
    pub record: bool,
    /// Where each call is stored (none with --no-save).
    pub history: Option<crate::history::Keep>,
}

/// A call found and written.
#[derive(Debug, Clone)]
pub struct CallDone {
    pub id: String,
    pub report: PathBuf,
    pub page: PathBuf,
    pub recording: Option<PathBuf>,
    pub duration_s: f64,
    pub rep_ratio: f64,
    pub alerts: usize,
    /// Why the call is not in the history, when it is not.
    pub unsaved: Option<String>,
    /// Why the recording is missing or cut short, when it is.
    pub unrecorded: Option<String>,
}

/// A call in progress.
struct Call {
    id: String,
    pipeline: Pipeline,
    recorder: Option<Recorder>,
    /// Audio of a silence that may be the call's end, not fed yet.
    held: (Vec<f32>, Vec<f32>),
    warnings: Vec<String>,
    next_period_s: f64,
    /// The devices' figures when this call began: its `live` section counts from them.
    mark: CaptureMark,
    /// The call's own capture figures, once it has ended.
    live: Option<LiveStats>,
}

impl Call {
    fn feed(&mut self, rep: &[f32], prospect: &[f32]) -> Vec<Alert> {
        let mut alerts = Vec::new();
        if !self.held.0.is_empty() {
            let (r, p) = std::mem::take(&mut self.held);
            alerts = self.feed_now(&r, &p);
        }
        alerts.extend(self.feed_now(rep, prospect));
        alerts
    }

    fn feed_now(&mut self, rep: &[f32], prospect: &[f32]) -> Vec<Alert> {
        if let Some(r) = self.recorder.as_mut() {
            r.write(rep, prospect);
        }
        self.pipeline.push(rep, prospect)
    }

    fn hold(&mut self, rep: &[f32], prospect: &[f32]) {
        self.held.0.extend_from_slice(rep);
        self.held.1.extend_from_slice(prospect);
    }
}

/// A call's name: its start, UTC, safe in any file system (`2026-11-28T23-40-12Z`).
fn call_id(start: SystemTime) -> String {
    let secs = start
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let day = crate::clock::utc_day(secs);
    let t = secs % 86_400;
    format!("{day}T{:02}-{:02}-{:02}Z", t / 3600, t / 60 % 60, t % 60)
}

/// Loads what a call's pipeline needs (the model, the act reader), on a thread of its own.
fn prepare(
    rules: &DetectConfig,
    stt: Option<&SttSettings>,
) -> JoinHandle<Result<Pipeline, PipelineError>> {
    let (rules, stt) = (rules.clone(), stt.cloned());
    std::thread::Builder::new()
        .name("prepare".into())
        .spawn(move || super::pipeline(&rules, stt.as_ref()))
        .expect("spawning a thread")
}

/// What a finished call's thread says back.
enum Finished {
    Written(CallDone),
    Failed(String),
}

/// Ends a call on a thread of its own: the last transcripts, then the report, the page
/// and the recording's final header, so the audio path never waits for them.
fn finish(call: Call, opts: &BackgroundOptions, tx: Sender<Finished>) -> JoinHandle<()> {
    let out = opts.out.clone();
    let history = opts.history.clone();
    std::thread::Builder::new()
        .name("finish-call".into())
        .spawn(move || {
            let result = crate::panic::catch(|| write_call(call, &out, history))
                .unwrap_or_else(|p| Err(format!("internal error: {p}; please report it")));
            let _ = tx.send(match result {
                Ok(done) => Finished::Written(done),
                Err(e) => Finished::Failed(e),
            });
        })
        .expect("spawning a thread")
}

fn write_call(
    call: Call,
    out: &Path,
    history: Option<crate::history::Keep>,
) -> Result<CallDone, String> {
    let Call {
        id,
        pipeline,
        recorder,
        mut warnings,
        live,
        ..
    } = call;
    let record = pipeline.finish();
    let path = recorder.as_ref().map(|r| r.path().to_path_buf());
    let ended = recorder.map(Recorder::finish);
    let recording = path.filter(|_| ended.as_ref().is_some_and(|e| e.made));
    let unrecorded = ended.and_then(|e| e.failure);
    warnings.extend(unrecorded.clone());
    let report = Report::from_call(record, live, None, warnings);
    let json = out.join(format!("{id}.json"));
    let page = out.join(format!("{id}.html"));
    let value = serde_json::to_value(&report).map_err(|e| e.to_string())?;
    let day = id.get(..10).unwrap_or("");
    let title = format!("call {id}");
    let finished = sink::Finished {
        report: &report,
        value: &value,
        title: &title,
        date: Some(day),
        audio: recording.as_deref(),
    };
    let mut sinks: Vec<Box<dyn CallSink + Send>> = vec![
        Box::new(ReportFile(json.clone())),
        Box::new(PageFile(page.clone())),
    ];
    if let Some(keep) = history {
        sinks.push(Box::new(History {
            keep,
            name: id.clone(),
            key: Some(crate::history::live_key(&id)),
            date: Some(day.to_string()),
        }));
    }
    let problems = finish_all(&mut sinks, &finished).map_err(|e| crate::term::chain(&e))?;
    let unsaved = (!problems.is_empty()).then(|| problems.join("; "));
    Ok(CallDone {
        unsaved,
        unrecorded,
        id,
        report: json,
        page,
        recording,
        duration_s: report.duration_s,
        rep_ratio: report.talk.rep_ratio,
        alerts: report.alerts.len(),
    })
}

/// Listens until `stop` (Ctrl-C) or the duration; returns the calls written.
///
/// # Errors
/// A device or the event log cannot be opened, or the model cannot be loaded.
pub fn background(
    opts: &BackgroundOptions,
    stt: Option<&SttSettings>,
    stop: &AtomicBool,
    status: &mut Status,
) -> Result<Vec<CallDone>, ListenError> {
    // The first call's pipeline now: a bad model fails before any device opens.
    let mut ready = Some(
        prepare(&opts.monitor.rules, stt)
            .join()
            .expect("prepare")
            .map_err(ListenError::Stt)?,
    );
    let mut preparing: Option<JoinHandle<Result<Pipeline, PipelineError>>> = None;
    let mut watch = super::pipeline(&opts.monitor.rules, None).map_err(ListenError::Stt)?;
    let (mut source, mut events) = super::open_capture(&opts.monitor, stop)?;
    let (mic, system) = source.devices();
    status.note(&format!(
        "listening: in the background, mic {mic} | system audio {system}; each call goes to \
         {}; Ctrl-C stops",
        opts.out.display()
    ));
    let mut finder = CallFinder::new(opts.monitor.rules.calls.clone());
    let mut preroll = Preroll::new(opts.monitor.rules.calls.start_window_s + LEAD_S + 1.0);
    let mut checks = SelfChecks::new(opts.monitor.rules.capture.silent_side_s);
    let mut call: Option<Call> = None;
    let (done_tx, done_rx) = crossbeam_channel::unbounded::<Finished>();
    let mut finishing: Vec<JoinHandle<()>> = Vec::new();
    let mut done = Vec::new();
    let mut idle_warnings = Vec::new();
    drive(&mut source, &mut watch, |source, block| {
        // Between calls only the latest warnings are kept for the next call's report.
        if idle_warnings.len() > 20 {
            idle_warnings.drain(..idle_warnings.len() - 20);
        }
        let warnings = match call.as_mut() {
            Some(c) => &mut c.warnings,
            None => &mut idle_warnings,
        };
        let who = checks.push(source, &block, status, events.as_mut(), warnings);
        let now = block.pipeline.now_s();
        let dt = block.rep.len() as f64 / f64::from(SPEECH_RATE_HZ);
        preroll.push(block.rep, block.prospect, now);
        let mut alerts = Vec::new();
        match finder.push(now, dt, who) {
            Some(Turn::Started { from_s }) => {
                let mut not_ready = None;
                let pipeline = match ready.take() {
                    Some(p) => Some(p),
                    None => take_ready(&mut preparing).unwrap_or_else(|why| {
                        status.warn(About::SpeechToText, &why);
                        not_ready = Some(why);
                        None
                    }),
                }
                .unwrap_or_else(|| without_stt(&opts.monitor.rules));
                let (rep, prospect, start_s) = preroll.take_from(from_s);
                let started = SystemTime::now() - Duration::from_secs_f64(now - start_s);
                let id = call_id(started);
                let recorder = opts.record.then(|| open_recording(&opts.out, &id));
                let mut c = Call {
                    id: id.clone(),
                    pipeline,
                    recorder,
                    held: Default::default(),
                    // What went wrong with the devices while waiting belongs to this call.
                    warnings: std::mem::take(&mut idle_warnings)
                        .into_iter()
                        .chain(not_ready)
                        .collect(),
                    next_period_s: opts.monitor.period_s,
                    mark: source.mark(),
                    live: None,
                };
                alerts = c.feed(&rep, &prospect);
                status.note(&format!("call {id} started"));
                if let Some(e) = events.as_mut() {
                    e.call("call_start", &serde_json::json!({ "call": id }));
                }
                call = Some(c);
            }
            Some(Turn::Ended { .. }) => {
                if let Some(mut c) = call.take() {
                    let lost = source.dropped_frames() - c.mark.dropped_frames();
                    c.live = Some(source.since(&c.mark).into());
                    if lost > 0 {
                        c.warnings.push(format!(
                            "{lost} frames lost to a full capture ring during this call (the \
                             machine fell behind)"
                        ));
                    }
                    status.note(&format!("call {} ended; writing its report", c.id));
                    finishing.push(finish(c, opts, done_tx.clone()));
                    // A pipeline still loading (this call began before it was ready) is
                    // the next call's; only a call that used one starts another.
                    if ready.is_none() && preparing.is_none() {
                        preparing = Some(prepare(&opts.monitor.rules, stt));
                    }
                }
            }
            None => {
                if let Some(c) = call.as_mut() {
                    if finder.silent_for(now) >= HOLD_AFTER_S {
                        c.hold(block.rep, block.prospect);
                    } else {
                        alerts = c.feed(block.rep, block.prospect);
                    }
                }
            }
        }
        if let Some(c) = call.as_mut() {
            for w in c.pipeline.take_warnings() {
                status.warn(About::SpeechToText, &w);
            }
            show_alerts(&alerts, status, events.as_mut());
            let period_due = c.pipeline.now_s() >= c.next_period_s;
            if period_due || status.due() {
                let r = running(
                    &c.pipeline,
                    source.dropped_frames() - c.mark.dropped_frames(),
                );
                if period_due {
                    c.next_period_s += opts.monitor.period_s;
                    if let Some(e) = events.as_mut() {
                        e.talk(&r);
                    }
                }
                status.draw(&r, &checks.meters);
            }
        } else {
            status.idle(&checks.meters, done.len());
        }
        for f in done_rx.try_iter() {
            written(f, status, events.as_mut(), &mut done);
        }
    });
    // Stopped mid-call: that call is written too.
    if let Some(mut c) = call.take() {
        c.live = Some(source.since(&c.mark).into());
        finishing.push(finish(c, opts, done_tx.clone()));
    }
    drop(done_tx);
    for h in finishing {
        let _ = h.join();
    }
    for f in done_rx.try_iter() {
        written(f, status, events.as_mut(), &mut done);
    }
    if let Some(w) = events.and_then(EventLog::finish) {
        status.warn(About::Files, &w);
    }
    status.finish();
    let _ = source.finish();
    Ok(done)
}

/// The next call's pipeline if it has loaded. The stage thread never waits for a load (a
/// first run trains the act classifier for a minute): the capture ring holds 3 s, so
/// waiting would drop audio. A call that starts while its pipeline loads gets talk figures
/// only, and the pipeline stays for the call after it.
fn take_ready<P, E: std::fmt::Display>(
    preparing: &mut Option<JoinHandle<Result<P, E>>>,
) -> Result<Option<P>, String> {
    let Some(loading) = preparing.as_ref() else {
        return Ok(None);
    };
    if !loading.is_finished() {
        return Err(
            "speech-to-text is still loading (a first run trains the act reader); this call gets \
             talk figures only"
                .into(),
        );
    }
    match preparing.take().map(JoinHandle::join) {
        Some(Ok(Ok(p))) => Ok(Some(p)),
        Some(Ok(Err(e))) => Err(format!(
            "speech-to-text could not start for this call ({e}); talk figures only"
        )),
        _ => Ok(None),
    }
}

fn without_stt(rules: &DetectConfig) -> Pipeline {
    super::pipeline(rules, None).expect("a pipeline without speech-to-text loads nothing")
}

/// The call's recording, made by its writer thread.
fn open_recording(out: &Path, id: &str) -> Recorder {
    Recorder::start_new(&out.join(format!("{id}.wav")))
}

fn written(
    f: Finished,
    status: &mut Status,
    events: Option<&mut EventLog>,
    done: &mut Vec<CallDone>,
) {
    match f {
        Finished::Written(d) => {
            for w in d.unrecorded.iter().chain(&d.unsaved) {
                status.warn(About::Files, w);
            }
            status.note(&format!(
                "call {}: {}, rep {:.0}%, {} alert{}; {}",
                d.id,
                crate::event::clock(d.duration_s),
                d.rep_ratio * 100.0,
                d.alerts,
                if d.alerts == 1 { "" } else { "s" },
                d.page.display()
            ));
            if let Some(e) = events {
                e.call(
                    "call_end",
                    &serde_json::json!({
                        "call": d.id, "report": d.report, "page": d.page,
                        "recording": d.recording, "duration_s": d.duration_s,
                    }),
                );
            }
            done.push(d);
        }
        Finished::Failed(e) => status.warn(
            About::Files,
            &format!("a call's report was not written: {e}"),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_call_is_named_by_its_utc_start() {
        let t = SystemTime::UNIX_EPOCH + Duration::from_secs(1_795_000_000);
        assert_eq!(call_id(t), "2026-11-18T11-06-40Z");
    }

    #[test]
    fn a_call_never_waits_for_a_pipeline_still_loading() {
        let (go, wait) = crossbeam_channel::bounded::<()>(0);
        let mut loading: Option<JoinHandle<Result<u8, String>>> =
            Some(std::thread::spawn(move || {
                let _ = wait.recv();
                Ok(7)
            }));
        let why = take_ready(&mut loading).unwrap_err();
        assert!(
            why.contains("still loading") && !why.contains("  "),
            "{why}"
        );
        assert!(loading.is_some(), "kept for the next call");
        go.send(()).unwrap();
        while !loading.as_ref().unwrap().is_finished() {
            std::thread::sleep(Duration::from_millis(1));
        }
        assert_eq!(take_ready(&mut loading), Ok(Some(7)));
        assert_eq!(take_ready(&mut loading), Ok(None), "nothing loading");
        let mut failed: Option<JoinHandle<Result<u8, String>>> =
            Some(std::thread::spawn(|| Err("no model".to_string())));
        while !failed.as_ref().unwrap().is_finished() {
            std::thread::sleep(Duration::from_millis(1));
        }
        assert!(take_ready(&mut failed).unwrap_err().contains("no model"));
    }
}
