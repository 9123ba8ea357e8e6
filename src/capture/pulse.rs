//! Linux capture streams, opened on the PulseAudio protocol itself (plain PulseAudio and
//! PipeWire's pipewire-pulse both serve it). cpal's pulse host names every stream after the
//! process, so the two sides of a call looked alike to the server, to WirePlumber's
//! restore-stream and to our own watch, which could then claim the other side's stream.
//! Here each stream carries its side's name ("twoears: microphone", "twoears: call audio")
//! for pavucontrol and Helvum; with our process id it names exactly one stream on the
//! server, which the watch (`pulse_pin`) keeps where the user put it.
//!
//! Every connection sends the auth cookie as libpulse does: 256 bytes, zeros when the user
//! has no whole cookie file. The `pulseaudio` crate sends the file as it finds it, and none
//! at all on a fresh account (libpulse writes `~/.config/pulse/cookie` the first time any
//! client runs): PulseAudio then kicks the client ("failed to fill whole buffer") and
//! pipewire-pulse refuses it ("Invalid"), as they did while a test's `paplay` was still
//! writing the file.

use std::ffi::{CStr, CString};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use futures::executor::block_on;
use futures::FutureExt;
use pulseaudio::protocol::{self, Prop};

use super::{CaptureError, Role};

/// The cookie length every PulseAudio server expects in the handshake.
const COOKIE_LEN: usize = 256;
/// One handshake's deadline: a server that accepts and then says nothing is hung.
pub const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(5);
/// How long a server that is there but fails the handshake (still starting, or busy) is
/// asked again before the failure is the user's to see.
const CONNECT_PATIENCE: Duration = Duration::from_secs(5);
/// The first pause between tries; it doubles up to `MAX_BACKOFF`.
const FIRST_BACKOFF: Duration = Duration::from_millis(50);
const MAX_BACKOFF: Duration = Duration::from_secs(1);

/// Why no connection to the sound server was made.
#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    #[error("no socket at $PULSE_SERVER or $XDG_RUNTIME_DIR/pulse/native")]
    NoSocket,
    #[error(
        "{}: no answer to the handshake within {} s (the server hangs)",
        path.display(),
        HANDSHAKE_TIMEOUT.as_secs()
    )]
    Hung { path: PathBuf },
    /// The server is there but the connection failed, the last of `tries` times.
    #[error("{}: {cause} ({tries} tries in {secs:.1} s)", path.display())]
    Failed {
        path: PathBuf,
        tries: u32,
        secs: f64,
        cause: Box<dyn std::error::Error + Send + Sync>,
    },
}

/// One try's outcome when it failed: whether another try may succeed.
pub enum TryError<E> {
    /// Connection refused, or a handshake the server broke off or refused: a server that
    /// is starting (or restarting, or busy) does that.
    Again(E),
    /// The read timed out: no point asking a hung server again.
    Hung,
}

/// The auth cookie as libpulse sends it: the first whole cookie file of `$PULSE_COOKIE`,
/// `$XDG_CONFIG_HOME/pulse/cookie`, `~/.config/pulse/cookie` and `~/.pulse-cookie`, else
/// zeros (a server that wants a cookie says "access denied"; ours need none).
pub fn cookie() -> Vec<u8> {
    let home = std::env::var_os("HOME").map(PathBuf::from);
    let config = std::env::var_os("XDG_CONFIG_HOME")
        .map(PathBuf::from)
        .or_else(|| home.as_ref().map(|h| h.join(".config")));
    let paths = std::env::var_os("PULSE_COOKIE")
        .map(PathBuf::from)
        .into_iter()
        .chain(config.map(|c| c.join("pulse/cookie")))
        .chain(home.map(|h| h.join(".pulse-cookie")));
    paths
        .filter_map(|p| std::fs::read(p).ok())
        // A file being written by libpulse may be short for a moment.
        .find(|c| c.len() == COOKIE_LEN)
        .unwrap_or_else(|| vec![0; COOKIE_LEN])
}

/// The socket of the server the environment names, with deadlines for a blocking handshake.
///
/// # Errors
/// No socket is named or it does not exist (`NoSocket`); connecting failed.
pub fn socket() -> Result<(PathBuf, std::io::Result<UnixStream>), ConnectError> {
    let path = pulseaudio::socket_path_from_env().ok_or(ConnectError::NoSocket)?;
    let stream = UnixStream::connect(&path).and_then(|s| {
        s.set_read_timeout(Some(HANDSHAKE_TIMEOUT))?;
        s.set_write_timeout(Some(HANDSHAKE_TIMEOUT))?;
        Ok(s)
    });
    Ok((path, stream))
}

/// Whether an I/O error is a read or write that hit its deadline.
pub fn timed_out(e: &std::io::Error) -> bool {
    matches!(
        e.kind(),
        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
    )
}

/// Calls `connect` until it succeeds, a try says the server hangs, or a failure has
/// lasted `patience` (zero: one try), pausing longer each time.
///
/// # Errors
/// The last failure, with how many tries it took.
pub fn with_retries<T, E>(
    path: &Path,
    patience: Duration,
    mut connect: impl FnMut() -> Result<T, TryError<E>>,
) -> Result<T, ConnectError>
where
    E: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let started = Instant::now();
    let mut backoff = FIRST_BACKOFF;
    let mut tries = 0;
    loop {
        tries += 1;
        match connect() {
            Ok(t) => return Ok(t),
            Err(TryError::Hung) => {
                return Err(ConnectError::Hung {
                    path: path.to_path_buf(),
                })
            }
            Err(TryError::Again(e)) if started.elapsed() + backoff > patience => {
                return Err(ConnectError::Failed {
                    path: path.to_path_buf(),
                    tries,
                    secs: started.elapsed().as_secs_f64(),
                    cause: e.into(),
                })
            }
            Err(TryError::Again(_)) => {
                std::thread::sleep(backoff);
                backoff = (backoff * 2).min(MAX_BACKOFF);
            }
        }
    }
}

/// One try at a client of the server the environment names, with the cookie libpulse
/// would send.
fn client_once() -> Result<pulseaudio::Client, TryError<ClientFailure>> {
    let (_, stream) = socket().map_err(|e| TryError::Again(ClientFailure::Socket(e)))?;
    let stream = stream.map_err(|e| TryError::Again(ClientFailure::Io(e)))?;
    pulseaudio::Client::new_unix(c"twoears", stream, Some(cookie())).map_err(|e| {
        let hung = match &e {
            pulseaudio::ClientError::Io(io) => timed_out(io),
            pulseaudio::ClientError::Protocol(pulseaudio::protocol::ProtocolError::Io(io)) => {
                timed_out(io)
            }
            _ => false,
        };
        if hung {
            TryError::Hung
        } else {
            TryError::Again(ClientFailure::Client(e))
        }
    })
}

/// What one client connection failed on.
#[derive(Debug, thiserror::Error)]
pub enum ClientFailure {
    #[error(transparent)]
    Socket(ConnectError),
    #[error("{0}")]
    Io(std::io::Error),
    /// The crate's own message for a protocol error says only "Protocol error".
    #[error("{}", client_error_text(.0))]
    Client(pulseaudio::ClientError),
}

/// A client error with the protocol's own words (the crate's says only "Protocol error").
pub fn client_error_text(e: &pulseaudio::ClientError) -> String {
    match e {
        pulseaudio::ClientError::Protocol(p) => p.to_string(),
        pulseaudio::ClientError::Io(io) => format!("IO error: {io}"),
        other => other.to_string(),
    }
}

/// Connects a client, asking again for a while when the server is there but the
/// connection fails (a server that is starting, or too busy to finish the handshake).
///
/// # Errors
/// No socket, a hung server, or the last failure once patience ran out.
pub fn connect() -> Result<pulseaudio::Client, ConnectError> {
    connect_within(CONNECT_PATIENCE)
}

fn connect_within(patience: Duration) -> Result<pulseaudio::Client, ConnectError> {
    let path = pulseaudio::socket_path_from_env().ok_or(ConnectError::NoSocket)?;
    with_retries(&path, patience, client_once)
}

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
        Ok(Err(Failure::Connect(e))) => Err(CaptureError::NoServer(e.into())),
        Ok(Err(Failure::Stream(e))) => Err(open_error(e)),
        Ok(Err(Failure::NotStarted)) | Err(_) => Err(not_started()),
    }
}

enum Failure {
    Connect(ConnectError),
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
    // One try: the supervisor reopens every second anyway, and this runs under a deadline.
    let client = connect_within(Duration::ZERO).map_err(Failure::Connect)?;
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
