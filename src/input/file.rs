//! Decoding recorded audio with Symphonia (WAV, FLAC, MP3, OGG/Vorbis, AAC/M4A/MP4, and
//! Opus in OGG, WebM or MKV through libopus), block by block. A bad packet is skipped with
//! a warning and decoding goes on; a truncated file gives what was readable. Every call
//! into Symphonia is a stage boundary: a panic in a demuxer or decoder ends that file with
//! a warning (or refuses it, when opening), never the review. Only regular files are read:
//! a device or a pipe may never end.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use symphonia::core::audio::SampleBuffer;
use symphonia::core::codecs::{CodecRegistry, Decoder, DecoderOptions, CODEC_TYPE_NULL};
use symphonia::core::errors::Error as SymError;
use symphonia::core::formats::{FormatOptions, FormatReader};
use symphonia::core::io::{MediaSource, MediaSourceStream};
use symphonia::core::meta::MetadataOptions;
use symphonia::core::probe::Hint;
use symphonia::core::units::TimeBase;

use super::{Decode, InputError};
use crate::panic;

/// What the first bytes of a file say, checked before Symphonia sees them.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Container {
    Ogg,
    Other,
}

/// Symphonia's decoders and libopus for Opus, which Symphonia demuxes but does not decode.
fn codecs() -> &'static CodecRegistry {
    static CODECS: OnceLock<CodecRegistry> = OnceLock::new();
    CODECS.get_or_init(|| {
        let mut registry = CodecRegistry::new();
        symphonia::default::register_enabled_codecs(&mut registry);
        registry.register_all::<symphonia_adapter_libopus::OpusDecoder>();
        registry
    })
}

/// Where the chunk `tag` of a WAV file's header in `head` starts, and its declared size.
fn wav_chunk(head: &[u8], tag: &[u8; 4]) -> Option<(usize, u32)> {
    if head.len() < 12 || &head[..4] != b"RIFF" || &head[8..12] != b"WAVE" {
        return None;
    }
    let mut at = 12;
    while at + 8 <= head.len() {
        let size = u32::from_le_bytes(head[at + 4..at + 8].try_into().ok()?);
        if &head[at..at + 4] == tag {
            return Some((at, size));
        }
        // Chunks are padded to an even size.
        let size = usize::try_from(size).ok()?;
        at = at
            .checked_add(8)?
            .checked_add(size.checked_add(size & 1)?)?;
    }
    None
}

/// A little-endian field of the WAV `fmt ` chunk, `offset` bytes into its body.
fn wav_fmt_field(head: &[u8], offset: usize, width: usize) -> Option<u32> {
    let (at, _) = wav_chunk(head, b"fmt ")?;
    let bytes = head.get(at + 8 + offset..at + 8 + offset + width)?;
    Some(bytes.iter().rev().fold(0, |n, &b| n << 8 | u32::from(b)))
}

/// The sample rate a WAV file's `fmt ` chunk declares, when `head` holds it.
fn wav_rate_hz(head: &[u8]) -> Option<u32> {
    wav_fmt_field(head, 4, 4)
}

/// A WAV file whose audio goes on past the length its header states: a recorder that
/// stopped (a crash, a full disk, a pulled cable) before it wrote the final length.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ShortHeader {
    pub declared_s: f64,
    pub held_s: f64,
}

/// Header fields rewritten as they are read: (file offset, little-endian value).
type Fixes = [(u64, u32); 2];

/// The header fields that make the whole of such a file readable (the RIFF size and the
/// `data` size), and what it declared and holds.
fn wav_short_header(
    file: &mut File,
    head: &[u8],
    file_len: u64,
) -> std::io::Result<Option<(ShortHeader, Fixes)>> {
    let (Some((at, declared)), Some(rate_hz), Some(block)) = (
        wav_chunk(head, b"data"),
        wav_rate_hz(head),
        wav_fmt_field(head, 12, 2),
    ) else {
        return Ok(None);
    };
    let start = at as u64 + 8;
    let end = start + u64::from(declared) + u64::from(declared & 1);
    // A few stray bytes after the audio are no lost recording: a tenth of a second is.
    let tenth = u64::from(block) * u64::from(rate_hz) / 10;
    if rate_hz == 0 || block == 0 || end.saturating_add(tenth.max(8)) >= file_len {
        return Ok(None);
    }
    // Another chunk after the audio (LIST, id3) is a complete file, not a short header.
    let mut next = [0u8; 8];
    file.seek(SeekFrom::Start(end))?;
    let read = file.read_exact(&mut next);
    file.rewind()?;
    if read.is_ok() {
        let size = u64::from(u32::from_le_bytes([next[4], next[5], next[6], next[7]]));
        let is_tag = next[..4]
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || *b == b' ');
        if is_tag && end + 8 + size <= file_len {
            return Ok(None);
        }
    }
    let block = u64::from(block);
    // A RIFF file cannot state more than 4 GiB.
    let held = ((file_len - start).min(u64::from(u32::MAX) - start - 8) / block) * block;
    let seconds = |bytes: u64| bytes as f64 / (block * u64::from(rate_hz)) as f64;
    let fixes = [(4, (start - 8 + held) as u32), (at as u64 + 4, held as u32)];
    Ok(Some((
        ShortHeader {
            declared_s: seconds(u64::from(declared)),
            held_s: seconds(held),
        },
        fixes,
    )))
}

/// A file read with a few header bytes replaced as they are read.
struct Patched {
    file: File,
    len: u64,
    pos: u64,
    fixes: Fixes,
}

impl Read for Patched {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.file.read(buf)?;
        for (at, value) in self.fixes {
            for (i, b) in value.to_le_bytes().into_iter().enumerate() {
                let p = at + i as u64;
                if (self.pos..self.pos + n as u64).contains(&p) {
                    buf[(p - self.pos) as usize] = b;
                }
            }
        }
        self.pos += n as u64;
        Ok(n)
    }
}

impl Seek for Patched {
    fn seek(&mut self, to: SeekFrom) -> std::io::Result<u64> {
        self.pos = self.file.seek(to)?;
        Ok(self.pos)
    }
}

impl MediaSource for Patched {
    fn is_seekable(&self) -> bool {
        true
    }

    fn byte_len(&self) -> Option<u64> {
        Some(self.len)
    }
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
    /// Where the next packet should start (frames), from the last one's start and length.
    next_frame: Option<u64>,
    /// The unit of the packets' timestamps and of the declared length: frames for most
    /// formats, milliseconds in Matroska/WebM, the track's time scale in MP4.
    time_base: Option<TimeBase>,
    /// Encoder priming still to drop from the start (frames): what an MP4 edit list skips.
    prime_frames: u64,
    /// Where the current block starts in `buf` (samples): after the priming dropped.
    offset: usize,
    /// The demuxer or decoder panicked; the file ended there.
    pub failed: Option<String>,
    /// A WAV header that stated less audio than the file holds; all of it is read.
    pub short_header: Option<ShortHeader>,
    /// `buf` holds a block decoded on opening (to learn the channel count an MP4 track
    /// does not state) that `next_block` has not handed out yet.
    pending: bool,
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
        let p = || path.to_path_buf();
        let io = |e: std::io::Error| match e.kind() {
            std::io::ErrorKind::NotFound => InputError::Missing(p()),
            _ => InputError::Unreadable {
                path: p(),
                source: e,
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
        let file_len = file.metadata().map_err(io)?.len();
        // MP4 ("ftyp" first): the encoder delay its edit list states.
        let priming = if head.get(4..8) == Some(b"ftyp") {
            let found = super::mp4::priming(&mut file);
            file.rewind().map_err(io)?;
            found
        } else {
            None
        };
        let (source, short_header): (Box<dyn MediaSource>, _) =
            match wav_short_header(&mut file, &head, file_len).map_err(io)? {
                Some((short, fixes)) => (
                    Box::new(Patched {
                        file,
                        len: file_len,
                        pos: 0,
                        fixes,
                    }),
                    Some(short),
                ),
                None => (Box::new(file), None),
            };
        let mss = MediaSourceStream::new(source, Default::default());
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
        .map_err(|message| InputError::Format {
            path: p(),
            source: Decode::Panicked {
                stage: "demuxer",
                message,
            },
        })?
        .map_err(|e| InputError::Format {
            path: p(),
            source: e.into(),
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
                source: Decode::NoTrack,
            })?;
        let params = track.codec_params.clone();
        let track_id = track.id;
        let decoder = panic::catch(|| codecs().make(&params, &DecoderOptions::default()))
            .map_err(|message| Decode::Panicked {
                stage: "decoder",
                message,
            })
            .and_then(|made| made.map_err(Decode::from))
            .map_err(|source| InputError::Codec { path: p(), source })?;
        let rate_hz = params.sample_rate.ok_or_else(|| InputError::Format {
            path: p(),
            source: Decode::NoRate,
        })?;
        if !(8_000..=192_000).contains(&rate_hz) {
            return Err(InputError::Rate { path: p(), rate_hz });
        }
        let channels = params.channels.map(|c| c.count()).unwrap_or(0);
        let prime_frames = priming.map_or(0, |p| super::mp4::priming_frames(p, rate_hz));
        let mut opened = Self {
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
            next_frame: None,
            time_base: params.time_base,
            prime_frames,
            offset: 0,
            failed: None,
            tagged_frames: tagged_ms.map(|ms| ms.saturating_mul(u64::from(rate_hz)) / 1000),
            container,
            frames_read: 0,
            short_header,
            pending: false,
        };
        // An MP4 track does not state its channels: the first block tells.
        if opened.channels == 0 {
            opened.pending =
                panic::catch(|| opened.decode_next()).map_err(|message| InputError::Codec {
                    path: p(),
                    source: Decode::Panicked {
                        stage: "decoder",
                        message,
                    },
                })?;
        }
        Ok(opened)
    }

    /// The next block of interleaved samples, or `None` at the end of the stream (or
    /// where the demuxer or decoder panicked: the file ends there, with a warning).
    pub fn next_block(&mut self) -> Option<&[f32]> {
        if self.failed.is_some() {
            return None;
        }
        let ready = std::mem::take(&mut self.pending) || {
            match panic::catch(|| self.decode_next()) {
                Ok(ready) => ready,
                Err(msg) => {
                    self.failed = Some(msg);
                    false
                }
            }
        };
        if !ready {
            return None;
        }
        self.buf.as_ref().map(|b| &b.samples()[self.offset..])
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
            let start = self.frames(packet.ts());
            let stated = self.frames(packet.dur());
            let tick = self.frames(1);
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
            // A demuxer that drops a damaged page says nothing; the timestamps show it.
            // A timestamp rounded to its unit (a millisecond in WebM) is no gap.
            let length = match stated {
                0 => decoded.frames() as u64,
                n => n,
            };
            if let Some(expected) = self.next_frame {
                let gap = start.saturating_sub(expected);
                if gap > tick {
                    self.skipped_frames = self.skipped_frames.saturating_add(gap);
                }
            }
            self.next_frame = Some(start.saturating_add(length));
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
            let width = spec.channels.count().max(1);
            let frames = (buf.samples().len() / width) as u64;
            let primed = self.prime_frames.min(frames);
            self.prime_frames -= primed;
            self.offset = primed as usize * width;
            let samples = &buf.samples()[self.offset..];
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
        self.tagged_frames
            .or(track.codec_params.n_frames.map(|n| self.frames(n)))
    }

    /// `units` of the track's time base as frames of its audio.
    fn frames(&self, units: u64) -> u64 {
        match self.time_base {
            Some(tb) if !(tb.numer == 1 && tb.denom == self.rate_hz) && tb.denom > 0 => {
                let f = u128::from(units) * u128::from(tb.numer) * u128::from(self.rate_hz)
                    / u128::from(tb.denom);
                u64::try_from(f).unwrap_or(u64::MAX)
            }
            _ => units,
        }
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
