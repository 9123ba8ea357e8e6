//! `rules explain` and `review --explain`: why each alert of a report fired, with the rule
//! and the thresholds it was raised under. Reads the JSON report, so it works on any
//! report file, old or new.

use std::io::Write;

use serde_json::Value;

use crate::event::clock;

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
        writeln!(w, "Sentences were read into dialogue acts by the {reader}.")?;
    }
    for a in alerts {
        let kind = a["kind"].as_str().unwrap_or("?");
        let at = a["at_s"].as_f64().unwrap_or(0.0);
        writeln!(
            w,
            "{} {kind}: {}",
            clock(at),
            a["message"].as_str().unwrap_or("")
        )?;
        writeln!(
            w,
            "    why:  {}",
            a["evidence"].as_str().unwrap_or("(no evidence recorded)")
        )?;
        if let Some(rule) = report["rules"][kind].as_object() {
            let thresholds: Vec<String> = rule
                .iter()
                .filter(|(k, _)| k.as_str() != "enabled")
                .map(|(k, v)| format!("{k} = {v}"))
                .collect();
            writeln!(w, "    rule: [{kind}] {}", thresholds.join(", "))?;
        }
    }
    Ok(())
}
