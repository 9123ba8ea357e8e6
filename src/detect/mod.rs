//! The detector: turns the event stream (frames, turns, transcripts) into alerts, causally.
//! An alert's `at_s` is the call time at which a live monitor would raise it. The talk
//! rules read only VAD events, so they never wait for speech-to-text.

pub mod language;
pub mod pitch;
pub mod talk_rules;

use serde::Serialize;

use crate::event::{Event, Segment, Side};
use crate::talk::TalkAccount;

/// Thresholds of every rule, with the defaults the README documents.
#[derive(Debug, Clone)]
pub struct DetectConfig {
    pub talk_ratio_window_s: f64,
    pub talk_ratio_min_elapsed_s: f64,
    pub talk_ratio_max: f64,
    pub talk_ratio_rearm: f64,
    pub monologue_max_s: f64,
    pub pitch: pitch::PitchConfig,
}

impl Default for DetectConfig {
    fn default() -> Self {
        Self {
            talk_ratio_window_s: 300.0,
            talk_ratio_min_elapsed_s: 120.0,
            talk_ratio_max: 0.65,
            talk_ratio_rearm: 0.55,
            monologue_max_s: 90.0,
            pitch: pitch::PitchConfig::default(),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AlertKind {
    TalkRatio,
    Monologue,
    Pitch,
}

impl AlertKind {
    pub fn name(self) -> &'static str {
        match self {
            Self::TalkRatio => "talk_ratio",
            Self::Monologue => "monologue",
            Self::Pitch => "pitch",
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

/// Everything the rules may look at: turns so far, the transcript so far, the clock.
pub struct CallState {
    pub talk: TalkAccount,
    pub open_since: [Option<f64>; 2],
    pub now_s: f64,
    pub segments: Vec<Segment>,
}

impl CallState {
    pub fn speaking(&self, side: Side) -> bool {
        self.open_since[side as usize].is_some()
    }

    /// Sentences of the rep's transcript so far that satisfy `pred`.
    pub fn rep_sentences(&self, pred: impl Fn(&str) -> bool) -> u32 {
        self.segments
            .iter()
            .filter(|s| s.side == Side::Rep)
            .map(|s| {
                language::sentences(&s.text)
                    .iter()
                    .filter(|x| pred(x))
                    .count() as u32
            })
            .sum()
    }
}

pub struct Detector {
    pub state: CallState,
    talk_ratio: talk_rules::TalkRatio,
    monologue: talk_rules::Monologue,
    pitch: pitch::PitchRule,
    pub alerts: Vec<Alert>,
}

impl Detector {
    pub fn new(cfg: DetectConfig) -> Self {
        Self {
            state: CallState {
                talk: TalkAccount::default(),
                open_since: [None, None],
                now_s: 0.0,
                segments: Vec::new(),
            },
            talk_ratio: talk_rules::TalkRatio::new(&cfg),
            monologue: talk_rules::Monologue::new(&cfg),
            pitch: pitch::PitchRule::new(cfg.pitch.clone()),
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
                if let Some(a) = self.talk_ratio.tick(s) {
                    self.alerts.push(a);
                }
                if let Some(a) = self.monologue.tick(s) {
                    self.alerts.push(a);
                }
            }
            Event::TurnStarted { side, start_s } => {
                self.state.open_since[*side as usize] = Some(*start_s);
            }
            Event::TurnEnded { side, turn } => {
                self.state.open_since[*side as usize] = None;
                self.state.talk.add(*side, *turn);
            }
            Event::Transcript {
                segment,
                available_s,
            } => {
                if let Some(a) = self.pitch.on_segment(&self.state, segment, *available_s) {
                    self.alerts.push(a);
                }
                self.state.segments.push(segment.clone());
            }
        }
        &self.alerts[before..]
    }

    /// Questions the rep asked, from the transcript.
    pub fn rep_questions(&self) -> u32 {
        self.state.rep_sentences(language::is_question)
    }
}
