//! A team's shared store (`--db postgres://...`): the real binary against a throwaway
//! PostgreSQL server (tests/common/postgres.rs), its own local history in a temp dir.

mod common;

use common::postgres::{Options, Postgres};
use common::*;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use twoears::history::{Call, Store};

/// twoears with `home` as its data dir (its local history) and no TWOEARS_DB of the suite.
fn run(args: &[&str], cwd: &Path, home: &Path, env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_twoears"));
    cmd.args(args).current_dir(cwd).env("XDG_DATA_HOME", home);
    clean_env(&mut cmd);
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().expect("run twoears")
}

/// No store or server settings of the suite's or the machine's.
fn clean_env(cmd: &mut Command) -> &mut Command {
    for k in [
        "TWOEARS_DB",
        "TWOEARS_REP",
        "PGHOST",
        "PGPORT",
        "PGUSER",
        "PGDATABASE",
        "PGPASSWORD",
        "PGPASSFILE",
        "PGSSLMODE",
    ] {
        cmd.env_remove(k);
    }
    cmd
}

/// `twoears history push ARGS` as a child of its own, with `home` as its data dir.
fn pusher(home: &Path, args: &[&str]) -> std::process::Child {
    clean_env(&mut Command::new(env!("CARGO_BIN_EXE_twoears")))
        .args(["history", "push"])
        .args(args)
        .env("XDG_DATA_HOME", home)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap()
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn local_history(home: &Path) -> PathBuf {
    home.join("twoears/history.sqlite")
}

/// A report as `review` writes one, for calls seeded straight into a local history.
fn seeded(i: usize, rep: &str, date: &str) -> Call {
    let report = serde_json::json!({
        "schema": "twoears.report/1", "duration_s": 600.0, "model": "tiny.en",
        "talk": {"rep_s": 200.0 + i as f64 % 100.0, "prospect_s": 250.0, "rep_ratio": 0.45,
                 "longest_monologue_s": {"rep": 40.0, "prospect": 50.0},
                 "interactivity_per_min": 5.0, "rep_questions": 9},
        "segments": [{"side": "rep", "start_s": 1.0, "end_s": 2.0, "text": "secret words"}],
        "alerts": [{"kind": "pitch", "at_s": 30.0, "message": "They said: 'x'", "evidence": "e"}],
        "source": {"audio_sha256": format!("k{i:04}"), "recorded": date}
    });
    let mut c = Call::of_report(&report, &format!("call {i}"), None, None, Some(rep)).unwrap();
    c.stored_at = 1_700_000_000 + i as i64;
    c
}

#[test]
fn a_review_reaches_the_team_store_once_and_without_its_words() {
    let pg = Postgres::start();
    let dir = tempfile::tempdir().unwrap();
    let (d, home) = (dir.path(), dir.path().join("home"));
    let url = pg.url();
    let model = model();
    let model = model.to_str().unwrap();
    let review = |extra: &[&str]| {
        let mut args = vec!["review", "call.flac", "-q", "--model", model, "--db", &url];
        args.extend_from_slice(extra);
        let out = run(&args, d, &home, &[("TWOEARS_REP", "dana")]);
        assert!(out.status.success(), "{}", stderr(&out));
        assert_eq!(stderr(&out), "", "no warning");
    };
    std::fs::copy(example(), d.join("call.flac")).unwrap();
    review(&["--json", "call.json"]);
    let transcript = report(&d.join("call.json"))["segments"].to_string();
    assert!(transcript.contains("Jordan"), "{transcript}");
    let mut db = pg.client();
    let row = db
        .query_one(
            "SELECT count(*) OVER (), rep, transcripts, report::text, alerts::text
             FROM twoears_calls",
            &[],
        )
        .unwrap();
    assert_eq!(row.get::<_, i64>(0), 1);
    assert_eq!(row.get::<_, String>(1), "dana", "filed under $TWOEARS_REP");
    assert!(!row.get::<_, bool>(2));
    let shared: String = row.get(3);
    assert!(shared.contains("rep_ratio"), "the figures are sent");
    assert!(
        shared.contains("\"kind\": \"pitch\""),
        "and the alerts: {shared}"
    );
    for words in ["Jordan", "segments", "They said", "evidence"] {
        assert!(
            !shared.contains(words),
            "{words} left the machine: {shared}"
        );
    }
    assert_eq!(row.get::<_, String>(4), "{\"pitch\": 1}");
    // The same call again, now sharing its transcript: still one row.
    review(&["--share-transcripts"]);
    let row = db
        .query_one(
            "SELECT count(*) OVER (), transcripts, report::text FROM twoears_calls",
            &[],
        )
        .unwrap();
    assert_eq!(row.get::<_, i64>(0), 1, "one row per call");
    assert!(row.get::<_, bool>(1));
    assert!(row.get::<_, String>(2).contains("Jordan"));
    // The call is in the local history too, and both list it.
    for db in [local_history(&home).to_str().unwrap(), &url] {
        let out = run(&["history", "--db", db, "--json"], d, &home, &[]);
        assert!(out.status.success(), "{}", stderr(&out));
        let calls: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(calls.len(), 1, "{db}: {calls:?}");
        assert_eq!(calls[0]["rep"], "dana");
    }
    let out = run(&["team", "--db", &url, "--json"], d, &home, &[]);
    assert!(out.status.success(), "{}", stderr(&out));
    let team: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(team[0]["rep"], "dana");
    assert_eq!(team[0]["calls"], 1);
}

#[test]
fn a_store_that_is_down_loses_no_call() {
    let dir = tempfile::tempdir().unwrap();
    let (d, home) = (dir.path(), dir.path().join("home"));
    std::fs::copy(example(), d.join("a.flac")).unwrap();
    run_ok(
        Command::new("sox")
            .arg(example())
            .arg(d.join("b.wav"))
            .args(["trim", "0", "40"]),
    );
    // The team's server, down when the first call is reviewed.
    let pg = Postgres::start();
    let url = pg.url();
    pg.kill();
    let down = url.clone();
    let out = run(
        &[
            "review", "a.flac", "--no-stt", "-q", "--json", "a.json", "--db", &down,
        ],
        d,
        &home,
        &[],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let err = stderr(&out);
    assert_eq!(err.lines().count(), 1, "one warning: {err}");
    assert!(
        err.contains("not sent to the team store") && err.contains("twoears history push"),
        "{err}"
    );
    assert!(d.join("a.json").exists(), "the report is written");
    let out = run(&["history", "push", "--db", &down], d, &home, &[]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert_eq!(stderr(&out).lines().count(), 1, "{}", stderr(&out));

    // The server is up at the next review: it takes both calls.
    pg.start_again();
    let out = run(
        &["review", "b.wav", "--no-stt", "-q", "--db", &url],
        d,
        &home,
        &[],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(stderr(&out), "");
    assert_eq!(pg.count("SELECT count(*) FROM twoears_calls"), 2);
    // An explicit --db wins over $TWOEARS_DB.
    let elsewhere = [("TWOEARS_DB", "/nonexistent/elsewhere.sqlite")];
    let out = run(&["history", "push", "--db", &url], d, &home, &elsewhere);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stdout(&out).starts_with("nothing to send"),
        "{}",
        stdout(&out)
    );
    // Without a team store, push says what it needs.
    let out = run(&["history", "push"], d, &home, &[]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("--db postgres://"),
        "{}",
        stderr(&out)
    );
}

/// Eight machines' local histories, 1000 calls between them (100 in every one), pushed at
/// once to a fresh store (its schema made by whichever arrives first).
#[test]
fn eight_writers_store_a_thousand_reports_exactly_once() {
    let pg = Postgres::start();
    let url = pg.url();
    let dir = tempfile::tempdir().unwrap();
    let homes: Vec<PathBuf> = (0..8).map(|w| dir.path().join(format!("w{w}"))).collect();
    for (w, home) in homes.iter().enumerate() {
        let store = Store::open(&local_history(home)).unwrap();
        for i in (0..1000).filter(|i| i % 8 == w || *i < 100) {
            store
                .save(&seeded(i, &format!("rep{}", i % 3), "2026-11-02"))
                .unwrap();
        }
    }
    let started = std::time::Instant::now();
    // --all: these calls were stored without a team store, so none is queued for it.
    let writers: Vec<_> = homes
        .iter()
        .map(|home| pusher(home, &["--db", &url, "--all"]))
        .collect();
    for w in writers {
        let out = w.wait_with_output().unwrap();
        assert!(out.status.success(), "{}", stderr(&out));
        assert_eq!(stderr(&out), "", "no warning");
    }
    // A figure for BENCHMARKS.md, not a limit.
    eprintln!(
        "8 writers, 1700 pushes of 1000 calls: {:.2} s",
        started.elapsed().as_secs_f64()
    );
    assert_eq!(pg.count("SELECT count(*) FROM twoears_calls"), 1000);
    assert_eq!(
        pg.count(
            "SELECT count(*) FROM twoears_calls WHERE stored_at = 1700000000 + substr(key, 2)::int"
        ),
        1000,
        "every call as stored"
    );
    assert_eq!(
        pg.count("SELECT count(*) FROM twoears_calls WHERE report::text LIKE '%secret words%'"),
        0
    );
    for home in &homes {
        let out = run(&["history", "push", "--db", &url], dir.path(), home, &[]);
        assert!(
            stdout(&out).starts_with("nothing to send"),
            "{}",
            stdout(&out)
        );
    }
}

#[test]
fn a_server_killed_mid_push_loses_nothing_after_history_push() {
    let pg = Postgres::start();
    let url = pg.url();
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().join("home");
    let store = Store::open(&local_history(&home)).unwrap();
    let label = twoears::history::TeamUrl::new(&url).unwrap().label();
    for i in 0..1000 {
        let call = seeded(i, "dana", "2026-11-02");
        store.save(&call).unwrap();
        store.queue(&call.key, &label).unwrap();
    }
    // Make the schema, then hold call 500 in an open transaction: the push sends calls in
    // order and waits there, half done, when the server is killed.
    let out = run(&["team", "--db", &url, "--json"], dir.path(), &home, &[]);
    assert!(out.status.success(), "{}", stderr(&out));
    let mut blocker = pg.client();
    let mut tx = blocker.transaction().unwrap();
    tx.execute(
        "INSERT INTO twoears_calls (key, rep, name, call_date, stored_at, duration_s, rep_s,
            prospect_s, longest_monologue_s, longest_story_s, interactivity, alerts, report,
            transcripts)
         VALUES ('k0500', 'x', 'x', '2026-11-02', 0, 0, 0, 0, 0, 0, 0, '{}', '{}', false)",
        &[],
    )
    .unwrap();
    let pushing = pusher(&home, &["--db", &url]);
    let started = std::time::Instant::now();
    while pg.count("SELECT count(*) FROM twoears_calls") < 500 {
        assert!(
            started.elapsed().as_secs() < 60,
            "the push did not reach call 500"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    std::thread::sleep(std::time::Duration::from_millis(200));
    pg.kill();
    drop(tx);
    let out = pushing.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", stdout(&out));
    let err = stderr(&out);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("500 calls wait on this machine"), "{err}");
    assert_eq!(err.matches(&label).count(), 1, "said once: {err}");
    pg.start_again();
    assert_eq!(pg.count("SELECT count(*) FROM twoears_calls"), 500);
    let out = run(&["history", "push", "--db", &url], dir.path(), &home, &[]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stdout(&out).starts_with("500 calls sent"),
        "{}",
        stdout(&out)
    );
    assert_eq!(pg.count("SELECT count(*) FROM twoears_calls"), 1000);
    assert_eq!(
        pg.count(
            "SELECT count(*) FROM twoears_calls WHERE stored_at = 1700000000 + substr(key, 2)::int"
        ),
        1000,
        "every call as stored"
    );
}

#[test]
fn credentials_come_from_the_environment_or_pgpass_over_tls_and_are_never_shown() {
    let password = "s3cret-Pw-91";
    let pg = Postgres::start_with(Options {
        tcp: true,
        tls: true,
        password: Some(password),
    });
    let dir = tempfile::tempdir().unwrap();
    let (d, home) = (dir.path(), dir.path().join("home"));
    std::fs::create_dir_all(&home).unwrap();
    let url = format!("postgres://twoears@127.0.0.1:{}/postgres", pg.port);
    let team = |url: &str, env: &[(&str, &str)]| {
        let out = run(&["team", "--db", url, "--json"], d, &home, env);
        let all = format!("{}{}", stdout(&out), stderr(&out));
        assert!(!all.contains(password), "the password was shown: {all}");
        out
    };
    let out = team(&url, &[("HOME", home.to_str().unwrap())]);
    assert_eq!(out.status.code(), Some(2), "no password, no entry");
    assert_eq!(stderr(&out).lines().count(), 1, "{}", stderr(&out));
    assert!(
        stderr(&out).contains("postgres://twoears@127.0.0.1"),
        "{}",
        stderr(&out)
    );
    let out = team(&url, &[("PGPASSWORD", password)]);
    assert!(out.status.success(), "{}", stderr(&out));
    let pgpass = home.join(".pgpass");
    std::fs::write(
        &pgpass,
        format!("127.0.0.1:{}:postgres:twoears:{password}\n", pg.port),
    )
    .unwrap();
    std::fs::set_permissions(&pgpass, std::os::unix::fs::PermissionsExt::from_mode(0o600)).unwrap();
    let out = team(&url, &[("HOME", home.to_str().unwrap())]);
    assert!(out.status.success(), "{}", stderr(&out));
    let wrong = format!(
        "postgres://twoears:Wrong-Pw-77@127.0.0.1:{}/postgres",
        pg.port
    );
    let out = run(&["team", "--db", &wrong], d, &home, &[]);
    assert_eq!(out.status.code(), Some(2));
    assert!(!stderr(&out).contains("Wrong-Pw-77"), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("password authentication failed"),
        "{}",
        stderr(&out)
    );
    // Every connection above that got in was encrypted.
    let log = pg.server_log();
    let authorized: Vec<&str> = log
        .lines()
        .filter(|l| l.contains("connection authorized"))
        .collect();
    assert!(authorized.len() >= 2, "{log}");
    assert!(
        authorized.iter().all(|l| l.contains("SSL enabled")),
        "{log}"
    );
    // verify-full checks the name against the certificate; verify-ca only the chain.
    let crt = pg.dir.join("ca.crt");
    let crt = crt.to_str().unwrap();
    let env = [("PGPASSWORD", password)];
    let by_name = format!(
        "postgres://twoears@localhost:{}/postgres?sslmode=verify-full&sslrootcert={crt}",
        pg.port
    );
    let out = team(&by_name, &env);
    assert!(out.status.success(), "{}", stderr(&out));
    let by_ip = format!(
        "postgres://twoears@127.0.0.1:{}/postgres?sslmode=verify-full&sslrootcert={crt}",
        pg.port
    );
    let out = team(&by_ip, &env);
    assert_eq!(
        out.status.code(),
        Some(2),
        "127.0.0.1 is not the certificate's name"
    );
    assert!(stderr(&out).contains("certificate"), "{}", stderr(&out));
    let out = team(&by_ip.replace("verify-full", "verify-ca"), &env);
    assert!(out.status.success(), "{}", stderr(&out));
}

#[test]
fn the_team_page_puts_the_reps_side_by_side() {
    let pg = Postgres::start();
    let url = pg.url();
    let dir = tempfile::tempdir().unwrap();
    let (d, home) = (dir.path(), dir.path().join("home"));
    let store = Store::open(&local_history(&home)).unwrap();
    let mut i = 0;
    for (rep, days) in [
        (
            "ana",
            &["2026-11-02", "2026-11-03", "2026-11-10", "2026-11-17"][..],
        ),
        ("ben", &["2026-11-10", "2026-11-11", "2026-11-17"][..]),
    ] {
        for day in days {
            let mut c = seeded(i, rep, day);
            c.rep_ratio = Some(if rep == "ana" {
                0.75 - 0.1 * i as f64
            } else {
                0.5
            });
            store.save(&c).unwrap();
            i += 1;
        }
    }
    // Stored without a team store: `--all` sends them (and `history --db URL push` takes
    // the parent's --db).
    let out = run(&["history", "--db", &url, "push", "--all"], d, &home, &[]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).starts_with("7 calls sent"), "{}", stdout(&out));
    let out = run(
        &["team", "--db", &url, "--html", "team.html"],
        d,
        &home,
        &[],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let table = stdout(&out);
    assert!(table.lines().nth(1).unwrap().starts_with("ana"), "{table}");
    assert!(table.lines().nth(2).unwrap().starts_with("ben"), "{table}");
    assert!(
        table.contains("2026-W45") && table.contains("2026-W47"),
        "{table}"
    );
    let out = run(
        &["team", "--db", &url, "--rep", "ben", "--json"],
        d,
        &home,
        &[],
    );
    let only: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(only.as_array().map(Vec::len), Some(1));
    assert_eq!(only[0]["rep"], "ben");
    let page = d.join("team.html");
    assert_eq!(mode(&page), 0o600);
    let dom = common::browser::dom(&page);
    assert_eq!(dom.matches("<li class=\"chart\">").count(), 4);
    assert_eq!(
        dom.matches("<polyline class=\"line c").count(),
        4 * 2,
        "a line per rep in each chart"
    );
    assert_eq!(
        dom.matches("<circle class=\"dot c1\"").count(),
        4 * 2,
        "ben: two weeks, four figures"
    );
    assert!(dom.contains("postgres://twoears@"), "the store is named");
    assert!(!dom.contains("secret words"));
    common::browser::screenshot(
        &page,
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("target/team.png"),
    );
}

/// Two workers of a backlog (`review --shard K/2`), each with its own local history, fill
/// one team store.
#[test]
fn shards_of_a_backlog_fill_one_team_store() {
    let pg = Postgres::start();
    let url = pg.url();
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::create_dir(d.join("calls")).unwrap();
    for (name, from) in [("a.wav", "0"), ("b.wav", "20"), ("c.wav", "40")] {
        run_ok(
            Command::new("sox")
                .arg(example())
                .arg(d.join("calls").join(name))
                .args(["trim", from, "30"]),
        );
    }
    let workers: Vec<_> = ["1/2", "2/2"]
        .iter()
        .enumerate()
        .map(|(i, share)| {
            clean_env(&mut Command::new(env!("CARGO_BIN_EXE_twoears")))
                .args([
                    "review", "calls", "--out", "out", "--no-stt", "-q", "--shard", share,
                ])
                .args(["--db", &url, "--rep-name", "backlog"])
                .current_dir(d)
                .env("XDG_DATA_HOME", d.join(format!("worker{i}")))
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    for w in workers {
        let out = w.wait_with_output().unwrap();
        assert!(out.status.success(), "{}", stderr(&out));
    }
    let mut db = pg.client();
    let names: Vec<String> = db
        .query(
            "SELECT name FROM twoears_calls WHERE rep = 'backlog' ORDER BY name",
            &[],
        )
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(names, ["a", "b", "c"], "every call once");
}

/// A URL is checked before any work, and a password in it is never shown: not in an
/// error, not in `--help` (clap shows $TWOEARS_DB there otherwise).
#[test]
fn a_bad_url_is_refused_up_front_without_showing_its_password() {
    let dir = tempfile::tempdir().unwrap();
    let (d, home) = (dir.path(), dir.path().join("home"));
    std::fs::copy(example(), d.join("a.flac")).unwrap();
    for bad in [
        "postgress://dana:Hidden-77@db.example/team",
        "postgres://dana:Hidden-77@db.example:port/team",
        "postgres://dana:Hidden-77@db.example/team?sslmode=always",
        "mysql://dana:Hidden-77@db.example/team",
    ] {
        let out = run(
            &["review", "a.flac", "--no-stt", "--db", bad],
            d,
            &home,
            &[],
        );
        assert_eq!(out.status.code(), Some(2), "{bad}");
        let err = stderr(&out);
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(!err.contains("Hidden-77"), "{err}");
        assert_eq!(stdout(&out), "", "{bad}: no review");
    }
    assert_eq!(
        std::fs::read_dir(d).unwrap().count(),
        1,
        "no file named after a URL"
    );
    let secret = [("TWOEARS_DB", "postgres://dana:Hidden-77@db.example/team")];
    for cmd in [
        &["review", "--help"][..],
        &["history", "push", "--help"],
        &["team", "--help"],
    ] {
        let out = run(cmd, d, &home, &secret);
        assert!(out.status.success());
        assert!(!stdout(&out).contains("Hidden-77"), "{}", stdout(&out));
    }
}
