//! Whether a call's report is up to date: written by this twoears from the same audio,
//! channels, model, language and rules, with the same act reader. Then a second batch
//! run skips the call instead of transcribing it again.

use serde::Deserialize;

use crate::detect::DetectConfig;
use crate::report::Source;

/// The parts of an earlier report that decide whether it is still right.
#[derive(Deserialize)]
struct Earlier {
    source: Option<Source>,
    rules: serde_json::Value,
    acts: Option<String>,
}

/// What a run would write now: its source, rules and act reader.
pub struct Expected<'a> {
    pub source: &'a Source,
    pub rules: &'a DetectConfig,
    pub acts: Option<&'a str>,
}

/// Whether `earlier` (an earlier report's JSON) is what this run would make again.
pub fn is_fresh(earlier: &serde_json::Value, now: &Expected<'_>) -> bool {
    let Ok(e) = Earlier::deserialize(earlier) else {
        return false;
    };
    let Some(was) = e.source else {
        return false;
    };
    let s = now.source;
    was.audio_sha256.is_some()
        && was.audio_sha256 == s.audio_sha256
        && was.rep_channel == s.rep_channel
        && was.prospect_channel == s.prospect_channel
        // Only a one-channel call depends on the rep's voice.
        && (was.voices.is_none() || was.rep_voice_sha256 == s.rep_voice_sha256)
        && was.model_sha256 == s.model_sha256
        && was.language == s.language
        && was.twoears == s.twoears
        && e.acts.as_deref() == now.acts
        && serde_json::to_value(now.rules).is_ok_and(|r| r == e.rules)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn source() -> Source {
        Source {
            audio_sha256: Some("aa".into()),
            recorded: Some("2026-11-01".into()),
            rep_channel: None,
            prospect_channel: None,
            model_sha256: Some("mm".into()),
            language: None,
            voices: None,
            rep_voice_sha256: None,
            twoears: env!("CARGO_PKG_VERSION").into(),
        }
    }

    fn report(source: &Source, rules: &DetectConfig) -> serde_json::Value {
        serde_json::json!({"source": source, "rules": rules, "acts": "sentence encoder"})
    }

    #[test]
    fn the_same_inputs_are_fresh_and_any_change_is_not() {
        let rules = DetectConfig::default();
        let s = source();
        let now = Expected {
            source: &s,
            rules: &rules,
            acts: Some("sentence encoder"),
        };
        assert!(is_fresh(&report(&s, &rules), &now));
        // The file's date alone is no reason to transcribe again.
        let touched = Source {
            recorded: Some("2026-11-28".into()),
            ..source()
        };
        assert!(is_fresh(&report(&touched, &rules), &now));
        let changes: [fn(&mut Source); 5] = [
            |s| s.audio_sha256 = Some("bb".into()),
            |s| s.audio_sha256 = None,
            |s| s.model_sha256 = None,
            |s| s.rep_channel = Some("right".into()),
            |s| s.twoears = "0.0.0".into(),
        ];
        for change in changes {
            let mut was = source();
            change(&mut was);
            assert!(!is_fresh(&report(&was, &rules), &now), "{was:?}");
        }
        let mut stricter = DetectConfig::default();
        stricter.monologue.max_s += 1.0;
        assert!(!is_fresh(&report(&s, &stricter), &now));
        let words = Expected {
            acts: Some("word lists"),
            ..now
        };
        assert!(!is_fresh(&report(&s, &rules), &words));
        assert!(!is_fresh(&serde_json::json!({"rules": {}}), &now));
    }

    #[test]
    fn a_one_channel_call_is_stale_once_the_reps_voice_changes() {
        let rules = DetectConfig::default();
        let s = Source {
            rep_voice_sha256: Some("profile-2".into()),
            ..source()
        };
        let now = Expected {
            source: &s,
            rules: &rules,
            acts: Some("sentence encoder"),
        };
        let one_channel = crate::frontend::voices::VoicesNote {
            channels: "mono".into(),
            rep: crate::frontend::voices::RepRule::Enrolled,
        };
        let was = Source {
            voices: Some(one_channel),
            rep_voice_sha256: Some("profile-1".into()),
            ..source()
        };
        assert!(!is_fresh(&report(&was, &rules), &now), "enrolled again");
        // A stereo call never depended on the voice.
        let stereo = Source {
            rep_voice_sha256: None,
            ..source()
        };
        assert!(is_fresh(&report(&stereo, &rules), &now));
    }
}
