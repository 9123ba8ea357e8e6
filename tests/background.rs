//! `twoears listen --background` and the live capture self-checks, against a real headless
//! sound server (PulseAudio, or PipeWire with TWOEARS_SOUND_SERVER=pipewire): calls are
//! played into a virtual mic and a virtual output in real time.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use common::pulse::{Pulse, EVENT_CAP};
use common::{example, report, run_ok, talk, twoears};
use serde_json::Value;

/// One side (`ch` 1 = rep, 2 = prospect) of the example call from `from` for `secs`.
fn excerpt(dir: &Path, name: &str, ch: &str, from: f64, secs: f64) -> PathBuf {
    let out = dir.join(name);
    run_ok(Command::new("sox").arg(example()).arg(&out).args([
        "remix",
        ch,
        "trim",
        &from.to_string(),
        &secs.to_string(),
    ]));
    out
}

/// The background monitor as the notice tests run it: talk only, desktop notices, calls
/// into `calls/`, an event log and a history of its own.
const NOTIFYING: &[&str] = &[
    "--background",
    "--no-stt",
    "--notify",
    "--out",
    "calls",
    "--events",
    "events.jsonl",
    "--db",
    "h.sqlite",
];

/// Talk seconds of a stereo excerpt as `review` hears them.
fn reviewed(dir: &Path, from: f64, secs: f64, name: &str) -> Value {
    let wav = dir.join(format!("{name}.wav"));
    run_ok(Command::new("sox").arg(example()).arg(&wav).args([
        "trim",
        &from.to_string(),
        &secs.to_string(),
    ]));
    common::review_talk(dir, &wav, &format!("{name}.json"))
}

/// Two calls 14 s apart (the example call's first 25 s, then 26 s from 0:42), each side
/// into its own sink: `listen --background` writes two reports, each hearing its call as
/// `review` hears the same excerpt, with its recording beside it.
#[test]
fn two_calls_in_a_row_get_a_report_and_a_recording_each() {
    let Some(pulse) = Pulse::start() else { return };
    common::model();
    let _whisper = common::whisper_turn();
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let mut sides = Vec::new();
    for (ch, name) in [("1", "rep"), ("2", "prospect")] {
        let a = excerpt(d, &format!("{name}_a.wav"), ch, 0.0, 25.0);
        let b = excerpt(d, &format!("{name}_b.wav"), ch, 42.0, 26.0);
        let gap = d.join(format!("{name}_gap.wav"));
        run_ok(
            Command::new("sox")
                .arg(&a)
                .arg(&gap)
                .args(["trim", "0", "14", "vol", "0"]),
        );
        let whole = d.join(format!("{name}.wav"));
        run_ok(Command::new("sox").arg(&a).arg(&gap).arg(&b).arg(&whole));
        sides.push(whole);
    }
    std::fs::write(d.join("rules.toml"), "[calls]\nend_silence_s = 8.0\n").unwrap();
    let l = pulse.listen(
        &[
            "--background",
            "--out",
            "calls",
            "--record",
            "--events",
            "events.jsonl",
            "--rules",
            "rules.toml",
            "--db",
            "h.sqlite",
            "--duration",
            "76",
        ],
        d,
    );
    let mut players = [
        pulse.play("micsink", &sides[0]),
        pulse.play("callsink", &sides[1]),
    ];
    let f = l.wait(Duration::from_secs(120));
    for p in &mut players {
        p.wait();
    }
    assert_eq!(f.code, Some(0), "{}", f.stderr);
    let calls = d.join("calls");
    let mut reports: Vec<PathBuf> = std::fs::read_dir(&calls)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    reports.sort();
    assert_eq!(reports.len(), 2, "{}\n{}", f.stdout, f.stderr);
    let truths = [
        reviewed(d, 0.0, 25.0, "truth_a"),
        reviewed(d, 42.0, 26.0, "truth_b"),
    ];
    for (written, truth) in reports.iter().zip(&truths) {
        let r = report(written);
        for key in ["rep_s", "prospect_s"] {
            let (got, want) = (talk(&r, key), talk(truth, key));
            assert!(
                (got - want).abs() <= 0.1 * want + 0.5,
                "{}: {key} {got} vs {want}; capture: {}; warnings: {}",
                written.display(),
                r["live"]["capture"],
                r["warnings"]
            );
        }
        // Not a minute of trailing silence: the call ends near its last words.
        let truth_s = talk(truth, "rep_s") + talk(truth, "prospect_s");
        assert!(
            r["duration_s"].as_f64().unwrap() < truth_s + 12.0,
            "{}",
            r["duration_s"]
        );
        assert!(!r["segments"].as_array().unwrap().is_empty(), "transcribed");
        // Each call carries its own capture figures: both devices, nothing lost or
        // reopened, and the audio path's latency measured while it lasted.
        let capture = r["live"]["capture"].as_array().expect("live.capture");
        let sides: Vec<&str> = capture
            .iter()
            .map(|c| c["side"].as_str().unwrap())
            .collect();
        assert_eq!(sides, ["rep", "prospect"], "{}", r["live"]);
        let call_s = r["duration_s"].as_f64().unwrap();
        for c in capture {
            assert_eq!(c["dropped_frames"], 0, "{c}");
            assert_eq!(c["reopened"], 0, "{c}");
            // Audio the sound server lost is counted, not hidden by trimming the other
            // side (a loaded run's PulseAudio lost 2.8 s of the mic in one call, its talk
            // figures still right): a figure for the benchmarks, bounded here only so that
            // a side silent for the rest of the call fails.
            let gap = c["gap_s"].as_f64().unwrap();
            assert!((0.0..call_s / 4.0).contains(&gap), "{c}");
        }
        // Measured, not limited here: the figures are `make bench-live`'s.
        let path_ms = r["live"]["audio_path_ms"].as_array().unwrap();
        let median = path_ms[0].as_f64().unwrap();
        assert!(median > 0.0, "{}", r["live"]);
        for ext in ["html", "wav"] {
            let p = written.with_extension(ext);
            let mode = std::os::unix::fs::PermissionsExt::mode(
                &std::fs::metadata(&p).unwrap().permissions(),
            );
            assert_eq!(mode & 0o777, 0o600, "{}", p.display());
        }
        // The recording is the call as heard: its review gives the same talk.
        let name = written.file_stem().unwrap().to_str().unwrap();
        let again = twoears(
            &[
                "review",
                &format!("calls/{name}.wav"),
                "--no-stt",
                "-q",
                "--json",
                "again.json",
            ],
            d,
        );
        assert!(again.status.success(), "{}", common::stderr(&again));
        let again = report(&d.join("again.json"));
        for key in ["rep_s", "prospect_s"] {
            assert!((talk(&again, key) - talk(&r, key)).abs() <= 0.03 * talk(&r, key) + 0.1);
        }
    }
    let events = std::fs::read_to_string(d.join("events.jsonl")).unwrap();
    let kinds: Vec<String> = events
        .lines()
        .map(|l| {
            serde_json::from_str::<Value>(l).unwrap()["type"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .filter(|k| k.starts_with("call_"))
        .collect();
    assert_eq!(
        kinds,
        ["call_start", "call_end", "call_start", "call_end"],
        "{events}"
    );
    // Each call is in the history too, with its own figures.
    let out = twoears(&["history", "--db", "h.sqlite", "--json"], d);
    assert!(out.status.success(), "{}", common::stderr(&out));
    let kept: Vec<Value> = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(kept.len(), 2, "{kept:?}");
    let mut ratios: Vec<String> = kept.iter().map(|c| c["rep_ratio"].to_string()).collect();
    ratios.dedup();
    assert_eq!(ratios.len(), 2, "two calls, two figures: {kept:?}");
}

/// A side that goes digitally silent while the other speaks is named (the call playing on
/// another output; then a muted microphone) and cleared when it is back. How soon is a
/// rule (`capture.silent_side_s`), checked on the call's clock in `live::side_check`.
#[test]
fn a_silent_side_is_warned_about_and_cleared() {
    let Some(pulse) = Pulse::start() else { return };
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let rep = excerpt(d, "rep.wav", "1", 0.0, 60.0);
    let rep_loud = d.join("rep_all.wav");
    // The rep talks throughout (the example's rep turns, looped) while nothing plays out.
    run_ok(
        Command::new("sox")
            .arg(&rep)
            .arg(&rep_loud)
            .args(["repeat", "1"]),
    );
    // From 0:07, where the prospect starts talking (before it the channel is digital zeros).
    let prospect = excerpt(d, "prospect.wav", "2", 7.0, 60.0);
    let l = pulse.listen(
        &["--no-stt", "--duration", "75", "--events", "events.jsonl"],
        d,
    );
    let _rep = pulse.play("micsink", &rep_loud);
    // The first seconds say what each side delivers, as `twoears check` does.
    l.wait_for("microphone  virtmic: speech: ok", EVENT_CAP);
    // Nothing plays on the output yet: not a fault before a call (issue 34).
    l.wait_for("call audio  callsink.monitor: nothing plays yet", EVENT_CAP);
    l.wait_for("the call audio has been digital silence", EVENT_CAP);
    let _prospect = pulse.play("callsink", &prospect);
    l.wait_for("the call audio delivers sound again", EVENT_CAP);
    // The rep mutes the microphone on the server while the prospect talks.
    pulse.pactl(&["set-source-mute", "virtmic", "1"]);
    // The server's mute switch is named; the silence is warned about once the prospect
    // pauses for an answer that does not come.
    l.wait_for("virtmic is muted on the sound server", EVENT_CAP);
    l.wait_for("the microphone has delivered digital silence", EVENT_CAP);
    pulse.pactl(&["set-source-mute", "virtmic", "0"]);
    l.wait_for("virtmic is unmuted on the sound server", EVENT_CAP);
    l.wait_for("the microphone delivers sound again", EVENT_CAP);
    l.signal("INT");
    let f = l.wait(EVENT_CAP);
    assert_eq!(f.code, Some(0), "{}", f.stderr);
    let events = std::fs::read_to_string(d.join("events.jsonl")).unwrap();
    let capture: Vec<Value> = events
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .filter(|v| v["type"] == "capture")
        .collect();
    // The server's mute switch is in the log too, as a problem of the rep's device and
    // then as news.
    let device = |state: &str, says: &str| {
        capture.iter().any(|v| {
            v["side"] == "rep"
                && v["state"] == state
                && v["message"].as_str().unwrap().contains(says)
        })
    };
    assert!(device("warning", "muted on the sound server"), "{events}");
    assert!(device("notice", "unmuted on the sound server"), "{events}");
    let capture: Vec<(String, String)> = capture
        .iter()
        .filter(|v| v["state"] == "silent" || v["state"] == "back")
        .map(|v| {
            (
                v["side"].as_str().unwrap().into(),
                v["state"].as_str().unwrap().into(),
            )
        })
        .collect();
    let want = [
        ("prospect", "silent"),
        ("prospect", "back"),
        ("rep", "silent"),
        ("rep", "back"),
    ];
    let want: Vec<(String, String)> = want
        .iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect();
    assert_eq!(capture, want, "{events}");
}

/// `twoears check` before a call: the rep talking into the mic is speech; an output with
/// nothing playing is digital silence, with what to do; both talking is both ok.
#[test]
fn check_says_what_each_side_delivers() {
    let Some(pulse) = Pulse::start() else { return };
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let rep = excerpt(d, "rep.wav", "1", 0.0, 6.0);
    let prospect = excerpt(d, "prospect.wav", "2", 7.0, 6.0);
    let check = || {
        let out = pulse
            .env(&mut Command::new(env!("CARGO_BIN_EXE_twoears")))
            .args(["check", "--seconds", "4"])
            .current_dir(d)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let said = {
        let _rep = pulse.play("micsink", &rep);
        check()
    };
    let lines: Vec<&str> = said.lines().collect();
    assert!(
        lines[0].starts_with("microphone") && lines[0].contains("speech: ok"),
        "{said}"
    );
    assert!(
        lines[1].starts_with("call audio")
            && lines[1].contains("digital silence")
            && lines[1].contains("--system"),
        "{said}"
    );
    let _rep = pulse.play("micsink", &rep);
    let _prospect = pulse.play("callsink", &prospect);
    let said = check();
    assert_eq!(said.matches("speech: ok").count(), 2, "{said}");
    // For scripts: the same findings as JSON (the excerpts played again).
    drop((_rep, _prospect));
    let _rep = pulse.play("micsink", &rep);
    let _prospect = pulse.play("callsink", &prospect);
    let out = pulse
        .env(&mut Command::new(env!("CARGO_BIN_EXE_twoears")))
        .args(["check", "--seconds", "4", "--json"])
        .current_dir(d)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", common::stderr(&out));
    let found: Value = serde_json::from_slice(&out.stdout).expect("JSON on stdout");
    let heard: Vec<(&str, &str)> = found
        .as_array()
        .unwrap()
        .iter()
        .map(|f| (f["side"].as_str().unwrap(), f["heard"].as_str().unwrap()))
        .collect();
    assert_eq!(
        heard,
        [("rep", "speech"), ("prospect", "speech")],
        "{found}"
    );
    // A microphone that is not there: a line for each side, what to pass, and a failure.
    let out = pulse
        .env(&mut Command::new(env!("CARGO_BIN_EXE_twoears")))
        .args(["check", "--seconds", "2", "--mic", "nosuchmic"])
        .current_dir(d)
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(!out.status.success(), "{said}");
    let lines: Vec<&str> = said.lines().collect();
    assert!(
        lines[0].starts_with("microphone")
            && lines[0].contains("no device")
            && lines[0].contains("nosuchmic")
            && lines[0].contains("--mic"),
        "{said}"
    );
    assert!(
        lines[1].starts_with("call audio") && lines[1].contains("not heard"),
        "{said}"
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.trim().lines().count(), 1, "{err}");
}

/// The event log's lines.
fn events(path: &Path) -> Vec<Value> {
    std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// `secs` of digital silence at the rate and layout of `like`.
fn silence(like: &Path, out: &Path, secs: f64) {
    run_ok(Command::new("sox").arg(like).arg(out).args([
        "trim",
        "0",
        "0.1",
        "vol",
        "0",
        "pad",
        "0",
        &(secs - 0.1).to_string(),
    ]));
}

/// The files of `parts` one after the other, into `out`.
fn joined(out: &Path, parts: &[&Path]) {
    run_ok(Command::new("sox").args(parts).arg(out));
}

// Issue 34: every call's opening raised "the call audio has been digital silence for 84 s
// while you speak": the count ran from the last call's last words.
/// Three calls in the background, the rep greeting first in each, 80 s and 4.5 min apart,
/// with a minute of the rep talking alone (nobody answers) in the long gap: three calls,
/// and not one capture warning on the terminal, in the event log or on the desktop.
#[test]
#[ignore = "8 min in real time: scripts/live_long.sh runs it beside the other tests"]
fn calls_the_rep_opens_raise_no_capture_warning_in_the_background() {
    let Some(pulse) = Pulse::start() else { return };
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    // The example call's first 25 s: the rep talks alone for 6 s before the prospect.
    let rep_call = excerpt(d, "rep_call.wav", "1", 0.0, 25.0);
    let prospect_call = excerpt(d, "prospect_call.wav", "2", 0.0, 25.0);
    // The rep talking on to someone in the room: the rep's turns with the pauses where
    // the prospect spoke cut to breaths, a minute of it.
    let rep_all = excerpt(d, "rep_all.wav", "1", 0.0, 90.0);
    let alone = d.join("alone.wav");
    run_ok(Command::new("sox").arg(&rep_all).arg(&alone).args([
        "silence", "-l", "1", "0.1", "1%", "-1", "0.4", "1%", "repeat", "3", "trim", "0", "60",
    ]));
    let gap = |name: &str, secs: f64| {
        let p = d.join(name);
        silence(&rep_call, &p, secs);
        p
    };
    let (g80, g60, g150, g270, tail) = (
        gap("g80.wav", 80.0),
        gap("g60.wav", 60.0),
        gap("g150.wav", 150.0),
        gap("g270.wav", 270.0),
        gap("tail.wav", 70.0),
    );
    let rep = d.join("rep.wav");
    joined(
        &rep,
        &[
            &rep_call, &g80, &rep_call, &g60, &alone, &g150, &rep_call, &tail,
        ],
    );
    let prospect = d.join("prospect.wav");
    joined(
        &prospect,
        &[
            &prospect_call,
            &g80,
            &prospect_call,
            &g270,
            &prospect_call,
            &tail,
        ],
    );
    let secs = common::duration_s(&rep);
    let (shown, path) = common::desktop(d);
    let l = pulse.listen_env(
        &[NOTIFYING, &["--duration", &format!("{}", secs.ceil())]].concat(),
        d,
        &[("PATH", path.as_str())],
    );
    let _players = [
        pulse.play("micsink", &rep),
        pulse.play("callsink", &prospect),
    ];
    let f = l.wait(Duration::from_secs_f64(secs + 300.0));
    assert_eq!(f.code, Some(0), "{}", f.stderr);
    // The first look names the idle output without calling it a problem.
    assert!(f.stderr.contains("nothing plays yet"), "{}", f.stderr);
    let log = events(&d.join("events.jsonl"));
    let starts = log.iter().filter(|e| e["type"] == "call_start").count();
    assert_eq!(starts, 3, "{}", f.stderr);
    // (A device that stalls for seconds on an overloaded machine is warned about too:
    // that is a real fault, and not what this test is about.)
    let silent: Vec<&Value> = log
        .iter()
        .filter(|e| e["type"] == "capture" && e["state"] == "silent")
        .collect();
    assert!(silent.is_empty(), "{silent:?}");
    assert!(!f.stderr.contains("digital silence for"), "{}", f.stderr);
    let notified = std::fs::read_to_string(&shown).unwrap_or_default();
    assert!(!notified.contains("digital silence"), "{notified}");
}

/// A call that plays on another output (a headset's own sink, while the monitor watches
/// the speakers): the rep talks in turns and nothing answers on the watched output. Warned
/// once, within 30 s of the rep's first words, on the desktop too, and cleared when the
/// call's audio comes to the watched output.
#[test]
fn a_call_on_another_output_is_warned_once_within_30_s_and_cleared() {
    let Some(pulse) = Pulse::start() else { return };
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    pulse.pactl(&[
        "load-module",
        "module-null-sink",
        "sink_name=headset",
        "sink_properties=device.description=Headset",
    ]);
    let rep = excerpt(d, "rep.wav", "1", 0.0, 70.0);
    let prospect = excerpt(d, "prospect.wav", "2", 0.0, 70.0);
    let later = excerpt(d, "prospect_later.wav", "2", 35.0, 35.0);
    let (shown, path) = common::desktop(d);
    let l = pulse.listen_env(NOTIFYING, d, &[("PATH", path.as_str())]);
    let _rep = pulse.play("micsink", &rep);
    let headset = pulse.play("headset", &prospect);
    l.wait_for(
        "the call audio has been digital silence",
        Duration::from_secs(90),
    );
    // The rep moves the call to the speakers.
    drop(headset);
    let _speakers = pulse.play("callsink", &later);
    l.wait_for(
        "the call audio delivers sound again",
        Duration::from_secs(60),
    );
    l.signal("INT");
    let f = l.wait(Duration::from_secs(60));
    assert_eq!(f.code, Some(0), "{}", f.stderr);
    let log = events(&d.join("events.jsonl"));
    let said = |state: &str| -> Vec<&Value> {
        log.iter()
            .filter(|e| e["type"] == "capture" && e["side"] == "prospect" && e["state"] == state)
            .collect()
    };
    let silent = said("silent");
    assert_eq!(silent.len(), 1, "once: {silent:?}");
    assert_eq!(said("back").len(), 1, "{log:?}");
    // The monitor's clock starts before the rep's first words (about 0.5 s into the
    // excerpt, once the player runs).
    let at_s = silent[0]["at_s"].as_f64().unwrap();
    assert!(at_s <= 30.0, "warned at {at_s} s of the monitor's clock");
    let notified = std::fs::read_to_string(&shown).expect("a desktop notification");
    assert_eq!(
        notified
            .matches("the call audio has been digital silence")
            .count(),
        1,
        "{notified}"
    );
}
