//! The recordings people have: AAC from Zoom and Teams (.m4a, .mp4 with video), Opus from
//! Meet and browsers (.opus, Opus in OGG and WebM), and a WAV whose recorder never wrote
//! its final length. Each is made from the bundled call by ffmpeg and must give the talk
//! figures the lossless original gives (`review --no-stt`, so no whisper).

mod common;

use common::*;
use std::path::{Path, PathBuf};
use std::process::Command;

/// `ffmpeg -i INPUTS... ARGS... OUT` in `dir`; returns OUT.
fn ffmpeg(dir: &Path, inputs: &[&Path], args: &[&str], out: &str) -> PathBuf {
    let mut cmd = Command::new("ffmpeg");
    cmd.args(["-nostdin", "-loglevel", "error", "-y"]);
    for i in inputs {
        cmd.arg("-i").arg(i);
    }
    let path = dir.join(out);
    let made =
        cmd.args(args).arg(&path).output().unwrap_or_else(|e| {
            panic!("ffmpeg: {e} (apt-get install ffmpeg; make test's setup does)")
        });
    assert!(
        made.status.success(),
        "ffmpeg {args:?} {out}: {}",
        String::from_utf8_lossy(&made.stderr)
    );
    path
}

/// `review --no-stt --json` of `args`; the report and stderr.
fn review(dir: &Path, args: &[&str]) -> (serde_json::Value, String) {
    let json = dir.join("report.json");
    let _ = std::fs::remove_file(&json);
    let mut all = vec!["review", "--no-stt", "-q", "--json", json.to_str().unwrap()];
    all.extend_from_slice(args);
    let out = twoears(&all, dir);
    assert!(
        out.status.success(),
        "review {args:?} failed: {}",
        stderr(&out)
    );
    (report(&json), stderr(&out))
}

/// Each side's talk within a VAD frame or two (a lossy codec moves a word's edge) and
/// 1% of the lossless figure, and the call as long.
fn assert_same_talk(what: &str, got: &serde_json::Value, want: &serde_json::Value) {
    for key in ["rep_s", "prospect_s"] {
        let (g, w) = (talk(got, key), talk(want, key));
        assert!(
            (g - w).abs() <= (0.01 * w).max(0.3),
            "{what}: {key} {g:.2} s, the lossless call {w:.2} s"
        );
    }
    let (g, w) = (
        got["duration_s"].as_f64().unwrap(),
        want["duration_s"].as_f64().unwrap(),
    );
    assert!((g - w).abs() < 0.2, "{what}: {g:.2} s long, not {w:.2} s");
}

// Issue 28: every AAC recording crashed ("index out of bounds ... src/input/mod.rs"): an
// MP4 track does not state its channel count.
#[test]
fn aac_recordings_give_the_talk_figures_of_the_wav() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let (want, _) = review(d, &[example().to_str().unwrap()]);
    let call = example();
    let video = ["-f", "lavfi", "-i", "testsrc=size=160x120:rate=10"];
    let m4a = ffmpeg(d, &[&call], &["-c:a", "aac", "-b:a", "96k"], "call.m4a");
    let mut mp4_args = video.to_vec();
    mp4_args.extend(["-map", "1:v", "-map", "0:a", "-shortest", "-c:v", "mpeg4"]);
    mp4_args.extend(["-c:a", "aac"]);
    let mp4 = ffmpeg(d, &[&call], &mp4_args, "meeting.mp4");
    for file in [&m4a, &mp4] {
        let (got, err) = review(d, &[file.to_str().unwrap()]);
        assert_same_talk(&file.display().to_string(), &got, &want);
        assert!(!err.contains("internal error"), "{err}");
    }
}

#[test]
fn a_mono_aac_file_is_one_side_and_a_pair_of_them_is_the_call() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let (want, _) = review(d, &[example().to_str().unwrap()]);
    let call = example();
    let side = |channel: &str, name: &str, channels: &str| {
        let pan = format!("pan=mono|c0={channel}");
        ffmpeg(
            d,
            &[&call],
            &["-af", &pan, "-ac", channels, "-c:a", "aac"],
            name,
        )
    };
    // Alone, a mono recording of one side holds one voice: all of it is the rep's, and the
    // review says how to pass the two sides.
    let rep = side("c0", "rep.m4a", "1");
    let (alone, err) = review(d, &[rep.to_str().unwrap()]);
    assert!(err.contains("only one voice was heard"), "{err}");
    assert!(err.contains("--rep FILE --prospect FILE"), "{err}");
    assert_eq!(talk(&alone, "prospect_s"), 0.0, "{alone}");
    let rep_s = talk(&want, "rep_s");
    assert!(
        (talk(&alone, "rep_s") - rep_s).abs() < 0.03 * rep_s,
        "{alone}"
    );
    let pro = side("c1", "prospect.m4a", "1");
    let (got, _) = review(
        d,
        &[
            "--rep",
            rep.to_str().unwrap(),
            "--prospect",
            pro.to_str().unwrap(),
        ],
    );
    assert_same_talk("a pair of mono .m4a", &got, &want);
    // Each side recorded in stereo (the same voice on both channels), as many apps do: the
    // first block was read as mono and every time moved by 64 ms.
    let rep2 = side("c0", "rep2.m4a", "2");
    let pro2 = side("c1", "prospect2.m4a", "2");
    let (got, _) = review(
        d,
        &[
            "--rep",
            rep2.to_str().unwrap(),
            "--prospect",
            pro2.to_str().unwrap(),
        ],
    );
    assert_same_talk("a pair of stereo .m4a", &got, &want);
    let first = |r: &serde_json::Value| r["turns"][0]["start_s"].as_f64().unwrap();
    assert!(
        (first(&got) - first(&want)).abs() < 0.05,
        "the first turn at {:.3} s, not {:.3} s",
        first(&got),
        first(&want)
    );
}

#[test]
fn opus_in_ogg_webm_and_opus_files_gives_the_talk_figures_of_the_wav() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let (want, _) = review(d, &[example().to_str().unwrap()]);
    let call = example();
    let opus = ["-c:a", "libopus", "-b:a", "48k"];
    for name in ["call.opus", "call.ogg", "meet.webm", "call.mka"] {
        let file = ffmpeg(d, &[&call], &opus, name);
        let (got, err) = review(d, &[file.to_str().unwrap()]);
        assert_same_talk(name, &got, &want);
        assert!(!err.contains("truncated"), "{name}: {err}");
    }
}

#[test]
fn a_folder_of_aac_opus_and_webm_calls_is_reviewed_whole() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let calls = d.join("calls");
    std::fs::create_dir(&calls).unwrap();
    let call = example();
    ffmpeg(&calls, &[&call], &["-c:a", "aac"], "zoom.m4a");
    ffmpeg(&calls, &[&call], &["-c:a", "aac"], "teams.mp4");
    ffmpeg(&calls, &[&call], &["-c:a", "libopus"], "meet.webm");
    ffmpeg(&calls, &[&call], &["-c:a", "libopus"], "phone.opus");
    let out = twoears(&["review", "calls", "--no-stt", "--out", "out"], d);
    assert!(out.status.success(), "{}", stderr(&out));
    let (want, _) = review(d, &[example().to_str().unwrap()]);
    for name in ["zoom", "teams", "meet", "phone"] {
        let r = report(&d.join(format!("out/{name}.json")));
        assert_same_talk(name, &r, &want);
    }
}

// Issue 28: a WAV whose header states a quarter of its length was cut short silently.
#[test]
fn a_wav_whose_header_understates_its_length_is_read_whole_with_a_warning() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let wav = d.join("call.wav");
    run_ok(Command::new("sox").arg(example()).arg(&wav));
    let (want, _) = review(d, &["call.wav"]);
    let mut bytes = std::fs::read(&wav).unwrap();
    let data = bytes.windows(4).position(|w| w == b"data").unwrap();
    let size = u32::from_le_bytes(bytes[data + 4..data + 8].try_into().unwrap());
    let quarter = (size / 4) & !3;
    bytes[data + 4..data + 8].copy_from_slice(&quarter.to_le_bytes());
    let riff = u32::try_from(data + 8).unwrap() + quarter - 8;
    bytes[4..8].copy_from_slice(&riff.to_le_bytes());
    std::fs::write(d.join("short.wav"), &bytes).unwrap();
    let (got, err) = review(d, &["short.wav"]);
    assert!(err.contains("header states"), "{err}");
    assert!(
        got["warnings"]
            .as_array()
            .unwrap()
            .iter()
            .any(|w| w.as_str().unwrap().contains("header states")),
        "{}",
        got["warnings"]
    );
    assert_same_talk("short.wav", &got, &want);
    // A complete WAV with a chunk after its audio is not one.
    let mut tagged = std::fs::read(&wav).unwrap();
    tagged.extend_from_slice(b"LIST\x04\x00\x00\x00INFO");
    let riff = u32::try_from(tagged.len() - 8).unwrap();
    tagged[4..8].copy_from_slice(&riff.to_le_bytes());
    std::fs::write(d.join("tagged.wav"), &tagged).unwrap();
    let (got, err) = review(d, &["tagged.wav"]);
    assert!(!err.contains("header states"), "{err}");
    assert_same_talk("tagged.wav", &got, &want);
    // Nor one with a few stray bytes after its audio.
    let mut stray = std::fs::read(&wav).unwrap();
    stray.extend_from_slice(b"\0\0\0");
    std::fs::write(d.join("stray.wav"), &stray).unwrap();
    let (_, err) = review(d, &["stray.wav"]);
    assert!(!err.contains("header states"), "{err}");
}
