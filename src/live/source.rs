//! The two live devices as a call source: drains both rings every few milliseconds,
//! resamples each side to 16 kHz and aligns them on one timeline (the echo canceller needs
//! the prospect's audio as its reference, sample for sample), with silence for a side
//! that delivers nothing. Says what happens to the devices, and measures their drift and
//! the audio path's latency.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use ringbuf::traits::{Consumer, Observer};

use super::drift::DriftFit;
use super::latency::PathLatency;
use super::same_signal::SameSignal;
use crate::capture::side::{SideCapture, SideMsg};
use crate::capture::{CaptureError, Role};
use crate::dsp::align::{Aligner, Flow};
use crate::dsp::resample::{ResampleError, ToSpeechRate, SPEECH_RATE_HZ};
use crate::event::{clock, round3, PerSide, Side};
use crate::report::{CaptureStats, LiveStats};
use crate::source::CallSource;

/// How often the source wakes to drain the rings.
const TICK: Duration = Duration::from_millis(5);
/// A side silent this long counts as gone: the other side no longer waits for it (and
/// its alerts no longer wait for the aligner), silence is recorded in its place, and the
/// rep hears of it. A busy machine delays a sound server's delivery by a second and more
/// (PulseAudio held the mic back 1.0 s under `stress-ng --cpu 2`), and that audio arrives
/// late, not never: shorter stalls are waited out and lose nothing.
const GONE_AFTER_S: f64 = 2.0;
/// Silent this long (a few device periods), a side is late: waited for, not trimmed to.
const LATE_AFTER_S: f64 = 0.2;
/// A late side counts as back in its stride this long after it delivers again (the
/// held-back audio comes in a burst); whatever it still lags by then was lost.
const SETTLE_S: f64 = 0.5;
/// When neither side delivers, the timeline follows the wall clock this far behind.
const WALL_LAG_S: f64 = 0.1;
/// Drift is measured from this long after the start.
const DRIFT_SETTLE_S: f64 = 3.0;
/// Drift needs this much uninterrupted audio to mean anything.
const DRIFT_MIN_S: f64 = 30.0;

const SPEECH_RATE: f64 = SPEECH_RATE_HZ as f64;

/// Something about the devices the rep should hear of.
pub struct Note {
    /// The side whose device it is about; none for both (one signal on both sides).
    pub side: Option<Side>,
    pub kind: NoteKind,
    pub text: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NoteKind {
    /// Changes nothing (the server moved a stream and it was moved back; a side is back).
    Info,
    /// A capture problem: goes into the report's warnings.
    Warning,
}

impl Note {
    fn info(side: Option<Side>, text: String) -> Self {
        Self {
            side,
            kind: NoteKind::Info,
            text,
        }
    }

    fn warning(side: Option<Side>, text: String) -> Self {
        Self {
            side,
            kind: NoteKind::Warning,
            text,
        }
    }
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
    /// Whether it is waited for: see [`Flow`].
    flow: Flow,
    /// Silent for longer than its device periods (and not yet gone).
    held: bool,
    /// When it delivered again after being held.
    back_at_s: Option<f64>,
    lost_reason: Option<String>,
    gone_at: Option<f64>,
    /// The rep was told this side stopped delivering.
    warned_gone: bool,
    opens: u32,
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
            flow: Flow::Gone,
            held: false,
            back_at_s: None,
            lost_reason: None,
            gone_at: None,
            warned_gone: false,
            opens: 0,
            drift: DriftFit::default(),
            dropped_seen: 0,
        }
    }

    fn name(&self) -> &'static str {
        self.capture.role.label()
    }

    fn side(&self) -> Option<Side> {
        Some(match self.capture.role {
            Role::Mic => Side::Rep,
            Role::System => Side::Prospect,
        })
    }

    /// Takes the supervisor's news.
    fn poll(&mut self, notes: &mut Vec<Note>) -> Result<(), ResampleError> {
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
                    // Its return is news too.
                    self.warned_gone = true;
                    if self.lost_reason.is_none() {
                        notes.push(Note::warning(
                            self.side(),
                            format!(
                                "{} {}: {reason}; reopening it when it comes back",
                                self.name(),
                                self.capture.device.name
                            ),
                        ));
                    }
                    self.lost_reason = Some(reason);
                }
                SideMsg::Note(text) => notes.push(Note::info(self.side(), text)),
                SideMsg::Warning(text) => notes.push(Note::warning(self.side(), text)),
            }
        }
        Ok(())
    }

    /// Moves what the ring holds, at 16 kHz, into the aligner.
    fn drain(&mut self, side: Side, wall_s: f64, aligner: &mut Aligner) {
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
            aligner.push_silence(side, (lost * SPEECH_RATE) as usize);
        }
        // Drift from the device's steady state: the first seconds carry start-up bursts.
        if self.opens == 1 && self.lost_reason.is_none() && wall_s >= DRIFT_SETTLE_S {
            let frames = self.capture.counters.received.load(Ordering::Relaxed);
            if frames > 0 {
                self.drift.add(wall_s, frames as f64);
            }
        }
    }

    /// Updates liveness; reports a side gone for long enough, and its coming back.
    fn check(&mut self, now_ns: u64, call_s: f64, notes: &mut Vec<Note>) {
        let silent_s = self.capture.silent_for(now_ns);
        let live = self.ring.is_some() && silent_s < GONE_AFTER_S;
        let gone = !live && (self.live || self.lost_reason.is_some());
        if gone && self.gone_at.is_none() {
            self.gone_at = Some(call_s);
        }
        if let Some(at) = self.gone_at {
            if !live && !self.warned_gone && self.ring.is_some() {
                self.warned_gone = true;
                notes.push(Note::warning(
                    self.side(),
                    format!(
                        "{} {} stopped delivering audio at {}; recording silence for it",
                        self.name(),
                        self.capture.device.name,
                        clock(at)
                    ),
                ));
            }
        }
        if live {
            if let Some(at) = self.gone_at.take() {
                if std::mem::take(&mut self.warned_gone) {
                    notes.push(Note::info(
                        self.side(),
                        format!(
                            "{} {} is back at {} after {:.1} s of silence",
                            self.name(),
                            self.capture.device.name,
                            clock(call_s),
                            call_s - at
                        ),
                    ));
                }
            }
            self.lost_reason = None;
        }
        self.live = live;
        let wall_s = now_ns as f64 / 1e9;
        self.flow = if !live {
            self.back_at_s = None;
            Flow::Gone
        } else if silent_s >= LATE_AFTER_S {
            self.held = true;
            Flow::Late
        } else if std::mem::take(&mut self.held) {
            self.back_at_s = Some(wall_s);
            Flow::Late
        } else if self.back_at_s.is_some_and(|at| wall_s - at < SETTLE_S) {
            Flow::Late
        } else {
            self.back_at_s = None;
            Flow::Live
        };
    }

    fn stats(&self, side: Side, aligner: &Aligner) -> CaptureStats {
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
            gap_s: (aligner.padded[side] as f64 / SPEECH_RATE * 10.0).round() / 10.0,
            realigned_s: round3(aligner.trimmed[side] as f64 / SPEECH_RATE),
            reopened: self.opens.saturating_sub(1),
            moves: self.capture.counters.moves.load(Ordering::Relaxed),
            drift_ppm,
        }
    }
}

/// What a finished live source leaves for the report.
pub struct CaptureSummary {
    pub capture: Vec<CaptureStats>,
    pub audio_path_ms: [f64; 3],
}

impl From<CaptureSummary> for LiveStats {
    fn from(s: CaptureSummary) -> Self {
        LiveStats {
            capture: s.capture,
            audio_path_ms: s.audio_path_ms,
        }
    }
}

/// A live source's figures at one moment (a background call's start), to count from.
pub struct CaptureMark {
    capture: Vec<CaptureStats>,
    path: PathLatency,
}

impl CaptureMark {
    /// Frames lost to full rings by then, both sides.
    pub fn dropped_frames(&self) -> u64 {
        self.capture.iter().map(|c| c.dropped_frames).sum()
    }
}

pub struct LiveSource<'a> {
    sides: PerSide<SideStage>,
    aligner: Aligner,
    origin: Instant,
    stop: &'a AtomicBool,
    duration_s: Option<f64>,
    notes: Vec<Note>,
    same: SameSignal,
    path: PathLatency,
    stall: Option<(f64, f64)>,
    ended: bool,
}

/// Fault injection for the tests: `TWOEARS_TEST_STALL=AT:SECS` stalls the stage thread
/// for SECS seconds once the call reaches AT seconds, as a starved machine would.
fn test_stall() -> Option<(f64, f64)> {
    let v = std::env::var("TWOEARS_TEST_STALL").ok()?;
    let (at, secs) = v.split_once(':')?;
    Some((at.parse().ok()?, secs.parse().ok()?))
}

impl<'a> LiveSource<'a> {
    /// Opens both devices now, so a bad name or a missing server fails before the call.
    ///
    /// # Errors
    /// No server, an unknown or ambiguous device, or one that will not open.
    pub fn open(
        mic: Option<&str>,
        system: Option<&str>,
        stop: &'a AtomicBool,
        duration_s: Option<f64>,
    ) -> Result<Self, CaptureError> {
        let origin = Instant::now();
        let mic = SideCapture::start(Role::Mic, mic, origin)?;
        let system = SideCapture::start(Role::System, system, origin)?;
        Ok(Self {
            sides: PerSide::new(SideStage::new(mic), SideStage::new(system)),
            aligner: Aligner::live(),
            origin,
            stop,
            duration_s,
            notes: Vec::new(),
            same: SameSignal::default(),
            path: PathLatency::default(),
            stall: test_stall(),
            ended: false,
        })
    }

    /// The devices' server names: (mic, system audio).
    pub fn devices(&self) -> (&str, &str) {
        (
            &self.sides.rep.capture.device.name,
            &self.sides.prospect.capture.device.name,
        )
    }

    /// What happened to the devices since the last call.
    pub fn take_notes(&mut self) -> std::vec::Drain<'_, Note> {
        self.notes.drain(..)
    }

    /// Frames lost to a full ring so far, both sides.
    pub fn dropped_frames(&self) -> u64 {
        self.sides
            .iter()
            .map(|(_, s)| s.capture.counters.dropped.load(Ordering::Relaxed))
            .sum()
    }

    fn call_s(&self) -> f64 {
        self.aligner.fed as f64 / SPEECH_RATE
    }

    /// The figures so far, for [`LiveSource::since`].
    pub fn mark(&self) -> CaptureMark {
        CaptureMark {
            capture: self.stats(),
            path: self.path.clone(),
        }
    }

    /// What each device delivered and lost since `mark`: one background call's figures.
    /// The device clock's drift is the whole run's estimate (a property of the device).
    pub fn since(&self, mark: &CaptureMark) -> CaptureSummary {
        let capture = self
            .stats()
            .into_iter()
            .zip(&mark.capture)
            .map(|(now, then)| CaptureStats {
                dropped_frames: now.dropped_frames.saturating_sub(then.dropped_frames),
                gap_s: round3(now.gap_s - then.gap_s).max(0.0),
                realigned_s: round3(now.realigned_s - then.realigned_s).max(0.0),
                reopened: now.reopened.saturating_sub(then.reopened),
                moves: now.moves.saturating_sub(then.moves),
                ..now
            })
            .collect();
        CaptureSummary {
            capture,
            audio_path_ms: self.path.since(&mark.path).summary(),
        }
    }

    fn stats(&self) -> Vec<CaptureStats> {
        Side::BOTH
            .into_iter()
            .map(|s| self.sides[s].stats(s, &self.aligner))
            .collect()
    }

    /// Ends the capture; what each device delivered and lost.
    pub fn finish(self) -> CaptureSummary {
        CaptureSummary {
            capture: self.stats(),
            audio_path_ms: self.path.summary(),
        }
    }

    fn copy(out: (&[f32], &[f32]), rep: &mut Vec<f32>, prospect: &mut Vec<f32>) {
        rep.clear();
        rep.extend_from_slice(out.0);
        prospect.clear();
        prospect.extend_from_slice(out.1);
    }
}

impl CallSource for LiveSource<'_> {
    fn next(&mut self, rep: &mut Vec<f32>, prospect: &mut Vec<f32>) -> bool {
        if self.ended {
            return false;
        }
        let call_s = self.call_s();
        let due_cap = self.duration_s.map(|d| (d * SPEECH_RATE).ceil() as u64);
        if self.stop.load(Ordering::Relaxed) || due_cap.is_some_and(|cap| self.aligner.fed >= cap) {
            // The call is over: what is still queued belongs to it.
            let wall_s = self.origin.elapsed().as_secs_f64();
            for s in Side::BOTH {
                self.sides[s].drain(s, wall_s, &mut self.aligner);
            }
            Self::copy(self.aligner.drain(), rep, prospect);
            self.ended = true;
            return true;
        }
        std::thread::sleep(TICK);
        if let Some((_, secs)) = self.stall.take_if(|(at, _)| call_s >= *at) {
            std::thread::sleep(Duration::from_secs_f64(secs));
        }
        let now = self.origin.elapsed();
        let now_ns = now.as_nanos() as u64;
        let wall_s = now.as_secs_f64();
        for s in Side::BOTH {
            let stage = &mut self.sides[s];
            if let Err(e) = stage.poll(&mut self.notes) {
                // With its cause: rubato's words on the rate it refused.
                let e = crate::term::chain(&e);
                self.notes.push(Note::warning(
                    stage.side(),
                    format!(
                        "{} {}: {e}; its audio is dropped",
                        stage.name(),
                        stage.capture.device.name
                    ),
                ));
                stage.ring = None;
            }
            stage.drain(s, wall_s, &mut self.aligner);
            stage.check(now_ns, call_s, &mut self.notes);
        }
        let mut due = ((wall_s - WALL_LAG_S).max(0.0) * SPEECH_RATE) as u64;
        if let Some(cap) = due_cap {
            due = due.min(cap);
        }
        let flow = self.sides.map(|s| s.flow);
        let out = self.aligner.pull(flow, due);
        if let Some(w) = self.same.push(out.0, out.1) {
            self.notes.push(Note::warning(None, w));
        }
        Self::copy(out, rep, prospect);
        true
    }

    fn consumed(&mut self, now_s: f64) {
        // The sample waiting longest: since the last callback, plus what the resampler,
        // the aligner and the VAD's frame still hold.
        let now_ns = self.origin.elapsed().as_nanos() as u64;
        let in_vad = self.call_s() - now_s;
        for s in Side::BOTH {
            let stage = &self.sides[s];
            if let (true, Some(rs)) = (stage.live, stage.resampler.as_ref()) {
                self.path.add(
                    stage.capture.silent_for(now_ns)
                        + rs.held_s()
                        + self.aligner.queued(s) as f64 / SPEECH_RATE
                        + in_vad,
                );
            }
        }
    }
}
