//! Talk accounting: Gong-style conversation figures computed from each side's turns.
//! Definitions (also in the README):
//! - talk seconds: the union of a side's turns;
//! - rep ratio: rep / (rep + prospect);
//! - overlap: time both sides speak;
//! - longest monologue: the longest stretch of one side's turns not broken by any speech
//!   of the other side (the prospect's is the "longest customer story");
//! - interactivity: speaker switches per minute of call;
//! - patience: median gap between the prospect stopping and the rep starting;
//! - interruptions: turns of 1 s or more that start while the other side is speaking.

use serde::Serialize;

use crate::event::Turn;
use crate::event::{round3, PerSide, Side};

/// Turns shorter than this that start over the other side are backchannels, not interruptions.
pub const BACKCHANNEL_MAX_S: f64 = 1.0;

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct TalkFigures {
    pub rep_s: f64,
    pub prospect_s: f64,
    pub overlap_s: f64,
    pub rep_ratio: f64,
    pub longest_monologue_s: PerSide<f64>,
    pub interactivity_per_min: f64,
    pub patience_s: f64,
    pub interruptions: PerSide<u32>,
    pub rep_questions: u32,
}

/// The turns of a call so far.
#[derive(Debug, Default, Clone)]
pub struct TalkAccount {
    turns: PerSide<Vec<Turn>>,
}

fn total(turns: &[Turn]) -> f64 {
    turns.iter().map(|t| t.end_s - t.start_s).sum()
}

fn clipped(turns: &[Turn], lo: f64, hi: f64) -> f64 {
    turns
        .iter()
        .map(|t| (t.end_s.min(hi) - t.start_s.max(lo)).max(0.0))
        .sum()
}

impl TalkAccount {
    pub fn add(&mut self, side: Side, turn: Turn) {
        self.turns[side].push(turn);
    }

    pub fn turns(&self, side: Side) -> &[Turn] {
        &self.turns[side]
    }

    /// Seconds a side spoke in [lo, hi], counting an open turn from `open_since` to `hi`.
    pub fn spoken_in(&self, side: Side, lo: f64, hi: f64, open_since: Option<f64>) -> f64 {
        let closed = clipped(&self.turns[side], lo, hi);
        let open = open_since.map_or(0.0, |s| (hi - s.max(lo)).max(0.0));
        closed + open
    }

    fn overlap(&self) -> f64 {
        let (a, b) = (&self.turns.rep, &self.turns.prospect);
        a.iter().map(|t| clipped(b, t.start_s, t.end_s)).sum()
    }

    fn longest_monologue(&self, side: Side) -> f64 {
        let mine = &self.turns[side];
        let theirs = &self.turns[side.other()];
        let mut best = 0f64;
        let mut run: Option<(f64, f64)> = None;
        for t in mine {
            run = match run {
                Some((s, e))
                    if clipped(theirs, e, t.start_s) == 0.0
                        && clipped(theirs, s, t.end_s) == 0.0 =>
                {
                    Some((s, t.end_s.max(e)))
                }
                _ => Some((t.start_s, t.end_s)),
            };
            if let Some((s, e)) = run {
                best = best.max(e - s);
            }
        }
        best
    }

    fn all_turns(&self) -> Vec<(Side, Turn)> {
        let mut all: Vec<(Side, Turn)> = self
            .turns
            .iter()
            .flat_map(|(side, turns)| turns.iter().map(move |t| (side, *t)))
            .collect();
        all.sort_by(|a, b| a.1.start_s.total_cmp(&b.1.start_s));
        all
    }

    fn switches(&self) -> u32 {
        let all = self.all_turns();
        all.windows(2).filter(|w| w[0].0 != w[1].0).count() as u32
    }

    fn patience(&self) -> f64 {
        let all = self.all_turns();
        let mut gaps: Vec<f64> = all
            .windows(2)
            .filter(|w| {
                w[0].0 == Side::Prospect && w[1].0 == Side::Rep && w[1].1.start_s >= w[0].1.end_s
            })
            .map(|w| w[1].1.start_s - w[0].1.end_s)
            .collect();
        if gaps.is_empty() {
            return 0.0;
        }
        gaps.sort_by(f64::total_cmp);
        let mid = gaps.len() / 2;
        if gaps.len() % 2 == 1 {
            gaps[mid]
        } else {
            (gaps[mid - 1] + gaps[mid]) / 2.0
        }
    }

    fn interruptions(&self, side: Side) -> u32 {
        let theirs = &self.turns[side.other()];
        self.turns[side]
            .iter()
            .filter(|t| t.end_s - t.start_s >= BACKCHANNEL_MAX_S)
            .filter(|t| {
                theirs
                    .iter()
                    .any(|o| o.start_s < t.start_s && t.start_s < o.end_s)
            })
            .count() as u32
    }

    /// The figures for a call of `duration_s` with `rep_questions` counted from the transcript.
    pub fn figures(&self, duration_s: f64, rep_questions: u32) -> TalkFigures {
        let rep_s = total(&self.turns.rep);
        let prospect_s = total(&self.turns.prospect);
        let minutes = duration_s / 60.0;
        TalkFigures {
            rep_s: round3(rep_s),
            prospect_s: round3(prospect_s),
            overlap_s: round3(self.overlap()),
            rep_ratio: if rep_s + prospect_s > 0.0 {
                (rep_s / (rep_s + prospect_s) * 10_000.0).round() / 10_000.0
            } else {
                0.0
            },
            longest_monologue_s: PerSide {
                rep: round3(self.longest_monologue(Side::Rep)),
                prospect: round3(self.longest_monologue(Side::Prospect)),
            },
            interactivity_per_min: if minutes > 0.0 {
                round3(self.switches() as f64 / minutes)
            } else {
                0.0
            },
            patience_s: round3(self.patience()),
            interruptions: PerSide {
                rep: self.interruptions(Side::Rep),
                prospect: self.interruptions(Side::Prospect),
            },
            rep_questions,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(start_s: f64, end_s: f64) -> Turn {
        Turn { start_s, end_s }
    }

    fn account(rep: &[(f64, f64)], pro: &[(f64, f64)]) -> TalkAccount {
        let mut a = TalkAccount::default();
        for &(s, e) in rep {
            a.add(Side::Rep, t(s, e));
        }
        for &(s, e) in pro {
            a.add(Side::Prospect, t(s, e));
        }
        a
    }

    #[test]
    fn talk_time_ratio_and_overlap() {
        let a = account(&[(0.0, 10.0), (20.0, 25.0)], &[(9.0, 19.0)]);
        let f = a.figures(60.0, 2);
        assert_eq!(f.rep_s, 15.0);
        assert_eq!(f.prospect_s, 10.0);
        assert_eq!(f.overlap_s, 1.0);
        assert_eq!(f.rep_ratio, 0.6);
        assert_eq!(f.rep_questions, 2);
    }

    #[test]
    fn monologue_is_broken_only_by_the_other_side() {
        let a = account(&[(0.0, 10.0), (11.0, 30.0), (40.0, 45.0)], &[(32.0, 35.0)]);
        let f = a.figures(60.0, 0);
        assert_eq!(
            f.longest_monologue_s.rep, 30.0,
            "a pause alone does not end a monologue"
        );
        assert_eq!(f.longest_monologue_s.prospect, 3.0);
    }

    #[test]
    fn switches_patience_and_interruptions() {
        // rep, prospect (gap 1.0), rep (gap 0.5), prospect interrupted by a 2 s rep turn
        // and by a 0.4 s backchannel.
        let a = account(
            &[(0.0, 5.0), (11.5, 15.0), (18.0, 20.0), (22.0, 22.4)],
            &[(6.0, 10.5), (16.0, 25.0)],
        );
        let f = a.figures(60.0, 0);
        assert_eq!(
            f.interactivity_per_min, 4.0,
            "r p r p r r: four switches in a minute"
        );
        assert_eq!(f.patience_s, 1.0);
        assert_eq!(f.interruptions.rep, 1);
        assert_eq!(f.interruptions.prospect, 0);
    }

    #[test]
    fn a_silent_call_reports_plain_zeros() {
        let f = TalkAccount::default().figures(10.0, 0);
        for v in [
            f.rep_s,
            f.prospect_s,
            f.overlap_s,
            f.longest_monologue_s.rep,
        ] {
            assert!(v == 0.0 && v.is_sign_positive(), "{v:?} prints as -0.0");
        }
    }

    #[test]
    fn spoken_in_window_counts_the_open_turn() {
        let a = account(&[(0.0, 10.0)], &[]);
        assert_eq!(a.spoken_in(Side::Rep, 5.0, 20.0, Some(15.0)), 10.0);
    }
}
