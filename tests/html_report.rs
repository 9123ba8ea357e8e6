//! The call page (`review --html`) opened in a real browser: headless Chromium runs the
//! page and dumps the DOM it built. Needs `chromium` (scripts/setup.sh installs it) and
//! the installed model; run with --test-threads=1 (whisper).

mod common;

use common::browser::*;
use common::*;
use std::path::{Path, PathBuf};

fn example_call() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/call.flac")
}

#[test]
fn the_page_of_a_real_call_shows_every_alert_line_and_figure() {
    model();
    let dir = tempfile::tempdir().unwrap();
    let call = dir.path().join("call 1.flac");
    std::fs::copy(example_call(), &call).unwrap();
    let pages = dir.path().join("pages");
    std::fs::create_dir(&pages).unwrap();
    let (json, html) = (pages.join("call.json"), pages.join("call.html"));
    let out = twoears(
        &[
            "review",
            call.to_str().unwrap(),
            "--json",
            json.to_str().unwrap(),
            "--html",
            html.to_str().unwrap(),
            "-q",
        ],
        dir.path(),
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let r = report(&json);
    let page = std::fs::read_to_string(&html).unwrap();
    assert!(page.len() < 1_000_000, "{} bytes", page.len());
    assert!(
        !page.contains("http://") && !page.contains("https://"),
        "nothing is fetched"
    );
    assert_eq!(mode(&html) & 0o777, 0o600);

    let d = dom(&html);
    assert!(d.contains("data-ready=\"1\""), "the page's own script ran");
    let alerts = r["alerts"].as_array().unwrap();
    let segments = r["segments"].as_array().unwrap();
    assert!(
        !alerts.is_empty() && !segments.is_empty(),
        "the example call has both"
    );
    assert_eq!(d.matches("class=\"marker ").count(), alerts.len());
    assert_eq!(d.matches("<li class=\"line ").count(), segments.len());
    assert_eq!(d.matches("<li class=\"alert ").count(), alerts.len());
    let share = format!("{:.0}%", talk(&r, "rep_ratio") * 100.0);
    assert!(
        d.contains(&format!("data-figure=\"Rep share of talk\">{share}<")),
        "rep share {share} shown"
    );
    let questions = r["talk"]["rep_questions"].as_u64().unwrap();
    assert!(d.contains(&format!("data-figure=\"Questions asked\">{questions}<")));
    // The player links the recording relative to the page, encoded, not copied.
    assert!(d.contains("src=\"../call%201.flac\""), "audio link");
    assert!(
        d.contains(&format!(
            ">{}<",
            html_text(segments[0]["text"].as_str().unwrap())
        )),
        "the first line's text"
    );

    // Opened at an alert's moment: the script marks the line said just before it and the
    // turn under it.
    let at = alerts[0]["at_s"].as_f64().unwrap();
    let moment = dom_at(&html, &format!("#t={at}"));
    let hit: Vec<&str> = moment
        .split("<li class=\"")
        .filter(|l| l.starts_with("line ") && l.split('"').next().unwrap().ends_with(" hit"))
        .collect();
    assert_eq!(hit.len(), 1, "one line marked");
    let mut before: Vec<f64> = segments
        .iter()
        .map(|s| s["start_s"].as_f64().unwrap())
        .filter(|s| *s <= at + 0.5)
        .collect();
    before.sort_by(f64::total_cmp);
    let marked: f64 = hit[0]
        .split("data-at=\"")
        .nth(1)
        .and_then(|v| v.split('"').next())
        .and_then(|v| v.parse().ok())
        .expect("the marked line's time");
    assert_eq!(marked, *before.last().unwrap(), "{}", hit[0]);
    assert!(!d.contains(" hit\""), "nothing is marked without a moment");

    let keep = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/html-report.png");
    screenshot(&html, &keep);
    assert!(
        std::fs::metadata(&keep).unwrap().len() > 10_000,
        "a real screenshot"
    );

    // A second review replaces its own page; any other file at that name is refused.
    let page_to = |path: &Path| {
        let args = ["review", call.to_str().unwrap(), "--no-stt", "-q", "--html"];
        let mut args = args.to_vec();
        args.push(path.to_str().unwrap());
        twoears(&args, dir.path())
    };
    let again = page_to(&html);
    assert!(again.status.success(), "{}", stderr(&again));
    let notes = pages.join("notes.html");
    std::fs::write(&notes, "<html>my notes</html>").unwrap();
    let refused = page_to(&notes);
    assert_eq!(refused.status.code(), Some(2), "{}", stderr(&refused));
    assert_eq!(
        stderr(&refused).trim().lines().count(),
        1,
        "{}",
        stderr(&refused)
    );
    assert_eq!(
        std::fs::read_to_string(&notes).unwrap(),
        "<html>my notes</html>"
    );
    // Nor does a page replace a JSON report.
    let before = std::fs::read_to_string(&json).unwrap();
    let refused = page_to(&json);
    assert_eq!(refused.status.code(), Some(2), "{}", stderr(&refused));
    assert_eq!(std::fs::read_to_string(&json).unwrap(), before);
}

/// Text as the DOM serialises it.
fn html_text(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

#[test]
fn a_hostile_transcript_runs_nothing_in_the_browser() {
    // A report of the example call with every call text replaced by markup and script.
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("r.json");
    let out = twoears(
        &[
            "review",
            example_call().to_str().unwrap(),
            "--no-stt",
            "--json",
            json.to_str().unwrap(),
            "-q",
        ],
        dir.path(),
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let mut r = report(&json);
    let hostile = "</script><script>document.title='pwned';document.body.dataset.pwned=1</script>\
                   <img src=x onerror=\"document.title='pwned'\"><b id=injected>x</b>";
    r["segments"] = serde_json::json!([
        {"side": "prospect", "start_s": 1.0, "end_s": 3.0, "text": hostile},
        {"side": "rep", "start_s": 4.0, "end_s": 6.0, "text": "plain words"}
    ]);
    r["alerts"] = serde_json::json!([
        {"kind": "pitch", "at_s": 5.0, "side": "rep", "message": hostile, "evidence": hostile}
    ]);
    r["warnings"] = serde_json::json!([hostile]);
    let page = twoears::report::html::render(&r, hostile, Some(hostile), Some(hostile)).unwrap();
    let html = dir.path().join("hostile.html");
    twoears::report::html::write(&html, &page).unwrap();

    let d = dom(&html);
    assert!(
        d.contains("data-ready=\"1\""),
        "the page's own script still ran"
    );
    assert!(
        d.contains("<title>&lt;/script&gt;"),
        "the title is the text it was given"
    );
    assert!(!d.contains("data-pwned"), "a script ran");
    assert!(
        !d.contains("id=\"injected\""),
        "markup from the call became elements"
    );
    assert!(!d.contains("<img"), "markup from the call became elements");
    // The words are still there, as text.
    assert!(
        d.contains("&lt;b id=injected&gt;x&lt;/b&gt;"),
        "shown as text"
    );
    assert_eq!(d.matches("<li class=\"line ").count(), 2);
}
