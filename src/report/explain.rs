//! `rules explain` and `review --explain`: why each alert of a report fired, with the rule
//! and the thresholds it was raised under. Reads the JSON report, so it works on any
//! report file, old or new. A report file may come from anywhere: its text reaches the
//! terminal without control characters, so it cannot move the cursor, retitle the window
//! or hide a line.

use std::io::Write;

use serde_json::Value;

use crate::event::clock;
use crate::term::strip;

/// A list of the report's, or none when it has no such list.
fn list<'a>(report: &'a Value, key: &str) -> &'a [Value] {
    report[key]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default()
}

/// Writes one paragraph per alert.
///
/// # Errors
/// Writing to `w` failed.
pub fn write(report: &Value, w: &mut dyn Write) -> std::io::Result<()> {
    let alerts = list(report, "alerts");
    if alerts.is_empty() {
        return writeln!(w, "No alerts to explain.");
    }
    if let Some(reader) = report["acts"].as_str() {
        let reader = strip(reader);
        writeln!(w, "Sentences were read into dialogue acts by the {reader}.")?;
    }
    for a in alerts {
        let kind_raw = a["kind"].as_str().unwrap_or("?");
        let kind = strip(kind_raw);
        let at = a["at_s"].as_f64().unwrap_or(0.0);
        writeln!(
            w,
            "{} {kind}: {}",
            clock(at),
            strip(a["message"].as_str().unwrap_or(""))
        )?;
        writeln!(
            w,
            "    why:  {}",
            strip(a["evidence"].as_str().unwrap_or("(no evidence recorded)"))
        )?;
        if let Some(rule) = report["rules"][kind_raw].as_object() {
            let thresholds: Vec<String> = rule
                .iter()
                .filter(|(k, _)| k.as_str() != "enabled")
                .map(|(k, v)| format!("{} = {}", strip(k), strip(&v.to_string())))
                .collect();
            writeln!(w, "    rule: [{kind}] {}", thresholds.join(", "))?;
        }
    }
    Ok(())
}

/// Writes every sentence of the transcript with the act it was read as: how sure the
/// reader was, how likely a pitch, what the conversation around it changed, and which
/// sentences raised a pitch alert. What a coach reads to see why a pitch alert fired or
/// did not.
///
/// # Errors
/// Writing to `w` failed.
pub fn write_acts(report: &Value, w: &mut dyn Write) -> std::io::Result<()> {
    let sentences = list(report, "sentences");
    if sentences.is_empty() {
        return writeln!(
            w,
            "No sentences were read (speech-to-text was off, or the report is older than \
             sentence readings)."
        );
    }
    let min = report["rules"]["pitch"]["min_confidence"].as_f64();
    let sure = report["rules"]["pitch"]["sure_confidence"].as_f64();
    let reader = strip(report["acts"].as_str().unwrap_or("act reader"));
    match (min, sure) {
        (Some(min), Some(sure)) => writeln!(
            w,
            "Every sentence as the {reader} read it: act, how sure, pitch (a pitch alert \
             needs {min:.2}, and below {sure:.2} a sentence that speaks for us or a second \
             one in the turn; no discovery or invitation before it)."
        )?,
        (Some(min), None) => writeln!(
            w,
            "Every sentence as the {reader} read it: act, how sure, pitch (a pitch alert \
             needs {min:.2} and no discovery or invitation before it)."
        )?,
        (None, _) => writeln!(w, "Every sentence as the {reader} read it.")?,
    }
    let pitch_alerts: Vec<&str> = list(report, "alerts")
        .iter()
        .filter(|a| a["kind"] == "pitch")
        .filter_map(|a| a["evidence"].as_str())
        .collect();
    for s in sentences {
        let text = s["text"].as_str().unwrap_or("");
        let pitch = s["pitch"].as_f64().unwrap_or(0.0);
        let alerted = pitch_alerts
            .iter()
            .any(|e| e.starts_with(&format!("\"{text}\"")));
        writeln!(
            w,
            "{} {:<8} {:<15} {:.2}  pitch {:.2}  {}{}",
            clock(s["end_s"].as_f64().unwrap_or(0.0)),
            strip(s["side"].as_str().unwrap_or("?")),
            strip(s["act"].as_str().unwrap_or("?")),
            s["confidence"].as_f64().unwrap_or(0.0),
            pitch,
            strip(text),
            if alerted { "  <- pitch alert" } else { "" }
        )?;
        if let Some(alone) = s["alone_pitch"].as_f64() {
            writeln!(
                w,
                "      in context: pitch {alone:.2} read alone, {pitch:.2} after what came before"
            )?;
        }
        let pitchy = min.is_some_and(|m| pitch >= m) || s["alone_pitch"].is_number();
        if pitchy {
            if let Some(why) = s["why"].as_str().filter(|w| !w.is_empty()) {
                writeln!(w, "      {}", strip(why))?;
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escape_sequences_in_a_report_do_not_reach_the_terminal() {
        let report = serde_json::json!({
            "acts": "word lists\u{1b}]0;owned\u{7}",
            "alerts": [{
                "kind": "monologue\u{1b}[2J",
                "at_s": 61.0,
                "message": "You have been talking\u{1b}[1A\r\u{9b}31m",
                "evidence": "rep spoke\n for 90 s",
            }],
            "rules": {"monologue": {"max_s\u{1b}[K": "5\u{1b}[K"}},
        });
        let mut out = Vec::new();
        write(&report, &mut out).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert!(
            !text.chars().any(|c| c.is_control() && c != '\n'),
            "{text:?}"
        );
        assert!(
            text.contains("1:01 monologue[2J: You have been talking[1A31m"),
            "{text}"
        );
        assert!(text.contains("why:  rep spoke for 90 s"), "{text}");
        assert_eq!(text.lines().count(), 3, "{text}");
    }

    #[test]
    fn every_sentence_is_listed_with_its_act_and_the_pitch_alerts_one_marked() {
        let report = serde_json::json!({
            "acts": "sentence encoder",
            "rules": {"pitch": {"min_confidence": 0.35, "sure_confidence": 0.9}},
            "alerts": [{"kind": "pitch", "at_s": 9.0,
                        "evidence": "\"Our app books it.\" - presentation (0.91)"}],
            "sentences": [
                {"side": "rep", "end_s": 2.0, "text": "How do you book today?",
                 "act": "open_question", "confidence": 0.97, "pitch": 0.0, "why": "w1"},
                {"side": "rep", "end_s": 6.0, "text": "So you call everyone \u{1b}[2J.",
                 "act": "recap", "confidence": 0.6, "pitch": 0.12, "alone_pitch": 0.52,
                 "why": "sounds like: \"So you...\""},
                {"side": "rep", "end_s": 9.0, "text": "Our app books it.",
                 "act": "presentation", "confidence": 0.91, "pitch": 0.91,
                 "why": "sounds like: \"We book...\""}
            ]
        });
        let mut out = Vec::new();
        write_acts(&report, &mut out).unwrap();
        let out = String::from_utf8(out).unwrap();
        let lines: Vec<&str> = out.lines().collect();
        assert!(lines[0].contains("needs 0.35, and below 0.90"), "{out}");
        assert!(lines[1].starts_with("0:02 rep      open_question   0.97  pitch 0.00  How do"));
        assert!(
            !lines[1].contains("w1"),
            "a sentence far from a pitch is one line: {out}"
        );
        assert!(
            lines[2].contains("recap") && !out.contains('\u{1b}'),
            "{out}"
        );
        assert!(
            lines[3].contains("pitch 0.52 read alone, 0.12 after"),
            "{out}"
        );
        assert!(lines[4].contains("sounds like"), "{out}");
        assert!(
            lines[5].ends_with("Our app books it.  <- pitch alert"),
            "{out}"
        );
        assert_eq!(lines.len(), 7, "{out}");
        let mut none = Vec::new();
        write_acts(&serde_json::json!({}), &mut none).unwrap();
        assert!(String::from_utf8(none)
            .unwrap()
            .starts_with("No sentences were read"));
    }
}
