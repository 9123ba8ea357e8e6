//! Recordings whose one channel holds the whole call (issue 27): a mono file, two channels
//! carrying the same sound, a mono AAC. Their voices are told apart by the voice encoder
//! (`twoears model install voice`), the rep being the first to speak or the voice of
//! `--rep-voice`. Judged on the bundled call mixed to mono against its stereo figures, and
//! on real labelled speech: the two-person telephone call pyannote-audio ships, as
//! diarization error rate against its RTTM.

mod common;

use common::*;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The example call mixed down to one channel, as `d/mono.wav`.
fn mono_example(d: &Path) {
    sox(&[
        example().to_str().unwrap(),
        d.join("mono.wav").to_str().unwrap(),
        "remix",
        "1,2",
    ]);
}

fn sox(args: &[&str]) {
    run_ok(Command::new("sox").args(args));
}

/// `review --no-stt --json` of `args` in `dir`: the report and stderr.
fn review(dir: &Path, args: &[&str]) -> (serde_json::Value, String) {
    let json = dir.join("report.json");
    let _ = std::fs::remove_file(&json);
    let mut all = vec!["review", "--no-stt", "--json", json.to_str().unwrap()];
    all.extend_from_slice(args);
    let out = twoears(&all, dir);
    assert!(out.status.success(), "{args:?}: {}", stderr(&out));
    (report(&json), stderr(&out))
}

fn within(what: &str, got: f64, want: f64, share: f64) {
    assert!(
        (got - want).abs() <= share * want,
        "{what}: {got:.1} s against {want:.1} s"
    );
}

#[test]
fn a_mono_call_is_split_by_voice_and_the_first_voice_is_the_reps() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let (stereo, _) = review(d, &[example().to_str().unwrap()]);
    mono_example(d);
    let (mono, err) = review(d, &["mono.wav"]);
    assert_eq!(mono["source"]["voices"]["channels"], "mono", "{mono}");
    assert_eq!(mono["source"]["voices"]["rep"], "first_speaker", "{mono}");
    assert!(
        err.contains("the rep taken to be the first to speak"),
        "{err}"
    );
    for side in ["rep_s", "prospect_s"] {
        within(side, talk(&mono, side), talk(&stereo, side), 0.05);
    }
    // The sides alternate as they do in stereo: the rep opens, the prospect answers.
    let sides: Vec<_> = mono["turns"].as_array().unwrap()[..2]
        .iter()
        .map(|t| t["side"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(sides, ["rep", "prospect"], "{}", mono["turns"]);

    // The same call as stereo with the same sound on both channels: read as one channel.
    sox(&[
        example().to_str().unwrap(),
        d.join("dual.wav").to_str().unwrap(),
        "remix",
        "1,2",
        "1,2",
    ]);
    let (dual, err) = review(d, &["dual.wav"]);
    assert_eq!(dual["source"]["voices"]["channels"], "dual_mono", "{dual}");
    assert!(err.contains("both channels carry the same sound"), "{err}");
    assert_eq!(dual["talk"], mono["talk"]);

    // A recording of the prospect as --rep-voice: the sides swap.
    sox(&[
        example().to_str().unwrap(),
        d.join("voice.wav").to_str().unwrap(),
        "remix",
        "2",
        "trim",
        "30",
        "20",
    ]);
    // A stereo call's channels are its sides: --rep-voice is not used, and it says so.
    let (two, err) = review(
        d,
        &[example().to_str().unwrap(), "--rep-voice", "voice.wav"],
    );
    assert!(
        err.contains("--rep-voice voice.wav was not needed"),
        "{err}"
    );
    assert_eq!(two["talk"], stereo["talk"]);
    let (named, err) = review(d, &["mono.wav", "--rep-voice", "voice.wav"]);
    assert_eq!(named["source"]["voices"]["rep"], "rep_voice", "{named}");
    assert!(err.contains("known by --rep-voice"), "{err}");
    assert_eq!(named["turns"][0]["side"], "prospect", "{}", named["turns"]);
    within(
        "rep_s",
        talk(&named, "rep_s"),
        talk(&mono, "prospect_s"),
        0.01,
    );

    // A --rep-voice without speech is one line that says what to give.
    sox(&[
        "-n",
        "-r",
        "16000",
        d.join("quiet.wav").to_str().unwrap(),
        "trim",
        "0",
        "6",
    ]);
    let out = twoears(
        &["review", "--no-stt", "mono.wav", "--rep-voice", "quiet.wav"],
        d,
    );
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let err = stderr(&out);
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    assert!(err.contains("too little speech"), "{err}");
    // A mono file has no channels to name.
    let out = twoears(
        &["review", "--no-stt", "mono.wav", "--rep-channel", "left"],
        d,
    );
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("leave out --rep-channel"),
        "{}",
        stderr(&out)
    );
    // A mono file without speech is reviewed, and says so.
    let (quiet, err) = review(d, &["quiet.wav"]);
    assert!(err.contains("no speech was heard"), "{err}");
    assert_eq!(talk(&quiet, "rep_s"), 0.0, "{quiet}");
}

#[test]
fn a_mono_aac_recording_of_the_call_gives_the_figures_of_its_wav() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    mono_example(d);
    let made = Command::new("ffmpeg")
        .args([
            "-nostdin",
            "-loglevel",
            "error",
            "-y",
            "-i",
            "mono.wav",
            "-c:a",
            "aac",
        ])
        .arg("call.m4a")
        .current_dir(d)
        .status()
        .expect("ffmpeg (make test's setup installs it)");
    assert!(made.success());
    let (wav, _) = review(d, &["mono.wav"]);
    let (m4a, _) = review(d, &["call.m4a"]);
    assert_eq!(m4a["source"]["voices"]["channels"], "mono", "{m4a}");
    for side in ["rep_s", "prospect_s"] {
        within(side, talk(&m4a, side), talk(&wav, side), 0.03);
    }
}

#[test]
fn a_damaged_voice_encoder_is_one_line_that_says_how_to_install_it_again() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    // A checkout of its own, whose models directory holds a damaged encoder.
    std::fs::write(d.join("Cargo.toml"), "[package]\nname = \"twoears\"\n").unwrap();
    std::fs::create_dir(d.join("models")).unwrap();
    std::fs::write(d.join("models/voice-encoder.safetensors"), b"not weights").unwrap();
    mono_example(d);
    let out = twoears(&["review", "--no-stt", "mono.wav"], d);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let err = stderr(&out);
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    assert!(
        err.contains("twoears model install voice"),
        "says how to install it again: {err}"
    );
    // A stereo call does not need it.
    let out = twoears(&["review", "--no-stt", example().to_str().unwrap()], d);
    assert!(out.status.success(), "{}", stderr(&out));
}

/// pyannote-audio's two-person telephone call (30 s, 16 kHz mono) and its RTTM, from the
/// wheel on PyPI (cached under target/).
fn pyannote_sample() -> (PathBuf, Vec<(f64, f64, String)>) {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("pyannote");
    let wav = dir.join("sample.wav");
    let rttm = dir.join("sample.rttm");
    if !rttm.is_file() {
        std::fs::create_dir_all(&dir).unwrap();
        run_ok(
            Command::new("python3")
                .args(["-m", "pip", "download", "-q", "--no-deps"])
                .args(["pyannote-audio==4.0.7", "-d"])
                .arg(&dir),
        );
        let wheel = dir.join("pyannote_audio-4.0.7-py3-none-any.whl");
        let mut zip = zip::ZipArchive::new(std::fs::File::open(wheel).unwrap()).unwrap();
        for (inner, out) in [("sample.wav", &wav), ("sample.rttm", &rttm)] {
            let mut entry = zip
                .by_name(&format!("pyannote/audio/sample/{inner}"))
                .unwrap();
            std::io::copy(&mut entry, &mut std::fs::File::create(out).unwrap()).unwrap();
        }
    }
    let truth = std::fs::read_to_string(&rttm)
        .unwrap()
        .lines()
        .map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            let start: f64 = f[3].parse().unwrap();
            let dur: f64 = f[4].parse().unwrap();
            (start, start + dur, f[7].to_string())
        })
        .collect();
    (wav, truth)
}

/// Diarization error rate with a 0.25 s collar around each true boundary, overlapping
/// speech counted, the hypothesis's speakers mapped to the truth's the best way.
fn der(truth: &[(f64, f64, String)], hyp: &[(f64, f64, String)], duration_s: f64) -> f64 {
    let n = (duration_s * 100.0).round() as usize;
    let names = |segs: &[(f64, f64, String)]| {
        let mut v: Vec<String> = segs.iter().map(|s| s.2.clone()).collect();
        v.sort();
        v.dedup();
        v
    };
    let (tn, hn) = (names(truth), names(hyp));
    let grid = |segs: &[(f64, f64, String)], names: &[String]| {
        let mut g = vec![vec![false; n]; names.len()];
        for (a, b, s) in segs {
            let k = names.iter().position(|x| x == s).unwrap();
            let (a, b) = ((a * 100.0).round() as usize, (b * 100.0).round() as usize);
            g[k][a.min(n)..b.min(n)].fill(true);
        }
        g
    };
    let (t, h) = (grid(truth, &tn), grid(hyp, &hn));
    let mut scored = vec![true; n];
    for (a, b, _) in truth {
        for edge in [a, b] {
            let i = (edge * 100.0).round() as usize;
            scored[i.saturating_sub(25)..(i + 25).min(n)].fill(false);
        }
    }
    let count = |g: &[Vec<bool>], i: usize| g.iter().filter(|r| r[i]).count();
    let (mut total, mut worst) = (0usize, 0usize);
    for i in (0..n).filter(|&i| scored[i]) {
        total += count(&t, i);
        worst += count(&t, i).max(count(&h, i));
    }
    // Two speakers a side at most here: try both mappings.
    let correct = |swap: bool| -> usize {
        (0..n)
            .filter(|&i| scored[i])
            .map(|i| {
                (0..hn.len())
                    .filter(|&k| {
                        let tk = if swap { 1 - k.min(1) } else { k };
                        tk < tn.len() && h[k][i] && t[tk][i]
                    })
                    .count()
            })
            .sum()
    };
    let best = correct(false).max(correct(true));
    (worst - best) as f64 / total as f64
}

#[test]
fn the_real_telephone_call_is_split_with_a_diarization_error_under_ten_percent() {
    let (wav, truth) = pyannote_sample();
    let dir = tempfile::tempdir().unwrap();
    let (r, _) = review(dir.path(), &[wav.to_str().unwrap()]);
    assert_eq!(r["source"]["voices"]["rep"], "first_speaker", "{r}");
    let hyp: Vec<(f64, f64, String)> = r["turns"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            (
                t["start_s"].as_f64().unwrap(),
                t["end_s"].as_f64().unwrap(),
                t["side"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let e = der(&truth, &hyp, r["duration_s"].as_f64().unwrap());
    // 5.8% when it was written (3.2% missed speech, 2.5% confusion).
    assert!(e <= 0.10, "DER {:.1}%", e * 100.0);
    // The rep (the first voice) talks about half the call in the truth.
    let first = truth
        .iter()
        .min_by(|a, b| a.0.total_cmp(&b.0))
        .unwrap()
        .2
        .clone();
    let share = |segs: &[(f64, f64, String)]| {
        let all: f64 = segs.iter().map(|s| s.1 - s.0).sum();
        segs.iter()
            .filter(|s| s.2 == first)
            .map(|s| s.1 - s.0)
            .sum::<f64>()
            / all
    };
    let rep = talk(&r, "rep_s") / (talk(&r, "rep_s") + talk(&r, "prospect_s"));
    assert!(
        (rep - share(&truth)).abs() < 0.12,
        "rep share {rep:.2} against {:.2}",
        share(&truth)
    );
}

/// `twoears ARGS` in `dir` with its own data directory (the voice profile's home).
fn with_home(args: &[&str], dir: &Path) -> std::process::Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_twoears"));
    test_history(&mut cmd);
    cmd.args(args)
        .env("XDG_DATA_HOME", dir.join("data"))
        .current_dir(dir)
        .output()
        .unwrap()
}

#[test]
fn an_enrolled_voice_finds_the_rep_and_a_damaged_profile_is_passed_over() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    mono_example(d);
    // The prospect enrolled as the rep: the sides swap, as with --rep-voice.
    sox(&[
        example().to_str().unwrap(),
        d.join("voice.wav").to_str().unwrap(),
        "remix",
        "2",
        "trim",
        "30",
        "20",
    ]);
    let out = with_home(&["voice", "show"], d);
    assert!(String::from_utf8_lossy(&out.stdout).contains("no voice enrolled"));
    let out = with_home(&["voice", "enroll", "voice.wav"], d);
    assert!(out.status.success(), "{}", stderr(&out));
    let profile = d.join("data/twoears/voice-profile.json");
    assert_eq!(mode(&profile) & 0o077, 0, "the profile is the user's alone");
    let review = |name: &str| {
        let out = with_home(&["review", "--no-stt", "mono.wav", "--json", name], d);
        assert!(out.status.success(), "{}", stderr(&out));
        (report(&d.join(name)), stderr(&out))
    };
    let (enrolled, err) = review("enrolled.json");
    assert_eq!(
        enrolled["source"]["voices"]["rep"], "enrolled",
        "{enrolled}"
    );
    assert!(err.contains("the enrolled voice"), "{err}");
    assert_eq!(
        enrolled["turns"][0]["side"], "prospect",
        "{}",
        enrolled["turns"]
    );

    // A damaged profile: one line saying how to enroll again, and the call's figures.
    std::fs::write(&profile, "{\"version\": 1, \"embedding\": [").unwrap();
    let (passed_over, err) = review("damaged.json");
    assert!(
        err.contains("voice profile") && err.contains("twoears voice enroll FILE"),
        "{err}"
    );
    assert_eq!(passed_over["source"]["voices"]["rep"], "first_speaker");
    assert_eq!(passed_over["turns"][0]["side"], "rep");
    let warned = passed_over["warnings"].as_array().unwrap();
    assert_eq!(
        warned
            .iter()
            .filter(|w| w.as_str().unwrap().contains("damaged"))
            .count(),
        1,
        "said once: {warned:?}"
    );
    // A stereo call checks mic voices against the enrolled one: it says the profile is
    // unusable too, and its figures stand.
    let out = with_home(
        &[
            "review",
            "--no-stt",
            example().to_str().unwrap(),
            "--json",
            "stereo.json",
        ],
        d,
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let stereo = report(&d.join("stereo.json"));
    assert!(
        stereo["warnings"].to_string().contains("damaged"),
        "{}",
        stereo["warnings"]
    );
    assert!(talk(&stereo, "rep_s") > 30.0, "{}", stereo["talk"]);

    let out = with_home(&["voice", "forget"], d);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(!profile.exists());
}
