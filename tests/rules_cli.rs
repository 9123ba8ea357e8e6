//! The rules file from the command line: `rules check`, `--rules` on a real review,
//! `review --explain` and `rules explain`.

mod common;

use common::*;

const REP: &str = "Thanks for taking the call today. Let me tell you a little about how we \
                   got started and what our team has been building over the last few years.";
const PROSPECT: &str = "Sure, go ahead.";

#[test]
fn rules_check_lists_every_problem_with_its_line() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("bad.toml"),
        "[monologue]\nmax_s = -4\n\n[talk_ratio]\nmaxx = 0.7\n",
    )
    .unwrap();
    let out = twoears(&["rules", "check", "bad.toml"], dir.path());
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("bad.toml:2: max_s = -4 must be a number of seconds"),
        "{err}"
    );
    assert!(
        err.contains("bad.toml:5: unknown key \"maxx\" in [talk_ratio]"),
        "{err}"
    );

    // The documented defaults check clean, and `rules default` prints them.
    let out = twoears(&["rules", "default"], dir.path());
    std::fs::write(dir.path().join("default.toml"), &out.stdout).unwrap();
    let out = twoears(&["rules", "check", "default.toml"], dir.path());
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        "default.toml: ok"
    );

    // A bad file given to review is a one-line error pointing at `rules check`.
    let out = twoears(
        &["review", "x.wav", "--rules", "bad.toml", "--no-stt"],
        dir.path(),
    );
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    assert!(
        err.contains("bad.toml:2:") && err.contains("rules check"),
        "{err}"
    );
}

#[test]
fn a_rules_file_changes_what_review_alerts_on_and_explain_says_why() {
    let dir = tempfile::tempdir().unwrap();
    let (call, rep_s, _) = call(dir.path(), REP, PROSPECT);
    assert!(rep_s > 6.0, "the rep speaks {rep_s} s");
    let call = call.to_str().unwrap();

    let out = twoears(
        &[
            "review",
            call,
            "--no-stt",
            "--json",
            "default.json",
            "--explain",
        ],
        dir.path(),
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(String::from_utf8_lossy(&out.stdout).contains("No alerts to explain."));

    std::fs::write(dir.path().join("strict.toml"), "[monologue]\nmax_s = 5\n").unwrap();
    let out = twoears(
        &[
            "review",
            call,
            "--no-stt",
            "--rules",
            "strict.toml",
            "--json",
            "strict.json",
            "--explain",
        ],
        dir.path(),
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("monologue: You have been talking"), "{text}");
    assert!(text.contains("rule: [monologue] max_s = 5.0"), "{text}");
    let r = report(&dir.path().join("strict.json"));
    assert_eq!(r["rules"]["monologue"]["max_s"], 5.0);
    assert_eq!(r["alerts"][0]["kind"], "monologue");

    // The same explanation from the saved report.
    let out = twoears(&["rules", "explain", "strict.json"], dir.path());
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(String::from_utf8_lossy(&out.stdout).contains("rule: [monologue] max_s = 5.0"));

    // Switching the rule off silences it.
    std::fs::write(
        dir.path().join("off.toml"),
        "[monologue]\nenabled = false\nmax_s = 5\n",
    )
    .unwrap();
    let out = twoears(
        &[
            "review", call, "--no-stt", "--rules", "off.toml", "--json", "off.json",
        ],
        dir.path(),
    );
    assert!(out.status.success());
    assert_eq!(
        report(&dir.path().join("off.json"))["alerts"],
        serde_json::json!([])
    );

    let out = twoears(&["rules", "explain", "nothere.json"], dir.path());
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("cannot read the report"));
}
