//! Keeps a capture stream on the device the user chose. When the default source changes
//! (a headset replugged), PulseAudio 16 moves every capture stream that was not pinned to
//! it, the system-audio monitor included, and tells only the stream's own client, which in
//! cpal's pulse host ignores it. A small control connection checks where our stream is
//! and moves it back.

use std::ffi::CString;
use std::io::BufReader;
use std::os::unix::net::UnixStream;
use std::time::Duration;

use pulseaudio::protocol::{self, Command, CommandReply, Prop};

const IO_TIMEOUT: Duration = Duration::from_secs(2);

pub struct Pin {
    sock: BufReader<UnixStream>,
    seq: u32,
    version: u16,
    /// Our stream's source-output index, once found.
    output: Option<u32>,
}

type Result<T> = std::result::Result<T, Box<dyn std::error::Error + Send + Sync>>;

fn text(bytes: Option<&[u8]>) -> String {
    String::from_utf8_lossy(bytes.unwrap_or_default())
        .trim_end_matches('\0')
        .to_string()
}

impl Pin {
    pub fn connect() -> Result<Self> {
        let path = pulseaudio::socket_path_from_env().ok_or("no PulseAudio socket")?;
        let stream = UnixStream::connect(path)?;
        stream.set_read_timeout(Some(IO_TIMEOUT))?;
        stream.set_write_timeout(Some(IO_TIMEOUT))?;
        let mut pin = Self {
            sock: BufReader::new(stream),
            seq: 0,
            version: protocol::MAX_VERSION,
            output: None,
        };
        let cookie = pulseaudio::cookie_path_from_env()
            .and_then(|p| std::fs::read(p).ok())
            .unwrap_or_default();
        let auth: protocol::AuthReply = pin.request(&Command::Auth(protocol::AuthParams {
            version: protocol::MAX_VERSION,
            supports_shm: false,
            supports_memfd: false,
            cookie,
        }))?;
        pin.version = protocol::MAX_VERSION.min(auth.version);
        let mut props = protocol::Props::new();
        props.set(Prop::ApplicationName, CString::new("twoears-pin")?);
        let _: protocol::SetClientNameReply = pin.request(&Command::SetClientName(props))?;
        Ok(pin)
    }

    fn send(&mut self, cmd: &Command) -> Result<()> {
        self.seq += 1;
        protocol::write_command_message(self.sock.get_mut(), self.seq, cmd, self.version)?;
        Ok(())
    }

    fn request<T: CommandReply>(&mut self, cmd: &Command) -> Result<T> {
        self.send(cmd)?;
        Ok(protocol::read_reply_message::<T>(&mut self.sock, self.version)?.1)
    }

    fn source_name(&mut self, index: u32) -> Result<String> {
        let info: protocol::SourceInfo =
            self.request(&Command::GetSourceInfo(protocol::GetSourceInfo {
                index: Some(index),
                name: None,
            }))?;
        Ok(info.name.to_string_lossy().into_owned())
    }

    /// Our capture streams (cpal names its client after our PID): (output, source index).
    fn ours(&mut self) -> Result<Vec<(u32, u32)>> {
        let me = format!("cpal-pulseaudio-{}", std::process::id());
        let list: protocol::SourceOutputInfoList =
            self.request(&Command::GetSourceOutputInfoList)?;
        Ok(list
            .into_iter()
            .filter(|o| text(o.props.get(Prop::ApplicationName)) == me)
            .map(|o| (o.index, o.source_index))
            .collect())
    }

    /// Remembers the newest stream of ours on `source` as the one to keep there.
    pub fn adopt(&mut self, source: &str) -> Result<()> {
        let mut found = None;
        for (output, src) in self.ours()? {
            if self.source_name(src)? == source {
                found = found.max(Some(output));
            }
        }
        self.output = found;
        Ok(())
    }

    /// Moves our stream back to `source` if the server moved it; returns where it was.
    pub fn keep_on(&mut self, source: &str) -> Result<Option<String>> {
        let Some(output) = self.output else {
            return Ok(None);
        };
        let Some((_, src)) = self.ours()?.into_iter().find(|(o, _)| *o == output) else {
            return Ok(None);
        };
        let now = self.source_name(src)?;
        if now == source {
            return Ok(None);
        }
        self.send(&Command::MoveSourceOutput(protocol::MoveStreamParams {
            index: Some(output),
            device_index: None,
            device_name: Some(CString::new(source)?),
        }))?;
        protocol::read_ack_message(&mut self.sock)?;
        Ok(Some(now))
    }
}
