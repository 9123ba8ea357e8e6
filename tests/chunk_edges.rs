//! Issue 9: transcripts lost and repeated words at chunk edges. Real human speech (JFK and
//! two LibriVox sentences, 24.5 s with short pauses) reviewed as a call, which cuts the
//! rep's speech into chunks, against the same speech transcribed by whisper in one piece.
//! Run with --test-threads=1 (whisper).

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::*;
use twoears::model::install::wer;
use twoears::stt::engine::Engine;

const LIBRIVOX: &str = "/usr/share/pocketsphinx/test/data/librivox";

/// (clip, what is said).
fn clips() -> Vec<(PathBuf, &'static str)> {
    let lv =
        |n: &str| Path::new(LIBRIVOX).join(format!("sense_and_sensibility_01_austen_64kb-{n}.wav"));
    vec![
        (
            Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/jfk.wav"),
            "And so my fellow Americans ask not what your country can do for you ask what you can do for your country",
        ),
        (lv("0870"), "and Mr John Dashwood had then leisure to consider how much there might be prudently in his power to do for them"),
        (lv("0890"), "unless to be rather cold hearted and rather selfish is to be ill disposed"),
    ]
}

#[test]
fn speech_transcribed_in_chunks_loses_and_repeats_no_words() {
    let model = model();
    let dir = tempfile::tempdir().unwrap();
    let clips = clips();
    for (p, _) in &clips {
        assert!(
            p.is_file(),
            "{} is missing: apt-get install pocketsphinx-testdata (scripts/setup.sh does)",
            p.display()
        );
    }
    // The clips at 16 kHz, 0.35 s apart: a speaker pausing between sentences.
    let mut parts = Vec::new();
    for (i, (p, _)) in clips.iter().enumerate() {
        let out = dir.path().join(format!("part{i}.wav"));
        run_ok(
            Command::new("sox")
                .arg(p)
                .args(["-r", "16000", "-c", "1", "-b", "16"])
                .arg(&out)
                .args(["pad", "0", "0.35"]),
        );
        parts.push(out);
    }
    let rep = dir.path().join("rep.wav");
    run_ok(Command::new("sox").args(&parts).arg(&rep));
    let silence = dir.path().join("silence.wav");
    run_ok(
        Command::new("sox")
            .arg(&rep)
            .arg(&silence)
            .args(["vol", "0"]),
    );
    let reference: String = clips.iter().map(|(_, t)| *t).collect::<Vec<_>>().join(" ");

    // Whole: the speech in one whisper window (24.5 s < 30 s).
    let samples: Vec<f32> = hound::WavReader::open(&rep)
        .unwrap()
        .into_samples::<i16>()
        .map(|s| f32::from(s.unwrap()) / 32768.0)
        .collect();
    assert!(samples.len() < 16_000 * 30, "fits one window");
    let whole = Engine::load(&model, 2, None)
        .unwrap()
        .transcribe(&samples, "")
        .unwrap()
        .text;

    // In chunks: the call reviewed as a rep who speaks and a prospect who listens.
    let json = dir.path().join("r.json");
    let r = review_sides(dir.path(), model.to_str().unwrap(), &rep, &silence, &json);
    let segments: Vec<&str> = r["segments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["text"].as_str().unwrap())
        .collect();
    assert!(segments.len() >= 3, "the speech was chunked: {segments:?}");
    let chunked = segments.join(" ");
    let (e_whole, e_chunked) = (wer(&reference, &whole), wer(&reference, &chunked));
    eprintln!("whole WER {e_whole:.3}: {whole}\nchunked WER {e_chunked:.3}: {segments:?}");
    assert!(
        e_chunked <= e_whole + 0.03 && e_chunked <= 0.08,
        "chunked {e_chunked:.3} vs whole {e_whole:.3}: {segments:?}"
    );
    // Nothing said twice across an edge: no chunk starts with the words the last ended on.
    let words = |s: &str| -> Vec<String> {
        s.split_whitespace()
            .map(|w| {
                w.trim_matches(|c: char| !c.is_alphanumeric())
                    .to_lowercase()
            })
            .collect()
    };
    for pair in segments.windows(2) {
        let (a, b) = (words(pair[0]), words(pair[1]));
        let n = 2.min(a.len()).min(b.len());
        assert!(
            n == 0 || a[a.len() - n..] != b[..n],
            "repeated across the edge: {pair:?}"
        );
    }
}
