//! The call page: one self-contained HTML file (inline CSS, SVG and a little plain
//! JavaScript; nothing fetched) drawn from a JSON report by a template engine with
//! autoescaping. Every text that came from the call (transcript, alert messages and
//! evidence) is untrusted: the template escapes it, the embedded JSON is escaped for a
//! script element, and the script only ever sets text, never markup.

mod index;
mod team;
mod trends;
mod view;

use std::path::Path;

use minijinja::{context, Environment};
use sha2::{Digest, Sha256};

pub use index::{render_index, IndexRow, INDEX_MARKER};
pub use team::{render_team, TEAM_MARKER};
pub use trends::{render_trends, TRENDS_MARKER};
pub use view::View;

const TEMPLATE: &str = include_str!("call.html");
/// The head every page extends (`{% extends "page.html" %}`).
const PAGE: &str = include_str!("page.html");
const STYLE: &str = concat!(include_str!("base.css"), include_str!("call.css"));
const SCRIPT: &str = include_str!("call.js");

/// The second line of every page (after the doctype, which must come first):
/// `output::check` lets a page be replaced by a new one, never another file.
pub const MARKER: &str = "<!-- twoears.report/1 html -->";

#[derive(Debug, thiserror::Error)]
pub enum HtmlError {
    #[error("not a twoears report: {0}")]
    Report(#[from] serde_json::Error),
    #[error("the page template failed: {0}")]
    Template(#[from] minijinja::Error),
}

/// Renders the page of one call from its JSON report. `title` names the call (its file),
/// `date` is when it took place, `audio` a link to the recording relative to the page.
///
/// # Errors
/// The value is not a twoears report.
pub fn render(
    report: &serde_json::Value,
    title: &str,
    date: Option<&str>,
    audio: Option<&str>,
) -> Result<String, HtmlError> {
    let view = View::of(report)?;
    // Only the page's own script runs: were any call text to escape its escaping, an
    // injected script would still be refused by the browser.
    let script_hash = base64(&Sha256::digest(SCRIPT.as_bytes()));
    let env = environment("call.html", TEMPLATE)?;
    let page = env.get_template("call.html")?.render(context! {
        title,
        date,
        audio,
        view,
        report,
        script_hash,
        style => minijinja::Value::from_safe_string(STYLE.into()),
        script => minijinja::Value::from_safe_string(SCRIPT.into()),
    })?;
    Ok(page)
}

/// An environment holding the page template `name` and the head it extends.
fn environment(
    name: &'static str,
    template: &'static str,
) -> Result<Environment<'static>, minijinja::Error> {
    let mut env = Environment::new();
    env.add_template("page.html", PAGE)?;
    env.add_template(name, template)?;
    Ok(env)
}

/// Writes the page through a temporary file (0600) renamed over `path`, as reports are.
///
/// # Errors
/// The directory is not writable.
pub fn write(path: &Path, page: &str) -> std::io::Result<()> {
    use std::io::Write;
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let mut tmp = tempfile::NamedTempFile::new_in(dir)?;
    tmp.write_all(page.as_bytes())?;
    tmp.persist(path).map_err(|e| e.error)?;
    Ok(())
}

/// Standard base64 with padding, for the Content-Security-Policy hash.
pub(super) fn base64(bytes: &[u8]) -> String {
    const ABC: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = u32::from(b[0]) << 16 | u32::from(b[1]) << 8 | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ABC[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_matches_the_rfc_examples() {
        for (raw, enc) in [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foobar", "Zm9vYmFy"),
        ] {
            assert_eq!(base64(raw.as_bytes()), enc);
        }
    }

    fn report(text: &str, evidence: &str) -> serde_json::Value {
        serde_json::json!({
            "schema": "twoears.report/1",
            "duration_s": 20.0,
            "model": "tiny.en",
            "acts": "sentence encoder",
            "talk": {"rep_s": 8.0, "prospect_s": 6.0, "overlap_s": 1.0, "rep_ratio": 0.571,
                     "longest_monologue_s": {"rep": 8.0, "prospect": 6.0},
                     "interactivity_per_min": 6.0, "patience_s": 0.7,
                     "interruptions": {"rep": 0, "prospect": 0}, "rep_questions": 1},
            "turns": [{"side": "rep", "start_s": 0.5, "end_s": 8.5},
                      {"side": "prospect", "start_s": 8.0, "end_s": 14.0}],
            "segments": [{"side": "rep", "start_s": 0.5, "end_s": 8.5, "text": "How do you plan?"},
                         {"side": "prospect", "start_s": 8.0, "end_s": 14.0, "text": text}],
            "alerts": [{"kind": "pitch", "at_s": 15.0, "side": "rep",
                        "message": "Ask why before you pitch.", "evidence": evidence}],
            "rules": {"talk_ratio": {"window_s": 300.0, "max": 0.65},
                      "monologue": {"max_s": 90.0}},
            "warnings": []
        })
    }

    #[test]
    fn call_text_is_escaped_everywhere_it_appears() {
        let hostile = "</script><script>alert(1)</script><img src=x onerror=alert(2)>";
        let page = render(&report(hostile, hostile), "a & b.wav", None, None).unwrap();
        assert!(
            page.starts_with(&format!("<!DOCTYPE html>\n{MARKER}")),
            "{}",
            &page[..80]
        );
        assert!(!page.contains("<script>alert"), "raw script from the call");
        assert!(!page.contains("<img src=x"), "raw markup from the call");
        // The page's own scripts: the embedded data and the code.
        assert_eq!(page.matches("<script").count(), 2);
        assert!(page.contains("a &amp; b.wav"));
    }

    #[test]
    fn a_value_that_is_not_a_report_is_an_error() {
        let err = render(&serde_json::json!({"x": 1}), "t", None, None).unwrap_err();
        assert!(err.to_string().starts_with("not a twoears report"), "{err}");
    }
}
