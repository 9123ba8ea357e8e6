//! `twoears history`: the real binary storing real reviews in real SQLite files.

mod common;

use common::*;
use std::path::{Path, PathBuf};
use std::process::Command;

fn example() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/call.flac")
}

fn stdout(o: &std::process::Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn history_json(dir: &Path, db: &str, extra: &[&str]) -> Vec<serde_json::Value> {
    let mut args = vec!["history", "--db", db, "--json"];
    args.extend_from_slice(extra);
    let out = twoears(&args, dir);
    assert!(out.status.success(), "{}", stderr(&out));
    serde_json::from_slice::<Vec<serde_json::Value>>(&out.stdout).expect("a JSON list")
}

#[test]
fn every_review_is_stored_once_per_call_and_listed_newest_first() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::copy(example(), d.join("mon.flac")).unwrap();
    run_ok(
        Command::new("sox")
            .arg(example())
            .arg(d.join("tue.wav"))
            .args(["trim", "0", "40"]),
    );
    let review = |file: &str, extra: &[&str]| {
        let mut args = vec!["review", file, "--no-stt", "-q", "--db", "h.sqlite"];
        args.extend_from_slice(extra);
        let out = twoears(&args, d);
        assert!(out.status.success(), "{}", stderr(&out));
    };
    review("mon.flac", &["--rep-name", "dana"]);
    review("mon.flac", &["--rep-name", "dana"]);
    review("tue.wav", &[]);
    review("tue.wav", &["--no-save", "--rep-channel", "right"]);
    let calls = history_json(d, "h.sqlite", &[]);
    assert_eq!(
        calls.len(),
        2,
        "the same file twice is one record: {calls:?}"
    );
    assert_eq!(calls[0]["name"], "tue.wav", "newest first");
    let mon = &calls[1];
    let r = {
        let out = twoears(
            &[
                "review",
                "mon.flac",
                "--no-stt",
                "-q",
                "--no-save",
                "--json",
                "r.json",
            ],
            d,
        );
        assert!(out.status.success());
        report(&d.join("r.json"))
    };
    assert_eq!(mon["rep_ratio"], r["talk"]["rep_ratio"]);
    assert_eq!(mon["duration_s"], r["duration_s"]);
    assert_eq!(
        mon["questions"],
        serde_json::Value::Null,
        "no speech-to-text, no questions"
    );
    assert_eq!(mon["rep"], "dana");
    assert_eq!(history_json(d, "h.sqlite", &["--rep", "dana"]).len(), 1);
    assert_eq!(
        history_json(d, "h.sqlite", &["--since", "2999-01-01"]).len(),
        0
    );
    // A batch stores each call too: the same audio under another name is the same call.
    std::fs::create_dir(d.join("calls")).unwrap();
    std::fs::copy(example(), d.join("calls/wed.flac")).unwrap();
    let out = twoears(
        &[
            "review", "calls", "--out", "out", "--no-stt", "-q", "--db", "h.sqlite",
        ],
        d,
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let calls = history_json(d, "h.sqlite", &[]);
    assert_eq!(calls.len(), 2, "{calls:?}");
    assert!(calls.iter().any(|c| c["name"] == "wed"));
    // The readable list and the trends.
    let list = twoears(&["history", "--db", "h.sqlite"], d);
    assert!(
        stdout(&list).lines().count() == 2 && stdout(&list).contains("tue.wav"),
        "{}",
        stdout(&list)
    );
    let trends = twoears(&["history", "--db", "h.sqlite", "--trends"], d);
    assert!(stdout(&trends).contains("-W"), "{}", stdout(&trends));
    let per = twoears(
        &[
            "history", "--db", "h.sqlite", "--trends", "--per", "1", "--json",
        ],
        d,
    );
    let periods: Vec<serde_json::Value> = serde_json::from_slice(&per.stdout).unwrap();
    assert_eq!(periods.len(), 2);
    assert_eq!(mode(&d.join("h.sqlite")) & 0o777, 0o600);
}

#[test]
fn two_processes_writing_at_once_both_land() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let mut kids = Vec::new();
    for (i, trim) in ["0 30", "30 30", "60 30", "10 50"].iter().enumerate() {
        let f = d.join(format!("c{i}.wav"));
        let mut args = vec!["trim"];
        args.extend(trim.split(' '));
        run_ok(Command::new("sox").arg(example()).arg(&f).args(&args));
    }
    for i in 0..4 {
        kids.push(
            Command::new(env!("CARGO_BIN_EXE_twoears"))
                .args([
                    "review",
                    &format!("c{i}.wav"),
                    "--no-stt",
                    "-q",
                    "--db",
                    "h.sqlite",
                ])
                .current_dir(d)
                .output_async(),
        );
    }
    for k in kids {
        let out = k.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(
            out.stderr.is_empty(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    assert_eq!(history_json(d, "h.sqlite", &[]).len(), 4);
}

trait Spawn {
    fn output_async(&mut self) -> std::process::Child;
}

impl Spawn for Command {
    fn output_async(&mut self) -> std::process::Child {
        self.stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("run twoears")
    }
}

#[test]
fn a_damaged_history_is_named_and_kept_and_a_review_still_writes_its_report() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::copy(example(), d.join("mon.flac")).unwrap();
    let out = twoears(
        &["review", "mon.flac", "--no-stt", "-q", "--db", "h.sqlite"],
        d,
    );
    assert!(out.status.success());
    // Half the file, as a full disk or a crash in a copy leaves it.
    let full = std::fs::read(d.join("h.sqlite")).unwrap();
    std::fs::write(d.join("h.sqlite"), &full[..full.len() / 2]).unwrap();
    let half = std::fs::read(d.join("h.sqlite")).unwrap();
    std::fs::write(
        d.join("junk.sqlite"),
        b"these are my notes, not a database at all",
    )
    .unwrap();
    for db in ["h.sqlite", "junk.sqlite"] {
        let out = twoears(&["history", "--db", db], d);
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(2), "{db}: {err}");
        assert_eq!(err.lines().count(), 1, "one line: {err}");
        assert!(
            err.contains(db) && err.contains("not a twoears history"),
            "{err}"
        );
        let out = twoears(
            &[
                "review", "mon.flac", "--no-stt", "-q", "--db", db, "--json", "r.json",
            ],
            d,
        );
        assert!(out.status.success(), "{}", stderr(&out));
        assert!(
            stderr(&out).contains("not stored in the history"),
            "{}",
            stderr(&out)
        );
        assert!(d.join("r.json").is_file());
    }
    assert_eq!(
        std::fs::read(d.join("h.sqlite")).unwrap(),
        half,
        "never overwritten"
    );
    let out = twoears(&["history", "--db", "none.sqlite"], d);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("no history yet"), "{}", stderr(&out));
}

/// Calls from three weeks (the recordings' dates): `history --trends --html` draws a chart
/// per figure with a point per week, in a real browser, and lists the weeks.
#[test]
fn the_trends_page_charts_each_figure_week_by_week() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    for (i, (from, day)) in [
        ("0", "2026-11-02"),
        ("20", "2026-11-10"),
        ("40", "2026-11-17"),
    ]
    .iter()
    .enumerate()
    {
        let f = d.join(format!("w{i}.wav"));
        run_ok(
            Command::new("sox")
                .arg(example())
                .arg(&f)
                .args(["trim", from, "50"]),
        );
        run_ok(
            Command::new("touch")
                .args(["-d", &format!("{day} 12:00:00")])
                .arg(&f),
        );
        let out = twoears(
            &[
                "review",
                &format!("w{i}.wav"),
                "--no-stt",
                "-q",
                "--db",
                "h.sqlite",
            ],
            d,
        );
        assert!(out.status.success(), "{}", stderr(&out));
    }
    let out = twoears(
        &[
            "history",
            "--db",
            "h.sqlite",
            "--trends",
            "--html",
            "trends.html",
        ],
        d,
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let table = stdout(&out);
    for week in ["2026-W45", "2026-W46", "2026-W47"] {
        assert!(table.contains(week), "{table}");
    }
    let page = d.join("trends.html");
    assert_eq!(mode(&page) & 0o777, 0o600);
    let dom = common::browser::dom(&page);
    assert_eq!(
        dom.matches("<li class=\"chart\">").count(),
        4,
        "a chart per figure"
    );
    assert_eq!(
        dom.matches("<circle class=\"dot\"").count(),
        3 * 3,
        "a point per week for the three figures with values"
    );
    assert!(dom.contains("2026-W47"));
    common::browser::screenshot(
        &page,
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("target/trends.png"),
    );
    // A page replaces only an earlier trends page.
    std::fs::write(d.join("mine.html"), "<p>mine</p>").unwrap();
    let out = twoears(
        &[
            "history",
            "--db",
            "h.sqlite",
            "--trends",
            "--html",
            "mine.html",
        ],
        d,
    );
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        std::fs::read_to_string(d.join("mine.html")).unwrap(),
        "<p>mine</p>"
    );
}
