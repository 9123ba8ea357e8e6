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

    // For scripts: the same problems as JSON on stdout, the same failure.
    let out = twoears(&["rules", "check", "bad.toml", "--json"], dir.path());
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let said: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON on stdout");
    assert_eq!(said["ok"], false, "{said}");
    let lines: Vec<u64> = said["problems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["line"].as_u64().unwrap())
        .collect();
    assert_eq!(lines, [2, 5], "{said}");
    assert!(
        said["problems"][1]["message"]
            .as_str()
            .unwrap()
            .contains("unknown key \"maxx\""),
        "{said}"
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
    let out = twoears(&["rules", "check", "default.toml", "--json"], dir.path());
    assert!(out.status.success(), "{}", stderr(&out));
    let said: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON on stdout");
    assert_eq!(
        (&said["ok"], said["problems"].as_array().map(Vec::len)),
        (&serde_json::Value::Bool(true), Some(0)),
        "{said}"
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

// Issue 11: `rules check /dev/zero` read until the machine ran out of memory.
#[test]
fn rules_and_reports_are_read_only_from_files_of_sane_size() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    // Sparse: the size is what counts, not the content.
    for (name, len) in [("huge.toml", 2u64 << 20), ("huge.json", 65 << 20)] {
        let f = std::fs::File::create(d.join(name)).unwrap();
        f.set_len(len).unwrap();
    }
    let cases: [(&[&str], &str); 5] = [
        (&["rules", "check", "/dev/zero"], "is not a regular file"),
        (&["rules", "explain", "/dev/zero"], "is not a regular file"),
        (&["rules", "check", "."], "is not a regular file"),
        (&["rules", "check", "huge.toml"], "larger than 1 MB"),
        (&["rules", "explain", "huge.json"], "larger than 64 MB"),
    ];
    for (args, needle) in cases {
        let out = twoears_within(args, d, std::time::Duration::from_secs(20));
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert_eq!(err.trim().lines().count(), 1, "one line: {err}");
        assert!(err.contains(needle), "{args:?}: {err}");
    }
}

// Issue 11: 100k unknown keys took 39 s (line numbers counted over and over).
#[test]
fn a_file_of_many_unknown_keys_names_each_key_by_its_line() {
    let dir = tempfile::tempdir().unwrap();
    let text: String = std::iter::once("[monologue]\n".to_string())
        .chain((0..100_000).map(|i| format!("k{i}=1\n")))
        .collect();
    std::fs::write(dir.path().join("keys.toml"), text).unwrap();
    let out = twoears(&["rules", "check", "keys.toml"], dir.path());
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(
        err.contains("keys.toml:100001: unknown key \"k99999\""),
        "{}",
        err.lines().last().unwrap_or_default()
    );
}

// Issue 11: min_overlap_s = 5 with max_overlap_s = 1 was accepted; the rule never fires.
#[test]
fn contradictory_bounds_are_a_problem() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("never.toml"),
        "[interruption]\nmin_overlap_s = 5\nmax_overlap_s = 1\n",
    )
    .unwrap();
    let out = twoears(&["rules", "check", "never.toml"], dir.path());
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("never.toml:2: interruption.min_overlap_s (5)"),
        "{err}"
    );
    assert!(err.contains("can never fire"), "{err}");
}

// Issue 11: `rules explain` printed a report's escape sequences to the terminal as they were.
#[test]
fn explain_prints_no_control_characters_from_a_report() {
    let dir = tempfile::tempdir().unwrap();
    let report = serde_json::json!({
        "schema": "twoears.report/1",
        "alerts": [{
            "kind": "monologue",
            "at_s": 61.0,
            "message": "\u{1b}]0;pwned\u{7}\u{1b}[2J\u{1b}[1;31mYou have been talking",
            "evidence": "rep spoke\r\u{1b}[K for 90 s",
        }],
        "rules": {"monologue": {"enabled": true, "max_s": 90.0}},
    });
    std::fs::write(dir.path().join("evil.json"), report.to_string()).unwrap();
    let out = twoears(&["rules", "explain", "evil.json"], dir.path());
    assert!(out.status.success(), "{}", stderr(&out));
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        !text.chars().any(|c| c.is_control() && c != '\n'),
        "{text:?}"
    );
    assert!(text.contains("You have been talking"), "{text}");
    assert!(text.contains("rule: [monologue] max_s = 90.0"), "{text}");
}

// Hostile-input probe, item 3: 13,600 `[examples]` (under the 1 MB cap) trained the act
// reader for minutes in silence; a rules file holds at most 100, refused before training.
#[test]
fn a_rules_file_with_too_many_examples_is_refused_before_training() {
    let dir = tempfile::tempdir().unwrap();
    let examples = |n: usize| {
        let list: Vec<String> = (0..n)
            .map(|i| format!("\"our board reroutes crew {i} for you\""))
            .collect();
        format!(
            "[monologue]\nmax_s = 60\n\n[examples]\npresentation = [{}]\n",
            list.join(", ")
        )
    };
    std::fs::write(dir.path().join("most.toml"), examples(100)).unwrap();
    std::fs::write(dir.path().join("big.toml"), examples(13_600)).unwrap();
    let out = twoears(&["rules", "check", "most.toml"], dir.path());
    assert!(out.status.success(), "{}", stderr(&out));

    let out = twoears(&["rules", "check", "big.toml"], dir.path());
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(
        err.contains("big.toml:4: [examples] holds 13600 sentences, more than the 100 allowed"),
        "{err}"
    );
    let call = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/data/stereo_diarization.wav"
    );
    let out = twoears(
        &["review", "--no-stt", call, "--rules", "big.toml"],
        dir.path(),
    );
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.starts_with("twoears: big.toml:4: [examples] holds 13600 sentences")
            && err.contains("100 allowed"),
        "{err}"
    );
}
