//! Is this voice on the mic the rep's? The level test (`room::NearField`) sets aside
//! voices far below the rep's; a colleague's loud phrases and a TV's come within its
//! margin now and then. Where the level leaves a doubt, the voice itself decides: the
//! mic's recent speech that was not clearly the rep's (by level) is embedded by the voice
//! encoder and compared with the rep's voice, the enrolled profile or, without one, the
//! voice of the call's first clearly near speech. A cascade: calls whose mic speech is
//! clearly near all but a moment at a time never load the encoder.

use std::collections::VecDeque;
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

use super::encoder::{self, MelFrames, VoiceEncoder, DIM, N_MELS, WINDOW};

/// A voice whose recent level is within this many dB of the rep's running level is the
/// rep's without asking: a colleague 20 dB down reaches 8 dB below the rep at the loudest.
pub const CLEAR_DB: f32 = 6.0;
/// At or above this cosine with the rep's voice, doubtful speech is the rep's. One voice's
/// windows sit at 0.8 and more from its mean; another voice lower (see BENCHMARKS.md).
const SAME_VOICE: f32 = 0.75;
/// Speech that was not clearly near is judged once a whole window of it is heard (the
/// encoder reads 1.6 s), then again after every 0.25 s more of it (every 0.5 s costs half
/// as much and set aside more of the rep's own speech on the held-out probes: BENCHMARKS.md).
const CHECK_EVERY: usize = 25;
/// A window of one voice sits this close to that voice's mean or closer (0.86 to 0.97 on
/// the calls looked at; a colleague's window among the rep's, 0.63).
const OWN_WINDOW: f32 = 0.8;
/// Speech that is not clearly near is judged only after a run this long of it (voiced
/// frames of 16 ms, 0.5 s): a rep alone trails off at a phrase's end and is clear again
/// within a word; someone else talks on (and calls with no one else seldom load the encoder).
const SUSPECT_RUN: u32 = 31;
/// Windows of clearly near speech the call's own rep voice is made from (about 10 s).
const PROFILE_WINDOWS: usize = 6;

/// Whether mic voices are checked against the rep's, and against whose.
#[derive(Clone, Default)]
pub enum VoiceCheck {
    /// The encoder at `model` (loaded at the first doubt); the enrolled voice if any, and
    /// why an enrolled profile could not be used.
    On {
        model: PathBuf,
        enrolled: Option<Arc<[f32]>>,
        warning: Option<String>,
    },
    /// Not installed, or not wanted: the level test alone.
    #[default]
    Off,
}

impl VoiceCheck {
    /// The installed encoder and the enrolled profile; Off without the encoder.
    pub fn installed() -> Self {
        match encoder::installed() {
            Some(model) => {
                // A profile this user cannot read (another user's home) is not theirs to
                // fix here: the call learns the rep's voice, without a word.
                let (enrolled, warning) = match super::profile::load() {
                    Ok(p) => (p.map(|p| p.embedding.into()), None),
                    Err(super::profile::ProfileError::Unreadable { .. }) => (None, None),
                    Err(e) => (None, Some(crate::term::chain(&e))),
                };
                Self::On {
                    model,
                    enrolled,
                    warning,
                }
            }
            None => Self::Off,
        }
    }

    /// Why the enrolled voice is not used, for the call's warnings (the call learns the
    /// rep's voice from its own start instead).
    pub fn warning(&self) -> Option<&str> {
        match self {
            Self::On { warning, .. } => warning.as_deref(),
            Self::Off => None,
        }
    }
}

/// The encoder, loaded once per process at the first doubt; None if it cannot be.
fn loaded(model: &Path) -> Option<&'static VoiceEncoder> {
    static ENCODER: OnceLock<Option<VoiceEncoder>> = OnceLock::new();
    ENCODER
        .get_or_init(|| VoiceEncoder::load(model).ok())
        .as_ref()
}

/// How near the level test found a voiced mic frame.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Level {
    /// Within `CLEAR_DB` of the rep's level.
    Clear,
    /// Near by level, but not clearly.
    Doubtful,
    /// Far below the rep's level: someone else.
    Far,
}

/// The latest `WINDOW` mel frames (and power) of some speech, and how many came since
/// they were last judged.
#[derive(Default)]
struct Ring {
    frames: VecDeque<([f32; N_MELS], f32)>,
    unjudged: usize,
}

impl Ring {
    fn push(&mut self, f: ([f32; N_MELS], f32)) {
        if self.frames.len() == WINDOW {
            self.frames.pop_front();
        }
        self.frames.push_back(f);
        self.unjudged += 1;
    }

    /// A whole window is heard, and a step of it is new.
    fn due(&self) -> bool {
        self.frames.len() == WINDOW && self.unjudged >= CHECK_EVERY
    }
}

/// One call's mic voices, judged as they come.
pub struct RepCheck {
    model: Option<PathBuf>,
    mels: MelFrames,
    /// The rep's voice (unit length), once known.
    rep: Option<Vec<f32>>,
    /// Mel frames (and power) of clearly near speech, until the call's rep voice is made.
    clear: Vec<([f32; N_MELS], f32)>,
    /// Speech that was not clearly near (a quiet rep, or someone else).
    doubt: Ring,
    /// Speech near by level (clearly or not).
    near: Ring,
    /// Another voice was heard on the mic: from then on near speech is judged too, as
    /// another voice loud enough to be heard moves the rep's running level toward its own.
    crowded: bool,
    /// The last judgements: the doubtful voice, or the near one, is someone else's.
    other_doubt: bool,
    other_near: bool,
    /// Voiced frames in a row that were not clearly near.
    run: u32,
    /// A run reached `SUSPECT_RUN` since the last judgement.
    suspect: bool,
}

impl RepCheck {
    pub fn new(check: &VoiceCheck) -> Self {
        let (model, rep) = match check {
            VoiceCheck::On {
                model, enrolled, ..
            } => (
                Some(model.clone()),
                enrolled.as_deref().map(<[f32]>::to_vec),
            ),
            VoiceCheck::Off => (None, None),
        };
        Self {
            model,
            mels: MelFrames::new(),
            rep,
            clear: Vec::new(),
            doubt: Ring::default(),
            near: Ring::default(),
            crowded: false,
            other_doubt: false,
            other_near: false,
            run: 0,
            suspect: false,
        }
    }

    /// Feeds one voiced mic frame and how near its level is; false when the voice is not
    /// the rep's.
    pub fn is_rep(&mut self, frame: &[f32], level: Level) -> bool {
        if self.model.is_none() {
            return level != Level::Far;
        }
        if level == Level::Clear {
            self.run = 0;
        } else {
            self.run += 1;
            self.suspect |= self.run >= SUSPECT_RUN;
        }
        // Only speech is framed: the mels of the voiced frames, end to end.
        self.mels.push(frame);
        let fresh: Vec<_> = self
            .mels
            .mels
            .drain(..)
            .zip(self.mels.power.drain(..))
            .collect();
        for &f in &fresh {
            if level != Level::Clear {
                self.doubt.push(f);
            }
            if level != Level::Far {
                self.near.push(f);
            }
            if level == Level::Clear
                && self.rep.is_none()
                && self.clear.len() < PROFILE_WINDOWS * WINDOW
            {
                self.clear.push(f);
            }
        }
        match level {
            Level::Far => {}
            Level::Doubtful if self.doubt.due() && (self.crowded || self.suspect) => {
                self.doubt.unjudged = 0;
                self.suspect = false;
                if let Some(similar) = self.similarity(Which::Doubt) {
                    self.other_doubt = similar < SAME_VOICE;
                    self.crowded |= self.other_doubt;
                }
            }
            Level::Doubtful => {}
            Level::Clear if self.crowded && self.near.due() => {
                self.near.unjudged = 0;
                if let Some(similar) = self.similarity(Which::Near) {
                    self.other_near = similar < SAME_VOICE;
                }
            }
            Level::Clear => {}
        }
        match level {
            Level::Far => false,
            Level::Doubtful => !self.other_doubt,
            Level::Clear => !(self.crowded && self.other_near),
        }
    }

    /// The cosine of a ring's voice with the rep's; None while the rep's voice is not known
    /// (too little clear speech yet) or the encoder cannot run.
    fn similarity(&mut self, which: Which) -> Option<f32> {
        let enc = loaded(self.model.as_ref()?)?;
        if self.rep.is_none() {
            let windows: Vec<_> = self.clear.chunks_exact(WINDOW).collect();
            if windows.len() < 2 {
                return None;
            }
            let (mels, powers): (Vec<Vec<_>>, Vec<f32>) = windows
                .iter()
                .map(|w| {
                    (
                        w.iter().map(|(m, _)| *m).collect(),
                        w.iter().map(|(_, p)| p).sum::<f32>() / WINDOW as f32,
                    )
                })
                .unzip();
            let input: Vec<_> = mels.iter().map(Vec::as_slice).zip(powers).collect();
            let embedded = enc.embed(&input).ok()?;
            // A window of someone else (a colleague's loud phrase read as clear) is left out:
            // the mean of the windows near the first mean.
            let mean_of = |keep: &dyn Fn(&Vec<f32>) -> bool| {
                let mut mean = vec![0f32; DIM];
                for e in embedded.iter().filter(|e| keep(e)) {
                    mean.iter_mut().zip(e).for_each(|(a, b)| *a += b);
                }
                encoder::normalise(&mut mean);
                mean
            };
            let first = mean_of(&|_| true);
            let mean = mean_of(&|e| encoder::dot(e, &first) >= OWN_WINDOW);
            self.rep = Some(mean);
            self.clear = Vec::new();
        }
        let ring = match which {
            Which::Doubt => &self.doubt,
            Which::Near => &self.near,
        };
        let mels: Vec<[f32; N_MELS]> = ring.frames.iter().map(|(m, _)| *m).collect();
        let power = ring.frames.iter().map(|(_, p)| p).sum::<f32>() / WINDOW as f32;
        let e = enc.embed(&[(&mels, power)]).ok()?;
        Some(encoder::dot(&e[0], self.rep.as_ref()?))
    }
}

#[derive(Debug, Clone, Copy)]
enum Which {
    Doubt,
    Near,
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 16 ms of a loud tone: voiced, as far as the check knows.
    fn frame() -> Vec<f32> {
        (0..256).map(|n| (n as f32 * 0.3).sin() * 0.1).collect()
    }

    #[test]
    fn without_the_encoder_the_level_alone_decides() {
        for check in [
            VoiceCheck::Off,
            // Installed but unreadable: judged by level, never a panic.
            VoiceCheck::On {
                model: PathBuf::from("/nonexistent/voice-encoder.safetensors"),
                enrolled: None,
                warning: None,
            },
        ] {
            let mut c = RepCheck::new(&check);
            let f = frame();
            for _ in 0..400 {
                assert!(c.is_rep(&f, Level::Clear));
            }
            for _ in 0..400 {
                assert!(c.is_rep(&f, Level::Doubtful));
                assert!(!c.is_rep(&f, Level::Far));
            }
        }
    }
}
