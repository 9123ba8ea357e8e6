//! Decoding recorded audio with Symphonia (WAV, FLAC, MP3, OGG/Vorbis, AAC/M4A), block by
//! block. A bad packet is skipped with a warning and decoding goes on; a truncated file
//! gives what was readable.

use std::fs::File;
use std::path::{Path, PathBuf};

use symphonia::core::audio::SampleBuffer;
use symphonia::core::codecs::{Decoder, DecoderOptions, CODEC_TYPE_NULL};
use symphonia::core::errors::Error as SymError;
use symphonia::core::formats::{FormatOptions, FormatReader};
use symphonia::core::io::MediaSourceStream;
use symphonia::core::meta::MetadataOptions;
use symphonia::core::probe::Hint;

use super::InputError;

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
    pub frames_read: u64,
}

impl AudioFile {
    /// Opens and probes `path`.
    ///
    /// # Errors
    /// Missing or unreadable file, an unrecognised container, or no decodable audio track.
    pub fn open(path: &Path) -> Result<Self, InputError> {
        let p = || path.display().to_string();
        let file = File::open(path).map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => InputError::Missing(p()),
            _ => InputError::Unreadable {
                path: p(),
                reason: e.to_string(),
            },
        })?;
        if file.metadata().map(|m| m.is_dir()).unwrap_or(false) {
            return Err(InputError::Unreadable {
                path: p(),
                reason: "is a directory".into(),
            });
        }
        let mss = MediaSourceStream::new(Box::new(file), Default::default());
        let mut hint = Hint::new();
        if let Some(ext) = path.extension().and_then(|e| e.to_str()) {
            hint.with_extension(ext);
        }
        let probed = symphonia::default::get_probe()
            .format(
                &hint,
                mss,
                &FormatOptions::default(),
                &MetadataOptions::default(),
            )
            .map_err(|e| InputError::Format {
                path: p(),
                reason: e.to_string(),
            })?;
        let format = probed.format;
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
        let decoder = symphonia::default::get_codecs()
            .make(&params, &DecoderOptions::default())
            .map_err(|e| InputError::Codec {
                path: p(),
                reason: e.to_string(),
            })?;
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
            frames_read: 0,
        })
    }

    /// The next block of interleaved samples, or `None` at the end of the stream.
    pub fn next_block(&mut self) -> Option<&[f32]> {
        loop {
            let packet = match self.format.next_packet() {
                Ok(p) => p,
                Err(SymError::IoError(e)) if e.kind() == std::io::ErrorKind::UnexpectedEof => {
                    return None
                }
                Err(SymError::ResetRequired) => return None,
                Err(_) => {
                    self.truncated = true;
                    return None;
                }
            };
            if packet.track_id() != self.track_id {
                continue;
            }
            let decoded = match self.decoder.decode(&packet) {
                Ok(d) => d,
                Err(SymError::DecodeError(_)) | Err(SymError::IoError(_)) => {
                    self.bad_packets += 1;
                    continue;
                }
                Err(_) => {
                    self.truncated = true;
                    return None;
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
            return Some(self.buf.as_ref().expect("allocated above").samples());
        }
    }
}

impl AudioFile {
    /// The frame count the container declares, when it states one.
    pub fn declared_frames(&self) -> Option<u64> {
        let track = self
            .format
            .tracks()
            .iter()
            .find(|t| t.id == self.track_id)?;
        track.codec_params.n_frames
    }

    /// The declared duration, when the container states one.
    pub fn duration_s(&self) -> Option<f64> {
        self.declared_frames()
            .map(|n| n as f64 / self.rate_hz as f64)
    }
}
