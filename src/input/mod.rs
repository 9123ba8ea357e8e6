//! Input for review: one stereo recording or two files, decoded, split into the rep and
//! prospect sides and resampled to 16 kHz, handed out in aligned blocks in call order.

pub mod file;
mod mp4;

use std::path::{Path, PathBuf};

use crate::dsp::align::{Aligner, Flow};
use crate::dsp::resample::ToSpeechRate;
use crate::event::{PerSide, Side};
use crate::frontend::voices::VoicesNote;
use crate::source::CallSource;
use file::AudioFile;

#[derive(Debug, thiserror::Error)]
pub enum InputError {
    #[error("{}: no such file; check the path", .0.display())]
    Missing(PathBuf),
    #[error(
        "{}: is not a regular file (a device, pipe or folder); pass a recorded audio file",
        path.display()
    )]
    NotAFile { path: PathBuf },
    #[error(
        "{}: cannot read it",
        path.display()
    )]
    Unreadable {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(
        "{}: not a supported audio file (use WAV, FLAC, MP3, OGG (Vorbis or Opus), Opus, WebM or AAC (M4A, MP4))",
        path.display()
    )]
    Format {
        path: PathBuf,
        #[source]
        source: Decode,
    },
    #[error(
        "{}: unsupported codec (convert it to WAV or FLAC first)",
        path.display()
    )]
    Codec {
        path: PathBuf,
        #[source]
        source: Decode,
    },
    #[error(
        "{}: sample rate {rate_hz} Hz is outside 8000..192000 Hz; resample it first",
        path.display()
    )]
    Rate { path: PathBuf, rate_hz: u32 },
    #[error(
        "{}: has {channels} channels; say which carry the call with --rep-channel N --prospect-channel N",
        path.display()
    )]
    ManyChannels { path: PathBuf, channels: usize },
    #[error(
        "{}: channel {value:?} does not exist (the file has {channels}); use left, right or a number from 1 to {channels}",
        path.display()
    )]
    BadChannel {
        path: PathBuf,
        value: String,
        channels: usize,
    },
    #[error(
        "{}: has one channel, which holds the whole call (split by voice); leave out --rep-channel and --prospect-channel",
        path.display()
    )]
    MonoChannel { path: PathBuf },
    #[error(
        "{}: --rep-channel and --prospect-channel name the same channel; give two different channels",
        path.display()
    )]
    SameChannel { path: PathBuf },
    #[error(
        "{}: contains no audio samples; record the call again or check the export",
        path.display()
    )]
    Empty { path: PathBuf },
    /// A channel holding the whole call could not be split by voice.
    #[error(transparent)]
    Voices(crate::frontend::voices::VoicesError),
}

/// Why a recording could not be demuxed or decoded.
#[derive(Debug, thiserror::Error)]
pub enum Decode {
    #[error(transparent)]
    Symphonia(#[from] symphonia::core::errors::Error),
    /// Symphonia panicked on the file (a damaged one can make it): the panic's message.
    #[error("the {stage} failed: {message}")]
    Panicked {
        stage: &'static str,
        message: String,
    },
    #[error("no audio track")]
    NoTrack,
    #[error("no sample rate")]
    NoRate,
}

/// What the user asked to review.
#[derive(Debug, Clone)]
pub enum InputSpec {
    Stereo {
        path: PathBuf,
        rep_channel: Option<String>,
        prospect_channel: Option<String>,
        /// A recording of the rep alone, to know their voice by when one channel holds the
        /// whole call.
        rep_voice: Option<PathBuf>,
    },
    Pair {
        rep: PathBuf,
        prospect: PathBuf,
    },
}

impl InputSpec {
    /// The files read.
    pub fn paths(&self) -> Vec<&Path> {
        match self {
            Self::Stereo { path, .. } => vec![path],
            Self::Pair { rep, prospect } => vec![rep, prospect],
        }
    }
}

fn parse_channel(path: &Path, value: &str, channels: usize) -> Result<usize, InputError> {
    let idx = match value.to_ascii_lowercase().as_str() {
        "left" | "l" => 0,
        "right" | "r" => 1,
        n => n
            .parse::<usize>()
            .ok()
            .and_then(|n| n.checked_sub(1))
            .unwrap_or(usize::MAX),
    };
    if idx < channels {
        Ok(idx)
    } else {
        Err(InputError::BadChannel {
            path: path.into(),
            value: value.into(),
            channels,
        })
    }
}

/// How one decoded file feeds one or both sides.
enum Pick {
    Channel(usize),
    Mix,
}

/// The picked channel (or the mix) of an interleaved block, into `out`.
fn pick_into(block: &[f32], channels: usize, pick: &Pick, out: &mut Vec<f32>) {
    out.clear();
    match *pick {
        Pick::Channel(c) => out.extend(block.chunks_exact(channels).map(|f| f[c])),
        Pick::Mix => out.extend(
            block
                .chunks_exact(channels)
                .map(|f| f.iter().sum::<f32>() / channels as f32),
        ),
    }
}

/// Reads `path` whole, its channels mixed, at 16 kHz, handing `each` the samples as they
/// come: the same samples a side of a one-channel call gets (the voice split's first
/// pass, whose labels must line up with them).
///
/// # Errors
/// The file cannot be opened.
pub fn read_mixed(path: &Path, each: &mut dyn FnMut(&[f32])) -> Result<(), InputError> {
    let mut f = AudioFile::open(path)?;
    let channels = f.channels.max(1);
    let mut resampler = ToSpeechRate::new(f.rate_hz).expect("rate validated on open");
    let (mut mixed, mut speech) = (Vec::new(), Vec::new());
    while let Some(block) = f.next_block() {
        pick_into(block, channels, &Pick::Mix, &mut mixed);
        speech.clear();
        resampler.push(&mixed, &mut speech);
        each(&speech);
    }
    speech.clear();
    resampler.finish(&mut speech);
    each(&speech);
    Ok(())
}

/// [`read_mixed`] as the voice split takes a reader (its error boxed, to come back here).
///
/// # Errors
/// The file cannot be opened.
pub fn read_mixed_boxed(
    path: &Path,
    each: &mut dyn FnMut(&[f32]),
) -> Result<(), crate::frontend::voices::ReadError> {
    Ok(read_mixed(path, each)?)
}

/// One side's resampler and the scratch it picks its channel into.
struct SideDecoder {
    resampler: ToSpeechRate,
    scratch: Vec<f32>,
    speech: Vec<f32>,
    gate: Option<Gate>,
}

/// A side of a channel that holds the whole call: its samples are kept where the side's
/// voice speaks and silenced elsewhere.
struct Gate {
    labels: std::sync::Arc<Vec<u8>>,
    keep: u8,
    /// 16 kHz samples handed out so far.
    at: usize,
}

impl Gate {
    fn apply(&mut self, samples: &mut [f32]) {
        let hop = crate::frontend::voices::encoder::HOP;
        for (i, s) in samples.iter_mut().enumerate() {
            // Mel frame k is centred on sample k * HOP.
            let k = (self.at + i + hop / 2) / hop;
            if self.labels.get(k) != Some(&self.keep) {
                *s = 0.0;
            }
        }
        self.at += samples.len();
    }
}

impl SideDecoder {
    fn new(rate_hz: u32) -> Self {
        Self {
            resampler: ToSpeechRate::new(rate_hz).expect("rate validated on open"),
            scratch: Vec::new(),
            speech: Vec::new(),
            gate: None,
        }
    }

    fn gated(rate_hz: u32, labels: &std::sync::Arc<Vec<u8>>, keep: u8) -> Self {
        Self {
            gate: Some(Gate {
                labels: labels.clone(),
                keep,
                at: 0,
            }),
            ..Self::new(rate_hz)
        }
    }

    fn push(&mut self, block: &[f32], channels: usize, pick: &Pick, out: &mut Aligner, side: Side) {
        pick_into(block, channels, pick, &mut self.scratch);
        self.speech.clear();
        self.resampler.push(&self.scratch, &mut self.speech);
        if let Some(g) = &mut self.gate {
            g.apply(&mut self.speech);
        }
        out.push(side, &self.speech);
    }

    fn finish(&mut self, out: &mut Aligner, side: Side) {
        self.speech.clear();
        self.resampler.finish(&mut self.speech);
        if let Some(g) = &mut self.gate {
            g.apply(&mut self.speech);
        }
        out.push(side, &self.speech);
    }
}

/// Hands out aligned 16 kHz rep/prospect samples from the recording(s).
pub struct CallReader {
    files: Vec<(AudioFile, Vec<(Side, Pick)>)>,
    sides: PerSide<SideDecoder>,
    aligned: Aligner,
    ended: Vec<bool>,
    warned: Vec<String>,
    padded: bool,
    pub duration_s: Option<f64>,
    /// How a channel holding the whole call was split by voice.
    pub voices: Option<VoicesNote>,
}

/// Whether the two channels of a stereo file carry the same sound (a mono call saved as
/// stereo): over its first 30 s, what differs between them is 40 dB or more below what
/// they carry.
fn same_sound(path: &Path) -> Result<bool, InputError> {
    let mut f = AudioFile::open(path)?;
    if f.channels != 2 {
        return Ok(false);
    }
    let limit = u64::from(f.rate_hz) * 30;
    let (mut diff, mut total, mut frames) = (0f64, 0f64, 0u64);
    while frames < limit {
        let Some(block) = f.next_block() else { break };
        for lr in block.chunks_exact(2) {
            let (l, r) = (f64::from(lr[0]), f64::from(lr[1]));
            diff += (l - r) * (l - r);
            total += l * l + r * r;
        }
        frames += (block.len() / 2) as u64;
    }
    Ok(total > 0.0 && diff <= 1e-4 * total)
}

impl CallReader {
    /// Opens the input and checks its channel layout.
    ///
    /// # Errors
    /// See [`InputError`].
    pub fn open(spec: &InputSpec) -> Result<Self, InputError> {
        match spec {
            InputSpec::Stereo {
                path,
                rep_channel,
                prospect_channel,
                rep_voice,
            } => {
                let f = AudioFile::open(path)?;
                let p = path.to_path_buf();
                let n = f.channels;
                let mono = n == 1;
                // A mono file has no channels to choose: naming one is a mistake to report.
                if mono && (rep_channel.is_some() || prospect_channel.is_some()) {
                    return Err(InputError::MonoChannel { path: p });
                }
                if mono
                    || (n == 2
                        && rep_channel.is_none()
                        && prospect_channel.is_none()
                        && same_sound(path)?)
                {
                    let channels = if mono { "mono" } else { "dual_mono" };
                    return Self::by_voice(f, channels, rep_voice.as_ref());
                }
                let (rep, pro) = match (rep_channel, prospect_channel) {
                    (None, None) if n > 2 => {
                        return Err(InputError::ManyChannels {
                            path: p,
                            channels: n,
                        })
                    }
                    (None, None) => (0, 1),
                    (Some(r), None) => {
                        let r = parse_channel(&p, r, n)?;
                        if n > 2 {
                            return Err(InputError::ManyChannels {
                                path: p,
                                channels: n,
                            });
                        }
                        (r, 1 - r)
                    }
                    (None, Some(q)) => {
                        let q = parse_channel(&p, q, n)?;
                        if n > 2 {
                            return Err(InputError::ManyChannels {
                                path: p,
                                channels: n,
                            });
                        }
                        (1 - q, q)
                    }
                    (Some(r), Some(q)) => (parse_channel(&p, r, n)?, parse_channel(&p, q, n)?),
                };
                if rep == pro {
                    return Err(InputError::SameChannel { path: p });
                }
                let warned = rep_voice
                    .iter()
                    .map(|v| {
                        format!(
                            "{}: its channels are the two sides, so --rep-voice {} was not needed \
                             and not used",
                            p.display(),
                            v.display()
                        )
                    })
                    .collect();
                let rate = f.rate_hz;
                let duration_s = f.duration_s();
                Ok(Self {
                    files: vec![(
                        f,
                        vec![
                            (Side::Rep, Pick::Channel(rep)),
                            (Side::Prospect, Pick::Channel(pro)),
                        ],
                    )],
                    sides: PerSide::from_fn(|_| SideDecoder::new(rate)),
                    aligned: Aligner::default(),
                    ended: vec![false],
                    warned,
                    padded: false,
                    duration_s,
                    voices: None,
                })
            }
            InputSpec::Pair { rep, prospect } => {
                let r = AudioFile::open(rep)?;
                let q = AudioFile::open(prospect)?;
                let sides = PerSide::new(SideDecoder::new(r.rate_hz), SideDecoder::new(q.rate_hz));
                let duration_s = match (r.duration_s(), q.duration_s()) {
                    (Some(a), Some(b)) => Some(a.max(b)),
                    _ => None,
                };
                Ok(Self {
                    files: vec![
                        (r, vec![(Side::Rep, Pick::Mix)]),
                        (q, vec![(Side::Prospect, Pick::Mix)]),
                    ],
                    sides,
                    aligned: Aligner::default(),
                    ended: vec![false, false],
                    warned: Vec::new(),
                    padded: false,
                    duration_s,
                    voices: None,
                })
            }
        }
    }

    /// A file whose one channel (or two identical ones) holds the whole call: split by
    /// voice in a first pass, then read once per side, each kept where its voice speaks.
    fn by_voice(
        f: AudioFile,
        channels: &str,
        rep_voice: Option<&PathBuf>,
    ) -> Result<Self, InputError> {
        let split = crate::frontend::voices::split_file(&f.path, rep_voice, &read_mixed_boxed)
            .map_err(|e| match e {
                crate::frontend::voices::VoicesError::Read(e) => match e.downcast::<InputError>() {
                    Ok(e) => *e,
                    Err(e) => InputError::Voices(crate::frontend::voices::VoicesError::Read(e)),
                },
                e => InputError::Voices(e),
            })?;
        let labels = std::sync::Arc::new(split.labels);
        let rate = f.rate_hz;
        let duration_s = f.duration_s();
        Ok(Self {
            files: vec![(f, vec![(Side::Rep, Pick::Mix), (Side::Prospect, Pick::Mix)])],
            sides: PerSide::new(
                SideDecoder::gated(rate, &labels, crate::frontend::voices::REP),
                SideDecoder::gated(rate, &labels, crate::frontend::voices::OTHERS),
            ),
            aligned: Aligner::default(),
            ended: vec![false],
            warned: split.warnings,
            padded: false,
            duration_s,
            voices: Some(VoicesNote {
                channels: channels.into(),
                rep: split.rule,
            }),
        })
    }

    /// Decodes one more block from file `i`; false when that file has ended.
    fn pull(&mut self, i: usize) -> bool {
        let (file, picks) = &mut self.files[i];
        let channels = file.channels.max(1);
        match file.next_block() {
            Some(block) => {
                for (side, pick) in picks.iter() {
                    self.sides[*side].push(block, channels, pick, &mut self.aligned, *side);
                }
                true
            }
            None => {
                for (side, _) in picks.iter() {
                    self.sides[*side].finish(&mut self.aligned, *side);
                }
                false
            }
        }
    }

    /// Whether every file feeding `side` has ended.
    fn side_ended(&self, side: Side) -> bool {
        self.files
            .iter()
            .zip(&self.ended)
            .any(|((_, picks), &ended)| ended && picks.iter().any(|(s, _)| *s == side))
    }

    /// Problems met while reading that did not stop the review.
    pub fn warnings(&self) -> Vec<String> {
        let mut out = self.warned.clone();
        if let (Some(v), Some((f, _))) = (&self.voices, self.files.first()) {
            use crate::frontend::voices::RepRule;
            let held = if v.channels == "mono" {
                "one channel holds the whole call"
            } else {
                "both channels carry the same sound (the whole call)"
            };
            let rep = match v.rep {
                RepRule::RepVoice => {
                    "its two voices were told apart, the rep's known by --rep-voice"
                }
                RepRule::Enrolled => {
                    "its two voices were told apart, the rep's known by the enrolled voice \
                     (twoears voice enroll)"
                }
                RepRule::FirstSpeaker => {
                    "its two voices were told apart, the rep taken to be the first to speak \
                     (if that is wrong, enroll the rep's voice with `twoears voice enroll \
                     FILE` or give a recording of the rep with --rep-voice FILE)"
                }
                RepRule::OneVoice => {
                    "only one voice was heard, all counted as the rep's (if the file holds one \
                     side of the call, pass the sides as --rep FILE --prospect FILE)"
                }
                RepRule::NoSpeech => "no speech was heard",
            };
            out.push(format!("{}: {held}; {rep}", f.path.display()));
        }
        for (f, _) in &self.files {
            let p = f.path.display();
            let read_s = f.frames_read as f64 / f.rate_hz as f64;
            if let Some(short) = f.short_header {
                out.push(format!(
                    "{p}: the WAV header states {:.1} s of audio but the file holds {:.1} s (a \
                     recording that was not closed properly?); analysed all of it",
                    short.declared_s, short.held_s
                ));
            }
            if let Some(why) = &f.failed {
                out.push(format!(
                    "{p}: the decoder failed ({why}); analysed the {read_s:.1} s before it"
                ));
            } else if f.truncated || f.ended_early() {
                out.push(format!(
                    "{p}: the file is truncated or damaged; analysed the {read_s:.1} s that could be read"
                ));
            }
            // Under 50 ms is codec framing, not lost audio.
            if f.skipped_frames > u64::from(f.rate_hz) / 20 {
                out.push(format!(
                    "{p}: {:.1} s of damaged audio were skipped; the call's times after it are \
                     early by as much",
                    f.skipped_frames as f64 / f.rate_hz as f64
                ));
            }
            if f.bad_packets > 0 {
                out.push(format!(
                    "{p}: skipped {} damaged audio packets",
                    f.bad_packets
                ));
            }
            if f.non_finite > 0 {
                out.push(format!(
                    "{p}: {} samples were NaN or infinite; treated them as silence",
                    f.non_finite
                ));
            }
        }
        out
    }

    /// Checks that something was decoded at all.
    ///
    /// # Errors
    /// [`InputError::Empty`] naming the first file without samples.
    pub fn check_not_empty(&self) -> Result<(), InputError> {
        match self.files.iter().find(|(f, _)| f.frames_read == 0) {
            Some((f, _)) => Err(InputError::Empty {
                path: f.path.clone(),
            }),
            None => Ok(()),
        }
    }
}

impl CallSource for CallReader {
    fn next(&mut self, rep: &mut Vec<f32>, prospect: &mut Vec<f32>) -> bool {
        const WANT: usize = 4096;
        loop {
            let short = (0..self.files.len())
                .filter(|&i| !self.ended[i])
                .find(|&i| {
                    self.files[i]
                        .1
                        .iter()
                        .any(|(s, _)| self.aligned.queued(*s) < WANT)
                });
            match short {
                Some(i) => {
                    if !self.pull(i) {
                        self.ended[i] = true;
                    }
                }
                None => break,
            }
        }
        // A side whose file has ended is padded with silence while the other goes on.
        let live = PerSide::from_fn(|s| !self.side_ended(s));
        if self.files.len() == 2 && !self.padded {
            // What the call goes on with: the shortest live side, or the longest queue
            // when both files ended in this block.
            let n = Side::BOTH
                .into_iter()
                .filter(|&s| live[s])
                .map(|s| self.aligned.queued(s))
                .min()
                .or_else(|| Side::BOTH.into_iter().map(|s| self.aligned.queued(s)).max());
            let short = Side::BOTH
                .into_iter()
                .find(|&s| !live[s] && n.is_some_and(|n| self.aligned.queued(s) < n));
            if let Some(short) = short {
                self.padded = true;
                let path = |s: Side| {
                    let i = usize::from(s == Side::Prospect);
                    self.files[i].0.path.display().to_string()
                };
                self.warned.push(format!(
                    "{} is shorter than {}; padded it with silence",
                    path(short),
                    path(short.other())
                ));
            }
        }
        let (r, p) = if live.rep || live.prospect {
            self.aligned.pull(live.map(|&l| Flow::from(l)), 0)
        } else {
            self.aligned.drain()
        };
        rep.clear();
        rep.extend_from_slice(r);
        prospect.clear();
        prospect.extend_from_slice(p);
        !rep.is_empty()
    }
}
