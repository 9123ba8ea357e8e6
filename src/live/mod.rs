//! Listen mode: the review pipeline fed from the two live devices. One stage thread (this
//! one) drains both rings every few milliseconds, resamples each side to 16 kHz, aligns
//! them (the echo canceller needs the prospect's audio as its reference, sample for
//! sample) and feeds the pipeline; speech-to-text runs on the pipeline's worker and drops
//! chunks rather than stall, so talk alerts are always on time.

pub mod align;
pub mod events;
pub mod recorder;
pub mod same_signal;
pub mod status;

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use ringbuf::traits::{Consumer, Observer};

use crate::capture::side::{SideCapture, SideMsg};
use crate::capture::Role;
use crate::detect::DetectConfig;
use crate::event::Side;
use crate::frontend::ChunkPolicy;
use crate::pipeline::{Backpressure, Pipeline, SttSettings};
use crate::report::{clock, CaptureStats, LiveStats, Report};
use crate::resample::{ToSpeechRate, SPEECH_RATE_HZ};
use crate::vad::VadConfig;

use align::Aligner;
use events::{EventLog, Running};
use recorder::Recorder;
use same_signal::SameSignal;
use status::Status;

/// How often the stage thread wakes to drain the rings.
const TICK: Duration = Duration::from_millis(5);
/// A side silent this long counts as gone: the other side no longer waits for it.
const GONE_AFTER_S: f64 = 0.3;
/// When neither side delivers, the timeline follows the wall clock this far behind.
const WALL_LAG_S: f64 = 0.1;
/// Drift is measured from this long after the start.
const DRIFT_SETTLE_S: f64 = 3.0;
/// Drift needs this much uninterrupted audio to mean anything.
const DRIFT_MIN_S: f64 = 30.0;

pub struct ListenOptions {
    pub mic: Option<String>,
    pub system: Option<String>,
    pub record: Option<PathBuf>,
    pub events: Option<PathBuf>,
    pub notify: bool,
    pub quiet: bool,
    /// Stop by itself after this many seconds of call.
    pub duration_s: Option<f64>,
    /// Seconds between running-figure lines in the event log.
    pub period_s: f64,
    pub rules: DetectConfig,
}

/// One side between its ring and the aligner.
struct SideStage {
    capture: SideCapture,
    ring: Option<ringbuf::HeapCons<f32>>,
    resampler: Option<ToSpeechRate>,
    rate_hz: u32,
    raw: Vec<f32>,
    speech: Vec<f32>,
    live: bool,
    lost_reason: Option<String>,
    gone_at: Option<f64>,
    opens: u32,
    /// Frames delivered against wall time over the first open, fitted by least squares
    /// (one device period of jitter at the ends would swamp a two-point estimate).
    drift: DriftFit,
    /// Dropped-frame count already replaced by silence.
    dropped_seen: u64,
}

impl SideStage {
    fn new(capture: SideCapture) -> Self {
        Self {
            capture,
            ring: None,
            resampler: None,
            rate_hz: 0,
            raw: vec![0.0; 4096],
            speech: Vec::with_capacity(4096),
            live: false,
            lost_reason: None,
            gone_at: None,
            opens: 0,
            drift: DriftFit::default(),
            dropped_seen: 0,
        }
    }

    fn name(&self) -> &'static str {
        self.capture.role.label()
    }

    /// Takes the supervisor's news; returns lines for the rep.
    fn poll(&mut self, notes: &mut Vec<String>) -> Result<()> {
        while let Ok(msg) = self.capture.msgs.try_recv() {
            match msg {
                SideMsg::Opened { ring, rate_hz } => {
                    if rate_hz != self.rate_hz || self.resampler.is_none() {
                        self.resampler = Some(ToSpeechRate::low_latency(rate_hz)?);
                        self.rate_hz = rate_hz;
                    }
                    self.ring = Some(ring);
                    self.opens += 1;
                }
                SideMsg::Lost { reason } => {
                    self.ring = None;
                    if self.lost_reason.is_none() {
                        notes.push(format!(
                            "warning: {} {}: {reason}; reopening it when it comes back",
                            self.name(),
                            self.capture.device.name
                        ));
                    }
                    self.lost_reason = Some(reason);
                }
                SideMsg::Note(text) => notes.push(text),
            }
        }
        Ok(())
    }

    /// Moves what the ring holds, at 16 kHz, into the aligner.
    fn drain(&mut self, side: usize, wall_s: f64, aligner: &mut Aligner) {
        let (Some(ring), Some(rs)) = (self.ring.as_mut(), self.resampler.as_mut()) else {
            return;
        };
        let dropped = self.capture.counters.dropped.load(Ordering::Relaxed);
        loop {
            let n = ring.pop_slice(&mut self.raw);
            if n == 0 {
                break;
            }
            self.speech.clear();
            rs.push(&self.raw[..n], &mut self.speech);
            aligner.push(side, &self.speech);
            if ring.is_empty() {
                break;
            }
        }
        // Frames the full ring refused came after what it held: silence in their place
        // keeps this side on the wall clock.
        if dropped > self.dropped_seen {
            let lost = (dropped - self.dropped_seen) as f64 / f64::from(self.rate_hz);
            self.dropped_seen = dropped;
            aligner.push_silence(side, (lost * f64::from(SPEECH_RATE_HZ)) as usize);
        }
        // Drift from the device's steady state: the first seconds carry start-up bursts.
        if self.opens == 1 && self.lost_reason.is_none() && wall_s >= DRIFT_SETTLE_S {
            let frames = self.capture.counters.received.load(Ordering::Relaxed);
            if frames > 0 {
                self.drift.add(wall_s, frames as f64);
            }
        }
    }

    /// Updates liveness; reports a side going or coming back.
    fn check(&mut self, now_ns: u64, call_s: f64, notes: &mut Vec<String>) {
        let live = self.ring.is_some() && self.capture.silent_for(now_ns) < GONE_AFTER_S;
        let gone = !live && (self.live || self.lost_reason.is_some());
        if gone && self.gone_at.is_none() {
            self.gone_at = Some(call_s);
            if self.ring.is_some() {
                notes.push(format!(
                    "warning: {} {} stopped delivering audio at {}; recording silence for it",
                    self.name(),
                    self.capture.device.name,
                    clock(call_s)
                ));
            }
        } else if live {
            if let Some(at) = self.gone_at.take() {
                notes.push(format!(
                    "{} {} is back at {} after {:.1} s of silence",
                    self.name(),
                    self.capture.device.name,
                    clock(call_s),
                    call_s - at
                ));
            }
            self.lost_reason = None;
        }
        self.live = live;
    }

    fn stats(&self, side: Side, aligner: &Aligner) -> CaptureStats {
        let s = side as usize;
        let sr = f64::from(SPEECH_RATE_HZ);
        let drift_ppm = self
            .drift
            .rate()
            .filter(|_| self.drift.span_s() >= DRIFT_MIN_S && self.rate_hz > 0)
            .map(|r| ((r / f64::from(self.rate_hz) - 1.0) * 1e6).round());
        CaptureStats {
            side,
            device: self.capture.device.name.clone(),
            rate_hz: self.rate_hz,
            dropped_frames: self.capture.counters.dropped.load(Ordering::Relaxed),
            gap_s: (aligner.padded[s] as f64 / sr * 10.0).round() / 10.0,
            realigned_s: (aligner.trimmed[s] as f64 / sr * 1000.0).round() / 1000.0,
            reopened: self.opens.saturating_sub(1),
            moves: self.capture.counters.moves.load(Ordering::Relaxed),
            drift_ppm,
        }
    }
}

/// Least-squares slope of delivered frames over wall time: the device's real rate.
#[derive(Default)]
struct DriftFit {
    origin: Option<(f64, f64)>,
    last_t: f64,
    n: f64,
    st: f64,
    sf: f64,
    stt: f64,
    stf: f64,
}

impl DriftFit {
    fn add(&mut self, wall_s: f64, frames: f64) {
        let (t0, f0) = *self.origin.get_or_insert((wall_s, frames));
        let (t, f) = (wall_s - t0, frames - f0);
        self.last_t = t;
        self.n += 1.0;
        self.st += t;
        self.sf += f;
        self.stt += t * t;
        self.stf += t * f;
    }

    fn span_s(&self) -> f64 {
        self.last_t
    }

    /// Frames per second.
    fn rate(&self) -> Option<f64> {
        let d = self.n * self.stt - self.st * self.st;
        (self.n > 2.0 && d > 0.0).then(|| (self.n * self.stf - self.st * self.sf) / d)
    }
}

/// Milliseconds histogram of the audio path's latency (1 ms buckets, the last catches all).
struct PathLatency([u64; 1000]);

impl PathLatency {
    fn add(&mut self, secs: f64) {
        let ms = (secs.max(0.0) * 1000.0) as usize;
        self.0[ms.min(self.0.len() - 1)] += 1;
    }

    /// Median, 95th percentile and maximum.
    fn summary(&self) -> [f64; 3] {
        let total: u64 = self.0.iter().sum();
        let at = |q: f64| {
            let want = (q * total as f64).ceil().max(1.0) as u64;
            let mut seen = 0;
            for (ms, n) in self.0.iter().enumerate() {
                seen += n;
                if seen >= want {
                    return ms as f64;
                }
            }
            0.0
        };
        if total == 0 {
            return [0.0; 3];
        }
        [at(0.5), at(0.95), at(1.0)]
    }
}

fn running(pipeline: &Pipeline, dropped_frames: u64) -> Running {
    let st = pipeline.state();
    let now = pipeline.now_s();
    let spoken = |side: Side, lo: f64| {
        st.talk
            .spoken_in(side, lo, now, st.open_since[side as usize])
    };
    let ratio = |lo: f64| {
        let (r, p) = (spoken(Side::Rep, lo), spoken(Side::Prospect, lo));
        if r + p > 0.0 {
            r / (r + p)
        } else {
            0.0
        }
    };
    let speaking = match (st.speaking(Side::Rep), st.speaking(Side::Prospect)) {
        (true, true) => Some("both"),
        (true, false) => Some("rep"),
        (false, true) => Some("prospect"),
        (false, false) => None,
    };
    let round = |v: f64| (v * 1000.0).round() / 1000.0 + 0.0;
    Running {
        at_s: round(now),
        rep_s: round(spoken(Side::Rep, 0.0)),
        prospect_s: round(spoken(Side::Prospect, 0.0)),
        rep_ratio: round(ratio(0.0)),
        rep_ratio_5min: round(ratio(now - 300.0)),
        speaking,
        rep_turn_s: round(st.open_since[0].map_or(0.0, |s| now - s)),
        stt_dropped_chunks: pipeline.dropped_chunks(),
        dropped_frames,
    }
}

/// Fault injection for the tests: `TWOEARS_TEST_STALL=AT:SECS` stalls this stage thread
/// for SECS seconds once the call reaches AT seconds, as a starved machine would.
fn test_stall() -> Option<(f64, f64)> {
    let v = std::env::var("TWOEARS_TEST_STALL").ok()?;
    let (at, secs) = v.split_once(':')?;
    Some((at.parse().ok()?, secs.parse().ok()?))
}

/// Hands one aligned block to the recording and the pipeline, and its alerts to the rep.
fn feed(
    rep: &[f32],
    prospect: &[f32],
    pipeline: &mut Pipeline,
    recorder: &mut Option<Recorder>,
    events: &mut Option<EventLog>,
    status: &mut Status,
) {
    if let Some(r) = recorder.as_mut() {
        r.write(rep, prospect);
    }
    for alert in pipeline.push(rep, prospect) {
        status.alert(&alert);
        if let Some(e) = events.as_mut() {
            e.alert(&alert);
        }
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
) -> Result<Report> {
    let mut recorder = opts
        .record
        .as_deref()
        .map(|p| {
            Recorder::create(p).with_context(|| {
                format!(
                    "{}: cannot create the recording; check the directory exists and is writable",
                    p.display()
                )
            })
        })
        .transpose()?;
    let mut events = opts
        .events
        .as_deref()
        .map(|p| {
            EventLog::open(p).with_context(|| {
                format!(
                    "{}: cannot create the event log; check the directory exists and is writable",
                    p.display()
                )
            })
        })
        .transpose()?;
    let mut pipeline = Pipeline::new(
        VadConfig::default(),
        ChunkPolicy::LIVE,
        opts.rules.clone(),
        stt,
        Backpressure::Drop,
    )
    .context("cannot start speech-to-text")?;

    let origin = Instant::now();
    let mic = SideCapture::start(Role::Mic, opts.mic.as_deref(), origin)?;
    let system = SideCapture::start(Role::System, opts.system.as_deref(), origin)?;
    status.note(&format!(
        "listening: mic {} | system audio {}{}; Ctrl-C ends the call",
        mic.device.name,
        system.device.name,
        recorder
            .as_ref()
            .map(|r| format!(" | recording to {}", r.path().display()))
            .unwrap_or_default()
    ));
    let mut sides = [SideStage::new(mic), SideStage::new(system)];
    let mut aligner = Aligner::default();
    let mut notes = Vec::new();
    let mut warnings = Vec::new();
    let mut next_period = opts.period_s;
    let mut stall = test_stall();
    let mut path = PathLatency([0; 1000]);
    let mut same = SameSignal::default();

    loop {
        let stopping =
            stop.load(Ordering::Relaxed) || opts.duration_s.is_some_and(|d| pipeline.now_s() >= d);
        if stopping {
            break;
        }
        std::thread::sleep(TICK);
        if let Some((_, secs)) = stall.take_if(|(at, _)| pipeline.now_s() >= *at) {
            std::thread::sleep(Duration::from_secs_f64(secs));
        }
        let now = origin.elapsed();
        let now_ns = now.as_nanos() as u64;
        let wall_s = now.as_secs_f64();
        for (s, stage) in sides.iter_mut().enumerate() {
            stage.poll(&mut notes)?;
            stage.drain(s, wall_s, &mut aligner);
            stage.check(now_ns, pipeline.now_s(), &mut notes);
        }
        for n in notes.drain(..) {
            status.note(&n);
            if n.starts_with("warning: ") {
                warnings.push(n.trim_start_matches("warning: ").to_string());
            }
        }
        let due = ((wall_s - WALL_LAG_S).max(0.0) * f64::from(SPEECH_RATE_HZ)) as u64;
        let mut due_cap = due;
        if let Some(d) = opts.duration_s {
            due_cap = due_cap.min((d * f64::from(SPEECH_RATE_HZ)) as u64);
        }
        let (rep, prospect) = aligner.pull([sides[0].live, sides[1].live], due_cap);
        if let Some(w) = same.push(rep, prospect) {
            status.note(&format!("warning: {w}"));
            warnings.push(w);
        }
        feed(
            rep,
            prospect,
            &mut pipeline,
            &mut recorder,
            &mut events,
            status,
        );
        // The sample waiting longest: since the last callback, plus what the resampler,
        // the aligner and the VAD's frame still hold.
        let in_vad = aligner.fed as f64 / f64::from(SPEECH_RATE_HZ) - pipeline.now_s();
        for (s, stage) in sides.iter().enumerate() {
            if let (true, Some(rs)) = (stage.live, stage.resampler.as_ref()) {
                path.add(
                    stage.capture.silent_for(now_ns)
                        + rs.held_s()
                        + aligner.queued(s) as f64 / f64::from(SPEECH_RATE_HZ)
                        + in_vad,
                );
            }
        }
        // The running figures walk every turn: only when a line or a redraw is due.
        let period_due = pipeline.now_s() >= next_period;
        if period_due || status.due() {
            let dropped: u64 = sides
                .iter()
                .map(|s| s.capture.counters.dropped.load(Ordering::Relaxed))
                .sum();
            let r = running(&pipeline, dropped);
            if period_due {
                next_period += opts.period_s;
                if let Some(e) = events.as_mut() {
                    e.talk(&r);
                }
            }
            status.draw(&r);
        }
    }

    // The call is over: what is still queued belongs to it.
    for (s, stage) in sides.iter_mut().enumerate() {
        stage.drain(s, origin.elapsed().as_secs_f64(), &mut aligner);
    }
    let (rep, prospect) = aligner.drain();
    let (rep, prospect) = (rep.to_vec(), prospect.to_vec());
    feed(
        &rep,
        &prospect,
        &mut pipeline,
        &mut recorder,
        &mut events,
        status,
    );
    status.finish();
    let live_warnings = warnings.len();
    let capture = vec![
        sides[0].stats(Side::Rep, &aligner),
        sides[1].stats(Side::Prospect, &aligner),
    ];
    for c in &capture {
        if c.dropped_frames > 0 {
            warnings.push(format!(
                "{} lost {} frames to a full ring (the machine fell behind)",
                c.device, c.dropped_frames
            ));
        }
    }
    drop(sides);
    let mut report = pipeline.finish(Vec::new());
    if let Some(stt) = report.stt.as_ref().filter(|s| s.dropped_chunks > 0) {
        warnings.push(format!(
            "speech-to-text fell behind and skipped {} chunks; their words are missing from \
             the transcript (talk figures are complete)",
            stt.dropped_chunks
        ));
    }
    if let Some(f) = recorder.and_then(Recorder::finish) {
        warnings.push(f);
    }
    if let Some(f) = events.and_then(|e| e.failure) {
        warnings.push(f);
    }
    for w in &warnings[live_warnings..] {
        status.note(&format!("warning: {w}"));
    }
    report.live = Some(LiveStats {
        capture,
        audio_path_ms: path.summary(),
    });
    report.warnings = warnings;
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn drift_fit_sees_through_period_jitter() {
        // A device 500 ppm fast, delivering 10 ms periods drained every 5 ms, one drain in
        // three 10 ms late: two minutes hold 6 periods of drift.
        let rate = 48_000.0 * (1.0 + 500e-6);
        let mut fit = DriftFit::default();
        for i in 0..24_000 {
            let t = i as f64 * 0.005;
            let jitter = if i % 3 == 0 { 0.01 } else { 0.0 };
            let frames = ((t - jitter).max(0.0) * rate / 480.0).floor() * 480.0;
            fit.add(t, frames);
        }
        let ppm = (fit.rate().unwrap() / 48_000.0 - 1.0) * 1e6;
        assert!((ppm - 500.0).abs() < 50.0, "{ppm} ppm");
        assert!(fit.span_s() > 119.0);
    }

    #[test]
    fn path_latency_percentiles() {
        let mut p = PathLatency([0; 1000]);
        for ms in 1..=100 {
            p.add(ms as f64 / 1000.0);
        }
        p.add(5.0); // beyond the histogram: lands in the last bucket
        assert_eq!(p.summary(), [51.0, 96.0, 999.0]);
    }
}
