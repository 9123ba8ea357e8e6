//! `twoears history`: the real binary storing real reviews in real SQLite files.

mod common;

use common::*;
use std::path::Path;
use std::process::Command;

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

/// A short call, cheap to review: the example's first `seconds`.
fn short_call(dir: &Path, name: &str, seconds: &str) {
    run_ok(
        Command::new("sox")
            .arg(example())
            .arg(dir.join(name))
            .args(["trim", "0", seconds]),
    );
}

fn sha256(path: &Path) -> Vec<u8> {
    use sha2::Digest;
    sha2::Sha256::digest(std::fs::read(path).unwrap()).to_vec()
}

/// The files SQLite keeps beside `db` while it is open.
fn journals(dir: &Path, db: &str) -> Vec<String> {
    ["-wal", "-shm", "-journal"]
        .iter()
        .map(|s| format!("{db}{s}"))
        .filter(|f| dir.join(f).exists())
        .collect()
}

// Issue: `--db other.sqlite` added twoears's tables to another program's database, set its
// user_version and switched its journal to WAL; a foreign `calls` table gave a 16-line
// warning.
#[test]
fn another_programs_database_is_refused_in_one_line_and_left_byte_for_byte() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    short_call(d, "short.wav", "8");
    let foreign = [
        (
            "notes.sqlite",
            "CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT NOT NULL);
             INSERT INTO notes (body) VALUES ('call Dana back');",
        ),
        (
            "crm.sqlite",
            "CREATE TABLE accounts (id INTEGER PRIMARY KEY, name TEXT);
             INSERT INTO accounts (name) VALUES ('Acme');
             PRAGMA user_version = 7;",
        ),
        (
            "dialer.sqlite",
            "CREATE TABLE calls (
                id INTEGER PRIMARY KEY,
                number TEXT NOT NULL,
                started_at INTEGER NOT NULL,
                ended_at INTEGER,
                outcome TEXT,
                notes TEXT
             );
             INSERT INTO calls (number, started_at) VALUES ('+15550100', 1);",
        ),
    ];
    for (db, schema) in foreign {
        rusqlite::Connection::open(d.join(db))
            .unwrap()
            .execute_batch(schema)
            .unwrap();
        let before = sha256(&d.join(db));
        let refused = |out: &std::process::Output, what: &str| {
            let err = stderr(out);
            assert_eq!(err.lines().count(), 1, "{db}, {what}: one line: {err}");
            assert!(
                err.contains(db) && err.contains("another program's database"),
                "{db}, {what}: {err}"
            );
            assert!(err.contains("pass --db"), "{db}, {what}: {err}");
        };
        let out = twoears(&["history", "--db", db], d);
        assert_eq!(out.status.code(), Some(2), "{db}: {}", stderr(&out));
        refused(&out, "history --db");
        let out = Command::new(env!("CARGO_BIN_EXE_twoears"))
            .arg("history")
            .env("TWOEARS_DB", d.join(db))
            .current_dir(d)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{db}: {}", stderr(&out));
        refused(&out, "TWOEARS_DB");
        // A review still writes its report; the call is not stored.
        let out = twoears(
            &[
                "review",
                "short.wav",
                "--no-stt",
                "-q",
                "--db",
                db,
                "--json",
                "r.json",
            ],
            d,
        );
        assert!(out.status.success(), "{db}: {}", stderr(&out));
        refused(&out, "review");
        assert!(stderr(&out).contains("not stored in the history"));
        assert_eq!(sha256(&d.join(db)), before, "{db} changed");
        assert_eq!(journals(d, db), Vec::<String>::new(), "{db}");
    }
    assert!(d.join("r.json").is_file());
}

/// Runs twoears as a user who may write `dir` but not a file of root's: root may write any
/// file, so as root the run drops to nobody.
fn twoears_as_user(args: &[&str], dir: &Path) -> std::process::Output {
    use std::os::unix::fs::MetadataExt;
    let root = std::fs::metadata(dir).unwrap().uid() == 0;
    let mut cmd = if root {
        let mut cmd = Command::new("setpriv");
        cmd.args(["--reuid=65534", "--regid=65534", "--clear-groups"])
            .arg(env!("CARGO_BIN_EXE_twoears"));
        cmd
    } else {
        Command::new(env!("CARGO_BIN_EXE_twoears"))
    };
    test_history(&mut cmd)
        .args(args)
        .current_dir(dir)
        .output()
        .expect("run twoears")
}

// Issue: `twoears history` on a read-only history left 0444 -wal and -shm files beside it.
#[test]
fn a_read_only_history_is_read_and_nothing_is_left_beside_it() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    short_call(d, "short.wav", "8");
    let out = twoears(
        &["review", "short.wav", "--no-stt", "-q", "--db", "h.sqlite"],
        d,
    );
    assert!(out.status.success(), "{}", stderr(&out));
    // The folder is the user's (SQLite may create files in it), the history is not
    // writable.
    for (path, mode) in [
        (d, 0o777),
        (&d.join("h.sqlite"), 0o444),
        (&d.join("short.wav"), 0o644),
    ] {
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
    }
    let before = sha256(&d.join("h.sqlite"));
    let out = twoears_as_user(&["history", "--db", "h.sqlite"], d);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).contains("short.wav"), "{}", stdout(&out));
    assert_eq!(journals(d, "h.sqlite"), Vec::<String>::new());
    let out = twoears_as_user(&["history", "--db", "h.sqlite", "--json"], d);
    let calls: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(calls.len(), 1, "{}", stderr(&out));
    assert_eq!(journals(d, "h.sqlite"), Vec::<String>::new());
    // A review cannot store its call there, says so, and leaves nothing either.
    let out = twoears_as_user(
        &["review", "short.wav", "--no-stt", "-q", "--db", "h.sqlite"],
        d,
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let err = stderr(&out);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.contains("not stored in the history")
            && err.contains("h.sqlite: the call history is read-only"),
        "{err}"
    );
    assert_eq!(journals(d, "h.sqlite"), Vec::<String>::new());
    assert_eq!(sha256(&d.join("h.sqlite")), before);
}

// Issue: `history --since 2026-13-45` was taken as a day.
#[test]
fn a_day_not_on_the_calendar_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    for bad in [
        "2026-13-45",
        "2026-00-10",
        "2026-04-31",
        "2026-02-29",
        "1900-02-29",
        "2026-1-05",
    ] {
        for cmd in ["history", "team"] {
            let out = twoears(&[cmd, "--db", "h.sqlite", "--since", bad], d);
            let err = stderr(&out);
            assert_eq!(out.status.code(), Some(2), "{cmd} --since {bad}: {err}");
            assert!(
                err.contains(bad) && err.contains("is not a day; pass YYYY-MM-DD"),
                "{cmd} --since {bad}: {err}"
            );
            assert_eq!(err.lines().count(), 1, "one line: {err}");
        }
    }
    std::fs::write(d.join("h.sqlite"), b"").unwrap();
    for good in ["2028-02-29", "2000-02-29", "2026-12-31"] {
        let out = twoears(&["history", "--db", "h.sqlite", "--since", good], d);
        assert!(out.status.success(), "--since {good}: {}", stderr(&out));
    }
}

// Issue: a filter that matched none of the stored calls said "no calls stored yet".
#[test]
fn a_filter_that_matches_nothing_says_so_and_how_many_calls_are_stored() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    short_call(d, "short.wav", "8");
    let out = twoears(
        &[
            "review",
            "short.wav",
            "--no-stt",
            "-q",
            "--db",
            "h.sqlite",
            "--rep-name",
            "dana",
        ],
        d,
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let list = |extra: &[&str]| {
        let mut args = vec!["history", "--db", "h.sqlite"];
        args.extend_from_slice(extra);
        let out = twoears(&args, d);
        assert!(out.status.success(), "{}", stderr(&out));
        stdout(&out)
    };
    assert_eq!(
        list(&["--rep", "sam"]),
        "no calls match --rep sam in h.sqlite; 1 call stored\n"
    );
    assert_eq!(
        list(&["--since", "2999-01-01", "--rep", "dana"]),
        "no calls match --since 2999-01-01 --rep dana in h.sqlite; 1 call stored\n"
    );
    assert!(list(&["--rep", "dana"]).contains("short.wav"));
    // An empty history is still an empty history, filter or not.
    std::fs::write(d.join("empty.sqlite"), b"").unwrap();
    for extra in [&[][..], &["--rep", "sam"][..]] {
        let mut args = vec!["history", "--db", "empty.sqlite"];
        args.extend_from_slice(extra);
        let out = twoears(&args, d);
        assert_eq!(
            stdout(&out),
            "no calls stored yet in empty.sqlite\n",
            "{}",
            stderr(&out)
        );
    }
}

// Hostile-input probe, item 5: a file name with terminal escapes, stored as the call's
// name, is listed escaped: it neither clears the screen nor retitles the window.
#[test]
fn a_name_with_terminal_escapes_is_listed_escaped() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let name = "\x1b[2Jcall\x1b]0;pwned\x07.wav";
    short_call(d, name, "8");
    let out = twoears(&["review", name, "--no-stt", "-q", "--db", "h.sqlite"], d);
    assert!(out.status.success(), "{}", stderr(&out));
    let out = twoears(&["history", "--db", "h.sqlite"], d);
    assert!(out.status.success(), "{}", stderr(&out));
    let list = stdout(&out);
    assert!(
        list.contains("\\x1b[2Jcall\\x1b]0;pwned\\x07.wav"),
        "listed, escaped: {list}"
    );
    assert!(!list.contains('\x1b') && !list.contains('\x07'), "{list:?}");
}
