//! Sending the local history's queued calls to a team store. Every call is stored on
//! this machine first and queued for the store it is meant for; the store gets each queued
//! call, one committed row at a time, and the local file marks a call sent only after the
//! server has it. A server that goes away mid-push loses nothing: the rest wait for the
//! next run or `history push`.

use serde_json::Value;

use super::team::{TeamError, TeamStore};
use super::{Store, StoreError};

/// What a push did before it ended.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Pushed {
    pub sent: usize,
    /// Calls still queued (all of them after a failure at the first).
    pub waiting: usize,
    /// Calls the store refused for their data (key, `name: why`); they stay queued.
    pub refused: Vec<(String, String)>,
}

#[derive(Debug, thiserror::Error)]
pub enum PushError {
    #[error("{}; {} call{} wait on this machine for `twoears history push`", crate::term::chain(cause), pushed.waiting, if pushed.waiting == 1 { "" } else { "s" })]
    Team { pushed: Pushed, cause: TeamError },
    #[error(transparent)]
    Local(#[from] StoreError),
}

/// Sends `team` every call `local` queued for it. `rep` names the calls stored without a
/// rep's name; `transcripts` shares every call's transcript (else only the calls stored
/// with `--share-transcripts` send theirs).
///
/// # Errors
/// The team store failed (what was sent stays sent), or the local file did.
pub fn push(
    local: &Store,
    team: &mut TeamStore,
    rep: &str,
    transcripts: bool,
) -> Result<Pushed, PushError> {
    let calls = local.unsent(&team.label)?;
    let mut pushed = Pushed {
        waiting: calls.len(),
        ..Pushed::default()
    };
    for (call, version) in &calls {
        let share = transcripts || call.share_transcripts;
        let report = shareable(&call.report, share);
        let who = call.rep.as_deref().unwrap_or(rep);
        match team.save(call, who, &report, share) {
            Ok(()) => {
                local.mark_sent(&call.key, &team.label, *version)?;
                pushed.sent += 1;
                pushed.waiting -= 1;
            }
            // One call the server will never take must not hold up the others.
            Err(e) if e.is_data() => pushed
                .refused
                .push((call.key.clone(), format!("{}: {e}", call.name))),
            Err(cause) => return Err(PushError::Team { pushed, cause }),
        }
    }
    Ok(pushed)
}

/// What of a report leaves the machine: without `transcripts`, its figures and the
/// alerts' kinds and times, but no words (transcript, alert messages and evidence quote
/// the call) and no warnings (they name local files).
pub fn shareable(report: &str, transcripts: bool) -> Value {
    let mut v: Value = serde_json::from_str(report).unwrap_or(Value::Null);
    if !transcripts {
        strip_words(&mut v);
    }
    v
}

fn strip_words(v: &mut Value) {
    match v {
        Value::Object(map) => {
            for key in ["segments", "text", "message", "evidence", "warnings"] {
                map.remove(key);
            }
            map.values_mut().for_each(strip_words);
        }
        Value::Array(items) => items.iter_mut().for_each(strip_words),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn without_transcripts_no_words_leave_the_machine() {
        let report = serde_json::json!({
            "talk": {"rep_ratio": 0.5},
            "segments": [{"side": "rep", "text": "our pricing is"}],
            "alerts": [{"kind": "pitch", "at_s": 3.0, "message": "They said: 'we use X'",
                        "evidence": "\"our tool\""}],
            "warnings": ["/home/dana/acme.flac: truncated"]
        })
        .to_string();
        let figures = shareable(&report, false);
        let text = figures.to_string();
        for word in ["pricing", "we use X", "our tool", "acme"] {
            assert!(!text.contains(word), "{word} left: {text}");
        }
        assert_eq!(figures["alerts"][0]["kind"], "pitch");
        assert_eq!(figures["alerts"][0]["at_s"], 3.0);
        assert_eq!(figures["talk"]["rep_ratio"], 0.5);
        assert!(shareable(&report, true).to_string().contains("pricing"));
    }
}
