//! whisper.cpp through whisper-rs: one model context and one decoding state, reused for
//! every chunk. Owns the decoding parameters; never runs two decodes at once.

use std::path::{Path, PathBuf};

use whisper_rs::{
    FullParams, SamplingStrategy, WhisperContext, WhisperContextParameters, WhisperState,
};

use super::filter;
use crate::dsp::resample::SPEECH_RATE_HZ;
use crate::model::verify;

/// Whisper's input rate is the pipeline's speech rate.
const RATE: usize = SPEECH_RATE_HZ as usize;
/// whisper.cpp refuses input shorter than a second, so shorter chunks are padded to this.
const MIN_INPUT_SAMPLES: usize = RATE * 105 / 100;
/// Encoder frames per second of audio (whisper's 1500 frames cover 30 s).
const FRAMES_PER_S: f32 = 50.0;
/// Encoder frames beyond the audio: too tight a window garbles the end of a chunk.
const CTX_MARGIN_FRAMES: f32 = 48.0;

#[derive(Debug, thiserror::Error)]
pub enum SttError {
    #[error("{}: no such file; install a model with `twoears model install`, or pass --model PATH", path.display())]
    NoFile { path: PathBuf },
    #[error("{}: the path is not UTF-8 (whisper.cpp takes a UTF-8 path); move the model to a plain path", path.display())]
    NotUtf8 { path: PathBuf },
    #[error("{}: cannot load the Whisper model; reinstall it with `twoears model install`", path.display())]
    Load {
        path: PathBuf,
        #[source]
        source: whisper_rs::WhisperError,
    },
    #[error(transparent)]
    Model(#[from] crate::model::verify::VerifyError),
    #[error("transcription failed")]
    Decode(#[source] whisper_rs::WhisperError),
}

/// What whisper heard in one chunk.
#[derive(Debug, Clone, PartialEq)]
pub struct Heard {
    pub text: String,
    /// Highest no-speech probability among the kept segments (0 when none kept).
    pub no_speech_prob: f32,
}

pub struct Engine {
    // The state holds its own reference to the context; keeping this one documents ownership.
    _ctx: WhisperContext,
    state: WhisperState,
    threads: i32,
    language: Option<String>,
    pad: Vec<f32>,
    /// The call's previous words, as whisper's prompt tokens.
    prompt: Vec<std::ffi::c_int>,
    model_name: String,
}

/// Tokens of the previous text given as context: enough for a sentence or two.
const PROMPT_TOKENS: usize = 48;

/// Whisper's encoder window for a chunk: 50 frames per second plus a margin (a 7 s clip is
/// garbled at 256 frames and fine at 384), rounded up to a multiple of 32, at most 1500.
pub fn audio_ctx_for(samples: usize) -> i32 {
    let secs = samples as f32 / RATE as f32;
    let frames = (secs * FRAMES_PER_S + CTX_MARGIN_FRAMES).ceil() as i32;
    (((frames + 31) / 32) * 32).min(1500)
}

impl Engine {
    /// Loads a ggml model. `threads` is the number of cores whisper may spin on.
    ///
    /// # Errors
    /// The file is missing, unreadable, not a whisper.cpp model, or fails verification
    /// (its manifest or the ggml walk, before whisper.cpp reads a byte of it).
    pub fn load(path: &Path, threads: usize, language: Option<&str>) -> Result<Self, SttError> {
        whisper_rs::install_logging_hooks();
        let load_err = |source| SttError::Load {
            path: path.to_path_buf(),
            source,
        };
        if !path.is_file() {
            return Err(SttError::NoFile {
                path: path.to_path_buf(),
            });
        }
        let path_str = path.to_str().ok_or_else(|| SttError::NotUtf8 {
            path: path.to_path_buf(),
        })?;
        verify::verify(path, verify::Hash::IfChanged)?;
        let ctx = WhisperContext::new_with_params(path_str, WhisperContextParameters::default())
            .map_err(load_err)?;
        let state = ctx.create_state().map_err(load_err)?;
        let model_name = path
            .file_stem()
            .and_then(|s| s.to_str())
            .map(|s| s.trim_start_matches("ggml-").to_string())
            .unwrap_or_default();
        Ok(Self {
            _ctx: ctx,
            state,
            threads: threads.max(1) as i32,
            language: language.map(str::to_owned),
            pad: Vec::with_capacity(MIN_INPUT_SAMPLES),
            prompt: Vec::with_capacity(PROMPT_TOKENS),
            model_name,
        })
    }

    pub fn model_name(&self) -> &str {
        &self.model_name
    }

    /// Transcribes one chunk of 16 kHz mono audio (at most 30 s). `context` is what the
    /// call said just before (both sides): with it, a chunk that starts mid-thought is
    /// heard as the continuation it is, and the words the other side used are expected.
    ///
    /// # Errors
    /// whisper.cpp reported a failure for this chunk; the caller logs it and goes on.
    pub fn transcribe(&mut self, samples: &[f32], context: &str) -> Result<Heard, SttError> {
        self.prompt.clear();
        if !context.is_empty() {
            if let Ok(tokens) = self._ctx.tokenize(context, 4 * PROMPT_TOKENS) {
                let from = tokens.len().saturating_sub(PROMPT_TOKENS);
                self.prompt.extend_from_slice(&tokens[from..]);
            }
        }
        let input = if samples.len() < MIN_INPUT_SAMPLES {
            self.pad.clear();
            self.pad.extend_from_slice(samples);
            self.pad.resize(MIN_INPUT_SAMPLES, 0.0);
            &self.pad[..]
        } else {
            samples
        };
        let mut params = FullParams::new(SamplingStrategy::Greedy { best_of: 1 });
        params.set_n_threads(self.threads);
        params.set_audio_ctx(audio_ctx_for(input.len()));
        params.set_language(Some(self.language.as_deref().unwrap_or("en")));
        params.set_no_context(true);
        params.set_tokens(&self.prompt);
        params.set_no_timestamps(true);
        params.set_single_segment(true);
        params.set_suppress_blank(true);
        params.set_suppress_nst(true);
        // Speech runs at most ~5 tokens a second; a cap stops whisper looping on short or
        // noisy chunks ("Right, right, right, ...").
        params.set_max_tokens((samples.len() as f32 / RATE as f32 * 6.0) as i32 + 10);
        // Temperature fallback re-decodes a chunk up to five times; on chunks of a few
        // seconds with a token cap it cost 5% of the time and gained no accuracy here.
        params.set_temperature_inc(0.0);
        params.set_print_progress(false);
        params.set_print_realtime(false);
        params.set_print_special(false);
        params.set_print_timestamps(false);
        self.state.full(params, input).map_err(SttError::Decode)?;
        let mut text = String::new();
        let mut no_speech_prob = 0f32;
        for seg in self.state.as_iter() {
            let piece = seg
                .to_str_lossy()
                .map(|s| s.into_owned())
                .unwrap_or_default();
            let p = seg.no_speech_probability();
            if let Some(kept) = filter::keep(&piece, p) {
                if !text.is_empty() {
                    text.push(' ');
                }
                text.push_str(&kept);
                no_speech_prob = no_speech_prob.max(p);
            }
        }
        Ok(Heard {
            text,
            no_speech_prob,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn audio_ctx_keeps_a_margin_over_50_frames_per_second() {
        for secs in [1.0f32, 3.0, 7.0, 10.0, 12.0] {
            let ctx = audio_ctx_for((secs * RATE as f32) as usize);
            assert!(ctx as f32 >= secs * 50.0 + 32.0, "{secs} s -> {ctx}");
            assert_eq!(ctx % 32, 0);
        }
        assert!(audio_ctx_for(7 * RATE) >= 384);
        assert_eq!(audio_ctx_for(40 * RATE), 1500);
    }
}
