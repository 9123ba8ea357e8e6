//! `review CALL... --out DIR`: many calls through the real binary and the real model, the
//! index opened in headless Chromium. Run with --test-threads=1 (whisper).

mod common;

use common::browser::*;
use common::*;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

fn example(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(name)
}

/// A folder of calls: the example call (mon), the peer's overlap clip (tue), a file that
/// is no audio (wed) and notes the folder search must pass over.
fn calls(dir: &Path) -> PathBuf {
    let calls = dir.join("calls");
    std::fs::create_dir(&calls).unwrap();
    std::fs::copy(example("examples/call.flac"), calls.join("mon.flac")).unwrap();
    std::fs::copy(
        example("tests/data/stereo_diarization.wav"),
        calls.join("tue.wav"),
    )
    .unwrap();
    std::fs::write(calls.join("wed.wav"), b"not audio at all").unwrap();
    std::fs::write(calls.join("notes.txt"), b"call notes").unwrap();
    calls
}

fn modified(path: &Path) -> SystemTime {
    std::fs::metadata(path).unwrap().modified().unwrap()
}

fn stdout(o: &std::process::Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// The call names in the index's rows, in the order the page shows them.
fn rows(dom: &str) -> Vec<String> {
    dom.split("<tr class=\"call\">")
        .skip(1)
        .map(|row| {
            let link = row.split("<a href=\"").nth(1).unwrap();
            link.split('"')
                .next()
                .unwrap()
                .trim_end_matches(".html")
                .to_string()
        })
        .collect()
}

#[test]
fn a_folder_of_calls_gets_reports_pages_and_an_index_and_a_second_run_skips_them() {
    model();
    let dir = tempfile::tempdir().unwrap();
    let calls = calls(dir.path());
    let out = twoears(&["review", "calls", "--out", "out"], dir.path());
    // One call failed, the others were reviewed: exit 1, the failure named on one line.
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.lines()
            .any(|l| l.contains("wed.wav") && l.contains("not a supported audio file")),
        "{err}"
    );
    assert!(err.contains("1 of 3 calls not reviewed"), "{err}");
    let o = dir.path().join("out");
    for f in ["mon.json", "mon.html", "tue.json", "tue.html", "index.html"] {
        assert_eq!(mode(&o.join(f)) & 0o777, 0o600, "{f}");
    }
    assert!(!o.join("wed.json").exists() && !o.join("notes.json").exists());

    // Each call's report is the one call's review: the same talk figures and alerts.
    let single = dir.path().join("single.json");
    let one = twoears(
        &["review", "calls/mon.flac", "--json", "single.json", "-q"],
        dir.path(),
    );
    assert!(one.status.success(), "{}", stderr(&one));
    let (batch, single) = (report(&o.join("mon.json")), report(&single));
    assert_eq!(batch["talk"], single["talk"]);
    assert_eq!(batch["turns"], single["turns"]);
    let kinds = |r: &serde_json::Value| -> Vec<String> {
        r["alerts"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a["kind"].as_str().unwrap().to_string())
            .collect()
    };
    assert!(!kinds(&batch).is_empty(), "the example call raises alerts");
    assert_eq!(kinds(&batch), kinds(&single));
    assert!(!batch["segments"].as_array().unwrap().is_empty());
    // The page plays the recording, linked relative to the page.
    assert!(
        dom(&o.join("mon.html")).contains("src=\"../calls/mon.flac\""),
        "audio link"
    );

    // The index in a browser: a row per reviewed call linking its page, the failed call
    // listed, the figures shown, and sorting by a column from the address.
    let index = o.join("index.html");
    let d = dom(&index);
    assert!(d.contains("data-ready=\"1\""), "the index's own script ran");
    assert_eq!(rows(&d), ["mon", "tue"]);
    assert!(
        d.contains("<strong>wed</strong>"),
        "the failed call is listed"
    );
    let share = format!("{:.0}%", talk(&batch, "rep_ratio") * 100.0);
    assert!(d.contains(&share), "mon's rep share {share}");
    assert_eq!(rows(&dom_at(&index, "#sort=duration")), ["tue", "mon"]);
    assert_eq!(rows(&dom_at(&index, "#sort=-duration")), ["mon", "tue"]);
    assert!(dom_at(&index, "#sort=-duration").contains("aria-sort=\"descending\""));
    screenshot(&index, &example("target/batch-index.png"));

    // Again: nothing is transcribed, the reports are kept; a missing page is drawn again
    // from its report.
    let kept = modified(&o.join("mon.json"));
    std::fs::remove_file(o.join("tue.html")).unwrap();
    let again = twoears(&["review", "calls", "--out", "out"], dir.path());
    assert_eq!(again.status.code(), Some(1));
    let said = stdout(&again);
    assert!(
        said.lines().filter(|l| l.contains("up to date")).count() == 2,
        "{said}"
    );
    assert_eq!(modified(&o.join("mon.json")), kept);
    assert!(o.join("tue.html").is_file());

    // --force reviews every call again; a fixed folder exits 0.
    std::fs::remove_file(calls.join("wed.wav")).unwrap();
    let forced = twoears(&["review", "calls", "--out", "out", "--force"], dir.path());
    assert!(forced.status.success(), "{}", stderr(&forced));
    assert!(!stdout(&forced).contains("up to date"));
    assert_ne!(modified(&o.join("mon.json")), kept);
}

#[test]
fn new_rules_new_audio_or_another_model_make_a_report_stale() {
    let dir = tempfile::tempdir().unwrap();
    let calls = calls(dir.path());
    std::fs::remove_file(calls.join("wed.wav")).unwrap();
    let run = |extra: &[&str]| {
        let mut args = vec!["review", "calls", "--out", "out", "--no-stt", "--jobs", "1"];
        args.extend_from_slice(extra);
        let out = twoears(&args, dir.path());
        assert!(out.status.success(), "{}", stderr(&out));
        stdout(&out)
    };
    let fresh = |said: &str, name: &str| {
        said.lines()
            .any(|l| l.starts_with(name) && l.contains("up to date"))
    };
    run(&[]);
    let said = run(&[]);
    assert!(fresh(&said, "mon") && fresh(&said, "tue"), "{said}");

    std::fs::write(dir.path().join("rules.toml"), "[monologue]\nmax_s = 30.0\n").unwrap();
    let said = run(&["--rules", "rules.toml"]);
    assert!(!fresh(&said, "mon") && !fresh(&said, "tue"), "{said}");
    assert!(fresh(&run(&["--rules", "rules.toml"]), "mon"));

    // The same name, other audio: reviewed again.
    std::fs::copy(
        example("tests/data/stereo_diarization.wav"),
        calls.join("mon.flac"),
    )
    .unwrap();
    let said = run(&["--rules", "rules.toml"]);
    assert!(!fresh(&said, "mon") && fresh(&said, "tue"), "{said}");
    // Another channel for the rep changes what each side said.
    let said = run(&["--rules", "rules.toml", "--rep-channel", "right"]);
    assert!(!fresh(&said, "tue"), "{said}");
}

#[test]
fn batch_outputs_never_replace_what_is_not_theirs() {
    let dir = tempfile::tempdir().unwrap();
    calls(dir.path());
    let o = dir.path().join("out");
    std::fs::create_dir(&o).unwrap();
    // Someone's notes where mon's report would go: mon is refused, tue goes on.
    std::fs::write(o.join("mon.json"), b"my notes").unwrap();
    let out = twoears(&["review", "calls", "--out", "out", "--no-stt"], dir.path());
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("is not a twoears report"),
        "{}",
        stderr(&out)
    );
    assert_eq!(std::fs::read(o.join("mon.json")).unwrap(), b"my notes");
    assert!(o.join("tue.json").is_file());

    // An index.html that is not ours stops the run before any call.
    let other = dir.path().join("other");
    std::fs::create_dir(&other).unwrap();
    std::fs::write(other.join("index.html"), b"<p>my page</p>").unwrap();
    let out = twoears(
        &["review", "calls", "--out", "other", "--no-stt"],
        dir.path(),
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("index.html"), "{}", stderr(&out));
    assert_eq!(std::fs::read_dir(&other).unwrap().count(), 1);

    // Several calls without --out, or a folder of nothing: one line, exit 2.
    let out = twoears(&["review", "calls/mon.flac", "calls/tue.wav"], dir.path());
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("several calls need --out DIR"));
    std::fs::create_dir(dir.path().join("empty")).unwrap();
    let out = twoears(&["review", "empty", "--out", "o2", "--no-stt"], dir.path());
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("no recordings in it"),
        "{}",
        stderr(&out)
    );
    let out = twoears(
        &["review", "calls", "--out", "o3", "--jobs", "0"],
        dir.path(),
    );
    assert_eq!(out.status.code(), Some(2));
}

/// N machines split a backlog with --shard K/N: each reviews every Nth call, names agree,
/// together they review every call once, and the index lists them all.
#[test]
fn shards_split_a_backlog_and_together_review_every_call_once() {
    let dir = tempfile::tempdir().unwrap();
    let calls = dir.path().join("calls");
    std::fs::create_dir(&calls).unwrap();
    for name in ["a.wav", "b.wav", "c.wav"] {
        std::fs::copy(
            example("tests/data/stereo_diarization.wav"),
            calls.join(name),
        )
        .unwrap();
    }
    let mut seen = Vec::new();
    for k in ["1/2", "2/2"] {
        let out = twoears(
            &[
                "review",
                "calls",
                "--out",
                "out",
                "--no-stt",
                "--no-save",
                "--shard",
                k,
            ],
            dir.path(),
        );
        assert!(out.status.success(), "{}", stderr(&out));
        let said = stdout(&out);
        let names: Vec<String> = said
            .lines()
            .filter(|l| !l.starts_with("index"))
            .map(|l| l.split_whitespace().next().unwrap().to_string())
            .collect();
        seen.push(names);
    }
    assert_eq!(seen, [vec!["a", "c"], vec!["b"]]);
    assert_eq!(
        rows(&dom(&dir.path().join("out/index.html"))),
        ["a", "b", "c"]
    );
    let out = twoears(
        &[
            "review",
            "calls",
            "--out",
            "out",
            "--no-stt",
            "--no-save",
            "--shard",
            "5/5",
        ],
        dir.path(),
    );
    assert!(
        out.status.success(),
        "an empty share is no error: {}",
        stderr(&out)
    );
    for bad in ["0/2", "3/2", "x"] {
        let out = twoears(
            &["review", "calls", "--out", "o", "--shard", bad],
            dir.path(),
        );
        assert_eq!(out.status.code(), Some(2), "{bad}");
    }
}

/// One call (tue) reviewed into `out`; returns its report's path.
fn one_call_reviewed(dir: &Path) -> PathBuf {
    let calls = dir.join("calls");
    std::fs::create_dir(&calls).unwrap();
    std::fs::copy(
        example("tests/data/stereo_diarization.wav"),
        calls.join("tue.wav"),
    )
    .unwrap();
    let out = twoears(&["review", "calls", "--out", "out", "--no-stt"], dir);
    assert!(out.status.success(), "{}", stderr(&out));
    dir.join("out/tue.json")
}

// Hostile-input probe, item 1: a report in the --out folder set to duration_s 1e12, its
// page deleted: the next run redrew the page with 5.5e8 timeline ticks (15.5 GB).
#[test]
fn a_planted_report_with_numbers_no_call_has_is_reviewed_again() {
    let dir = tempfile::tempdir().unwrap();
    let json = one_call_reviewed(dir.path());
    let real = report(&json);
    let text = std::fs::read_to_string(&json).unwrap();
    let page = dir.path().join("out/tue.html");
    // Edited in place, as by hand: the first `key` (the turns' before the segments').
    let plant = |key: &str, value: &str| {
        let mut done = false;
        let edited: Vec<String> = text
            .lines()
            .map(|l| match l.split_once(&format!("\"{key}\": ")) {
                Some((indent, old)) if !done => {
                    done = true;
                    let comma = if old.ends_with(',') { "," } else { "" };
                    format!("{indent}\"{key}\": {value}{comma}")
                }
                _ => l.to_string(),
            })
            .collect();
        assert!(done, "{key} in the report");
        std::fs::write(&json, edited.join("\n")).unwrap();
        std::fs::remove_file(&page).unwrap();
        let out = twoears(&["review", "calls", "--out", "out", "--no-stt"], dir.path());
        assert!(out.status.success(), "{}", stderr(&out));
        (stdout(&out), stderr(&out))
    };
    for (key, value, why) in [
        ("duration_s", "1e12", "duration_s"),
        ("duration_s", "-30.0", "duration_s"),
        ("end_s", "1e300", "turns"),
        ("start_s", "-5e9", "turns"),
    ] {
        let (said, err) = plant(key, value);
        assert!(
            err.contains("tue.json")
                && err.contains(why)
                && err.contains("reviewing the call again"),
            "{key}: {err}"
        );
        assert!(!said.contains("up to date"), "{said}");
        // Reviewed again: the report is the real one, the page drawn from it.
        assert_eq!(report(&json)["duration_s"], real["duration_s"]);
        let html = std::fs::read_to_string(&page).unwrap();
        let ticks = html.matches("class=\"tick\"").count();
        assert!(ticks <= 12, "{ticks} ticks");
    }
    let said = stdout(&twoears(
        &["review", "calls", "--out", "out", "--no-stt"],
        dir.path(),
    ));
    assert!(said.contains("up to date"), "{said}");

    // A planted report of a call not in the run, with its page: left out of the index.
    let mut ghost = real.clone();
    ghost["duration_s"] = serde_json::json!(1e12);
    let out_dir = dir.path().join("out");
    std::fs::write(out_dir.join("ghost.json"), ghost.to_string()).unwrap();
    std::fs::copy(&page, out_dir.join("ghost.html")).unwrap();
    let out = twoears(&["review", "calls", "--out", "out", "--no-stt"], dir.path());
    assert!(out.status.success(), "{}", stderr(&out));
    let index = std::fs::read_to_string(out_dir.join("index.html")).unwrap();
    assert!(index.contains("tue.html") && !index.contains("ghost"));
}

// Hostile-input probe, item 2: a file named with `\e[2J\e]0;pwned\a` cleared the screen
// and retitled the terminal from the batch summary and the error lines.
#[test]
fn terminal_escapes_in_file_names_are_printed_escaped() {
    let dir = tempfile::tempdir().unwrap();
    let calls = dir.path().join("calls");
    std::fs::create_dir(&calls).unwrap();
    std::fs::copy(
        example("tests/data/stereo_diarization.wav"),
        calls.join("ok\x1b[2J\x1b]0;pwned\x07.wav"),
    )
    .unwrap();
    std::fs::write(calls.join("bad\x1b[31m.wav"), b"not audio at all").unwrap();
    let out = twoears(&["review", "calls", "--out", "out", "--no-stt"], dir.path());
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    for (what, bytes) in [("stdout", &out.stdout), ("stderr", &out.stderr)] {
        assert!(
            !bytes.iter().any(|b| *b == 0x1b || *b == 0x07),
            "{what} carries a raw escape: {:?}",
            String::from_utf8_lossy(bytes)
        );
    }
    let (said, err) = (stdout(&out), stderr(&out));
    assert!(said.contains(r"ok\x1b[2J\x1b]0;pwned\x07"), "{said}");
    assert!(
        said.lines()
            .any(|l| l.starts_with(r"bad\x1b[31m ") && l.ends_with("not reviewed")),
        "{said}"
    );
    assert!(
        err.contains(r"bad\x1b[31m.wav"),
        "the error line names it: {err}"
    );
    // The files themselves keep their names.
    assert!(dir
        .path()
        .join("out/ok\x1b[2J\x1b]0;pwned\x07.json")
        .is_file());
}
