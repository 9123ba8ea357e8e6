//! `twoears review` on real audio in every supported shape, and on every kind of bad input.

mod common;

use common::*;
use std::path::Path;

const REP: &str =
    "Thanks for taking the call today. How does your team handle onboarding right now?";
const PROSPECT: &str =
    "Mostly by hand. We have a checklist in a shared document, and it takes about two weeks.";

fn review_json(dir: &Path, args: &[&str]) -> (std::process::Output, serde_json::Value) {
    let json = dir.join("report.json");
    let mut all: Vec<&str> = vec!["review", "--no-stt", "-q", "--json", json.to_str().unwrap()];
    all.extend_from_slice(args);
    let out = twoears(&all, dir);
    assert!(out.status.success(), "review failed: {}", stderr(&out));
    (out, report(&json))
}

fn assert_talk(r: &serde_json::Value, rep_s: f64, prospect_s: f64) {
    let (got_r, got_p) = (talk(r, "rep_s"), talk(r, "prospect_s"));
    // espeak's files carry a little silence at each end, so the speech is a bit shorter.
    assert!(
        got_r > rep_s * 0.75 && got_r < rep_s * 1.1,
        "rep_s {got_r} for {rep_s:.2} s of speech"
    );
    assert!(
        got_p > prospect_s * 0.75 && got_p < prospect_s * 1.1,
        "prospect_s {got_p} for {prospect_s:.2} s"
    );
    assert!(talk(r, "overlap_s") < 0.3);
}

#[test]
fn stereo_wav_gives_each_side_its_talk_time() {
    let dir = tempfile::tempdir().unwrap();
    let (call, dr, dp) = call(dir.path(), REP, PROSPECT);
    let (_, r) = review_json(dir.path(), &[call.to_str().unwrap()]);
    assert_eq!(r["schema"], "twoears.report/1");
    assert!(r["model"].is_null(), "no model with --no-stt");
    assert_talk(&r, dr, dp);
    let ratio = r["talk"]["rep_ratio"].as_f64().unwrap();
    let want = talk(&r, "rep_s") / (talk(&r, "rep_s") + talk(&r, "prospect_s"));
    assert!((ratio - want).abs() < 1e-3);
}

#[test]
fn other_formats_rates_and_depths_agree_with_wav() {
    let dir = tempfile::tempdir().unwrap();
    let (call, dr, dp) = call(dir.path(), REP, PROSPECT);
    let variants: &[(&str, &[&str])] = &[
        ("call.flac", &[]),
        ("call.ogg", &[]),
        ("call_8k.wav", &["-r", "8000"]),
        ("call_44k_24bit.wav", &["-r", "44100", "-b", "24"]),
        (
            "call_96k_float.wav",
            &["-r", "96000", "-e", "floating-point", "-b", "32"],
        ),
        ("call_192k_32bit.wav", &["-r", "192000", "-b", "32"]),
    ];
    for (name, opts) in variants {
        let out = dir.path().join(name);
        run_ok(
            std::process::Command::new("sox")
                .arg(&call)
                .args(*opts)
                .arg(&out),
        );
        let (_, r) = review_json(dir.path(), &[out.to_str().unwrap()]);
        assert_talk(&r, dr, dp);
    }
}

#[test]
fn mp3_is_reviewed_when_sox_can_write_it() {
    let dir = tempfile::tempdir().unwrap();
    let (call, dr, dp) = call(dir.path(), REP, PROSPECT);
    let mp3 = dir.path().join("call.mp3");
    let made = std::process::Command::new("sox")
        .arg(&call)
        .arg(&mp3)
        .status()
        .map(|s| s.success())
        .unwrap_or(false);
    if !made {
        eprintln!("skipped: this sox cannot write MP3 (apt-get install libsox-fmt-mp3)");
        return;
    }
    let (_, r) = review_json(dir.path(), &[mp3.to_str().unwrap()]);
    // MP3 encoders add a little delay and padding.
    assert!(talk(&r, "rep_s") > dr * 0.7 && talk(&r, "rep_s") < dr * 1.15);
    assert!(talk(&r, "prospect_s") > dp * 0.7 && talk(&r, "prospect_s") < dp * 1.15);
}

#[test]
fn rep_channel_right_swaps_the_sides() {
    let dir = tempfile::tempdir().unwrap();
    let (call, dr, dp) = call(dir.path(), REP, PROSPECT);
    let swapped = dir.path().join("swapped.wav");
    run_ok(
        std::process::Command::new("sox")
            .arg(&call)
            .arg(&swapped)
            .args(["remix", "2", "1"]),
    );
    let (_, r) = review_json(
        dir.path(),
        &[swapped.to_str().unwrap(), "--rep-channel", "right"],
    );
    assert_talk(&r, dr, dp);
}

#[test]
fn two_files_of_different_lengths_are_padded_with_a_warning() {
    let dir = tempfile::tempdir().unwrap();
    let rep = speech(dir.path(), "r", REP, "en-us+m3");
    let pro = speech(dir.path(), "p", PROSPECT, "en-gb+f3");
    let pro_late = dir.path().join("p_late.flac");
    let delay = duration_s(&rep) + 1.0;
    run_ok(
        std::process::Command::new("sox")
            .arg(&pro)
            .arg(&pro_late)
            .args(["pad", &delay.to_string(), "0"]),
    );
    let (out, r) = review_json(
        dir.path(),
        &[
            "--rep",
            rep.to_str().unwrap(),
            "--prospect",
            pro_late.to_str().unwrap(),
        ],
    );
    assert!(stderr(&out).contains("shorter"), "{}", stderr(&out));
    assert_talk(&r, duration_s(&rep), duration_s(&pro));
    let dur = r["duration_s"].as_f64().unwrap();
    assert!((dur - duration_s(&pro_late)).abs() < 0.05, "duration {dur}");
}

fn write_wav(path: &Path, channels: u16, rate: u32, frames: &[Vec<f32>]) {
    let spec = hound::WavSpec {
        channels,
        sample_rate: rate,
        bits_per_sample: 32,
        sample_format: hound::SampleFormat::Float,
    };
    let mut w = hound::WavWriter::create(path, spec).unwrap();
    for f in frames {
        for &s in f {
            w.write_sample(s).unwrap();
        }
    }
    w.finalize().unwrap();
}

fn fails_with(dir: &Path, args: &[&str], needle: &str) {
    let out = twoears(args, dir);
    assert_eq!(
        out.status.code(),
        Some(2),
        "{args:?} should fail with exit 2"
    );
    let err = stderr(&out);
    assert!(err.contains(needle), "{args:?}: {err}");
    assert_eq!(err.trim().lines().count(), 1, "one line: {err}");
    assert!(!err.contains("panicked"), "{err}");
}

#[test]
fn bad_input_gets_one_line_errors() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    fails_with(
        d,
        &["review", "--no-stt", "nope.wav"],
        "nope.wav: no such file",
    );
    std::fs::write(d.join("notes.wav"), "this is not audio").unwrap();
    fails_with(
        d,
        &["review", "--no-stt", "notes.wav"],
        "not a supported audio file",
    );
    write_wav(&d.join("three.wav"), 3, 16000, &vec![vec![0.0; 3]; 16000]);
    fails_with(
        d,
        &["review", "--no-stt", "three.wav"],
        "--rep-channel N --prospect-channel N",
    );
    fails_with(
        d,
        &[
            "review",
            "--no-stt",
            "three.wav",
            "--rep-channel",
            "1",
            "--prospect-channel",
            "7",
        ],
        "channel \"7\" does not exist",
    );
    write_wav(&d.join("empty.wav"), 2, 16000, &[]);
    fails_with(d, &["review", "--no-stt", "empty.wav"], "empty.wav");
    write_wav(&d.join("ok.wav"), 2, 16000, &vec![vec![0.0; 2]; 16000]);
    fails_with(
        d,
        &["review", "ok.wav", "--model", "/nonexistent/ggml.bin"],
        "/nonexistent/ggml.bin does not exist",
    );
    fails_with(
        d,
        &[
            "review",
            "--no-stt",
            "ok.wav",
            "--json",
            "/nonexistent/dir/r.json",
        ],
        "cannot write the report",
    );
}

#[test]
fn three_channels_with_both_channels_named_are_reviewed() {
    let dir = tempfile::tempdir().unwrap();
    let (call, dr, dp) = call(dir.path(), REP, PROSPECT);
    let three = dir.path().join("three.wav");
    run_ok(
        std::process::Command::new("sox")
            .arg(&call)
            .arg(&three)
            .args(["remix", "1", "2", "0"]),
    );
    let (_, r) = review_json(
        dir.path(),
        &[
            three.to_str().unwrap(),
            "--rep-channel",
            "1",
            "--prospect-channel",
            "2",
        ],
    );
    assert_talk(&r, dr, dp);
}

#[test]
fn silent_call_gives_a_valid_report_with_zero_speech() {
    let dir = tempfile::tempdir().unwrap();
    write_wav(
        &dir.path().join("silent.wav"),
        2,
        48000,
        &vec![vec![0.0; 2]; 48000 * 5],
    );
    let (_, r) = review_json(dir.path(), &["silent.wav"]);
    assert_eq!(talk(&r, "rep_s"), 0.0);
    assert_eq!(talk(&r, "prospect_s"), 0.0);
    assert_eq!(talk(&r, "rep_ratio"), 0.0);
    assert!((r["duration_s"].as_f64().unwrap() - 5.0).abs() < 0.05);
    assert_eq!(r["alerts"].as_array().unwrap().len(), 0);
}

#[test]
fn nan_samples_are_silenced_with_a_warning() {
    let dir = tempfile::tempdir().unwrap();
    let (call, dr, dp) = call(dir.path(), REP, PROSPECT);
    let mut reader = hound::WavReader::open(&call).unwrap();
    let mut frames: Vec<Vec<f32>> = reader
        .samples::<i16>()
        .map(|s| s.unwrap() as f32 / 32768.0)
        .collect::<Vec<_>>()
        .chunks(2)
        .map(|c| c.to_vec())
        .collect();
    for f in frames.iter_mut().take(1600) {
        *f = vec![f32::NAN, f32::INFINITY];
    }
    write_wav(&dir.path().join("nan.wav"), 2, 16000, &frames);
    let (out, r) = review_json(dir.path(), &["nan.wav"]);
    assert!(stderr(&out).contains("NaN or infinite"), "{}", stderr(&out));
    assert_talk(&r, dr, dp);
}

#[test]
fn truncated_file_is_analysed_as_far_as_it_goes() {
    let dir = tempfile::tempdir().unwrap();
    let (call, dr, _) = call(dir.path(), REP, PROSPECT);
    let flac = dir.path().join("call.flac");
    run_ok(std::process::Command::new("sox").arg(&call).arg(&flac));
    let bytes = std::fs::read(&flac).unwrap();
    // Keep a little more than the rep's half of the call.
    let keep = bytes.len() * 55 / 100;
    std::fs::write(dir.path().join("cut.flac"), &bytes[..keep]).unwrap();
    let (out, r) = review_json(dir.path(), &["cut.flac"]);
    let err = stderr(&out);
    assert!(
        err.contains("truncated") || err.contains("damaged"),
        "{err}"
    );
    assert!(
        talk(&r, "rep_s") > dr * 0.7,
        "the readable part is analysed"
    );
}

/// Asserts the review warned (stderr and the report) with `needle`; returns the report.
fn warned(dir: &Path, file: &Path, needle: &str) -> serde_json::Value {
    let (out, r) = review_json(dir, &[file.to_str().unwrap()]);
    let err = stderr(&out);
    assert!(err.contains(needle), "{}: {err}", file.display());
    let in_report = r["warnings"]
        .as_array()
        .unwrap()
        .iter()
        .any(|w| w.as_str().unwrap().contains(needle));
    assert!(in_report, "{}: {}", file.display(), r["warnings"]);
    r
}

/// The bundled call, converted to `name` by sox.
fn example_as(dir: &Path, name: &str) -> Option<std::path::PathBuf> {
    let example = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/call.flac");
    let out = dir.join(name);
    let made = std::process::Command::new("sox")
        .arg(&example)
        .arg(&out)
        .status()
        .is_ok_and(|s| s.success());
    made.then_some(out)
}

// Issue 11: a WAV header with sample rate 0 panicked inside symphonia (exit 101).
#[test]
fn a_wav_header_with_sample_rate_0_is_a_one_line_error() {
    let dir = tempfile::tempdir().unwrap();
    write_wav(
        &dir.path().join("ok.wav"),
        2,
        16000,
        &vec![vec![0.0; 2]; 1600],
    );
    let mut bytes = std::fs::read(dir.path().join("ok.wav")).unwrap();
    // The canonical header: the rate is the u32 at byte 24.
    bytes[24..28].copy_from_slice(&0u32.to_le_bytes());
    std::fs::write(dir.path().join("rate0.wav"), &bytes).unwrap();
    fails_with(
        dir.path(),
        &["review", "--no-stt", "rate0.wav"],
        "rate0.wav: sample rate 0 Hz",
    );
}

// Issue 11: a FIFO without a writer blocked review for ever; /dev/urandom never ended.
#[test]
fn devices_and_pipes_are_refused_not_read_for_ever() {
    let dir = tempfile::tempdir().unwrap();
    run_ok(std::process::Command::new("mkfifo").arg(dir.path().join("call.wav")));
    for input in ["call.wav", "/dev/urandom", "/dev/zero", "."] {
        let out = twoears_within(
            &["review", "--no-stt", input],
            dir.path(),
            std::time::Duration::from_secs(20),
        );
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(2), "{input}: {err}");
        assert_eq!(err.trim().lines().count(), 1, "one line: {err}");
        assert!(err.contains("is not a regular file"), "{input}: {err}");
        assert!(err.contains("pass a recorded audio file"), "{input}: {err}");
    }
}

// Issue 11: half an OGG or MP3 was analysed with no word of it.
#[test]
fn half_an_ogg_or_mp3_is_analysed_with_a_truncated_warning() {
    let dir = tempfile::tempdir().unwrap();
    for name in ["call.ogg", "call.mp3"] {
        // setup.sh installs libsox-fmt-all; MP3 writing may still be missing from a sox.
        let Some(whole) = example_as(dir.path(), name) else {
            assert_ne!(
                name, "call.ogg",
                "sox cannot write OGG: run scripts/setup.sh"
            );
            eprintln!("skipped {name}: this sox cannot write it");
            continue;
        };
        let (_, r) = review_json(dir.path(), &[whole.to_str().unwrap()]);
        assert_eq!(r["warnings"], serde_json::json!([]), "{name} whole");
        let bytes = std::fs::read(&whole).unwrap();
        let half = dir.path().join(format!("half_{name}"));
        std::fs::write(&half, &bytes[..bytes.len() / 2]).unwrap();
        let r = warned(dir.path(), &half, "truncated");
        let got = r["duration_s"].as_f64().unwrap();
        assert!((40.0..50.0).contains(&got), "{name}: half of 94 s: {got}");
    }
}

// Issue 11: one flipped byte in an OGG dropped up to 1.8 s without a warning.
#[test]
fn damaged_ogg_pages_never_lose_audio_silently() {
    let dir = tempfile::tempdir().unwrap();
    let whole = example_as(dir.path(), "call.ogg").expect("sox writes OGG/Vorbis");
    let bytes = std::fs::read(&whole).unwrap();
    let (_, r) = review_json(dir.path(), &[whole.to_str().unwrap()]);
    let full_s = r["duration_s"].as_f64().unwrap();
    let damaged = dir.path().join("damaged.ogg");
    let mut losses = 0;
    for k in 1..40 {
        let mut b = bytes.clone();
        b[bytes.len() * k / 40] ^= 0x5a;
        std::fs::write(&damaged, &b).unwrap();
        let (_, r) = review_json(dir.path(), &[damaged.to_str().unwrap()]);
        let lost_s = full_s - r["duration_s"].as_f64().unwrap();
        if lost_s > 0.05 {
            losses += 1;
            assert_ne!(
                r["warnings"],
                serde_json::json!([]),
                "byte {k}/40 lost {lost_s:.2} s silently"
            );
        }
    }
    assert!(
        losses > 0,
        "some flips must lose a page, or the test tests nothing"
    );
}

// Issue 11: a DC offset of 0.45 on one side made rep_s 0.0 or +26 %.
#[test]
fn a_dc_offset_on_either_side_does_not_move_the_talk_figures() {
    let dir = tempfile::tempdir().unwrap();
    let (call, dr, dp) = call(dir.path(), REP, PROSPECT);
    for (name, remix) in [("rep_dc.wav", "1"), ("prospect_dc.wav", "2")] {
        let side = dir.path().join("side.wav");
        let shifted = dir.path().join("shifted.wav");
        let other = dir.path().join("other.wav");
        let keep = if remix == "1" { "2" } else { "1" };
        run_ok(
            std::process::Command::new("sox")
                .arg(&call)
                .arg(&side)
                .args(["remix", remix]),
        );
        run_ok(
            std::process::Command::new("sox")
                .arg(&call)
                .arg(&other)
                .args(["remix", keep]),
        );
        run_ok(
            std::process::Command::new("sox")
                .arg(&side)
                .arg(&shifted)
                .args(["dcshift", "0.45"]),
        );
        let (l, r) = if remix == "1" {
            (&shifted, &other)
        } else {
            (&other, &shifted)
        };
        let out = dir.path().join(name);
        run_ok(
            std::process::Command::new("sox")
                .arg("-M")
                .arg(l)
                .arg(r)
                .arg(&out),
        );
        let (_, report) = review_json(dir.path(), &[out.to_str().unwrap()]);
        assert_talk(&report, dr, dp);
    }
}

// Issue 11: `review call.wav --json call.wav` replaced the recording with JSON, exit 0.
#[test]
fn the_report_never_replaces_the_call_and_is_private() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    write_wav(&d.join("call.wav"), 2, 16000, &vec![vec![0.0; 2]; 16000]);
    let before = std::fs::read(d.join("call.wav")).unwrap();
    std::os::unix::fs::symlink(d.join("call.wav"), d.join("link.json")).unwrap();
    for json in ["call.wav", "./call.wav", "link.json"] {
        fails_with(
            d,
            &["review", "--no-stt", "call.wav", "--json", json],
            "is also the input call.wav",
        );
        assert_eq!(std::fs::read(d.join("call.wav")).unwrap(), before, "{json}");
    }
    fails_with(
        d,
        &[
            "review",
            "--no-stt",
            "--rep",
            "call.wav",
            "--prospect",
            "call.wav",
            "--json",
            "call.wav",
        ],
        "write the report to another file",
    );
    // Nor another recording given the report's name by mistake.
    std::fs::copy(d.join("call.wav"), d.join("other.wav")).unwrap();
    fails_with(
        d,
        &["review", "--no-stt", "call.wav", "--json", "other.wav"],
        "other.wav: exists and is not a twoears report",
    );
    assert_eq!(std::fs::read(d.join("other.wav")).unwrap(), before);
    // Nor another program's JSON.
    let settings = "{\"theme\": \"dark\"}\n";
    std::fs::write(d.join("settings.json"), settings).unwrap();
    fails_with(
        d,
        &["review", "--no-stt", "call.wav", "--json", "settings.json"],
        "settings.json: exists and is not a twoears report",
    );
    assert_eq!(
        std::fs::read_to_string(d.join("settings.json")).unwrap(),
        settings
    );
    // A report goes out 0600 and replaces an earlier report of the same name.
    for _ in 0..2 {
        let (_, r) = review_json(d, &["call.wav"]);
        assert_eq!(r["schema"], "twoears.report/1");
        assert_eq!(mode(&d.join("report.json")), 0o600);
    }
}

// Found by `scripts/fuzz.sh` (fuzz/fuzz_targets/audio_input.rs), kept in tests/data/fuzz/:
// 29 bytes that a symphonia demuxer probes into `step_by(0)` (a panic inside the decoder
// library), and 101 bytes of FLAC whose picture block claims 3.3 GB (symphonia allocates
// it zeroed; no page is touched, RSS stays about 9 MB).
#[test]
fn files_the_fuzzer_found_are_one_line_errors() {
    let data = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/fuzz");
    for name in ["demuxer-step-by-zero.mp3", "flac-picture-of-3-gb.flac"] {
        fails_with(
            &data,
            &["review", "--no-stt", name],
            &format!("{name}: not a supported audio file"),
        );
    }
}

// Hostile-input probe, item 4: `--json -` wrote a file named `-`; as `--events -`, it is
// stdout, and then stdout carries the report alone (the summary goes to stderr).
#[test]
fn json_dash_writes_the_report_to_stdout_alone() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let (call, _, _) = call(d, REP, PROSPECT);
    for extra in [&[][..], &["--explain"]] {
        let mut args = vec!["review", "--no-stt", call.to_str().unwrap(), "--json", "-"];
        args.extend_from_slice(extra);
        let out = twoears(&args, d);
        assert!(out.status.success(), "{}", stderr(&out));
        let r: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
            panic!(
                "stdout is not one JSON report ({e}): {}",
                String::from_utf8_lossy(&out.stdout)
            )
        });
        assert_eq!(r["schema"], "twoears.report/1");
        assert!(talk(&r, "rep_s") > 1.0);
        assert!(
            stderr(&out).contains("Call: "),
            "the summary: {}",
            stderr(&out)
        );
        assert!(!d.join("-").exists(), "no file named -");
    }
}

// Hostile-input probe, item 8: `--html -` wrote a file named `-`; it is stdout, as
// `--json -` is, and stdout cannot carry a report and a page at once.
#[test]
fn html_dash_writes_the_page_to_stdout_and_one_output_only_goes_there() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let (call, _, _) = call(d, REP, PROSPECT);
    let c = call.to_str().unwrap();
    let out = twoears(&["review", "--no-stt", c, "--html", "-"], d);
    assert!(out.status.success(), "{}", stderr(&out));
    let page = String::from_utf8_lossy(&out.stdout);
    assert!(
        page.starts_with("<!DOCTYPE html>"),
        "stdout is the page: {page:.200}"
    );
    assert!(page.trim_end().ends_with("</html>"), "the whole page");
    assert!(
        stderr(&out).contains("Call: "),
        "the summary: {}",
        stderr(&out)
    );
    assert!(!d.join("-").exists(), "no file named -");
    fails_with(
        d,
        &["review", "--no-stt", c, "--json", "-", "--html", "-"],
        "both the report and the page are to go to standard output",
    );
}
