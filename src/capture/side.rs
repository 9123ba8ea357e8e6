//! One side's capture. The audio callback only downmixes into a preallocated scratch
//! buffer and pushes into an SPSC ring; overflow is counted in an atomic. A supervisor
//! thread owns the stream and reopens the device when it fails or disappears, handing
//! the stage thread a fresh ring each time. A device that merely goes quiet (suspended,
//! muted by the server) is left open: it resumes by itself.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use cpal::traits::{DeviceTrait, StreamTrait};
use cpal::{BufferSize, FromSample, SampleFormat, SizedSample, StreamConfig};
use crossbeam_channel::{unbounded, Receiver, Sender};
use ringbuf::traits::{Producer, Split};
use ringbuf::{HeapCons, HeapRb};

use super::devices::{self, DeviceInfo, Role};
use super::pulse_pin::Pin;
use super::CaptureError;

/// Ring capacity: the stage thread may stall this long before frames are dropped.
const RING_S: usize = 3;
/// Callback period asked of the device (the pulse host defaults to 2 s otherwise); 5 ms
/// rather than 10 ms halves the wait for the other side and keeps the audio path
/// p95 under 50 ms while whisper is busy.
const PERIOD_S: f64 = 0.005;
/// Largest callback the scratch buffer takes in one piece; larger ones are split.
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
        let (info, device) = devices::resolve(&host, role, query)?;
        let counters = Arc::new(Counters::default());
        let (stream, ring, rate_hz) = open(&device, &info, &counters, origin)?;
        let (tx, rx) = unbounded();
        let _ = tx.send(SideMsg::Opened { ring, rate_hz });
        let stop = Arc::new(AtomicBool::new(false));
        let handle = {
            let (stop, counters, name) = (stop.clone(), counters.clone(), info.name.clone());
            std::thread::Builder::new()
                .name(format!("capture-{}", role.label()))
                .spawn(move || supervise(&name, stream, &counters, origin, &tx, &stop))
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

fn supervise(
    name: &str,
    stream: cpal::Stream,
    counters: &Arc<Counters>,
    origin: Instant,
    tx: &Sender<SideMsg>,
    stop: &AtomicBool,
) {
    let mut stream = Some(stream);
    let mut host = devices::open_host().ok();
    let mut pin = pin_to(name);
    let mut last_check = Instant::now();
    while !stop.load(Ordering::Relaxed) {
        std::thread::sleep(Duration::from_millis(50));
        let every = if stream.is_some() { CHECK } else { RETRY };
        if last_check.elapsed() < every && !counters.failed.load(Ordering::Relaxed) {
            continue;
        }
        last_check = Instant::now();
        if stream.is_some() {
            if let Some(reason) = trouble(name, host.as_ref(), counters) {
                drop(stream.take());
                host = None;
                let _ = tx.send(SideMsg::Lost { reason });
            } else if let Some(p) = pin.as_mut() {
                match p.keep_on(name) {
                    Ok(Some(was)) => {
                        let _ = tx.send(SideMsg::Note(format!(
                            "the sound server moved the {name} capture to {was}; moved it back"
                        )));
                    }
                    Ok(None) => {}
                    Err(_) => pin = None,
                }
            }
        } else {
            // A restarted server needs a new connection, so reopen from the host up.
            if host.is_none() {
                host = devices::open_host().ok();
            }
            let reopened = host
                .as_ref()
                .and_then(|h| devices::by_name(h, name).ok().flatten())
                .map(|(info, device)| open(&device, &info, counters, origin));
            match reopened {
                Some(Ok((s, ring, rate_hz))) => {
                    stream = Some(s);
                    pin = pin_to(name);
                    let _ = tx.send(SideMsg::Opened { ring, rate_hz });
                }
                Some(Err(_)) => host = None,
                None => {}
            }
        }
    }
}

/// A control connection that keeps our newest stream on `name`, where the server has one.
fn pin_to(name: &str) -> Option<Pin> {
    let mut pin = Pin::connect().ok()?;
    pin.adopt(name).ok()?;
    Some(pin)
}

/// Why an open stream is no longer the device the user asked for, if it is not.
fn trouble(name: &str, host: Option<&cpal::Host>, counters: &Counters) -> Option<String> {
    if counters.failed.swap(false, Ordering::Relaxed) {
        let error = counters.error.lock().ok().and_then(|mut e| e.take());
        return Some(error.unwrap_or_else(|| "the device reported an error".into()));
    }
    // The server moves the streams of a removed device to another one without telling
    // this client, so check the device is still there.
    if let Some(h) = host {
        if let Ok(None) = devices::by_name(h, name) {
            return Some("the device disappeared".into());
        }
    }
    None
}

/// Opens and starts a capture stream into a new ring; returns the ring's consumer.
fn open(
    device: &cpal::Device,
    info: &DeviceInfo,
    counters: &Arc<Counters>,
    origin: Instant,
) -> Result<(cpal::Stream, HeapCons<f32>, u32), CaptureError> {
    let err = |reason: String| CaptureError::Open {
        device: info.name.clone(),
        reason,
    };
    let default = device
        .default_input_config()
        .or_else(|_| device.default_output_config()) // WASAPI loopback of an output
        .map_err(|e| err(e.to_string()))?;
    let rate_hz = default.sample_rate();
    let channels = default.channels().max(1);
    let (prod, cons) = HeapRb::<f32>::new(rate_hz as usize * RING_S).split();
    let config = StreamConfig {
        channels,
        sample_rate: rate_hz,
        buffer_size: BufferSize::Fixed(((rate_hz as f64 * PERIOD_S) as u32).max(1)),
    };
    // The pulse host converts to any format; others get their native one.
    let format = if cfg!(target_os = "linux") {
        SampleFormat::F32
    } else {
        default.sample_format()
    };
    let stream = match format {
        SampleFormat::I16 => build::<i16>(device, config, prod, counters, origin),
        SampleFormat::I32 => build::<i32>(device, config, prod, counters, origin),
        SampleFormat::U8 => build::<u8>(device, config, prod, counters, origin),
        _ => build::<f32>(device, config, prod, counters, origin),
    }
    .map_err(|e| err(e.to_string()))?;
    start(stream, START_TIMEOUT)
        .map(|s| (s, cons, rate_hz))
        .map_err(err)
}

fn build<T>(
    device: &cpal::Device,
    config: StreamConfig,
    mut ring: ringbuf::HeapProd<f32>,
    counters: &Arc<Counters>,
    origin: Instant,
) -> Result<cpal::Stream, cpal::Error>
where
    T: SizedSample + Send + 'static,
    f32: FromSample<T>,
{
    let channels = config.channels as usize;
    let scale = 1.0 / channels as f32;
    let mut scratch = vec![0f32; SCRATCH_FRAMES];
    let data_counters = counters.clone();
    let error_counters = counters.clone();
    let on_data = move |data: &[T], _: &cpal::InputCallbackInfo| {
        // Real-time path: no allocation, no lock, no logging, no blocking.
        let c = &data_counters;
        for block in data.chunks(SCRATCH_FRAMES * channels) {
            let frames = block.len() / channels;
            for (out, frame) in scratch.iter_mut().zip(block.chunks_exact(channels)) {
                *out = frame
                    .iter()
                    .map(|&s| <f32 as FromSample<T>>::from_sample_(s))
                    .sum::<f32>()
                    * scale;
            }
            let pushed = ring.push_slice(&scratch[..frames]);
            c.dropped
                .fetch_add((frames - pushed) as u64, Ordering::Relaxed);
            c.received.fetch_add(frames as u64, Ordering::Relaxed);
        }
        let now = origin.elapsed().as_nanos() as u64;
        c.last_data_ns.store(now.max(1), Ordering::Relaxed);
    };
    let on_error = move |e: cpal::Error| {
        if e.kind() == cpal::ErrorKind::DeviceChanged {
            return; // rerouted by the server; the stream goes on
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
