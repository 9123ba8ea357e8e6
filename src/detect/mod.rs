//! The detector: turns the event stream (frames, turns, transcripts) into alerts, causally.
//! An alert's `at_s` is the call time at which a live monitor would raise it. The talk
//! rules read only VAD events, so they never wait for speech-to-text.

pub mod acts;
pub mod follow_up;
pub mod framing;
pub mod interruption;
pub mod language;
pub mod no_questions;
pub mod pitch;
pub mod rules;
pub mod talk_rules;
pub mod text;
pub mod trigger;

use std::sync::Arc;

use serde::Serialize;

use crate::event::{Available, Event, PerSide, Segment, Side};
use crate::talk::TalkAccount;
use acts::context::Context;
use acts::{Act, ActReader, Reading};

/// Every rule's switches and thresholds, as the rules file names them; the defaults are
/// `rules.example.toml`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DetectConfig {
    pub talk_ratio: TalkRatioConfig,
    pub monologue: MonologueConfig,
    pub pitch: pitch::PitchConfig,
    pub no_questions: no_questions::NoQuestionsConfig,
    pub interruption: interruption::InterruptionConfig,
    pub follow_up_missed: follow_up::FollowUpConfig,
    /// Background mode: when a call starts and ends.
    pub calls: CallsConfig,
    /// Live capture's self-checks.
    pub capture: CaptureConfig,
    /// Phrases that extend the built-in language features (the word-list reader).
    pub phrases: language::Phrases,
    /// Example sentences that extend the act classifier's labelled ones.
    pub examples: Vec<(Act, String)>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TalkRatioConfig {
    pub enabled: bool,
    /// The trailing window the rep's share is measured over.
    pub window_s: f64,
    /// No alert before this much of the call.
    pub min_elapsed_s: f64,
    pub max: f64,
    /// Share the rep must fall back under before a second alert.
    pub rearm: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MonologueConfig {
    pub enabled: bool,
    pub max_s: f64,
}

/// `listen --background`: a call starts when both sides spoke within `start_window_s`
/// (each at least `min_speech_s`), and ends after `end_silence_s` of silence on both.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CallsConfig {
    pub start_window_s: f64,
    pub min_speech_s: f64,
    pub end_silence_s: f64,
}

/// A side that delivers digital silence (or nothing) this long while the other side
/// speaks raises a capture warning.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CaptureConfig {
    pub silent_side_s: f64,
}

impl Default for DetectConfig {
    fn default() -> Self {
        Self {
            talk_ratio: TalkRatioConfig {
                enabled: true,
                window_s: 300.0,
                min_elapsed_s: 120.0,
                max: 0.65,
                rearm: 0.55,
            },
            monologue: MonologueConfig {
                enabled: true,
                max_s: 90.0,
            },
            pitch: pitch::PitchConfig::default(),
            no_questions: no_questions::NoQuestionsConfig::default(),
            interruption: interruption::InterruptionConfig::default(),
            follow_up_missed: follow_up::FollowUpConfig::default(),
            calls: CallsConfig {
                start_window_s: 20.0,
                min_speech_s: 1.0,
                end_silence_s: 60.0,
            },
            capture: CaptureConfig {
                silent_side_s: 20.0,
            },
            phrases: language::Phrases::default(),
            examples: Vec::new(),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AlertKind {
    TalkRatio,
    Monologue,
    Pitch,
    NoQuestions,
    Interruption,
    FollowUpMissed,
}

impl AlertKind {
    pub const ALL: [AlertKind; 6] = [
        Self::Pitch,
        Self::TalkRatio,
        Self::Monologue,
        Self::NoQuestions,
        Self::Interruption,
        Self::FollowUpMissed,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Self::TalkRatio => "talk_ratio",
            Self::Monologue => "monologue",
            Self::Pitch => "pitch",
            Self::NoQuestions => "no_questions",
            Self::Interruption => "interruption",
            Self::FollowUpMissed => "follow_up_missed",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Alert {
    pub kind: AlertKind,
    pub at_s: f64,
    pub side: Side,
    pub message: String,
    pub evidence: String,
}

/// One sentence as the act reader read it, for the report: what a coach looks at to see
/// why a pitch alert fired, or did not.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ReadSentence {
    pub side: Side,
    /// Where the sentence ends in the call, by its share of its chunk's words.
    pub end_s: f64,
    pub text: String,
    pub act: Act,
    pub confidence: f32,
    /// How sure the reader is that it presents the product or its price.
    pub pitch: f32,
    /// The pitch read alone, when the conversation around it changed it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub alone_pitch: Option<f32>,
    /// The nearest labelled sentences of its act.
    pub why: String,
}

/// Everything the rules may look at: turns so far, the transcript so far, the clock.
pub struct CallState {
    pub talk: TalkAccount,
    pub open_since: PerSide<Option<f64>>,
    pub now_s: f64,
    pub segments: Vec<Segment>,
    /// Each segment's sentences, read into acts (parallel to `segments`).
    pub readings: Vec<Vec<Reading>>,
}

impl CallState {
    pub fn speaking(&self, side: Side) -> bool {
        self.open_since[side].is_some()
    }

    /// Seconds `side` spoke from `lo` to now, its open turn included.
    pub fn spoken_since(&self, side: Side, lo: f64) -> f64 {
        self.talk
            .spoken_in(side, lo.max(0.0), self.now_s, self.open_since[side])
    }

    /// The rep's share of the speech from `lo` to now; `None` when nobody spoke.
    pub fn rep_share_since(&self, lo: f64) -> Option<f64> {
        let rep = self.spoken_since(Side::Rep, lo);
        let prospect = self.spoken_since(Side::Prospect, lo);
        (rep + prospect > 0.0).then(|| rep / (rep + prospect))
    }

    /// Sentences of the rep's transcript so far whose act satisfies `pred`.
    pub fn rep_acts(&self, pred: impl Fn(Act) -> bool) -> u32 {
        self.read_segments()
            .filter(|(s, _)| s.side == Side::Rep)
            .map(|(_, r)| r.iter().filter(|x| pred(x.act)).count() as u32)
            .sum()
    }

    /// What a new segment of `segment.side` is read against: the last sentence of the
    /// same turn, when the segment goes on from it, and the other side's latest turn. A
    /// backchannel ("Mm-hm.", "Right.") neither ends a turn nor is one.
    pub fn context_of(&self, segment: &Segment) -> (Option<&Reading>, Vec<&Reading>) {
        let mut before = None;
        let mut other: Vec<&Reading> = Vec::new();
        let mut own_turn_open = true;
        let mut next_start = segment.start_s;
        for (seg, read) in self.read_segments().rev() {
            if next_start - seg.end_s > CONTEXT_GAP_S {
                break;
            }
            if is_backchannel(&seg.text) {
                continue;
            }
            if seg.side == segment.side {
                if !other.is_empty() {
                    break;
                }
                if own_turn_open && before.is_none() {
                    before = read.last();
                }
                if before.is_some() {
                    own_turn_open = false;
                }
            } else {
                own_turn_open = false;
                other.splice(0..0, read.iter());
            }
            next_start = seg.start_s;
        }
        if other.len() > CONTEXT_SENTENCES {
            other.drain(..other.len() - CONTEXT_SENTENCES);
        }
        (before, other)
    }

    /// Segments with their readings, oldest first.
    pub fn read_segments(&self) -> impl DoubleEndedIterator<Item = (&Segment, &[Reading])> + '_ {
        self.segments
            .iter()
            .zip(self.readings.iter().map(Vec::as_slice))
    }
}

pub struct Detector {
    pub state: CallState,
    reader: Arc<ActReader>,
    talk_ratio: Option<talk_rules::TalkRatio>,
    monologue: Option<talk_rules::Monologue>,
    pitch: Option<pitch::PitchRule>,
    no_questions: Option<no_questions::NoQuestions>,
    interruption: Option<interruption::Interruption>,
    follow_up: Option<follow_up::FollowUp>,
    pub alerts: Vec<Alert>,
}

impl Detector {
    /// A detector that reads acts with the word lists (tests of single rules).
    pub fn new(cfg: DetectConfig) -> Self {
        let words = ActReader::Words(acts::words::WordReader {
            phrases: cfg.phrases.clone(),
        });
        Self::with_reader(cfg, Arc::new(words))
    }

    pub fn with_reader(cfg: DetectConfig, reader: Arc<ActReader>) -> Self {
        Self {
            state: CallState {
                talk: TalkAccount::default(),
                open_since: PerSide::default(),
                now_s: 0.0,
                segments: Vec::new(),
                readings: Vec::new(),
            },
            reader,
            talk_ratio: cfg
                .talk_ratio
                .enabled
                .then(|| talk_rules::TalkRatio::new(&cfg.talk_ratio)),
            monologue: cfg
                .monologue
                .enabled
                .then(|| talk_rules::Monologue::new(&cfg.monologue)),
            pitch: cfg
                .pitch
                .enabled
                .then(|| pitch::PitchRule::new(cfg.pitch.clone())),
            no_questions: cfg
                .no_questions
                .enabled
                .then(|| no_questions::NoQuestions::new(cfg.no_questions.clone())),
            interruption: cfg
                .interruption
                .enabled
                .then(|| interruption::Interruption::new(cfg.interruption.clone())),
            follow_up: cfg
                .follow_up_missed
                .enabled
                .then(|| follow_up::FollowUp::new(cfg.follow_up_missed.clone())),
            alerts: Vec::new(),
        }
    }

    /// Feeds one event; returns the alerts it raised (also kept in `alerts`).
    pub fn on_event(&mut self, event: &Event) -> &[Alert] {
        let before = self.alerts.len();
        match event {
            Event::Frame { t_s, .. } => {
                self.state.now_s = *t_s;
                let s = &self.state;
                let raised = [
                    self.talk_ratio.as_mut().and_then(|r| r.tick(s)),
                    self.monologue.as_mut().and_then(|r| r.tick(s)),
                    self.no_questions.as_mut().and_then(|r| r.tick(s)),
                    self.interruption.as_mut().and_then(|r| r.tick(s)),
                ];
                self.alerts.extend(raised.into_iter().flatten());
            }
            Event::TurnStarted { side, start_s } => {
                if let Some(r) = self.interruption.as_mut() {
                    r.on_turn_start(&self.state, *side, *start_s);
                }
                self.state.open_since[*side] = Some(*start_s);
            }
            Event::TurnEnded { side, turn } => {
                self.state.open_since[*side] = None;
                self.state.talk.add(*side, *turn);
            }
            Event::Transcript { segment, available } => {
                let sentences = text::sentences(&segment.text);
                let (before, other) = self.state.context_of(segment);
                let mut read: Vec<Reading> = Vec::with_capacity(sentences.len());
                for s in &sentences {
                    let ctx = Context {
                        before: read.last().or(before),
                        other: &other,
                    };
                    let r = self.reader.read_in(segment.side, s, &ctx);
                    read.push(r);
                }
                self.reread_continued_pitch(segment, &mut read);
                let mut at: Vec<f64> = said_ends(segment, &sentences)
                    .into_iter()
                    .map(|said_s| available.of(said_s))
                    .collect();
                if *available == Available::AsSaid {
                    self.time_run_on_pitch(segment, &sentences, &read, &mut at);
                }
                let pitch = self
                    .pitch
                    .as_mut()
                    .and_then(|r| r.on_segment(&self.state, segment, &read, &at));
                // A pitch is its own alert; the missed follow-up would only repeat it.
                let follow_up = self.follow_up.as_mut().and_then(|r| {
                    r.on_segment(segment, &read, available.of(segment.end_s), pitch.is_some())
                });
                self.alerts.extend(pitch.into_iter().chain(follow_up));
                self.state.segments.push(segment.clone());
                self.state.readings.push(read);
            }
        }
        &self.alerts[before..]
    }

    /// A chunk cut at a pause inside a sentence leaves its first words a fragment, which
    /// can read as a pitch on its own ("...and the climbing was the bit they liked who
    /// else could do estimates."). When a segment goes straight on from the same side's
    /// last one, a first sentence that reads as a pitch is read again joined to the
    /// sentence it continues, and stands as a pitch only if the whole still reads as one.
    fn reread_continued_pitch(&self, segment: &Segment, read: &mut [Reading]) {
        let Some(min) = self.pitch.as_ref().map(pitch::PitchRule::min_confidence) else {
            return;
        };
        let Some(first) = read.first() else {
            return;
        };
        if f64::from(first.pitch) < min {
            return;
        }
        let Some((prev, prev_read)) = self.state.read_segments().next_back() else {
            return;
        };
        let Some(before) = prev_read.last() else {
            return;
        };
        let continues = prev.side == segment.side
            && segment.start_s - prev.end_s < CONTINUED_GAP_S
            && !before.sentence.trim_end().ends_with(['?', '!']);
        if !continues {
            return;
        }
        let joined = format!(
            "{} {}",
            before.sentence.trim_end().trim_end_matches('.'),
            first.sentence
        );
        let whole = self.reader.read(segment.side, &joined);
        if f64::from(whole.pitch) < min {
            read[0] = whole;
        }
    }

    /// In review, the rep's first sentence that reads as a pitch, when it is a long
    /// run-on, is placed where the pitch became clear: at the end of its shortest opening
    /// run of clauses (cut at commas) that reads as a pitch alone. A live monitor, cutting
    /// short chunks, has that much a moment after it is said; the sentence's end can be
    /// 20 s later. The pitch rule weighs the whole sentence as before.
    fn time_run_on_pitch(
        &self,
        segment: &Segment,
        sentences: &[String],
        read: &[Reading],
        at: &mut [f64],
    ) {
        let Some(min) = self.pitch.as_ref().map(pitch::PitchRule::min_confidence) else {
            return;
        };
        if segment.side != Side::Rep {
            return;
        }
        let Some(i) = read.iter().position(|r| f64::from(r.pitch) >= min) else {
            return;
        };
        let sentence = &sentences[i];
        if sentence.split_whitespace().count() < RUN_ON_WORDS {
            return;
        }
        let start_s = if i == 0 { segment.start_s } else { at[i - 1] };
        let opening = sentence
            .match_indices(',')
            .map(|(k, _)| &sentence[..k])
            .filter(|p| p.split_whitespace().count() >= MIN_CLAUSE_WORDS)
            .find(|p| f64::from(self.reader.read(segment.side, p).pitch) >= min);
        if let Some(p) = opening {
            at[i] = start_s + (at[i] - start_s) * p.len() as f64 / sentence.len() as f64;
        }
    }

    /// Questions the rep asked, from the transcript.
    pub fn rep_questions(&self) -> u32 {
        self.state.rep_acts(Act::is_question)
    }

    /// Which reader turns sentences into acts.
    pub fn reader(&self) -> &ActReader {
        &self.reader
    }

    /// Every sentence read so far, in call order, with its reading.
    pub fn read_sentences(&self) -> Vec<ReadSentence> {
        let round = |x: f32| (x * 1000.0).round() / 1000.0;
        self.state
            .read_segments()
            .flat_map(|(seg, read)| {
                let texts: Vec<String> = read.iter().map(|r| r.sentence.clone()).collect();
                said_ends(seg, &texts)
                    .into_iter()
                    .zip(read)
                    .map(|(end_s, r)| ReadSentence {
                        side: seg.side,
                        end_s: crate::event::round3(end_s),
                        text: r.sentence.clone(),
                        act: r.act,
                        confidence: round(r.confidence),
                        pitch: round(r.pitch),
                        alone_pitch: r.alone_pitch.map(round),
                        why: r.why.clone(),
                    })
            })
            .collect()
    }
}

/// Context reaches back over silences shorter than this (a longer one starts afresh).
const CONTEXT_GAP_S: f64 = 20.0;
/// The other side's latest sentences a sentence is read against.
const CONTEXT_SENTENCES: usize = 4;

/// A short acknowledgement said while the other side talks.
fn is_backchannel(text: &str) -> bool {
    text.split_whitespace().count() <= 2
}

/// A segment that starts this soon after the same side's last one goes straight on from
/// it: chunks are cut at pauses of 0.2 s or more and start 0.2 s before the next word.
const CONTINUED_GAP_S: f64 = 0.3;
/// A sentence this long (in words) is a run-on: its clauses are timed on their own.
const RUN_ON_WORDS: usize = 25;
/// The shortest opening of a run-on that is read alone.
const MIN_CLAUSE_WORDS: usize = 8;

/// Where each sentence of a segment ends, in call time: whisper gives the chunk's span,
/// not each sentence's, so the span is shared out by the sentences' lengths (speech runs
/// at a fairly steady rate of characters).
fn said_ends(segment: &Segment, sentences: &[String]) -> Vec<f64> {
    let total: usize = sentences.iter().map(|s| s.len()).sum::<usize>().max(1);
    let span = segment.end_s - segment.start_s;
    let mut done = 0;
    sentences
        .iter()
        .map(|s| {
            done += s.len();
            segment.start_s + span * done as f64 / total as f64
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::{Available, Event, Segment};

    fn say(d: &mut Detector, side: Side, start_s: f64, end_s: f64, text: &str) {
        d.on_event(&Event::Transcript {
            segment: Segment {
                side,
                start_s,
                end_s,
                text: text.into(),
            },
            available: Available::AsSaid,
        });
    }

    fn texts<'a>(r: impl IntoIterator<Item = &'a Reading>) -> Vec<&'a str> {
        r.into_iter().map(|r| r.sentence.as_str()).collect()
    }

    #[test]
    fn a_sentence_is_read_against_the_other_sides_turn_and_its_own_turn_so_far() {
        let mut d = Detector::new(DetectConfig::default());
        say(&mut d, Side::Rep, 0.0, 2.0, "How do you book jobs?");
        say(
            &mut d,
            Side::Prospect,
            3.0,
            6.0,
            "On paper. It takes hours.",
        );
        say(&mut d, Side::Rep, 6.5, 7.0, "Right.");
        say(&mut d, Side::Prospect, 7.0, 9.0, "And we lose some.");
        let next = Segment {
            side: Side::Rep,
            start_s: 9.5,
            end_s: 12.0,
            text: String::new(),
        };
        let (before, other) = d.state.context_of(&next);
        assert!(
            before.is_none(),
            "the rep's backchannel is not a turn to go on from"
        );
        assert_eq!(
            texts(other),
            ["On paper.", "It takes hours.", "And we lose some."],
            "the prospect's turn, across the rep's backchannel"
        );
        say(
            &mut d,
            Side::Rep,
            9.5,
            12.0,
            "Let me make sure I have this. So it is all on paper.",
        );
        let more = Segment {
            start_s: 12.1,
            end_s: 14.0,
            ..next
        };
        let (before, other) = d.state.context_of(&more);
        assert_eq!(
            before.map(|r| r.sentence.as_str()),
            Some("So it is all on paper.")
        );
        assert_eq!(other.len(), 3, "still read against the prospect's turn");
        let later = Segment {
            start_s: 60.0,
            end_s: 62.0,
            ..more
        };
        let (before, other) = d.state.context_of(&later);
        assert!(
            before.is_none() && other.is_empty(),
            "a long silence starts afresh"
        );
    }
}
