//! The talk rules, from VAD alone: the rep's share of the trailing window, and monologues.

use super::{Alert, AlertKind, CallState, MonologueConfig, TalkRatioConfig};
use crate::event::Side;

/// Rep share of speaking time over a trailing window; raised once above the maximum,
/// re-armed when it falls back below the re-arm level.
pub struct TalkRatio {
    window_s: f64,
    min_elapsed_s: f64,
    max: f64,
    rearm: f64,
    armed: bool,
    next_check_s: f64,
}

/// How often the share is re-computed (a live status line refreshes at this rate too).
const CHECK_EVERY_S: f64 = 0.25;

impl TalkRatio {
    pub fn new(cfg: &TalkRatioConfig) -> Self {
        Self {
            window_s: cfg.window_s,
            min_elapsed_s: cfg.min_elapsed_s,
            max: cfg.max,
            rearm: cfg.rearm,
            armed: true,
            next_check_s: 0.0,
        }
    }

    pub fn tick(&mut self, state: &CallState) -> Option<Alert> {
        if state.now_s < self.next_check_s || state.now_s < self.min_elapsed_s {
            return None;
        }
        self.next_check_s = state.now_s + CHECK_EVERY_S;
        let share = state.rep_share_since(state.now_s - self.window_s)?;
        if self.armed && share > self.max {
            self.armed = false;
            let mins = self.window_s / 60.0;
            return Some(Alert {
                kind: AlertKind::TalkRatio,
                at_s: state.now_s,
                side: Side::Rep,
                message: format!(
                    "You have done {:.0}% of the talking in the last {mins:.0} minutes. Ask an open question and let them talk.",
                    share * 100.0
                ),
                evidence: format!("rep share {:.2} over the last {:.0} s (limit {:.2})", share, self.window_s.min(state.now_s), self.max),
            });
        }
        if !self.armed && share < self.rearm {
            self.armed = true;
        }
        None
    }
}

/// The rep speaking for too long with no prospect speech; raised at the limit, while it
/// is still going on, once per monologue.
pub struct Monologue {
    max_s: f64,
    /// Start of the rep's current run of turns not broken by the prospect.
    run_start_s: Option<f64>,
    raised: bool,
}

impl Monologue {
    pub fn new(cfg: &MonologueConfig) -> Self {
        Self {
            max_s: cfg.max_s,
            run_start_s: None,
            raised: false,
        }
    }

    pub fn tick(&mut self, state: &CallState) -> Option<Alert> {
        if state.speaking(Side::Prospect) {
            self.run_start_s = None;
            self.raised = false;
            return None;
        }
        if self.run_start_s.is_none() {
            // The run starts at the rep's turn, but never before the prospect's last word.
            let rep_start = state.open_since[Side::Rep]?;
            let prospect_end = state
                .talk
                .turns(Side::Prospect)
                .last()
                .map_or(0.0, |t| t.end_s);
            self.run_start_s = Some(rep_start.max(prospect_end));
        }
        let start = self.run_start_s?;
        let long = state.now_s - start;
        if self.raised || long < self.max_s || !state.speaking(Side::Rep) {
            return None;
        }
        self.raised = true;
        Some(Alert {
            kind: AlertKind::Monologue,
            at_s: state.now_s,
            side: Side::Rep,
            message: format!(
                "You have been talking for {:.0} seconds without hearing from them. Pause and ask what they think.",
                long
            ),
            evidence: format!("rep speaking since {} with no prospect speech", crate::event::clock(start)),
        })
    }
}
