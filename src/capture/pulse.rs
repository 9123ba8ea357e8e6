//! Linux capture streams, opened on the PulseAudio protocol itself (plain PulseAudio and
//! PipeWire's pipewire-pulse both serve it). cpal's pulse host names every stream after the
//! process, so the two sides of a call looked alike to the server, to WirePlumber's
//! restore-stream and to our own watch, which could then claim the other side's stream.
//! Here each stream carries its side's name ("twoears: microphone", "twoears: call audio")
//! for pavucontrol and Helvum; with our process id it names exactly one stream on the
//! server, which the watch (`pulse_pin`) keeps where the user put it.

use std::ffi::{CStr, CString};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use futures::executor::block_on;
use futures::FutureExt;
use pulseaudio::protocol::{self, Prop};

use super::devices::Role;
use super::CaptureError;

/// An open record stream. Dropping it closes the stream and its connection.
pub struct Capture {
    client: pulseaudio::Client,
    stream: Option<pulseaudio::RecordStream>,
    pub rate_hz: u32,
}

/// How long closing a stream may wait for the server.
const CLOSE_TIMEOUT: Duration = Duration::from_secs(1);

impl Drop for Capture {
    fn drop(&mut self) {
        if let Some(s) = self.stream.take() {
            // A server that went away answers at once; one that hangs must not hang the
            // end of the call, so the close gets a deadline (and its thread is left).
            let (tx, rx) = mpsc::channel();
            std::thread::spawn(move || {
                let _ = block_on(s.delete());
                let _ = tx.send(());
            });
            let _ = rx.recv_timeout(CLOSE_TIMEOUT);
        }
        let _ = &self.client;
    }
}

/// What the stream is called on the server, per side.
pub fn stream_name(role: Role) -> &'static CStr {
    match role {
        Role::Mic => c"twoears: microphone",
        Role::System => c"twoears: call audio",
    }
}

/// Opens a mono f32 record stream on the source named `source` at the source's own rate,
/// delivering `period_s` blocks to the sink that `make_sink` builds for that rate (called
/// on the connection's own thread: the real-time path). `make_sink` may hand back
/// something for the caller (the other end of the sink's ring).
///
/// # Errors
/// No server answers within `timeout`, the source does not exist, or the server refuses
/// the stream.
pub fn open<S, T>(
    source: &str,
    role: Role,
    period_s: f64,
    timeout: Duration,
    make_sink: impl FnOnce(u32) -> (S, T) + Send + 'static,
) -> Result<(Capture, T), CaptureError>
where
    S: FnMut(&[u8]) + Send + 'static,
    T: Send + 'static,
{
    let (tx, rx) = mpsc::channel();
    let source_name = source.to_string();
    // The handshake and the stream creation block with no deadline of their own: a hung
    // server must not hang the monitor, so they run on a thread we can give up on.
    std::thread::spawn(move || {
        let _ = tx.send(connect_and_create(
            &source_name,
            role,
            period_s,
            timeout,
            make_sink,
        ));
    });
    let open_error = |cause: pulseaudio::ClientError| CaptureError::Open {
        device: source.to_string(),
        cause: cause.into(),
    };
    let not_started = || CaptureError::Open {
        device: source.to_string(),
        cause: format!(
            "the device did not start within {} s (suspended or held by another program?)",
            timeout.as_secs()
        )
        .into(),
    };
    // The thread keeps its own deadline for the first audio; this one is for a server
    // that accepts the connection and then says nothing.
    match rx.recv_timeout(timeout + Duration::from_secs(1)) {
        Ok(Ok(capture)) => Ok(capture),
        Ok(Err(Failure::Connect(e))) => Err(CaptureError::NoServer(e.to_string())),
        Ok(Err(Failure::Stream(e))) => Err(open_error(e)),
        Ok(Err(Failure::NotStarted)) | Err(_) => Err(not_started()),
    }
}

enum Failure {
    Connect(pulseaudio::ClientError),
    Stream(pulseaudio::ClientError),
    /// No audio came before the deadline: the stream is closed again.
    NotStarted,
}

fn connect_and_create<S, T>(
    source: &str,
    role: Role,
    period_s: f64,
    timeout: Duration,
    make_sink: impl FnOnce(u32) -> (S, T),
) -> Result<(Capture, T), Failure>
where
    S: FnMut(&[u8]) + Send + 'static,
{
    let client = pulseaudio::Client::from_env(c"twoears").map_err(Failure::Connect)?;
    let name = CString::new(source).unwrap_or_default();
    let info = block_on(client.source_info_by_name(name)).map_err(Failure::Stream)?;
    let rate_hz = info.sample_spec.sample_rate;
    let sample_spec = protocol::SampleSpec {
        format: protocol::SampleFormat::Float32Le,
        channels: 1,
        sample_rate: rate_hz,
    };
    // One channel: the server downmixes, the callback only converts and queues.
    let channel_map = protocol::ChannelMap::mono();
    let period_bytes = ((f64::from(rate_hz) * period_s) as u32).max(1) * 4;
    let mut props = protocol::Props::new();
    props.set(Prop::MediaName, stream_name(role));
    props.set(Prop::ApplicationName, c"twoears");
    props.set(Prop::ApplicationIconName, c"audio-input-microphone");
    props.set(Prop::ApplicationProcessId, process_id());
    let params = protocol::RecordStreamParams {
        sample_spec,
        channel_map,
        source_index: Some(info.index),
        buffer_attr: protocol::stream::BufferAttr {
            max_length: u32::MAX,
            fragment_size: period_bytes,
            ..Default::default()
        },
        flags: protocol::stream::StreamFlags {
            adjust_latency: true,
            ..Default::default()
        },
        props,
        ..Default::default()
    };
    let started_at = Instant::now();
    let (sink, extra) = make_sink(rate_hz);
    let stream = block_on(client.create_record_stream(params, sink)).map_err(Failure::Stream)?;
    let capture = Capture {
        client,
        stream: Some(stream),
        rate_hz,
    };
    // A suspended source accepts the stream and sends nothing: wait for the first audio,
    // with a deadline, so a device that will not start is an error now, not silence.
    loop {
        let stream = capture.stream.as_ref().expect("set above");
        if stream.started().now_or_never().is_some() {
            return Ok((capture, extra));
        }
        if started_at.elapsed() > timeout {
            return Err(Failure::NotStarted);
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// Our process id as the server sees it in `application.process.id`.
pub fn process_id() -> CString {
    CString::new(std::process::id().to_string()).expect("digits have no NUL")
}
