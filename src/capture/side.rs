//! One side's capture. The audio callback only converts into a preallocated scratch buffer
//! and pushes into an SPSC ring; overflow is counted in an atomic. A supervisor thread owns
//! the stream, keeps it on the device the user chose and reopens the device when it fails
//! or disappears, handing the stage thread a fresh ring each time. A device that merely
//! goes quiet (suspended, muted by the server) is left open: it resumes by itself.

use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crossbeam_channel::{unbounded, Receiver, Sender};
use ringbuf::traits::{Producer, Split};
use ringbuf::{HeapCons, HeapProd, HeapRb};

use super::devices::{self, DeviceInfo};
use super::{CaptureError, Role};

/// Ring capacity: the stage thread may stall this long before frames are dropped.
const RING_S: usize = 3;
/// Callback period asked of the device (the pulse host defaults to 2 s otherwise); 5 ms
/// rather than 10 ms halves the wait for the other side and keeps the audio path
/// p95 under 50 ms while whisper is busy.
const PERIOD_S: f64 = 0.005;
/// Largest block the scratch buffer takes in one piece; larger ones are split.
const SCRATCH_FRAMES: usize = 8192;
/// Between checks that the stream is still on its device.
const CHECK: Duration = Duration::from_millis(250);
/// Between reopen attempts.
const RETRY: Duration = Duration::from_secs(1);
/// Bounds stream creation and start: a hung server must not hang the monitor.
const START_TIMEOUT: Duration = Duration::from_secs(3);

/// Written by the audio callback, read by everyone else.
#[derive(Debug, Default)]
pub struct Counters {
    /// Frames delivered by the device (at its own rate).
    pub received: AtomicU64,
    /// Frames lost because the ring was full.
    pub dropped: AtomicU64,
    /// Nanoseconds after the monitor's start of the latest callback; 0 before any.
    pub last_data_ns: AtomicU64,
    /// Times the sound server moved the stream off its device (written by the supervisor).
    pub moves: AtomicU32,
    failed: AtomicBool,
    /// The last stream error (written from the error callback, not the audio callback).
    error: Mutex<Option<String>>,
}

/// What the supervisor tells the stage thread.
pub enum SideMsg {
    Opened {
        ring: HeapCons<f32>,
        rate_hz: u32,
    },
    Lost {
        reason: String,
    },
    /// Something the rep should know that changes nothing (the server moved the stream).
    Note(String),
    /// Something that goes into the report's warnings (the server keeps moving it).
    Warning(String),
}

pub struct SideCapture {
    pub role: Role,
    pub device: DeviceInfo,
    pub counters: Arc<Counters>,
    pub msgs: Receiver<SideMsg>,
    stop: Arc<AtomicBool>,
    handle: Option<JoinHandle<()>>,
}

impl SideCapture {
    /// Resolves and opens the device now, so a bad name or a missing server fails before
    /// the call starts; then supervises it in the background.
    ///
    /// # Errors
    /// No server, unknown or ambiguous device, or the device will not open.
    pub fn start(role: Role, query: Option<&str>, origin: Instant) -> Result<Self, CaptureError> {
        let host = devices::open_host()?;
        let info = devices::resolve(&host, role, query)?;
        drop(host);
        let counters = Arc::new(Counters::default());
        let (stream, ring, rate_hz) = backend::open(&info.name, role, &counters, origin)?;
        let (tx, rx) = unbounded();
        let _ = tx.send(SideMsg::Opened { ring, rate_hz });
        let stop = Arc::new(AtomicBool::new(false));
        // The call audio follows the default output (headphones plugged in mid-call)
        // unless the user named a device.
        let follow = role == Role::System && query.is_none();
        let handle = {
            let (stop, counters, name) = (stop.clone(), counters.clone(), info.name.clone());
            std::thread::Builder::new()
                .name(format!("capture-{}", role.label()))
                .spawn(move || supervise(name, follow, role, stream, &counters, origin, &tx, &stop))
                .expect("spawning a thread")
        };
        Ok(Self {
            role,
            device: info,
            counters,
            msgs: rx,
            stop,
            handle: Some(handle),
        })
    }

    /// Seconds since the last callback delivered audio (since `origin` if none has).
    pub fn silent_for(&self, now_ns: u64) -> f64 {
        let last = self.counters.last_data_ns.load(Ordering::Relaxed);
        now_ns.saturating_sub(last) as f64 / 1e9
    }
}

impl Drop for SideCapture {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(h) = self.handle.take() {
            let _ = h.join();
        }
    }
}

#[allow(clippy::too_many_arguments)]
fn supervise(
    mut name: String,
    follow: bool,
    role: Role,
    stream: backend::Stream,
    counters: &Arc<Counters>,
    origin: Instant,
    tx: &Sender<SideMsg>,
    stop: &AtomicBool,
) {
    let mut stream = Some(stream);
    let mut watch = backend::Watch::new(role);
    let mut last_check = Instant::now();
    while !stop.load(Ordering::Relaxed) {
        std::thread::sleep(Duration::from_millis(50));
        let every = if stream.is_some() { CHECK } else { RETRY };
        if last_check.elapsed() < every && !counters.failed.load(Ordering::Relaxed) {
            continue;
        }
        last_check = Instant::now();
        if stream.is_some() {
            if follow {
                watch.follow_default(&mut name, tx);
            }
            if let Some(reason) = failure(counters).or_else(|| watch.check(&name, counters, tx)) {
                drop(stream.take());
                let _ = tx.send(SideMsg::Lost { reason });
            }
        } else if let Ok((s, ring, rate_hz)) = backend::open(&name, role, counters, origin) {
            stream = Some(s);
            watch = backend::Watch::new(role);
            let _ = tx.send(SideMsg::Opened { ring, rate_hz });
        }
    }
}

/// The error the stream itself reported, if it did.
fn failure(counters: &Counters) -> Option<String> {
    if !counters.failed.swap(false, Ordering::Relaxed) {
        return None;
    }
    let error = counters.error.lock().ok().and_then(|mut e| e.take());
    Some(error.unwrap_or_else(|| "the device reported an error".into()))
}

/// What the audio callback owns: the ring's producer and a scratch buffer, both sized
/// before the stream starts.
struct Feed {
    ring: HeapProd<f32>,
    scratch: Box<[f32]>,
    counters: Arc<Counters>,
    origin: Instant,
}

impl Feed {
    /// A feed and the ring's other end, for a device at `rate_hz`.
    fn new(rate_hz: u32, counters: &Arc<Counters>, origin: Instant) -> (Self, HeapCons<f32>) {
        let (ring, cons) = HeapRb::<f32>::new(rate_hz.max(1) as usize * RING_S).split();
        let feed = Self {
            ring,
            scratch: vec![0f32; SCRATCH_FRAMES].into_boxed_slice(),
            counters: counters.clone(),
            origin,
        };
        (feed, cons)
    }

    /// Real-time path: no allocation, no lock, no logging, no blocking.
    fn push(&mut self, frames: impl Iterator<Item = f32>) {
        let mut n = 0;
        for x in frames {
            self.scratch[n] = x;
            n += 1;
            if n == self.scratch.len() {
                self.flush(n);
                n = 0;
            }
        }
        self.flush(n);
        let now = self.origin.elapsed().as_nanos() as u64;
        self.counters
            .last_data_ns
            .store(now.max(1), Ordering::Relaxed);
    }

    fn flush(&mut self, frames: usize) {
        let pushed = self.ring.push_slice(&self.scratch[..frames]);
        let c = &self.counters;
        c.dropped
            .fetch_add((frames - pushed) as u64, Ordering::Relaxed);
        c.received.fetch_add(frames as u64, Ordering::Relaxed);
    }
}

/// Linux: named record streams on the pulse protocol, kept in place by a watch.
#[cfg(target_os = "linux")]
mod backend {
    use std::collections::VecDeque;

    use super::*;
    use crate::capture::pulse::{self, Capture};
    use crate::capture::pulse_pin::{Pin, Place};

    pub type Stream = Capture;

    /// More moves than this within `MOVE_WINDOW`: something on the server keeps moving
    /// the stream (a policy rule), and fighting it would only make the sides flap.
    const MAX_MOVES: usize = 3;
    const MOVE_WINDOW: Duration = Duration::from_secs(60);

    pub fn open(
        name: &str,
        role: Role,
        counters: &Arc<Counters>,
        origin: Instant,
    ) -> Result<(Stream, HeapCons<f32>, u32), CaptureError> {
        // Ask on our own connection first: the stream's client cannot be shut down once
        // connected, so a reopen that fails after connecting would leave it behind.
        let present = Pin::connect(role).and_then(|mut p| p.has_source(name));
        match present {
            Ok(true) => {}
            Ok(false) => {
                return Err(CaptureError::Open {
                    device: name.to_string(),
                    cause: "the sound server has no such device (now)".into(),
                })
            }
            Err(e) => return Err(CaptureError::NoServer(e.into())),
        }
        let counters = counters.clone();
        let (capture, ring) = pulse::open(name, role, PERIOD_S, START_TIMEOUT, move |rate| {
            let (mut feed, ring) = Feed::new(rate, &counters, origin);
            let sink = move |data: &[u8]| {
                // Mono little-endian f32, whole frames: the server sends full samples.
                feed.push(
                    data.chunks_exact(4)
                        .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]])),
                );
            };
            (sink, ring)
        })?;
        let rate_hz = capture.rate_hz;
        Ok((capture, ring, rate_hz))
    }

    pub struct Watch {
        role: Role,
        pin: Option<Pin>,
        /// When the server moved the stream, within the last `MOVE_WINDOW`.
        moves: VecDeque<Instant>,
        /// False once the moves came too often: the stream is left where it is put.
        correcting: bool,
        /// Away from its device as of the last check.
        away: bool,
        /// Checks in a row that did not find the stream.
        missing: u32,
        /// The source is muted on the server (as last said).
        muted: bool,
    }

    impl Watch {
        pub fn new(role: Role) -> Self {
            Self {
                role,
                pin: None,
                moves: VecDeque::new(),
                correcting: true,
                away: false,
                missing: 0,
                muted: false,
            }
        }

        /// Why the stream no longer captures `name`, if it does not; moves it back when the
        /// server moved it.
        pub fn check(
            &mut self,
            name: &str,
            counters: &Counters,
            tx: &Sender<SideMsg>,
        ) -> Option<String> {
            let pin = match self.pin.as_mut() {
                Some(p) => p,
                None => match Pin::connect(self.role) {
                    Ok(p) => self.pin.insert(p),
                    Err(e) => return Some(format!("the sound server went away ({e})")),
                },
            };
            let place = match pin.check(name, self.correcting) {
                Ok(p) => p,
                Err(_) => {
                    // Reconnect at the next check; only a failed reconnect loses the side.
                    self.pin = None;
                    return None;
                }
            };
            self.missing = if place == Place::StreamGone {
                self.missing + 1
            } else {
                0
            };
            if pin.muted != self.muted {
                self.muted = pin.muted;
                let _ = tx.send(self.mute_message(name));
            }
            match place {
                Place::Kept => self.away = false,
                Place::Moved(to) => self.moved(name, &to, counters, tx),
                Place::SourceGone => return Some("the device disappeared".into()),
                // Twice in a row: a stream still being set up may not be listed yet.
                Place::StreamGone if self.missing >= 2 => {
                    return Some("the sound server closed the stream".into())
                }
                Place::StreamGone => {}
            }
            None
        }

        /// What to say when the source's mute switch on the server changed.
        fn mute_message(&self, name: &str) -> SideMsg {
            match (self.muted, self.role) {
                (true, Role::Mic) => SideMsg::Warning(format!(
                    "capture: the microphone {name} is muted on the sound server: you are not \
                     heard; unmute it (the headset's button, the sound settings or pavucontrol)"
                )),
                (true, Role::System) => SideMsg::Warning(format!(
                    "capture: the call audio {name} is muted on the sound server: the prospect \
                     is not heard; unmute it in the sound settings or pavucontrol"
                )),
                (false, _) => SideMsg::Note(format!("{name} is unmuted on the sound server")),
            }
        }

        /// When the default output is no longer the one `name` monitors, moves the stream
        /// to the new default's monitor and makes that `name`.
        pub fn follow_default(&mut self, name: &mut String, tx: &Sender<SideMsg>) {
            let Some(pin) = self.pin.as_mut() else {
                return;
            };
            let Ok(Some(monitor)) = pin.default_monitor() else {
                return;
            };
            if monitor == *name || !matches!(pin.move_to(&monitor), Ok(true)) {
                return;
            }
            let _ = tx.send(SideMsg::Note(format!(
                "the default output changed: the call audio now comes from {monitor} (was \
                 {name}); pass --system to keep one device"
            )));
            *name = monitor;
            self.away = false;
        }

        fn moved(&mut self, name: &str, to: &str, counters: &Counters, tx: &Sender<SideMsg>) {
            // Left where the server put it, the stream stays "moved": count it once.
            if !self.correcting && self.away {
                return;
            }
            self.away = !self.correcting;
            counters.moves.fetch_add(1, Ordering::Relaxed);
            let now = Instant::now();
            self.moves.push_back(now);
            while self
                .moves
                .front()
                .is_some_and(|t| now.duration_since(*t) > MOVE_WINDOW)
            {
                self.moves.pop_front();
            }
            let msg = if !self.correcting {
                return;
            } else if self.moves.len() > MAX_MOVES {
                self.correcting = false;
                SideMsg::Warning(format!(
                    "the sound server moved the {name} capture {} times in a minute \
                     (last to {to}); no longer moving it back. A rule in the sound server \
                     (WirePlumber, pavucontrol) keeps moving it: check the Recording tab of \
                     pavucontrol, then restart with --{} {name}",
                    self.moves.len(),
                    match self.role {
                        Role::Mic => "mic",
                        Role::System => "system",
                    }
                ))
            } else {
                SideMsg::Note(format!(
                    "the sound server moved the {name} capture to {to}; moved it back"
                ))
            };
            let _ = tx.send(msg);
        }
    }
}

/// Elsewhere: cpal's host for the platform.
#[cfg(not(target_os = "linux"))]
mod backend {
    use cpal::traits::{DeviceTrait, StreamTrait};
    use cpal::{BufferSize, FromSample, SampleFormat, SizedSample, StreamConfig};

    use super::*;

    pub type Stream = cpal::Stream;

    pub fn open(
        name: &str,
        _role: Role,
        counters: &Arc<Counters>,
        origin: Instant,
    ) -> Result<(Stream, HeapCons<f32>, u32), CaptureError> {
        let host = devices::open_host()?;
        let gone = || CaptureError::Open {
            device: name.to_string(),
            cause: "the device is gone".into(),
        };
        let (_, device) = devices::by_name(&host, name)?.ok_or_else(gone)?;
        let err = |cause: cpal::Error| CaptureError::Open {
            device: name.to_string(),
            cause: cause.into(),
        };
        let default = device
            .default_input_config()
            .or_else(|_| device.default_output_config()) // WASAPI loopback of an output
            .map_err(err)?;
        let rate_hz = default.sample_rate();
        let channels = default.channels().max(1);
        let (feed, cons) = Feed::new(rate_hz, counters, origin);
        let config = StreamConfig {
            channels,
            sample_rate: rate_hz,
            buffer_size: BufferSize::Fixed(((rate_hz as f64 * PERIOD_S) as u32).max(1)),
        };
        let stream = match default.sample_format() {
            SampleFormat::I16 => build::<i16>(&device, config, feed, counters),
            SampleFormat::I32 => build::<i32>(&device, config, feed, counters),
            SampleFormat::U8 => build::<u8>(&device, config, feed, counters),
            _ => build::<f32>(&device, config, feed, counters),
        }
        .map_err(err)?;
        start(stream, START_TIMEOUT)
            .map(|s| (s, cons, rate_hz))
            .map_err(|cause| CaptureError::Open {
                device: name.to_string(),
                cause: cause.into(),
            })
    }

    fn build<T>(
        device: &cpal::Device,
        config: StreamConfig,
        mut feed: Feed,
        counters: &Arc<Counters>,
    ) -> Result<cpal::Stream, cpal::Error>
    where
        T: SizedSample + Send + 'static,
        f32: FromSample<T>,
    {
        let channels = config.channels as usize;
        let scale = 1.0 / channels as f32;
        let error_counters = counters.clone();
        let on_data = move |data: &[T], _: &cpal::InputCallbackInfo| {
            feed.push(data.chunks_exact(channels).map(|frame| {
                frame
                    .iter()
                    .map(|&s| <f32 as FromSample<T>>::from_sample_(s))
                    .sum::<f32>()
                    * scale
            }));
        };
        let on_error = move |e: cpal::Error| {
            if e.kind() == cpal::ErrorKind::DeviceChanged {
                return; // rerouted by the system; the stream goes on
            }
            if let Ok(mut slot) = error_counters.error.lock() {
                *slot = Some(e.to_string());
            }
            error_counters.failed.store(true, Ordering::Relaxed);
        };
        device.build_input_stream::<T, _, _>(config, on_data, on_error, Some(START_TIMEOUT))
    }

    /// Starts a stream with a deadline: some hosts block in `play()` until the first data.
    fn start(stream: cpal::Stream, timeout: Duration) -> Result<cpal::Stream, String> {
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let r = stream.play().map(|()| stream);
            let _ = tx.send(r);
        });
        match rx.recv_timeout(timeout) {
            Ok(Ok(s)) => Ok(s),
            Ok(Err(e)) => Err(e.to_string()),
            Err(_) => Err(format!(
                "the device did not start within {} s",
                timeout.as_secs()
            )),
        }
    }

    /// Notices a device that is gone: the system moves its streams elsewhere silently.
    pub struct Watch {
        host: Option<devices::Host>,
    }

    impl Watch {
        pub fn new(_: Role) -> Self {
            Self {
                host: devices::open_host().ok(),
            }
        }

        /// The platform routes a default-device stream itself.
        pub fn follow_default(&mut self, _: &mut String, _: &Sender<SideMsg>) {}

        pub fn check(&mut self, name: &str, _: &Counters, _: &Sender<SideMsg>) -> Option<String> {
            let host = self.host.as_ref()?;
            match devices::by_name(host, name) {
                Ok(None) => Some("the device disappeared".into()),
                _ => None,
            }
        }
    }
}
