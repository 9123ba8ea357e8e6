//! Double talk on clean channels (a headset: the mic never hears the prospect). Issue 17:
//! the rep's frames were gated whenever the prospect was as loud, so talk time and words
//! spoken over the prospect vanished. Uses faster-whisper's own two-voice test file (see
//! tests/data/README.md) in three placements. Run with --test-threads=1 (whisper).

mod common;

use std::path::{Path, PathBuf};

use common::*;
use twoears::model::install::wer;

const LEFT_TEXT: &str =
    "He began a confused complaint against the wizard, who had vanished behind the curtain on the left.";
const RIGHT_TEXT: &str = "The horizon seems extremely distant.";
/// Seconds of speech per channel (left 0.0-4.9 s, right 0.36-2.53 s).
const LEFT_S: f64 = 4.9;
const RIGHT_S: f64 = 2.17;

fn peer_file() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/stereo_diarization.wav")
}

/// Reviews `wav` with `args`; checks each side's talk time and the words it heard from
/// `from_s` on.
fn check(wav: &Path, args: &[&str], from_s: f64, rep: (&str, f64), prospect: (&str, f64)) {
    let model = model();
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("r.json");
    let mut all = vec![
        "review",
        wav.to_str().unwrap(),
        "-q",
        "--model",
        model.to_str().unwrap(),
        "--json",
        json.to_str().unwrap(),
    ];
    all.extend_from_slice(args);
    let out = twoears(&all, dir.path());
    assert!(out.status.success(), "{}", stderr(&out));
    let r = report(&json);
    let turns = r["turns"].as_array().unwrap();
    for (side, (text, speech_s)) in [("rep", rep), ("prospect", prospect)] {
        let talk_s: f64 = turns
            .iter()
            .filter(|t| t["side"] == side && t["end_s"].as_f64().unwrap() > from_s)
            .map(|t| t["end_s"].as_f64().unwrap() - t["start_s"].as_f64().unwrap().max(from_s))
            .sum();
        assert!(
            talk_s >= 0.85 * speech_s,
            "{side}: {talk_s:.2} s of {speech_s} s of speech; turns {turns:?}"
        );
        let heard: Vec<&str> = r["segments"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|s| s["side"] == side && s["end_s"].as_f64().unwrap() > from_s)
            .map(|s| s["text"].as_str().unwrap())
            .collect();
        let e = wer(text, &heard.join(" "));
        assert!(e <= 0.15, "{side}: WER {e:.2}: {heard:?}");
    }
}

#[test]
fn both_voices_of_the_peer_file_count_and_are_heard_with_the_left_as_rep() {
    check(
        &peer_file(),
        &[],
        0.0,
        (LEFT_TEXT, LEFT_S),
        (RIGHT_TEXT, RIGHT_S),
    );
}

#[test]
fn both_voices_of_the_peer_file_count_and_are_heard_with_the_right_as_rep() {
    check(
        &peer_file(),
        &["--rep-channel", "right"],
        0.0,
        (RIGHT_TEXT, RIGHT_S),
        (LEFT_TEXT, LEFT_S),
    );
}

/// After 40 s of an ordinary call nothing is still converging: the canceller has had the
/// whole time to learn that the mic carries no echo.
#[test]
fn both_voices_count_and_are_heard_after_forty_seconds_of_a_call() {
    let dir = tempfile::tempdir().unwrap();
    let wav = dir.path().join("appended.wav");
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let silence = dir.path().join("silence.wav");
    run_ok(std::process::Command::new("sox").args([
        "-n",
        "-r",
        "16000",
        "-c",
        "2",
        silence.to_str().unwrap(),
        "trim",
        "0",
        "1",
    ]));
    let head = dir.path().join("head.wav");
    run_ok(
        std::process::Command::new("sox")
            .arg(root.join("examples/call.flac"))
            .arg(&head)
            .args(["trim", "0", "40"]),
    );
    run_ok(
        std::process::Command::new("sox")
            .arg(&head)
            .arg(&silence)
            .arg(peer_file())
            .arg(&wav),
    );
    check(&wav, &[], 40.5, (LEFT_TEXT, LEFT_S), (RIGHT_TEXT, RIGHT_S));
}
