//! Interruption: the rep starts talking while the prospect is mid-sentence, the two talk
//! over each other, and the prospect gives way while the rep keeps going (not a short
//! "mm-hm" backchannel, not a reply in the pause after their last word). From VAD alone,
//! so it never waits for transcripts; judged when the prospect's turn ends.

use serde::Serialize;

use super::{Alert, AlertKind, CallState};
use crate::event::{clock, Side};
use crate::talk::BACKCHANNEL_MAX_S;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct InterruptionConfig {
    pub enabled: bool,
    /// The prospect must have been speaking this long when the rep came in...
    pub min_prospect_s: f64,
    /// ...both must talk at once at least this long (less is a reply into a pause)...
    pub min_overlap_s: f64,
    /// ...and the prospect must give way within this long (talking on is echo or
    /// crosstalk, not an interruption).
    pub max_overlap_s: f64,
    /// No second alert within this long.
    pub cooldown_s: f64,
}

impl Default for InterruptionConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            min_prospect_s: 1.0,
            min_overlap_s: 0.3,
            max_overlap_s: 2.5,
            cooldown_s: 60.0,
        }
    }
}

pub struct Interruption {
    cfg: InterruptionConfig,
    /// A rep turn that started over the prospect: (rep start, prospect turn start).
    candidate: Option<(f64, f64)>,
    last_alert_s: Option<f64>,
}

impl Interruption {
    pub fn new(cfg: InterruptionConfig) -> Self {
        Self {
            cfg,
            candidate: None,
            last_alert_s: None,
        }
    }

    /// Called before the turn is recorded in `state`.
    pub fn on_turn_start(&mut self, state: &CallState, side: Side, start_s: f64) {
        if side != Side::Rep {
            return;
        }
        self.candidate = state.open_since[Side::Prospect]
            .filter(|p| start_s - p >= self.cfg.min_prospect_s)
            .map(|p| (start_s, p));
    }

    pub fn tick(&mut self, state: &CallState) -> Option<Alert> {
        let (rep_start, prospect_start) = self.candidate?;
        if state.speaking(Side::Prospect) {
            return None;
        }
        // The prospect's turn is over: did they talk over the rep, then give way?
        let prospect_end = state.talk.turns(Side::Prospect).last()?.end_s;
        let overlap = prospect_end - rep_start;
        let rep_end = state
            .talk
            .turns(Side::Rep)
            .last()
            .filter(|t| t.start_s >= rep_start)
            .map(|t| t.end_s);
        let rep_long = match (state.open_since[Side::Rep], rep_end) {
            (Some(_), _) => state.now_s - rep_start >= BACKCHANNEL_MAX_S,
            (None, Some(end)) => end - rep_start >= BACKCHANNEL_MAX_S,
            (None, None) => false,
        };
        if state.speaking(Side::Rep) && !rep_long {
            return None; // too early to tell a backchannel from a takeover
        }
        self.candidate = None;
        let gave_way = (self.cfg.min_overlap_s..=self.cfg.max_overlap_s).contains(&overlap);
        if !gave_way || !rep_long {
            return None;
        }
        if self
            .last_alert_s
            .is_some_and(|t| state.now_s - t < self.cfg.cooldown_s)
        {
            return None;
        }
        self.last_alert_s = Some(state.now_s);
        Some(Alert {
            kind: AlertKind::Interruption,
            at_s: state.now_s,
            side: Side::Rep,
            message: "You cut in while they were still talking. Let them finish, then ask about what they said.".into(),
            evidence: format!(
                "rep started at {} while the prospect had been speaking since {} ({:.1} s in); they talked over each other for {overlap:.1} s and the prospect stopped",
                clock(rep_start),
                clock(prospect_start),
                rep_start - prospect_start
            ),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::PerSide;
    use crate::event::Turn;
    use crate::talk::TalkAccount;

    /// Closed turns, open turns and the time.
    fn state(
        rep: &[(f64, f64)],
        pro: &[(f64, f64)],
        open: [Option<f64>; 2],
        now_s: f64,
    ) -> CallState {
        let mut talk = TalkAccount::default();
        for &(start_s, end_s) in rep {
            talk.add(Side::Rep, Turn { start_s, end_s });
        }
        for &(start_s, end_s) in pro {
            talk.add(Side::Prospect, Turn { start_s, end_s });
        }
        CallState {
            talk,
            open_since: PerSide::new(open[0], open[1]),
            now_s,
            segments: Vec::new(),
            readings: Vec::new(),
        }
    }

    #[test]
    fn talking_over_the_prospect_until_they_stop_is_alerted() {
        let mut r = Interruption::new(InterruptionConfig::default());
        // Prospect speaking since 10 s; rep comes in at 14 s; prospect stops at 15.2 s.
        r.on_turn_start(&state(&[], &[], [None, Some(10.0)], 14.0), Side::Rep, 14.0);
        assert!(r
            .tick(&state(&[], &[], [Some(14.0), Some(10.0)], 15.0))
            .is_none());
        let a = r
            .tick(&state(&[], &[(10.0, 15.2)], [Some(14.0), None], 15.8))
            .expect("alert");
        assert_eq!(a.kind, AlertKind::Interruption);
    }

    #[test]
    fn backchannels_replies_into_a_pause_and_crosstalk_are_not() {
        // A 0.4 s "right" while the prospect goes on.
        let mut r = Interruption::new(InterruptionConfig::default());
        r.on_turn_start(&state(&[], &[], [None, Some(10.0)], 14.0), Side::Rep, 14.0);
        assert!(r
            .tick(&state(&[(14.0, 14.4)], &[(10.0, 15.0)], [None, None], 15.6))
            .is_none());

        // The rep answers 0.3 s after the prospect's last word: their turn was still open
        // (the VAD's hangover), but nobody talked over anybody.
        let mut r = Interruption::new(InterruptionConfig::default());
        r.on_turn_start(&state(&[], &[], [None, Some(10.0)], 20.3), Side::Rep, 20.3);
        assert!(r
            .tick(&state(&[], &[(10.0, 20.0)], [Some(20.3), None], 21.5))
            .is_none());

        // Both talk for 6 s and the prospect never gives way: crosstalk or echo.
        let mut r = Interruption::new(InterruptionConfig::default());
        r.on_turn_start(&state(&[], &[], [None, Some(10.0)], 14.0), Side::Rep, 14.0);
        assert!(r
            .tick(&state(&[], &[(10.0, 20.0)], [Some(14.0), None], 20.6))
            .is_none());
    }
}
