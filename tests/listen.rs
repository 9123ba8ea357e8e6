//! `twoears listen` against a real (headless) PulseAudio server: the bundled call is
//! played into a virtual mic and a virtual output in real time and captured live.

mod common;

use std::path::Path;
use std::time::Duration;

use common::pulse::{example_sides, Pulse, EVENT_CAP};
use common::{report, review_talk, talk, twoears};
use serde_json::Value;

fn capture<'a>(r: &'a Value, side: &str) -> &'a Value {
    r["live"]["capture"]
        .as_array()
        .expect("capture section")
        .iter()
        .find(|c| c["side"] == side)
        .expect("side in capture")
}

/// The recording `dir/rec.wav` is as long as the call in report `r` (a gap in capture is
/// recorded as silence); the call's length.
fn recording_keeps_the_call(dir: &Path, r: &Value) -> f64 {
    let secs = wav_seconds(&dir.join("rec.wav"));
    let call_s = r["duration_s"].as_f64().unwrap();
    assert!(
        (secs - call_s).abs() < 0.5,
        "recording keeps the call's length: {secs} s of {call_s} s"
    );
    call_s
}

/// Seconds of audio in a WAV, read as a decoder would (the header must be valid).
fn wav_seconds(path: &Path) -> f64 {
    let r = hound::WavReader::open(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let spec = r.spec();
    assert_eq!((spec.channels, spec.sample_rate), (2, 16_000));
    f64::from(r.duration()) / 16_000.0
}

/// The example call's first `secs`, after `remix` (sox's channel map, if any), reviewed.
fn review_example(dir: &Path, secs: f64, remix: &[&str]) -> Value {
    let mut sox = std::process::Command::new("sox");
    sox.arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/call.flac"))
        .arg(dir.join("file.wav"));
    if !remix.is_empty() {
        sox.arg("remix").args(remix);
    }
    common::run_ok(sox.args(["trim", "0", &secs.to_string()]));
    review_talk(dir, &dir.join("file.wav"), "file.json")
}

/// PipeWire resumes a suspended source as soon as a stream links to it (and keeps one in
/// use running), so a test that holds a source suspended runs on PulseAudio only (staged on
/// PipeWire, it passed in some runs and not in others).
fn cannot_hold_a_source_suspended() -> bool {
    let pipewire = common::pulse::pipewire();
    if pipewire {
        eprintln!("SKIPPED (PipeWire): a source cannot be held suspended");
    }
    pipewire
}

fn within(got: f64, want: f64, rel: f64) -> bool {
    (got - want).abs() <= rel * want.max(1e-9)
}

#[test]
fn devices_lists_the_microphone_and_the_output_monitors() {
    let Some(pulse) = Pulse::start() else { return };
    let out = pulse
        .env(&mut std::process::Command::new(env!(
            "CARGO_BIN_EXE_twoears"
        )))
        .arg("devices")
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success());
    let (mics, monitors) = text.split_once("System audio").expect("two sections");
    assert!(
        mics.contains("virtmic") && mics.contains("Virtual_Mic"),
        "{text}"
    );
    assert!(monitors.contains("callsink.monitor"), "{text}");
    assert!(
        !mics.contains(".monitor"),
        "monitors are listed as system audio: {text}"
    );
}

#[test]
fn unknown_or_ambiguous_devices_get_one_line_errors_naming_the_choices() {
    let Some(pulse) = Pulse::start() else { return };
    let dir = tempfile::tempdir().unwrap();
    for (args, needles) in [
        (
            vec!["--mic", "usb headset"],
            vec!["no mic device named \"usb headset\"", "virtmic"],
        ),
        (
            vec!["--system", "sink.monitor"],
            vec!["matches several", "callsink.monitor", "micsink.monitor"],
        ),
    ] {
        let out = pulse
            .env(&mut std::process::Command::new(env!(
                "CARGO_BIN_EXE_twoears"
            )))
            .arg("listen")
            .args(&args)
            .args(["--no-stt", "--duration", "5"])
            .current_dir(dir.path())
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{err}");
        assert_eq!(err.trim().lines().count(), 1, "one line: {err}");
        if args[0] == "--mic" {
            assert!(!err.contains(".monitor"), "monitors are no mics: {err}");
        }
        for n in needles {
            assert!(err.contains(n), "{n:?} in {err}");
        }
    }
    // A description works as well as a name, and any unique part of one.
    let l = pulse.listen(
        &[
            "--mic",
            "virtual_mic",
            "--system",
            "call_audio",
            "--no-stt",
            "--duration",
            "1",
            "-q",
        ],
        dir.path(),
    );
    let f = l.wait(Duration::from_secs(20));
    assert_eq!(f.code, Some(0), "{}", f.stderr);
    assert!(
        f.stderr
            .contains("mic virtmic | system audio callsink.monitor"),
        "{}",
        f.stderr
    );
}

/// The live tests failed on a fresh machine ("no sound server answered (IO error: failed
/// to fill whole buffer)" on PulseAudio, "(server error: Invalid)" on PipeWire) until one
/// of them ran paplay: an account no libpulse client has run on has no
/// `~/.config/pulse/cookie`, and the client sent no cookie at all; while paplay was
/// writing the file it sent a short one. Both servers want 256 bytes, as libpulse sends.
#[test]
fn an_account_without_a_whole_pulse_cookie_is_let_in() {
    let Some(pulse) = Pulse::start() else { return };
    let home = tempfile::tempdir().unwrap();
    let cookie = home.path().join(".config/pulse/cookie");
    for half_written in [false, true] {
        if half_written {
            std::fs::create_dir_all(cookie.parent().unwrap()).unwrap();
            std::fs::write(&cookie, [7u8; 100]).unwrap();
        }
        let run = |args: &[&str]| {
            let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_twoears"));
            common::test_history(&mut cmd);
            pulse
                .env(&mut cmd)
                .env("HOME", home.path())
                .env_remove("XDG_CONFIG_HOME")
                .env_remove("PULSE_COOKIE")
                .args(args)
                .current_dir(home.path())
                .output()
                .unwrap()
        };
        let out = run(&["devices"]);
        let err = common::stderr(&out);
        assert!(out.status.success(), "half written {half_written}: {err}");
        assert!(
            String::from_utf8_lossy(&out.stdout).contains("virtmic"),
            "{err}"
        );
        // For scripts: each device once, with the flag it goes to.
        let out = run(&["devices", "--json"]);
        let listed: Value = serde_json::from_slice(&out.stdout).expect("JSON on stdout");
        let kind = |name: &str| {
            listed
                .as_array()
                .unwrap()
                .iter()
                .find(|d| d["name"] == name)
                .map(|d| d["kind"].clone())
        };
        assert_eq!(kind("virtmic"), Some("mic".into()), "{listed}");
        assert_eq!(kind("callsink.monitor"), Some("system".into()), "{listed}");
        let out = run(&["listen", "--no-stt", "--duration", "1", "-q"]);
        let err = common::stderr(&out);
        assert!(out.status.success(), "half written {half_written}: {err}");
    }
}

#[test]
fn no_sound_server_is_a_clear_error_not_a_hang() {
    let dir = tempfile::tempdir().unwrap();
    // Nothing at the socket, then a socket that accepts and never answers (a hung server).
    let hung = dir.path().join("hung.sock");
    let listener = std::os::unix::net::UnixListener::bind(&hung).unwrap();
    let keep = std::thread::spawn(move || {
        let conns: Vec<_> = listener.incoming().take(4).collect();
        std::thread::sleep(Duration::from_secs(15));
        drop(conns);
    });
    for server in [dir.path().join("absent.sock"), hung] {
        let started = std::time::Instant::now();
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_twoears"))
            .args(["listen", "--no-stt"])
            .env("PULSE_SERVER", format!("unix:{}", server.display()))
            .env("XDG_RUNTIME_DIR", dir.path())
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{err}");
        assert!(err.contains("no sound server answered"), "{err}");
        assert!(
            err.contains("PulseAudio or PipeWire"),
            "says what to do: {err}"
        );
        // A hang check, not a timing: the handshake's own deadline is 5 s.
        assert!(started.elapsed() < EVENT_CAP, "bounded wait");
    }
    drop(keep);
}

#[test]
fn live_call_is_heard_like_its_review_and_recorded_for_review() {
    let Some(pulse) = Pulse::start() else { return };
    let dir = tempfile::tempdir().unwrap();
    let secs = 30.0;
    let (rep, prospect) = example_sides(dir.path(), secs);
    let l = pulse.listen(
        &[
            "--no-stt",
            "--duration",
            "31",
            "--record",
            "rec.wav",
            "--events",
            "events.jsonl",
            "--json",
            "live.json",
        ],
        dir.path(),
    );
    let mut players = [
        pulse.play("micsink", &rep),
        pulse.play("callsink", &prospect),
    ];
    let f = l.wait(Duration::from_secs(60));
    for p in &mut players {
        p.wait();
    }
    assert_eq!(f.code, Some(0), "{}", f.stderr);
    assert!(f.stdout.contains("rep talk ratio"), "summary: {}", f.stdout);

    // The same excerpt of the file, reviewed.
    let file = review_example(dir.path(), secs, &[]);
    let live = report(&dir.path().join("live.json"));
    assert_eq!(live["schema"], "twoears.report/1");
    for key in ["rep_s", "prospect_s"] {
        assert!(
            within(talk(&live, key), talk(&file, key), 0.08),
            "{key}: live {} vs file {}",
            talk(&live, key),
            talk(&file, key)
        );
    }
    assert!((talk(&live, "rep_ratio") - talk(&file, "rep_ratio")).abs() <= 0.03);
    for side in ["rep", "prospect"] {
        let c = capture(&live, side);
        assert_eq!(c["dropped_frames"], 0, "{c}");
        assert_eq!(c["reopened"], 0, "{c}");
    }

    // The recording: valid, the call's length, and review hears what listen heard.
    let rec_s = wav_seconds(&dir.path().join("rec.wav"));
    assert!((rec_s - 31.0).abs() < 0.5, "recording {rec_s} s");
    let again = review_talk(dir.path(), &dir.path().join("rec.wav"), "rec.json");
    for key in ["rep_s", "prospect_s"] {
        assert!(
            within(talk(&again, key), talk(&live, key), 0.02),
            "{key}: review of the recording {} vs live {}",
            talk(&again, key),
            talk(&live, key)
        );
    }

    // Events: a running-figures line every 5 s, flushed, ending near the report's figures.
    let text = std::fs::read_to_string(dir.path().join("events.jsonl")).unwrap();
    let lines: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).expect("one JSON object per line"))
        .collect();
    let periods: Vec<_> = lines.iter().filter(|v| v["type"] == "talk").collect();
    assert_eq!(periods.len(), 6, "{text}");
    let last = periods.last().unwrap();
    assert!(last["at_s"].as_f64().unwrap() >= 30.0);
    assert!(within(
        last["rep_s"].as_f64().unwrap(),
        talk(&live, "rep_s"),
        0.1
    ));
    for key in ["rep_ratio_5min", "speaking", "rep_turn_s", "dropped_frames"] {
        assert!(last.get(key).is_some(), "{key} in {last}");
    }
}

/// Issue 16: on PipeWire, one run in a few heard the rep on both sides, because the two
/// streams looked alike and both watches claimed the system stream. Many short runs in a
/// row (`TWOEARS_CAPTURE_RUNS`, default 3): each hears each side within 0.5 s of the
/// review of what was played, and no stream is moved.
#[test]
fn short_runs_in_a_row_each_hear_both_sides_and_move_no_stream() {
    let Some(pulse) = Pulse::start() else { return };
    let dir = tempfile::tempdir().unwrap();
    let runs: usize = std::env::var("TWOEARS_CAPTURE_RUNS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(3);
    let secs = 12.0;
    let (rep, prospect) = example_sides(dir.path(), secs);
    let o = twoears(
        &[
            "review",
            "--rep",
            rep.to_str().unwrap(),
            "--prospect",
            prospect.to_str().unwrap(),
            "--no-stt",
            "-q",
            "--json",
            "played.json",
        ],
        dir.path(),
    );
    assert!(o.status.success(), "{}", common::stderr(&o));
    let played = report(&dir.path().join("played.json"));
    let mut heard = Vec::new();
    for run in 0..runs {
        let out = format!("run{run}.json");
        // Each run ends once both sides have played out (not at a fixed length: on a busy
        // machine a player may start a second after the run).
        let l = pulse.listen(&["--no-stt", "-q", "--json", &out], dir.path());
        let mut players = [
            pulse.play("micsink", &rep),
            pulse.play("callsink", &prospect),
        ];
        for p in &mut players {
            p.wait();
        }
        std::thread::sleep(Duration::from_secs(1));
        l.signal("INT");
        let f = l.wait(EVENT_CAP);
        assert_eq!(f.code, Some(0), "run {run}: {}", f.stderr);
        assert!(!f.stderr.contains("moved"), "run {run}: {}", f.stderr);
        let live = report(&dir.path().join(&out));
        for side in ["rep", "prospect"] {
            assert_eq!(capture(&live, side)["moves"], 0, "run {run}: {live}");
        }
        heard.push((talk(&live, "rep_s"), talk(&live, "prospect_s")));
    }
    let want = (talk(&played, "rep_s"), talk(&played, "prospect_s"));
    eprintln!("played {want:?}; heard {heard:?}");
    for (run, got) in heard.iter().enumerate() {
        assert!(
            (got.0 - want.0).abs() <= 0.5 && (got.1 - want.1).abs() <= 0.5,
            "run {run} heard {got:?} of {want:?}; all runs {heard:?}"
        );
    }
}

/// Both captures on one device (a wrong --system, or a stream the server moved): the
/// talk figures would be nonsense, so the monitor says so.
#[test]
fn two_sides_carrying_one_signal_are_reported() {
    let Some(pulse) = Pulse::start() else { return };
    let dir = tempfile::tempdir().unwrap();
    let (_, prospect) = example_sides(dir.path(), 10.0);
    let l = pulse.listen(
        &[
            "--no-stt",
            "--duration",
            "10",
            "--mic",
            "callsink.monitor",
            "--system",
            "callsink.monitor",
            "--json",
            "r.json",
        ],
        dir.path(),
    );
    let _player = pulse.play("callsink", &prospect);
    let f = l.wait(Duration::from_secs(30));
    assert_eq!(f.code, Some(0), "{}", f.stderr);
    assert!(f.stderr.contains("carry the same sound"), "{}", f.stderr);
    let r = report(&dir.path().join("r.json"));
    assert!(r["warnings"].to_string().contains("same sound"), "{r}");
}

#[test]
fn ctrl_c_finalises_the_recording_and_a_kill_loses_at_most_a_second() {
    let Some(pulse) = Pulse::start() else { return };
    let dir = tempfile::tempdir().unwrap();
    let (rep, prospect) = example_sides(dir.path(), 12.0);
    let _players = [
        pulse.play("micsink", &rep),
        pulse.play("callsink", &prospect),
    ];

    let l = pulse.listen(
        &[
            "--no-stt",
            "--record",
            "int.wav",
            "--json",
            "int.json",
            "--events",
            "int.jsonl",
        ],
        dir.path(),
    );
    let kill = pulse.listen(
        &["--no-stt", "--record", "kill.wav", "--events", "kill.jsonl"],
        dir.path(),
    );
    // Each has heard 5 s of the call (its first running-figures line) before its signal:
    // what it had heard by then is what its recording must hold.
    let heard_kill = first_talk_at_s(&dir.path().join("kill.jsonl"));
    kill.signal("KILL");
    let heard_int = first_talk_at_s(&dir.path().join("int.jsonl"));
    l.signal("INT");
    let f = l.wait(EVENT_CAP);
    assert_eq!(f.code, Some(0), "{}", f.stderr);
    assert!(
        f.stdout.contains("rep talk ratio"),
        "summary printed: {}",
        f.stdout
    );
    let secs = wav_seconds(&dir.path().join("int.wav"));
    assert!(
        secs >= heard_int,
        "Ctrl-C recording {secs} s, after {heard_int} s were heard"
    );
    let r = report(&dir.path().join("int.json"));
    assert!((r["duration_s"].as_f64().unwrap() - secs).abs() < 0.1);

    kill.wait(EVENT_CAP);
    let killed = wav_seconds(&dir.path().join("kill.wav"));
    assert!(
        killed >= heard_kill - 1.0,
        "killed recording {killed} s, after {heard_kill} s were heard"
    );
}

/// The call time of the first running-figures line in an event log, once it is written.
fn first_talk_at_s(events: &Path) -> f64 {
    let start = std::time::Instant::now();
    loop {
        let text = std::fs::read_to_string(events).unwrap_or_default();
        // Only whole lines: the last one may be half written.
        let whole = text.rsplit_once('\n').map_or("", |(done, _)| done);
        if let Some(at) = whole
            .lines()
            .filter_map(|l| serde_json::from_str::<Value>(l).ok())
            .find(|v| v["type"] == "talk")
            .and_then(|v| v["at_s"].as_f64())
        {
            return at;
        }
        assert!(
            start.elapsed() < EVENT_CAP,
            "no running figures in {}: {text}",
            events.display()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Loads a second virtual mic, `headset` (not the default input, as a USB headset is not
/// when it is plugged in); returns its module index.
fn plug_headset(pulse: &Pulse) -> String {
    pulse
        .pactl(&[
            "load-module",
            "module-remap-source",
            "source_name=headset",
            "master=micsink.monitor",
            "source_properties='device.description=\"USB Headset\"'",
        ])
        .trim()
        .to_string()
}

#[test]
fn an_unplugged_mic_is_filled_with_silence_and_reopened_when_it_returns() {
    let Some(pulse) = Pulse::start() else { return };
    let dir = tempfile::tempdir().unwrap();
    let (_, prospect) = example_sides(dir.path(), 14.0);
    let module = plug_headset(&pulse);
    // The call ends once the prospect's side has played out (see the suspended mic).
    let l = pulse.listen(
        &[
            "--mic",
            "usb headset",
            "--no-stt",
            "--record",
            "rec.wav",
            "--json",
            "r.json",
        ],
        dir.path(),
    );
    let mut player = pulse.play("callsink", &prospect);
    std::thread::sleep(Duration::from_secs(3));
    pulse.pactl(&["unload-module", &module]);
    l.wait_for("disappeared", EVENT_CAP);
    std::thread::sleep(Duration::from_secs(3));
    plug_headset(&pulse);
    l.wait_for("is back", EVENT_CAP);
    player.wait();
    std::thread::sleep(Duration::from_secs(1));
    l.signal("INT");
    let f = l.wait(EVENT_CAP);
    assert_eq!(f.code, Some(0), "{}", f.stderr);
    let r = report(&dir.path().join("r.json"));
    let mic = capture(&r, "rep");
    assert_eq!(mic["reopened"], 1, "{mic}");
    let gap = mic["gap_s"].as_f64().unwrap();
    // At least the 3 s it was away (less what noticing took), and no more than the
    // silence the monitor reported when the mic came back (and the 2 s of noticing):
    // not the rest of the call. A fixed 11 s failed once in a loaded run (12.3 s; not
    // seen again in 5 runs under stress-ng): the message now carries what to look at.
    let away: f64 = f
        .stderr
        .split("is back at ")
        .nth(1)
        .and_then(|t| t.split(" after ").nth(1))
        .and_then(|t| t.split(" s of silence").next())
        .and_then(|t| t.parse().ok())
        .unwrap_or_else(|| panic!("no 'is back' note: {}", f.stderr));
    assert!(
        gap >= 2.0 && gap <= away + 2.0,
        "mic gap {gap} s, away {away} s; capture {}; stderr {}",
        r["live"]["capture"],
        f.stderr
    );
    let other = capture(&r, "prospect");
    assert_eq!(other["gap_s"], 0.0, "the other side went on: {other}");
    assert!(talk(&r, "prospect_s") > 5.0, "prospect heard throughout");
    let call_s = recording_keeps_the_call(dir.path(), &r);
    assert!(call_s >= 14.0, "call {call_s} s");
    assert!(r["warnings"].to_string().contains("disappeared"));
}

/// One of our capture streams, found by its name as pavucontrol shows it: (index, source).
fn stream(pulse: &Pulse, pid: u32, media_name: &str) -> Option<(String, String)> {
    let list = pulse.pactl(&["list", "source-outputs"]);
    let sources = pulse.pactl(&["list", "short", "sources"]);
    list.split("Source Output #").skip(1).find_map(|block| {
        let ours = block.contains(&format!("media.name = \"{media_name}\""))
            && block.contains(&format!("application.process.id = \"{pid}\""));
        let on = block
            .lines()
            .find_map(|l| l.trim().strip_prefix("Source: "))?;
        let source = sources
            .lines()
            .find(|l| l.split('\t').next() == Some(on))?
            .split('\t')
            .nth(1)?;
        let index = block.split_whitespace().next()?;
        ours.then(|| (index.to_string(), source.to_string()))
    })
}

#[test]
fn a_capture_the_server_moves_elsewhere_is_moved_back() {
    let Some(pulse) = Pulse::start() else { return };
    let dir = tempfile::tempdir().unwrap();
    let l = pulse.listen(
        &["--no-stt", "--duration", "16", "-q", "--json", "r.json"],
        dir.path(),
    );
    let pid = l.child.id();
    let output = stream(&pulse, pid, "twoears: call audio")
        .filter(|(_, on)| on == "callsink.monitor")
        .expect("our capture of the output monitor")
        .0;
    let mic = stream(&pulse, pid, "twoears: microphone").expect("our mic capture");
    // WirePlumber under load can drop a move request (the stream stays where it was and
    // nothing moved it back): ask again, as a user would, until the server acts on it.
    let mut asked: u64 = 0;
    let start = std::time::Instant::now();
    while !l.stderr().contains("moved it back") {
        let waited = start.elapsed();
        assert!(
            waited < EVENT_CAP,
            "no \"moved it back\" after {asked} move requests; stderr:\n{}",
            l.stderr()
        );
        if waited >= Duration::from_secs(3 * asked) {
            pulse.pactl(&["move-source-output", &output, "virtmic"]);
            asked += 1;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(
        stream(&pulse, pid, "twoears: call audio"),
        Some((output, "callsink.monitor".into())),
        "back on the monitor"
    );
    assert_eq!(
        stream(&pulse, pid, "twoears: microphone"),
        Some(mic),
        "the other side's stream was not touched"
    );
    let f = l.wait(Duration::from_secs(20));
    assert_eq!(f.code, Some(0), "{}", f.stderr);
    let r = report(&dir.path().join("r.json"));
    let moves = capture(&r, "prospect")["moves"].as_u64().unwrap();
    assert!(
        (1..=asked).contains(&moves),
        "{moves} moves for {asked} requests: {r}"
    );
    assert_eq!(capture(&r, "rep")["moves"], 0, "{r}");
}

#[test]
fn an_audio_server_restart_mid_call_is_survived() {
    let Some(pulse) = Pulse::start() else { return };
    let dir = tempfile::tempdir().unwrap();
    // No --duration: a restart on a busy machine may take longer than a short call; the
    // call ends (Ctrl-C) once both sides are back.
    let l = pulse.listen(
        &["--no-stt", "--record", "rec.wav", "--json", "r.json"],
        dir.path(),
    );
    std::thread::sleep(Duration::from_secs(3));
    pulse.kill_server();
    l.wait_for("reopening", EVENT_CAP);
    std::thread::sleep(Duration::from_secs(2));
    pulse.restart_server();
    l.wait_for("mic virtmic is back", EVENT_CAP);
    l.wait_for("system audio callsink.monitor is back", EVENT_CAP);
    l.signal("INT");
    let f = l.wait(EVENT_CAP);
    assert_eq!(f.code, Some(0), "{}", f.stderr);
    let r = report(&dir.path().join("r.json"));
    for side in ["rep", "prospect"] {
        let c = capture(&r, side);
        assert_eq!(c["reopened"], 1, "{c}");
        assert!(c["gap_s"].as_f64().unwrap() >= 1.5, "{c}");
    }
    // The gap is recorded as silence: the recording keeps the call's length.
    recording_keeps_the_call(dir.path(), &r);
}

#[test]
fn a_device_that_delivers_nothing_is_reported_and_the_call_goes_on() {
    if cannot_hold_a_source_suspended() {
        return;
    }
    let Some(pulse) = Pulse::start() else { return };
    let dir = tempfile::tempdir().unwrap();
    // At the start: a suspended source never starts; a one-line error, no hang.
    pulse.pactl(&["suspend-source", "virtmic", "1"]);
    let out = pulse
        .env(&mut std::process::Command::new(env!(
            "CARGO_BIN_EXE_twoears"
        )))
        .args(["listen", "--no-stt", "--duration", "5"])
        .current_dir(dir.path())
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("virtmic") && err.contains("did not start"),
        "{err}"
    );
    pulse.pactl(&["suspend-source", "virtmic", "0"]);

    // Mid-call: the mic goes quiet for 4 s; silence is recorded for it, the prospect is
    // heard throughout, and the mic is picked up again when it resumes. The call ends
    // once the prospect's side has played out (not at a fixed length: on a busy machine
    // the player may start a second or two after the call).
    let (_, prospect) = example_sides(dir.path(), 14.0);
    let l = pulse.listen(
        &["--no-stt", "--record", "rec.wav", "--json", "r.json"],
        dir.path(),
    );
    let mut player = pulse.play("callsink", &prospect);
    std::thread::sleep(Duration::from_secs(5));
    pulse.pactl(&["suspend-source", "virtmic", "1"]);
    l.wait_for("stopped delivering", EVENT_CAP);
    std::thread::sleep(Duration::from_secs(4));
    pulse.pactl(&["suspend-source", "virtmic", "0"]);
    l.wait_for("is back", EVENT_CAP);
    player.wait();
    std::thread::sleep(Duration::from_secs(1));
    l.signal("INT");
    let f = l.wait(EVENT_CAP);
    assert_eq!(f.code, Some(0), "{}", f.stderr);
    let r = report(&dir.path().join("r.json"));
    let gap = capture(&r, "rep")["gap_s"].as_f64().unwrap();
    // At least the 4 s it was suspended (less what noticing took); not the rest of the call.
    assert!((3.0..9.0).contains(&gap), "mic gap {gap} s");
    assert!(talk(&r, "prospect_s") > 5.0, "{}", r["talk"]);
    let call_s = recording_keeps_the_call(dir.path(), &r);
    assert!(call_s >= 14.0, "call {call_s} s");
}

/// A sound server that stops a mic for a second (as a busy machine's server holds a
/// stream back) costs the prospect nothing: the other side is waited for, not trimmed to
/// the stalled one, and the mic's missing second becomes silence without a warning.
#[test]
fn a_mic_stopped_for_a_second_costs_the_prospect_nothing() {
    if cannot_hold_a_source_suspended() {
        return;
    }
    let Some(pulse) = Pulse::start() else { return };
    let dir = tempfile::tempdir().unwrap();
    let secs = 14.0;
    let (_, prospect) = example_sides(dir.path(), secs);
    let l = pulse.listen(&["--no-stt", "--json", "r.json"], dir.path());
    let mut player = pulse.play("callsink", &prospect);
    // The example's prospect speaks from 7.5 s on: stop the mic while they do.
    std::thread::sleep(Duration::from_secs(9));
    pulse.pactl(&["suspend-source", "virtmic", "1"]);
    std::thread::sleep(Duration::from_secs(1));
    pulse.pactl(&["suspend-source", "virtmic", "0"]);
    player.wait();
    std::thread::sleep(Duration::from_secs(1));
    l.signal("INT");
    let f = l.wait(EVENT_CAP);
    assert_eq!(f.code, Some(0), "{}", f.stderr);
    assert!(!f.stderr.contains("stopped delivering"), "{}", f.stderr);
    let r = report(&dir.path().join("r.json"));
    let mic = capture(&r, "rep");
    let gap = mic["gap_s"].as_f64().unwrap();
    assert!((0.5..2.0).contains(&gap), "mic gap {gap} s");
    let other = capture(&r, "prospect");
    assert_eq!(other["gap_s"], 0.0, "{other}");
    assert!(other["realigned_s"].as_f64().unwrap() < 0.1, "{other}");
    let file = review_example(dir.path(), secs, &["0", "2"]);
    assert!(
        within(talk(&r, "prospect_s"), talk(&file, "prospect_s"), 0.05),
        "prospect: live {} vs file {}",
        talk(&r, "prospect_s"),
        talk(&file, "prospect_s")
    );
}

#[test]
fn a_stalled_stage_overflows_the_ring_counts_the_loss_and_keeps_time() {
    let Some(pulse) = Pulse::start() else { return };
    let dir = tempfile::tempdir().unwrap();
    let (rep, prospect) = example_sides(dir.path(), 12.0);
    // The ring holds 3 s; a 5 s stall loses about 2 s of each side.
    let l = pulse.listen_env(
        &[
            "--no-stt",
            "--duration",
            "12",
            "--record",
            "rec.wav",
            "--json",
            "r.json",
        ],
        dir.path(),
        &[("TWOEARS_TEST_STALL", "2:5")],
    );
    let _players = [
        pulse.play("micsink", &rep),
        pulse.play("callsink", &prospect),
    ];
    let f = l.wait(Duration::from_secs(40));
    assert_eq!(f.code, Some(0), "{}", f.stderr);
    let r = report(&dir.path().join("r.json"));
    for side in ["rep", "prospect"] {
        let c = capture(&r, side);
        let lost_s = c["dropped_frames"].as_f64().unwrap() / c["rate_hz"].as_f64().unwrap();
        assert!((1.0..3.0).contains(&lost_s), "{side} lost {lost_s} s: {c}");
    }
    assert!(
        r["warnings"].to_string().contains("full ring"),
        "{}",
        r["warnings"]
    );
    let secs = wav_seconds(&dir.path().join("rec.wav"));
    assert!(
        (secs - 12.0).abs() < 0.5,
        "lost audio is silence, the clock holds: {secs} s"
    );
}

#[test]
fn alerts_reach_the_event_log_and_the_desktop_and_a_terminal_gets_a_status_line() {
    let Some(pulse) = Pulse::start() else { return };
    let dir = tempfile::tempdir().unwrap();
    let (rep, _) = example_sides(dir.path(), 9.0);
    // A monologue limit of 5 s: the example rep opens with a 6 s turn.
    std::fs::write(dir.path().join("short.toml"), "[monologue]\nmax_s = 5\n").unwrap();
    let (notified, path) = common::desktop(dir.path());
    let l = pulse.listen_env(
        &[
            "--no-stt",
            "--duration",
            "12",
            "--rules",
            "short.toml",
            "--notify",
            "--events",
            "events.jsonl",
            "--json",
            "r.json",
        ],
        dir.path(),
        &[("PATH", path.as_str())],
    );
    let _player = pulse.play("micsink", &rep);
    let f = l.wait(Duration::from_secs(30));
    assert_eq!(f.code, Some(0), "{}", f.stderr);
    assert!(
        f.stderr.contains("MONOLOGUE"),
        "alert printed: {}",
        f.stderr
    );
    let events = std::fs::read_to_string(dir.path().join("events.jsonl")).unwrap();
    let alert: Value = events
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .find(|v| v["type"] == "alert")
        .unwrap_or_else(|| panic!("no alert in {events}"));
    assert_eq!(alert["kind"], "monologue");
    // 5 s into the rep's opening turn, however late the player started on a busy machine.
    let r = report(&dir.path().join("r.json"));
    let turn = &r["turns"][0];
    assert_eq!(turn["side"], "rep", "{r}");
    let into = alert["at_s"].as_f64().unwrap() - turn["start_s"].as_f64().unwrap();
    assert!((5.0..6.5).contains(&into), "raised {into} s into the turn");
    for key in ["side", "message", "evidence"] {
        assert!(alert.get(key).is_some(), "{key} in {alert}");
    }
    // notify-send runs on a thread of its own: wait for it to have written.
    let start = std::time::Instant::now();
    let shown = loop {
        match std::fs::read_to_string(&notified) {
            Ok(text) if text.contains("twoears: monologue") => break text,
            other => assert!(start.elapsed() < EVENT_CAP, "no notification: {other:?}"),
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(shown.contains("twoears: monologue"), "{shown}");

    // On a terminal (script(1) gives it one) a status line is drawn and redrawn.
    let out = pulse
        .env(&mut std::process::Command::new("script"))
        .args(["-qfec"])
        .arg(format!(
            "{} listen --no-stt --duration 1.5",
            env!("CARGO_BIN_EXE_twoears")
        ))
        .arg("/dev/null")
        .current_dir(dir.path())
        .output()
        .unwrap();
    let tty = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{tty}");
    assert!(
        tty.matches("your share (5 min)").count() >= 3,
        "status redrawn: {tty}"
    );
    assert!(tty.contains("\x1b[2K"), "drawn in place: {tty}");
}

/// `twoears listen ARGS` against a sound server that is not there.
fn listen_without_server(dir: &Path, args: &[&str]) -> (Option<i32>, String) {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_twoears"))
        .arg("listen")
        .args(args)
        .env(
            "PULSE_SERVER",
            format!("unix:{}", dir.join("absent.sock").display()),
        )
        .env("XDG_RUNTIME_DIR", dir)
        .current_dir(dir)
        .output()
        .unwrap();
    (out.status.code(), common::stderr(&out))
}

// Issue 11: `listen --record call.wav` truncated an old recording to 44 bytes before the
// model and the devices were checked, following symlinks.
#[test]
fn an_earlier_recording_or_event_log_is_never_truncated() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(d.join("old.wav"), b"yesterday's call").unwrap();
    std::fs::write(d.join("old.jsonl"), b"{\"type\":\"talk\"}\n").unwrap();
    std::os::unix::fs::symlink(d.join("old.wav"), d.join("link.wav")).unwrap();
    let cases: [(&[&str], &str); 7] = [
        (
            &["--no-stt", "--record", "old.wav"],
            "old.wav: already exists",
        ),
        (
            &["--no-stt", "--record", "link.wav"],
            "link.wav: already exists",
        ),
        (
            &["--no-stt", "--events", "old.jsonl"],
            "old.jsonl: already exists",
        ),
        (
            &[
                "--record",
                "old.wav",
                "--force",
                "--model",
                "/nonexistent/m.bin",
            ],
            "/nonexistent/m.bin",
        ),
        (
            &[
                "--no-stt",
                "--record",
                "old.wav",
                "--events",
                "old.jsonl",
                "--force",
            ],
            "no sound server answered",
        ),
        (
            &["--no-stt", "--record", "new.wav", "--json", "new.wav"],
            "named for both the recording and the report",
        ),
        (
            &["--no-stt", "--rules", "old.jsonl", "--json", "old.jsonl"],
            "is also the input",
        ),
    ];
    for (args, needle) in cases {
        let (code, err) = listen_without_server(d, args);
        assert_eq!(code, Some(2), "{args:?}: {err}");
        assert_eq!(err.trim().lines().count(), 1, "one line: {err}");
        assert!(err.contains(needle), "{args:?}: {err}");
        assert_eq!(
            std::fs::read(d.join("old.wav")).unwrap(),
            b"yesterday's call"
        );
        assert_eq!(
            std::fs::read(d.join("old.jsonl")).unwrap(),
            b"{\"type\":\"talk\"}\n"
        );
        assert!(!d.join("new.wav").exists(), "{args:?}");
    }
}

#[test]
fn a_mistyped_mic_keeps_the_old_recording_and_new_files_are_private() {
    let Some(pulse) = Pulse::start() else { return };
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(d.join("call.wav"), b"yesterday's call").unwrap();
    let out = pulse
        .env(&mut std::process::Command::new(env!(
            "CARGO_BIN_EXE_twoears"
        )))
        .args(["listen", "--no-stt", "--force", "--record", "call.wav"])
        .args(["--mic", "usb headset", "--duration", "2"])
        .current_dir(d)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("no mic device named"), "{err}");
    assert_eq!(
        std::fs::read(d.join("call.wav")).unwrap(),
        b"yesterday's call"
    );

    // With the devices found, --force replaces it; everything written is the user's alone.
    let l = pulse.listen(
        &[
            "--no-stt",
            "--force",
            "--record",
            "call.wav",
            "--events",
            "ev.jsonl",
            "--json",
            "r.json",
            "--duration",
            "1",
            "-q",
        ],
        d,
    );
    let f = l.wait(Duration::from_secs(20));
    assert_eq!(f.code, Some(0), "{}", f.stderr);
    assert!(wav_seconds(&d.join("call.wav")) > 0.5);
    for name in ["call.wav", "ev.jsonl", "r.json"] {
        assert_eq!(common::mode(&d.join(name)), 0o600, "{name}");
    }
}

/// Headphones plugged in mid-call: the default output changes, and the call audio follows
/// it to the new output's monitor, unless the user pinned --system.
#[test]
fn the_call_audio_follows_the_default_output_unless_pinned() {
    let Some(pulse) = Pulse::start() else { return };
    let dir = tempfile::tempdir().unwrap();
    let prospect = common::pulse::example_sides(dir.path(), 20.0).1;
    for pinned in [false, true] {
        let module = pulse
            .pactl(&[
                "load-module",
                "module-null-sink",
                "sink_name=headphones",
                "sink_properties=device.description=Headphones",
            ])
            .trim()
            .to_string();
        let mut args = vec![
            "--no-stt",
            "--duration",
            "22",
            "--json",
            "r.json",
            "--force",
        ];
        if pinned {
            args.extend(["--system", "callsink.monitor"]);
        }
        let l = pulse.listen(&args, dir.path());
        std::thread::sleep(Duration::from_secs(2));
        pulse.pactl(&["set-default-sink", "headphones"]);
        if !pinned {
            l.wait_for("the default output changed", EVENT_CAP);
        }
        let mut player = pulse.play("headphones", &prospect);
        let f = l.wait(Duration::from_secs(60));
        player.wait();
        assert_eq!(f.code, Some(0), "{}", f.stderr);
        let r = report(&dir.path().join("r.json"));
        let heard = talk(&r, "prospect_s");
        if pinned {
            assert!(!f.stderr.contains("default output changed"), "{}", f.stderr);
            assert!(heard < 0.5, "pinned to callsink, heard {heard} s");
        } else {
            assert!(heard > 8.0, "followed to the headphones, heard {heard} s");
        }
        pulse.pactl(&["set-default-sink", "callsink"]);
        pulse.pactl(&["unload-module", &module]);
    }
}
