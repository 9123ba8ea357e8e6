//! Watches one of our capture streams on the server, over a small control connection of
//! its own (blocking, with I/O deadlines, so a hung server cannot hang the supervisor).
//! When the default source changes (a headset replugged), PulseAudio 16 moves every
//! capture stream that was not pinned to it, the system-audio monitor included, and
//! PipeWire's policy may move streams too; the stream's own client is told, but a moved
//! stream is the wrong side of the call. The pin finds our stream by its side's name and
//! our process id, so it can only ever touch that one stream, and moves it back.

use std::ffi::CString;
use std::io::BufReader;
use std::os::unix::net::UnixStream;
use std::time::Duration;

use pulseaudio::protocol::{self, Command, CommandReply, Prop, ProtocolError};

use super::pulse::{self, process_id, stream_name, ConnectError};
use super::Role;

const IO_TIMEOUT: Duration = Duration::from_secs(2);

#[derive(Debug, thiserror::Error)]
pub enum PinError {
    #[error(transparent)]
    Connect(#[from] ConnectError),
    #[error("the sound server connection failed ({0})")]
    Io(#[from] std::io::Error),
    #[error("the sound server connection failed ({0})")]
    Protocol(#[from] ProtocolError),
    #[error("a device name with a NUL byte")]
    Name(#[from] std::ffi::NulError),
}

/// Where our stream is, as of one check.
#[derive(Debug, PartialEq, Eq)]
pub enum Place {
    /// On the wanted source.
    Kept,
    /// The server moved it to the source named here.
    Moved(String),
    /// The wanted source is gone from the server.
    SourceGone,
    /// Our stream is no longer on the server (killed, or its device removed).
    StreamGone,
}

pub struct Pin {
    /// Whether the wanted source was muted on the server, as of the last check.
    pub muted: bool,
    sock: BufReader<UnixStream>,
    seq: u32,
    version: u16,
    media_name: &'static std::ffi::CStr,
    pid: CString,
}

fn is_missing(e: &ProtocolError) -> bool {
    matches!(
        e,
        ProtocolError::ServerError(protocol::PulseError::NoEntity)
    )
}

impl Pin {
    /// Connects a control client for the stream of `role` in this process.
    ///
    /// # Errors
    /// No server socket, or the handshake fails.
    pub fn connect(role: Role) -> Result<Self, PinError> {
        let stream = pulse::socket()?.1?;
        stream.set_read_timeout(Some(IO_TIMEOUT))?;
        stream.set_write_timeout(Some(IO_TIMEOUT))?;
        let mut pin = Self {
            muted: false,
            sock: BufReader::new(stream),
            seq: 0,
            version: protocol::MAX_VERSION,
            media_name: stream_name(role),
            pid: process_id(),
        };
        let cookie = pulse::cookie();
        let auth: protocol::AuthReply = pin.request(&Command::Auth(protocol::AuthParams {
            version: protocol::MAX_VERSION,
            supports_shm: false,
            supports_memfd: false,
            cookie,
        }))?;
        pin.version = protocol::MAX_VERSION.min(auth.version);
        let mut props = protocol::Props::new();
        props.set(Prop::ApplicationName, c"twoears (watch)");
        let _: protocol::SetClientNameReply = pin.request(&Command::SetClientName(props))?;
        Ok(pin)
    }

    fn send(&mut self, cmd: &Command) -> Result<(), ProtocolError> {
        self.seq += 1;
        protocol::write_command_message(self.sock.get_mut(), self.seq, cmd, self.version)
    }

    fn request<T: CommandReply>(&mut self, cmd: &Command) -> Result<T, ProtocolError> {
        self.send(cmd)?;
        Ok(protocol::read_reply_message::<T>(&mut self.sock, self.version)?.1)
    }

    fn source(
        &mut self,
        index: Option<u32>,
        name: Option<&str>,
    ) -> Result<Option<protocol::SourceInfo>, PinError> {
        let name = name.map(CString::new).transpose()?;
        match self.request(&Command::GetSourceInfo(protocol::GetSourceInfo {
            index,
            name,
        })) {
            Ok(info) => Ok(Some(info)),
            Err(e) if is_missing(&e) => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    /// Our stream: (source-output index, index of the source it is on).
    fn ours(&mut self) -> Result<Option<(u32, u32)>, PinError> {
        let list: protocol::SourceOutputInfoList =
            self.request(&Command::GetSourceOutputInfoList)?;
        let media_name = self.media_name.to_bytes_with_nul();
        let pid = self.pid.to_bytes_with_nul();
        Ok(list
            .into_iter()
            .find(|o| {
                o.props.get(Prop::MediaName) == Some(media_name)
                    && o.props.get(Prop::ApplicationProcessId) == Some(pid)
            })
            .map(|o| (o.index, o.source_index)))
    }

    /// Whether the server has a source named `name`.
    ///
    /// # Errors
    /// The control connection failed.
    pub fn has_source(&mut self, name: &str) -> Result<bool, PinError> {
        Ok(self.source(None, Some(name))?.is_some())
    }

    /// The monitor of the server's default output (`<default sink>.monitor`), if it has
    /// a default output with a monitor.
    ///
    /// # Errors
    /// The control connection failed.
    pub fn default_monitor(&mut self) -> Result<Option<String>, PinError> {
        let info: protocol::ServerInfo = self.request(&Command::GetServerInfo)?;
        let Some(sink) = info.default_sink_name else {
            return Ok(None);
        };
        let monitor = format!("{}.monitor", sink.to_string_lossy());
        Ok(self.has_source(&monitor)?.then_some(monitor))
    }

    /// Moves our stream onto `source`; false when either is not on the server.
    ///
    /// # Errors
    /// The control connection failed.
    pub fn move_to(&mut self, source: &str) -> Result<bool, PinError> {
        let (Some(wanted), Some((output, _))) = (self.source(None, Some(source))?, self.ours()?)
        else {
            return Ok(false);
        };
        self.send(&Command::MoveSourceOutput(protocol::MoveStreamParams {
            index: Some(output),
            device_index: Some(wanted.index),
            device_name: None,
        }))?;
        protocol::read_ack_message(&mut self.sock)?;
        Ok(true)
    }

    /// Finds our stream and, when the server moved it off `source` and `correct` holds,
    /// moves it back.
    ///
    /// # Errors
    /// The control connection failed (the server went away or hangs).
    pub fn check(&mut self, source: &str, correct: bool) -> Result<Place, PinError> {
        let Some(wanted) = self.source(None, Some(source))? else {
            return Ok(Place::SourceGone);
        };
        self.muted = wanted.muted;
        let Some((output, on)) = self.ours()? else {
            return Ok(Place::StreamGone);
        };
        if on == wanted.index {
            return Ok(Place::Kept);
        }
        let now = self.source(Some(on), None)?.map_or_else(
            || format!("source #{on}"),
            |s| s.name.to_string_lossy().into_owned(),
        );
        if correct {
            self.send(&Command::MoveSourceOutput(protocol::MoveStreamParams {
                index: Some(output),
                device_index: Some(wanted.index),
                device_name: None,
            }))?;
            protocol::read_ack_message(&mut self.sock)?;
        }
        Ok(Place::Moved(now))
    }
}
