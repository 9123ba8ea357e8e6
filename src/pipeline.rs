//! The pipeline both modes run: front end (echo, VAD, turns, chunks) and detector inline on
//! the caller's stage thread, speech-to-text on its own worker thread behind a bounded
//! channel. Talk alerts come from the inline part, so they never wait for transcripts.
//! The worker is a stage boundary: if whisper panics, the transcript ends there with a
//! warning and the talk figures, alerts and transcript so far still make the report.

use std::path::PathBuf;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crossbeam_channel::{bounded, Receiver, Sender, TrySendError};

use std::sync::Arc;

use crate::detect::acts::classifier::Classifier;
use crate::detect::acts::encoder::EncoderError;
use crate::detect::acts::words::WordReader;
use crate::detect::acts::ActReader;
use crate::detect::{Alert, CallState, DetectConfig, Detector};
use crate::dsp::resample::SPEECH_RATE_HZ;
use crate::event::{round3, Available, Chunk, Event, Segment};
use crate::frontend::{ChunkPolicy, FrontEnd, FrontEndConfig};
use crate::report::{CallRecord, SttStats};
use crate::stt::engine::{Engine, SttError};

/// Speech chunks that may wait for the transcriber.
/// A background call starts with its pre-roll (up to ~25 s of both sides) at once: room
/// for all its chunks, so the call's first words are not dropped.
const CHUNK_QUEUE: usize = 16;

#[derive(Debug, Clone)]
pub struct SttSettings {
    pub model: PathBuf,
    pub threads: usize,
    pub language: Option<String>,
    /// The installed sentence encoder that reads transcripts into dialogue acts; without
    /// it the detector reads acts with word lists.
    pub encoder: Option<PathBuf>,
}

/// What to do when the transcriber is behind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backpressure {
    /// Review: wait; the recording is not going anywhere.
    Wait,
    /// Live: drop the chunk and count it; the call must not stall.
    Drop,
}

/// What the transcriber hands back, chunk by chunk.
enum Heard {
    Said {
        segment: Segment,
        chunk_end_s: f64,
    },
    /// The transcriber failed on a chunk; the call goes on without its words.
    Failed(String),
}

/// What the worker hands back when it ends.
struct WorkerEnd {
    stats: SttStats,
    /// Why it stopped before the last chunk (a panic in the transcriber), if it did.
    stopped: Option<String>,
}

struct Worker {
    chunks: Option<Sender<Chunk>>,
    heard: Receiver<Heard>,
    handle: Option<JoinHandle<WorkerEnd>>,
    model_name: String,
}

/// Why the stages could not start: a model they load.
#[derive(Debug, thiserror::Error)]
pub enum PipelineError {
    #[error(transparent)]
    Stt(#[from] SttError),
    #[error("cannot load the sentence encoder; reinstall it with `twoears model install minilm`, or remove its directory to read acts with word lists")]
    Encoder(#[source] EncoderError),
}

fn spawn_worker(settings: &SttSettings) -> Result<Worker, SttError> {
    let mut engine = Engine::load(
        &settings.model,
        settings.threads,
        settings.language.as_deref(),
    )?;
    let model_name = engine.model_name().to_string();
    Ok(start_worker(model_name, move |samples, context| {
        engine.transcribe(samples, context).map(|h| h.text)
    }))
}

/// Runs `transcribe` over the chunks on the worker thread.
fn start_worker(
    model_name: String,
    transcribe: impl FnMut(&[f32], &str) -> Result<String, SttError> + Send + 'static,
) -> Worker {
    let (chunk_tx, chunk_rx) = bounded::<Chunk>(CHUNK_QUEUE);
    let (heard_tx, heard_rx) = bounded::<Heard>(64);
    let handle = std::thread::Builder::new()
        .name("stt".into())
        .spawn(move || {
            lower_priority();
            transcribe_all(&chunk_rx, &heard_tx, transcribe)
        })
        .expect("spawning a thread");
    Worker {
        chunks: Some(chunk_tx),
        heard: heard_rx,
        handle: Some(handle),
        model_name,
    }
}

/// The worker's loop: every chunk until the pipeline hangs up, or until `transcribe`
/// panics (whisper's state is then unknown, so nothing more is asked of it).
fn transcribe_all(
    chunks: &Receiver<Chunk>,
    heard: &Sender<Heard>,
    mut transcribe: impl FnMut(&[f32], &str) -> Result<String, SttError>,
) -> WorkerEnd {
    let mut stats = SttStats::default();
    // The call's last words, both sides in the order they were heard: the next chunk's
    // context. A rep who names the prospect's "payroll package" is heard saying it, not
    // "peril package", when the prospect's words are in the prompt.
    let mut said = String::new();
    for chunk in chunks {
        let started = Instant::now();
        let result = match crate::panic::catch(|| transcribe(&chunk.samples, &said)) {
            Ok(result) => result,
            Err(msg) => {
                return WorkerEnd {
                    stats,
                    stopped: Some(msg),
                }
            }
        };
        if let Ok(text) = &result {
            remember(&mut said, text);
        }
        stats.busy_s += started.elapsed().as_secs_f64();
        stats.chunks += 1;
        stats.audio_s += chunk.samples.len() as f64 / f64::from(SPEECH_RATE_HZ);
        match result {
            Ok(text) if !text.is_empty() => {
                let h = Heard::Said {
                    segment: Segment {
                        side: chunk.side,
                        start_s: round3(chunk.start_s),
                        end_s: round3(chunk.end_s),
                        text,
                    },
                    chunk_end_s: chunk.end_s,
                };
                if heard.send(h).is_err() {
                    break;
                }
            }
            Ok(_) => {}
            Err(e) => {
                stats.failed_chunks += 1;
                // The whole chain: whisper.cpp's own reason is the cause.
                let why = crate::term::chain(&e);
                if heard.send(Heard::Failed(why)).is_err() {
                    break;
                }
            }
        }
    }
    WorkerEnd {
        stats,
        stopped: None,
    }
}

/// Keeps the last `CONTEXT_CHARS` of the call's transcript, cut at a word.
fn remember(said: &mut String, text: &str) {
    if text.is_empty() {
        return;
    }
    if !said.is_empty() {
        said.push(' ');
    }
    said.push_str(text);
    if said.len() > CONTEXT_CHARS {
        let from = said.len() - CONTEXT_CHARS;
        let cut = said[from..].find(' ').map_or(from, |i| from + i + 1);
        said.drain(..cut);
    }
}

/// More than whisper's prompt takes (48 tokens, about 250 characters): the engine keeps
/// the newest tokens.
const CONTEXT_CHARS: usize = 400;

/// The transcriber yields the CPU to the audio path: on a machine with few cores a
/// busy whisper thread must not delay the stage thread that feeds VAD and the talk rules.
fn lower_priority() {
    #[cfg(target_os = "linux")]
    // SAFETY: plain syscalls on the calling thread; raising one's own niceness needs no
    // privilege and cannot fail in a way that matters (the thread then keeps its priority).
    unsafe {
        let tid = libc::syscall(libc::SYS_gettid) as libc::id_t;
        libc::setpriority(libc::PRIO_PROCESS, tid, 10);
    }
}

pub struct Pipeline {
    rules: DetectConfig,
    front: FrontEnd,
    detector: Detector,
    worker: Option<Worker>,
    backpressure: Backpressure,
    events: Vec<Event>,
    chunks: Vec<Chunk>,
    segments: Vec<Segment>,
    dropped_chunks: u64,
    new_alerts: Vec<Alert>,
    new_warnings: Vec<String>,
    /// Why the first chunk the transcriber failed on failed.
    first_failure: Option<String>,
    /// Why the speech detector is missing, or the enrolled voice unused.
    vad_warnings: Vec<String>,
}

impl Pipeline {
    /// Builds the stages; loads the model when speech-to-text is on.
    ///
    /// # Errors
    /// The model cannot be loaded.
    pub fn new(
        hearing: FrontEndConfig,
        chunks: ChunkPolicy,
        detect: DetectConfig,
        stt: Option<&SttSettings>,
        backpressure: Backpressure,
    ) -> Result<Self, PipelineError> {
        let reader = match stt.and_then(|s| s.encoder.as_deref()) {
            Some(dir) => ActReader::Embedded(Box::new(
                Classifier::load(dir, &detect.examples).map_err(PipelineError::Encoder)?,
            )),
            None => ActReader::Words(WordReader {
                phrases: detect.phrases.clone(),
            }),
        };
        let worker = stt.map(spawn_worker).transpose()?;
        let vad_warnings = hearing.warnings();
        Ok(Self {
            front: FrontEnd::new(hearing, chunks),
            detector: Detector::with_reader(detect.clone(), Arc::new(reader)),
            rules: detect,
            worker,
            backpressure,
            events: Vec::with_capacity(1024),
            chunks: Vec::new(),
            segments: Vec::new(),
            dropped_chunks: 0,
            new_alerts: Vec::new(),
            new_warnings: vad_warnings.clone(),
            first_failure: None,
            vad_warnings,
        })
    }

    pub fn now_s(&self) -> f64 {
        self.front.now_s()
    }

    /// The detector's view of the call so far (turns, open turns, transcript).
    pub fn state(&self) -> &CallState {
        &self.detector.state
    }

    /// Speech chunks the transcriber had no room for.
    pub fn dropped_chunks(&self) -> u64 {
        self.dropped_chunks
    }

    fn on_heard(&mut self, h: Heard) {
        let (segment, chunk_end_s) = match h {
            Heard::Said {
                segment,
                chunk_end_s,
            } => (segment, chunk_end_s),
            Heard::Failed(why) => {
                let warning = format!(
                    "speech-to-text failed on a chunk ({why}); the call goes on without its words"
                );
                self.first_failure.get_or_insert_with(|| why.clone());
                self.new_warnings.push(warning);
                return;
            }
        };
        // In review each sentence is placed where it was said, as a live monitor with its
        // short chunks would have it; live, the chunk is placed when it actually arrives.
        let available = match self.backpressure {
            Backpressure::Wait => Available::AsSaid,
            Backpressure::Drop => Available::At(self.front.now_s().max(chunk_end_s)),
        };
        let ev = Event::Transcript {
            segment: segment.clone(),
            available,
        };
        self.new_alerts
            .extend_from_slice(self.detector.on_event(&ev));
        self.segments.push(segment);
    }

    /// Warnings from the transcriber since the last call (a live monitor shows them on
    /// its status line; the report sums them up).
    pub fn take_warnings(&mut self) -> Vec<String> {
        std::mem::take(&mut self.new_warnings)
    }

    fn drain_heard(&mut self) {
        while let Some(h) = self.worker.as_ref().and_then(|w| w.heard.try_recv().ok()) {
            self.on_heard(h);
        }
    }

    fn dispatch(&mut self) {
        for ev in self.events.drain(..) {
            self.new_alerts
                .extend_from_slice(self.detector.on_event(&ev));
        }
        let chunks = std::mem::take(&mut self.chunks);
        for chunk in chunks {
            let Some(worker) = self.worker.as_ref() else {
                continue;
            };
            let tx = worker.chunks.as_ref().expect("open until finish").clone();
            match self.backpressure {
                Backpressure::Drop => match tx.try_send(chunk) {
                    Ok(()) => {}
                    Err(TrySendError::Full(_)) => self.dropped_chunks += 1,
                    // The worker stopped (its panic is warned about): not a chunk the
                    // machine was too slow for.
                    Err(TrySendError::Disconnected(_)) => {}
                },
                Backpressure::Wait => {
                    // Wait for room, handling transcripts meanwhile so neither side blocks.
                    let heard = worker.heard.clone();
                    let mut chunk = chunk;
                    loop {
                        match tx.try_send(chunk) {
                            Ok(()) => break,
                            Err(TrySendError::Full(c)) => {
                                chunk = c;
                                if let Ok(h) = heard.recv_timeout(Duration::from_millis(20)) {
                                    self.on_heard(h);
                                }
                            }
                            Err(TrySendError::Disconnected(_)) => break,
                        }
                    }
                }
            }
        }
        self.drain_heard();
    }

    /// Feeds aligned 16 kHz audio of both sides; returns the alerts raised.
    pub fn push(&mut self, rep: &[f32], prospect: &[f32]) -> Vec<Alert> {
        self.front
            .push(rep, prospect, &mut self.events, &mut self.chunks);
        self.dispatch();
        std::mem::take(&mut self.new_alerts)
    }

    /// Ends the call: flushes the front end, waits for the last transcripts, and hands
    /// over what the report is made of.
    pub fn finish(mut self) -> CallRecord {
        self.front.finish(&mut self.events, &mut self.chunks);
        self.dispatch();
        let mut stt = None;
        let mut warnings = std::mem::take(&mut self.vad_warnings);
        if let Some(mut w) = self.worker.take() {
            drop(w.chunks.take());
            for h in w.heard.clone().iter() {
                self.on_heard(h);
            }
            let end = w.handle.take().expect("joined once").join();
            // A panic outside `transcribe_all`'s catch still costs only the transcript.
            let WorkerEnd { mut stats, stopped } = end.unwrap_or_else(|payload| WorkerEnd {
                stats: SttStats::default(),
                stopped: Some(crate::panic::message(&*payload)),
            });
            if let Some(why) = stopped {
                warnings.push(format!(
                    "speech-to-text stopped after {} chunks ({why}); the transcript ends there, \
                     talk figures are complete",
                    stats.chunks
                ));
            }
            if let Some(first) = &self.first_failure {
                warnings.push(format!(
                    "speech-to-text failed on {} chunks (the first: {first}); their words are \
                     missing from the transcript, talk figures are complete",
                    stats.failed_chunks
                ));
            }
            stats.dropped_chunks = self.dropped_chunks;
            stt = Some((w.model_name, stats));
        }
        let rep_questions = self.detector.rep_questions();
        let acts = stt.is_some().then(|| self.detector.reader().kind());
        let sentences = self.detector.read_sentences();
        CallRecord {
            acts,
            room: self.front.room(),
            duration_s: self.front.now_s(),
            talk: self.detector.state.talk,
            rep_questions,
            segments: self.segments,
            sentences,
            alerts: self.detector.alerts,
            rules: self.rules,
            stt,
            warnings,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::Side;

    /// A review pipeline whose transcriber ("fake") hears "Hello there." in each chunk but
    /// the second, where `second` decides; three rep chunks are on their way to it.
    fn three_chunks(
        mut second: impl FnMut() -> Result<String, SttError> + Send + 'static,
    ) -> Pipeline {
        let mut p = Pipeline::new(
            FrontEndConfig::default(),
            ChunkPolicy::REVIEW,
            DetectConfig::default(),
            None,
            Backpressure::Wait,
        )
        .unwrap();
        let mut calls = 0;
        p.worker = Some(start_worker("fake".into(), move |_, _| {
            calls += 1;
            if calls == 2 {
                return second();
            }
            Ok("Hello there.".into())
        }));
        let chunk = |start_s: f64| Chunk {
            side: Side::Rep,
            start_s,
            end_s: start_s + 1.0,
            samples: vec![0.0; 16_000],
        };
        p.chunks.extend([chunk(0.0), chunk(2.0), chunk(4.0)]);
        p.dispatch();
        p
    }

    #[test]
    fn a_panicking_transcriber_costs_the_transcript_not_the_call() {
        let mut p = three_chunks(|| panic!("whisper fell over"));
        p.push(&[0.0; 16_000], &[0.0; 16_000]);
        let call = p.finish();
        assert_eq!(
            call.segments.len(),
            1,
            "the transcript up to the panic is kept"
        );
        let (model, stats) = call.stt.expect("the transcriber's figures");
        assert_eq!((model.as_str(), stats.chunks), ("fake", 1));
        assert_eq!(call.warnings.len(), 1, "{:?}", call.warnings);
        assert!(
            call.warnings[0].contains("whisper fell over"),
            "{:?}",
            call.warnings
        );
        assert!(call.duration_s > 0.9, "the talk figures cover the call");
    }

    #[test]
    fn a_missing_speech_detector_is_a_warning_live_and_in_the_report_not_a_failure() {
        let hearing = FrontEndConfig {
            vad: crate::frontend::vad::VadConfig {
                speech: crate::frontend::vad::Speech::Missing("the speech detector is gone".into()),
                ..Default::default()
            },
            ..FrontEndConfig::default()
        };
        let mut p = Pipeline::new(
            hearing,
            ChunkPolicy::REVIEW,
            DetectConfig::default(),
            None,
            Backpressure::Wait,
        )
        .unwrap();
        assert_eq!(p.take_warnings(), ["the speech detector is gone"]);
        p.push(&[0.0; 16_000], &[0.0; 16_000]);
        let call = p.finish();
        assert_eq!(call.warnings, ["the speech detector is gone"]);
        assert!(call.duration_s > 0.9, "the talk figures cover the call");
    }

    #[test]
    fn a_failed_chunk_is_a_warning_as_it_happens_and_in_the_report() {
        let mut p =
            three_chunks(|| Err(SttError::Decode(whisper_rs::WhisperError::FailedToDecode)));
        let mut live = Vec::new();
        // Review waits for the transcriber; the failure is there by the time it has
        // answered the third chunk.
        while p.segments.len() < 2 {
            p.push(&[0.0; 1600], &[0.0; 1600]);
            live.extend(p.take_warnings());
        }
        assert_eq!(live.len(), 1, "{live:?}");
        assert!(
            live[0].contains("transcription failed: Failed to run the decoder"),
            "{live:?}"
        );
        let call = p.finish();
        assert_eq!(call.segments.len(), 2, "the other chunks are heard");
        assert!(
            call.warnings
                .iter()
                .any(|w| w.contains("failed on 1 chunks")),
            "{:?}",
            call.warnings
        );
    }

    #[test]
    fn each_chunk_is_heard_with_the_call_so_far_both_sides() {
        let (tx, rx) = bounded::<Chunk>(8);
        let (heard_tx, heard_rx) = bounded::<Heard>(8);
        let chunk = |side, start_s: f64| Chunk {
            side,
            start_s,
            end_s: start_s + 1.0,
            samples: vec![0.0; 1600],
        };
        for c in [
            chunk(Side::Rep, 0.0),
            chunk(Side::Prospect, 2.0),
            chunk(Side::Rep, 4.0),
        ] {
            tx.send(c).unwrap();
        }
        drop(tx);
        let mut contexts = Vec::new();
        let lines = ["How do you pay staff?", "Our payroll package.", "Right."];
        let mut next = lines.iter();
        transcribe_all(&rx, &heard_tx, |_, context| {
            contexts.push(context.to_string());
            Ok((*next.next().unwrap()).to_string())
        });
        assert_eq!(heard_rx.len(), 3);
        assert_eq!(
            contexts,
            [
                "",
                "How do you pay staff?",
                "How do you pay staff? Our payroll package."
            ]
        );
    }

    #[test]
    fn the_context_keeps_the_newest_words_and_cuts_between_words() {
        let mut said = String::new();
        for i in 0..200 {
            remember(&mut said, &format!("word{i}"));
        }
        assert!(said.len() <= CONTEXT_CHARS, "{}", said.len());
        assert!(said.starts_with("word"), "{said}");
        assert!(said.ends_with("word199"), "{said}");
        remember(&mut said, "");
        assert!(said.ends_with("word199"), "an empty chunk adds nothing");
    }
}
