//! Decoding recorded audio with Symphonia (WAV, FLAC, MP3, OGG/Vorbis, AAC/M4A), block by
//! block. A bad packet is skipped with a warning and decoding goes on; a truncated file
//! gives what was readable. Every call into Symphonia is a stage boundary: a panic in a
//! demuxer or decoder ends that file with a warning (or refuses it, when opening), never
//! the review. Only regular files are read: a device or a pipe may never end.

use std::io::{Read, Seek};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use symphonia::core::audio::SampleBuffer;
use symphonia::core::codecs::{Decoder, DecoderOptions, CODEC_TYPE_NULL};
use symphonia::core::errors::Error as SymError;
use symphonia::core::formats::{FormatOptions, FormatReader};
use symphonia::core::io::MediaSourceStream;
use symphonia::core::meta::MetadataOptions;
use symphonia::core::probe::Hint;

use super::InputError;
use crate::panic;

/// What the first bytes of a file say, checked before Symphonia sees them.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Container {
    Ogg,
    Other,
}

/// The sample rate a WAV file's `fmt ` chunk declares, when `head` holds it.
fn wav_rate_hz(head: &[u8]) -> Option<u32> {
    if head.len() < 12 || &head[..4] != b"RIFF" || &head[8..12] != b"WAVE" {
        return None;
    }
    let mut at = 12;
    while at + 8 <= head.len() {
        let size = u32::from_le_bytes(head[at + 4..at + 8].try_into().ok()?) as usize;
        if &head[at..at + 4] == b"fmt " {
            let rate = head.get(at + 12..at + 16)?;
            return Some(u32::from_le_bytes(rate.try_into().ok()?));
        }
        // Chunks are padded to an even size.
        at = at
            .checked_add(8)?
            .checked_add(size.checked_add(size & 1)?)?;
    }
    None
}

pub struct AudioFile {
    pub path: PathBuf,
    pub rate_hz: u32,
    pub channels: usize,
    format: Box<dyn FormatReader>,
    decoder: Box<dyn Decoder>,
    track_id: u32,
    buf: Option<SampleBuffer<f32>>,
    /// Packets that failed to decode and were skipped.
    pub bad_packets: u64,
    /// Samples that were NaN or infinite, replaced by silence.
    pub non_finite: u64,
    /// The stream ended with a read error before its declared end.
    pub truncated: bool,
    /// Frames the packets' timestamps skip over: pages or frames the demuxer dropped as
    /// damaged without a decode error.
    pub skipped_frames: u64,
    /// Where the next packet should start, from the last one's timestamp and duration.
    next_ts: Option<u64>,
    /// The demuxer or decoder panicked; the file ended there.
    pub failed: Option<String>,
    /// The length the file's tags declare (ID3 TLEN): an MP3 without a Xing header states
    /// its length nowhere else.
    tagged_frames: Option<u64>,
    container: Container,
    pub frames_read: u64,
}

impl AudioFile {
    /// Opens and probes `path`.
    ///
    /// # Errors
    /// Missing or unreadable file, an unrecognised container, or no decodable audio track.
    pub fn open(path: &Path) -> Result<Self, InputError> {
        let p = || path.display().to_string();
        let io = |e: std::io::Error| match e.kind() {
            std::io::ErrorKind::NotFound => InputError::Missing(p()),
            _ => InputError::Unreadable {
                path: p(),
                reason: e.to_string(),
            },
        };
        // Checked before opening: opening a pipe without a writer blocks for ever.
        if !std::fs::metadata(path).map_err(io)?.is_file() {
            return Err(InputError::NotAFile { path: p() });
        }
        let mut file = std::fs::OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_NONBLOCK)
            .open(path)
            .map_err(io)?;
        let mut head = Vec::with_capacity(4096);
        (&mut file).take(4096).read_to_end(&mut head).map_err(io)?;
        file.rewind().map_err(io)?;
        // Symphonia panics on a WAV rate of 0 (a time base of 1/0).
        if wav_rate_hz(&head) == Some(0) {
            return Err(InputError::Rate {
                path: p(),
                rate_hz: 0,
            });
        }
        let container = if head.starts_with(b"OggS") {
            Container::Ogg
        } else {
            Container::Other
        };
        let mss = MediaSourceStream::new(Box::new(file), Default::default());
        let mut hint = Hint::new();
        if let Some(ext) = path.extension().and_then(|e| e.to_str()) {
            hint.with_extension(ext);
        }
        let mut probed = panic::catch(|| {
            symphonia::default::get_probe().format(
                &hint,
                mss,
                &FormatOptions::default(),
                &MetadataOptions::default(),
            )
        })
        .map_err(|msg| InputError::Format {
            path: p(),
            reason: format!("the demuxer failed: {msg}"),
        })?
        .map_err(|e| InputError::Format {
            path: p(),
            reason: e.to_string(),
        })?;
        let tagged_ms = probed
            .metadata
            .get()
            .and_then(|m| m.current().and_then(tagged_length_ms));
        let mut format = probed.format;
        let tagged_ms =
            tagged_ms.or_else(|| format.metadata().current().and_then(tagged_length_ms));
        let track = format
            .tracks()
            .iter()
            .find(|t| t.codec_params.codec != CODEC_TYPE_NULL)
            .ok_or_else(|| InputError::Format {
                path: p(),
                reason: "no audio track".into(),
            })?;
        let params = track.codec_params.clone();
        let track_id = track.id;
        let decoder = panic::catch(|| {
            symphonia::default::get_codecs().make(&params, &DecoderOptions::default())
        })
        .map_err(|msg| format!("the decoder failed: {msg}"))
        .and_then(|made| made.map_err(|e| e.to_string()))
        .map_err(|reason| InputError::Codec { path: p(), reason })?;
        let rate_hz = params.sample_rate.ok_or_else(|| InputError::Format {
            path: p(),
            reason: "no sample rate".into(),
        })?;
        if !(8_000..=192_000).contains(&rate_hz) {
            return Err(InputError::Rate { path: p(), rate_hz });
        }
        let channels = params.channels.map(|c| c.count()).unwrap_or(0);
        Ok(Self {
            path: path.to_path_buf(),
            rate_hz,
            channels,
            format,
            decoder,
            track_id,
            buf: None,
            bad_packets: 0,
            non_finite: 0,
            truncated: false,
            skipped_frames: 0,
            next_ts: None,
            failed: None,
            tagged_frames: tagged_ms.map(|ms| ms.saturating_mul(u64::from(rate_hz)) / 1000),
            container,
            frames_read: 0,
        })
    }

    /// The next block of interleaved samples, or `None` at the end of the stream (or
    /// where the demuxer or decoder panicked: the file ends there, with a warning).
    pub fn next_block(&mut self) -> Option<&[f32]> {
        if self.failed.is_some() {
            return None;
        }
        match panic::catch(|| self.decode_next()) {
            Ok(true) => self.buf.as_ref().map(SampleBuffer::samples),
            Ok(false) => None,
            Err(msg) => {
                self.failed = Some(msg);
                None
            }
        }
    }

    /// Decodes the next non-empty block into `buf`; false at the end of the stream.
    fn decode_next(&mut self) -> bool {
        loop {
            let packet = match self.format.next_packet() {
                Ok(p) => p,
                Err(SymError::IoError(e)) if e.kind() == std::io::ErrorKind::UnexpectedEof => {
                    return false
                }
                Err(SymError::ResetRequired) => return false,
                Err(_) => {
                    self.truncated = true;
                    return false;
                }
            };
            if packet.track_id() != self.track_id {
                continue;
            }
            // A demuxer that drops a damaged page says nothing; the timestamps show it.
            if let Some(expected) = self.next_ts {
                let gap = packet.ts().saturating_sub(expected);
                self.skipped_frames = self.skipped_frames.saturating_add(gap);
            }
            self.next_ts = Some(packet.ts().saturating_add(packet.dur()));
            let decoded = match self.decoder.decode(&packet) {
                Ok(d) => d,
                Err(SymError::DecodeError(_)) | Err(SymError::IoError(_)) => {
                    self.bad_packets += 1;
                    continue;
                }
                Err(_) => {
                    self.truncated = true;
                    return false;
                }
            };
            let spec = *decoded.spec();
            if self.channels == 0 {
                self.channels = spec.channels.count();
            }
            let needed = decoded.capacity() * spec.channels.count();
            if self.buf.as_ref().is_none_or(|b| b.capacity() < needed) {
                self.buf = Some(SampleBuffer::new(decoded.capacity() as u64, spec));
            }
            let buf = self.buf.as_mut().expect("allocated above");
            buf.copy_interleaved_ref(decoded);
            let mut bad = 0;
            for s in buf.samples_mut() {
                if !s.is_finite() {
                    *s = 0.0;
                    bad += 1;
                }
            }
            self.non_finite += bad;
            let samples = buf.samples();
            if samples.is_empty() {
                continue;
            }
            self.frames_read += (samples.len() / self.channels.max(1)) as u64;
            return true;
        }
    }
}

/// The length an ID3 `TLEN` tag states, in ms.
fn tagged_length_ms(rev: &symphonia::core::meta::MetadataRevision) -> Option<u64> {
    rev.tags()
        .iter()
        .find(|t| t.key.eq_ignore_ascii_case("TLEN"))
        .and_then(|t| t.value.to_string().trim().parse().ok())
}

impl AudioFile {
    /// The frame count the file's tags declare, or else its container (an MP3's own count
    /// may be an estimate from its size, which a cut file shrinks with it).
    pub fn declared_frames(&self) -> Option<u64> {
        let track = self
            .format
            .tracks()
            .iter()
            .find(|t| t.id == self.track_id)?;
        self.tagged_frames.or(track.codec_params.n_frames)
    }

    /// The stream ended before its end: short of its declared length, or (Ogg) without
    /// the last page, which Symphonia reads its length from.
    pub fn ended_early(&self) -> bool {
        let short = |n: u64| self.frames_read + u64::from(self.rate_hz) / 20 < n;
        match self.declared_frames() {
            Some(n) => short(n),
            None => self.container == Container::Ogg,
        }
    }

    /// The declared duration, when the container states one.
    pub fn duration_s(&self) -> Option<f64> {
        self.declared_frames()
            .map(|n| n as f64 / self.rate_hz as f64)
    }
}
