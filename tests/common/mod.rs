//! Helpers for the integration tests: run the real binary, make real audio fixtures with
//! espeak-ng and sox in a temporary directory.
#![allow(dead_code)]

pub mod browser;
pub mod postgres;
pub mod pulse;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// Whether the tests run under CI (`CI` set, as CI services set it, and not "false").
pub fn ci() -> bool {
    std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "false" && v != "0")
}

/// A test that cannot run here (a server it needs is not installed): under CI a failure,
/// since a pass would say something was tested; elsewhere a message, and the caller
/// returns.
pub fn cannot_test_here(why: &str) {
    assert!(
        !ci(),
        "{why}: this test cannot run, and CI is set (a skip would pass having tested nothing)"
    );
    eprintln!("SKIPPED: {why}");
}

/// Where the tests' calls are stored (never the user's history), unless the caller chose.
pub fn test_history(cmd: &mut Command) -> &mut Command {
    if std::env::var_os("TWOEARS_DB").is_none() {
        cmd.env(
            "TWOEARS_DB",
            concat!(env!("CARGO_TARGET_TMPDIR"), "/test-history.sqlite"),
        );
    }
    cmd
}

pub fn twoears(args: &[&str], cwd: &Path) -> Output {
    test_history(&mut Command::new(env!("CARGO_BIN_EXE_twoears")))
        .args(args)
        .current_dir(cwd)
        .output()
        .expect("run twoears")
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

pub fn run_ok(cmd: &mut Command) {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("{cmd:?}: {e} (apt-get install espeak-ng sox libsox-fmt-all)"));
    assert!(
        out.status.success(),
        "{cmd:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// espeak-ng speech as 16 kHz mono 16-bit WAV; returns its path.
pub fn speech(dir: &Path, name: &str, text: &str, voice: &str) -> PathBuf {
    let raw = dir.join(format!("{name}.raw.wav"));
    let out = dir.join(format!("{name}.wav"));
    run_ok(
        Command::new("espeak-ng")
            .args(["-v", voice, "-w"])
            .arg(&raw)
            .arg(text),
    );
    to_speech_wav(&raw, &out);
    out
}

/// Converts a TTS engine's WAV to 16 kHz mono 16-bit, as the tests' calls are.
pub fn to_speech_wav(raw: &Path, out: &Path) {
    run_ok(
        Command::new("sox")
            .arg(raw)
            .args(["-r", "16000", "-c", "1", "-b", "16"])
            .arg(out),
    );
}

pub fn duration_s(path: &Path) -> f64 {
    let out = Command::new("soxi")
        .arg("-D")
        .arg(path)
        .output()
        .expect("soxi");
    String::from_utf8_lossy(&out.stdout)
        .trim()
        .parse()
        .expect("soxi duration")
}

/// A two-sided call: the rep speaks `rep` at 0.5 s, the prospect answers 1 s after.
/// Returns (stereo call at 16 kHz WAV, rep speech seconds, prospect speech seconds).
pub fn call(dir: &Path, rep: &str, prospect: &str) -> (PathBuf, f64, f64) {
    let r = speech(dir, "rep", rep, "en-us+m3");
    let p = speech(dir, "prospect", prospect, "en-gb+f3");
    let (dr, dp) = (duration_s(&r), duration_s(&p));
    let rp = dir.join("rep_padded.wav");
    let pp = dir.join("prospect_padded.wav");
    let total = 0.5 + dr + 1.0 + dp + 1.0;
    run_ok(Command::new("sox").arg(&r).arg(&rp).args([
        "pad",
        "0.5",
        &format!("{}", total - 0.5 - dr),
    ]));
    run_ok(Command::new("sox").arg(&p).arg(&pp).args([
        "pad",
        &format!("{}", 0.5 + dr + 1.0),
        "1.0",
    ]));
    let out = dir.join("call.wav");
    run_ok(Command::new("sox").arg("-M").arg(&rp).arg(&pp).arg(&out));
    (out, dr, dp)
}

/// A file of the same length as `src`, silent: the side of a call that says nothing.
pub fn silence_like(src: &Path, dst: &Path) {
    run_ok(Command::new("sox").arg(src).arg(dst).args(["vol", "0"]));
}

/// Reviews `rep` against `prospect` with `model` (a path, or an installed model's name),
/// from `cwd`; returns the report written to `json`.
pub fn review_sides(
    cwd: &Path,
    model: &str,
    rep: &Path,
    prospect: &Path,
    json: &Path,
) -> serde_json::Value {
    let out = twoears(
        &[
            "review",
            "-q",
            "--model",
            model,
            "--json",
            json.to_str().unwrap(),
            "--rep",
            rep.to_str().unwrap(),
            "--prospect",
            prospect.to_str().unwrap(),
        ],
        cwd,
    );
    assert!(out.status.success(), "{}", stderr(&out));
    report(json)
}

/// Reviews the stereo `wav` for its talk (no speech-to-text), from `dir`; returns the
/// report written to `dir/json`.
pub fn review_talk(dir: &Path, wav: &Path, json: &str) -> serde_json::Value {
    let out = twoears(
        &[
            "review",
            wav.to_str().unwrap(),
            "--no-stt",
            "-q",
            "--json",
            json,
        ],
        dir,
    );
    assert!(out.status.success(), "{}", stderr(&out));
    report(&dir.join(json))
}

/// A JSON file a run wrote (a report, an event line's file).
pub fn report(path: &Path) -> serde_json::Value {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: not JSON ({e})", path.display()))
}

pub fn talk(report: &serde_json::Value, key: &str) -> f64 {
    report["talk"][key]
        .as_f64()
        .unwrap_or_else(|| panic!("talk.{key} in {report}"))
}

/// The bundled example call (stereo FLAC: rep left, prospect right).
pub fn example() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/call.flac")
}

/// The installed default model; tests that transcribe need it (`make test` installs it).
pub fn model() -> PathBuf {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("models/ggml-tiny.en.bin");
    assert!(
        p.is_file(),
        "{} is missing: run `twoears model install` (make test does)",
        p.display()
    );
    p
}

/// Holds whisper for one test across processes (released when dropped): the live suites
/// run on two sound servers at once (scripts/live_tests.sh), and two whisper runs side by
/// side on two cores are many times slower, as whisper.cpp spin-waits its threads.
pub fn whisper_turn() -> std::fs::File {
    let lock = std::fs::File::create(concat!(env!("CARGO_TARGET_TMPDIR"), "/whisper.lock"))
        .expect("create the whisper lock file");
    lock.lock().expect("take the whisper lock");
    lock
}

/// Runs twoears like `twoears`, but kills it after `limit`: a regression that hangs (a
/// pipe, an endless device) fails the test instead of stalling the suite.
pub fn twoears_within(args: &[&str], cwd: &Path, limit: std::time::Duration) -> Output {
    use std::process::Stdio;
    let mut child = Command::new(env!("CARGO_BIN_EXE_twoears"))
        .args(args)
        .current_dir(cwd)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run twoears");
    let started = std::time::Instant::now();
    while child.try_wait().expect("wait").is_none() {
        if started.elapsed() > limit {
            let _ = child.kill();
            panic!("twoears {args:?} still running after {limit:?}");
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    child.wait_with_output().expect("output")
}

/// The permission bits of `path`.
pub fn mode(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .permissions()
        .mode()
        & 0o777
}

/// A `notify-send` in `dir/bin` that records what it is asked to show in `dir/bin/shown`,
/// as the desktop would show it; the PATH that finds it first.
pub fn desktop(dir: &Path) -> (PathBuf, String) {
    let bin = dir.join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    let fake = bin.join("notify-send");
    std::fs::write(
        &fake,
        "#!/bin/sh\nprintf '%s\\n' \"$@\" >> \"$(dirname \"$0\")/shown\"\n",
    )
    .unwrap();
    std::fs::set_permissions(&fake, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let path = format!("{}:{}", bin.display(), std::env::var("PATH").unwrap());
    (bin.join("shown"), path)
}
