//! Voices on one channel: a recording with one channel (or two carrying the same sound)
//! holds both sides of the call. Before the call is reviewed, a first pass over the file
//! finds its speech (the sides' own voice detector) and its mel frames; `split` tells the
//! two voices apart with the voice encoder (`encoder`); the rep is the voice of `--rep-voice
//! FILE` when given, else the enrolled voice (`profile`), else the first to speak. The review then reads the channel twice, once
//! per side, each silenced where the other voice speaks: the rest of the pipeline is the
//! one stereo calls take.

pub mod encoder;
pub mod profile;
pub mod rep_check;
pub mod split;

use std::path::{Path, PathBuf};

use crate::frontend::vad::{Change, SideVad, VadConfig, FRAME, FRAME_S};
use encoder::{MelFrames, VoiceEncoder, VoiceModelError, HOP};

/// Why a channel's voices could not be told apart.
#[derive(Debug, thiserror::Error)]
pub enum VoicesError {
    /// The recording could not be read: the reader's own error.
    #[error(transparent)]
    Read(ReadError),
    #[error("{path}: one channel holds the whole call, and telling its voices apart needs the voice encoder; run `twoears model install voice`, or pass the sides as --rep FILE --prospect FILE")]
    NoModel { path: String },
    #[error(transparent)]
    Model(#[from] VoiceModelError),
    #[error("{path}: too little speech to know the voice by; give 5 s or more of the rep speaking alone")]
    ShortVoice { path: String },
}

/// A recording whose one channel (or two identical ones) holds the whole call.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct VoicesNote {
    /// `mono`, or `dual_mono`: two channels carrying the same sound.
    pub channels: String,
    /// How the rep's voice was chosen.
    pub rep: RepRule,
}

/// How the rep's voice was chosen among the two.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RepRule {
    /// The voice of the `--rep-voice` recording.
    RepVoice,
    /// The voice enrolled with `twoears voice enroll`.
    Enrolled,
    /// The first voice to speak.
    FirstSpeaker,
    /// Only one voice was found (or too little speech to split): all of it is the rep's.
    OneVoice,
    /// No speech at all.
    NoSpeech,
}

/// One channel's speech, split: what the review and the report need.
pub struct Split {
    /// Per 10 ms: silence ([`split::NONE`]), the rep's speech (0) or the others' (1).
    pub labels: Vec<u8>,
    pub rule: RepRule,
    /// Problems that did not stop the split (an unusable voice profile).
    pub warnings: Vec<String>,
}

pub const REP: u8 = 0;
pub const OTHERS: u8 = 1;

/// The first pass: the channel's mel frames and which 10 ms hold speech.
struct Heard {
    mels: MelFrames,
    vad: SideVad,
    pending: Vec<f32>,
    frames: u64,
    turns: Vec<(f64, f64)>,
    open: Option<f64>,
}

impl Heard {
    fn new() -> Self {
        Self {
            mels: MelFrames::new(),
            vad: SideVad::new(&VadConfig::installed()),
            pending: Vec::new(),
            frames: 0,
            turns: Vec::new(),
            open: None,
        }
    }

    fn push(&mut self, samples: &[f32]) {
        self.mels.push(samples);
        self.pending.extend_from_slice(samples);
        let whole = self.pending.len() / FRAME;
        for i in 0..whole {
            let frame = &self.pending[i * FRAME..(i + 1) * FRAME];
            let t_s = self.frames as f64 * FRAME_S;
            let power = frame.iter().map(|v| v * v).sum::<f32>() / FRAME as f32;
            let loud = self.vad.loud_enough(power);
            let score = self.vad.score(frame, loud);
            let heard = self.vad.is_voiced(score) && loud;
            let speech = self.vad.is_speech(frame, loud);
            let change = self.vad.turns.frame(t_s, heard, speech);
            self.note(change);
            self.frames += 1;
        }
        self.pending.drain(..whole * FRAME);
    }

    fn note(&mut self, change: Change) {
        match change {
            Change::Started(s) => self.open = Some(s),
            Change::Ended(t) => {
                self.turns.push((t.start_s, t.end_s));
                self.open = None;
            }
            Change::None => {}
        }
    }

    /// The mel frames, their power, and per mel frame whether it lies in a turn.
    fn finish(mut self) -> (MelFrames, Vec<bool>) {
        self.mels.finish();
        let change = self.vad.turns.finish();
        self.note(change);
        let n = self.mels.mels.len();
        let mut speech = vec![false; n];
        let hop_s = HOP as f64 / 16000.0;
        for &(a, b) in &self.turns {
            let (a, b) = ((a / hop_s).round() as usize, (b / hop_s).round() as usize);
            speech[a.min(n)..b.min(n)].fill(true);
        }
        (self.mels, speech)
    }
}

/// Why a recording could not be read, as its reader says.
pub type ReadError = Box<dyn std::error::Error + Send + Sync>;

/// Reads a recording once, its channels mixed, at 16 kHz, block by block. Files are the
/// input layer's business; it hands this module its reader.
pub type ReadFile<'a> = &'a dyn Fn(&Path, &mut dyn FnMut(&[f32])) -> Result<(), ReadError>;

fn read(read_file: ReadFile, path: &Path, heard: &mut Heard) -> Result<(), VoicesError> {
    read_file(path, &mut |samples| heard.push(samples)).map_err(VoicesError::Read)
}

/// The installed voice encoder.
///
/// # Errors
/// Not installed ([`VoicesError::NoModel`], naming `path`), or damaged.
pub fn encoder(path: &Path) -> Result<VoiceEncoder, VoicesError> {
    let file = encoder::installed().ok_or_else(|| VoicesError::NoModel {
        path: path.display().to_string(),
    })?;
    Ok(VoiceEncoder::load(&file)?)
}

/// The mean embedding of a recording of one voice (`--rep-voice`, `voice enroll`), and the
/// seconds of speech it was made from.
///
/// # Errors
/// The file cannot be read, or holds too little speech.
pub fn voice_of(
    enc: &VoiceEncoder,
    path: &Path,
    read_file: ReadFile,
) -> Result<(Vec<f32>, f64), VoicesError> {
    let mut heard = Heard::new();
    read(read_file, path, &mut heard)?;
    let (mels, speech) = heard.finish();
    let starts: Vec<usize> = (0..mels.mels.len().saturating_sub(encoder::WINDOW - 1))
        .step_by(encoder::WINDOW / 2)
        .filter(|&s| {
            speech[s..s + encoder::WINDOW]
                .iter()
                .filter(|&&v| v)
                .count()
                * 4
                > 3 * encoder::WINDOW
        })
        .collect();
    if starts.len() < 3 {
        return Err(VoicesError::ShortVoice {
            path: path.display().to_string(),
        });
    }
    let windows: Vec<_> = starts
        .iter()
        .map(|&s| {
            let p = mels.power[s..s + encoder::WINDOW].iter().sum::<f32>() / encoder::WINDOW as f32;
            (&mels.mels[s..s + encoder::WINDOW], p)
        })
        .collect();
    let mut mean = vec![0f32; encoder::DIM];
    for e in enc.embed(&windows)? {
        mean.iter_mut().zip(&e).for_each(|(a, b)| *a += b);
    }
    encoder::normalise(&mut mean);
    let speech_s = speech.iter().filter(|&&v| v).count() as f64 * HOP as f64 / 16000.0;
    Ok((mean, speech_s))
}

/// Splits the one channel of `path` into the rep's speech and the others'.
///
/// # Errors
/// The file cannot be read, the encoder is missing, or `rep_voice` is unusable.
pub fn split_file(
    path: &Path,
    rep_voice: Option<&PathBuf>,
    read_file: ReadFile,
) -> Result<Split, VoicesError> {
    let mut heard = Heard::new();
    read(read_file, path, &mut heard)?;
    let (mels, speech) = heard.finish();
    // Without two voices to tell apart the channel is the rep's, ungated: the pipeline's
    // own voice detector finds its turns, as in stereo.
    let whole = |rule, warnings| Split {
        labels: vec![REP; speech.len()],
        rule,
        warnings,
    };
    if !speech.contains(&true) {
        return Ok(whole(RepRule::NoSpeech, Vec::new()));
    }
    if split::windows(&speech).len() < split::MIN_WINDOWS {
        return Ok(whole(RepRule::OneVoice, Vec::new()));
    }
    let enc = encoder(path)?;
    let mut warnings = Vec::new();
    let rep = match rep_voice {
        Some(p) => Some((voice_of(&enc, p, read_file)?.0, RepRule::RepVoice)),
        None => match profile::load() {
            Ok(p) => p.map(|p| (p.embedding, RepRule::Enrolled)),
            Err(e) => {
                warnings.push(crate::term::chain(&e));
                None
            }
        },
    };
    let Some(voices) = split::split(&enc, &mels.mels, &mels.power, &speech)? else {
        return Ok(whole(RepRule::OneVoice, warnings));
    };
    // Which of the two voices is the rep's.
    let (rep_voice, rule) = match &rep {
        Some((r, rule)) => (
            u8::from(encoder::dot(r, &voices.centroids[1]) > encoder::dot(r, &voices.centroids[0])),
            rule.clone(),
        ),
        None => {
            // The voice of most of the first 2 s of speech (one frame may be misread).
            let first: Vec<u8> = voices
                .labels
                .iter()
                .copied()
                .filter(|&l| l != split::NONE)
                .take(200)
                .collect();
            let ones = first.iter().filter(|&&l| l == 1).count();
            (u8::from(ones * 2 > first.len()), RepRule::FirstSpeaker)
        }
    };
    let labels = voices
        .labels
        .iter()
        .map(|&l| match l {
            split::NONE => split::NONE,
            l if l == rep_voice => REP,
            _ => OTHERS,
        })
        .collect();
    Ok(Split {
        labels,
        rule,
        warnings,
    })
}
