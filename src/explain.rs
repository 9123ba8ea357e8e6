//! `rules explain` and `review --explain`: why each alert of a report fired, with the rule
//! and the thresholds it was raised under. Reads the JSON report, so it works on any
//! report file, old or new. A report file may come from anywhere: its text reaches the
//! terminal without control characters, so it cannot move the cursor, retitle the window
//! or hide a line.

use std::io::Write;

use serde_json::Value;

use crate::event::clock;
use crate::term::strip;

/// Writes one paragraph per alert.
///
/// # Errors
/// Writing to `w` failed.
pub fn write(report: &Value, w: &mut dyn Write) -> std::io::Result<()> {
    let alerts = report["alerts"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default();
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
}
