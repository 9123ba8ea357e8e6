//! `twoears review` with the real Whisper model on real speech. Run with --test-threads=1:
//! whisper.cpp spin-waits, so two runs at once on two cores crawl.

mod common;

use common::*;
use std::path::Path;
use twoears::model::install::wer;

#[test]
fn real_human_speech_is_transcribed_on_the_rep_side() {
    let model = model();
    let dir = tempfile::tempdir().unwrap();
    let jfk = Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/jfk.wav");
    let silence = dir.path().join("silence.wav");
    silence_like(&jfk, &silence);
    let json = dir.path().join("r.json");
    let r = review_sides(dir.path(), model.to_str().unwrap(), &jfk, &silence, &json);
    // An installed model is named as well as given by path; an unknown name is one line.
    let by_name = dir.path().join("by-name.json");
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let named = review_sides(root, "tiny.en", &jfk, &silence, &by_name);
    assert_eq!(named["segments"], r["segments"]);
    let out = twoears(
        &["review", "--model", "no-such-model", jfk.to_str().unwrap()],
        dir.path(),
    );
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(
        err.contains("twoears model install no-such-model") && err.trim().lines().count() == 1,
        "{err}"
    );
    let segs = r["segments"].as_array().unwrap();
    assert!(
        segs.iter().all(|s| s["side"] == "rep"),
        "nothing heard on the silent side"
    );
    let text: Vec<&str> = segs.iter().map(|s| s["text"].as_str().unwrap()).collect();
    let reference = "And so my fellow Americans ask not what your country can do for you ask what you can do for your country";
    let e = wer(reference, &text.join(" "));
    assert!(e <= 0.10, "WER {e:.2}: {text:?}");
    assert_eq!(r["model"], "tiny.en");
}

#[test]
fn example_call_raises_the_trigger_then_pitch_alert_in_time() {
    model();
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("r.json");
    let out = twoears(
        &[
            "review",
            "examples/call.flac",
            "--json",
            json.to_str().unwrap(),
        ],
        root,
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let summary = String::from_utf8_lossy(&out.stdout);
    assert!(
        summary.contains("Alerts") && summary.contains("pitch"),
        "{summary}"
    );
    let r = report(&json);
    let pitches: Vec<f64> = r["alerts"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a["kind"] == "pitch")
        .map(|a| a["at_s"].as_f64().unwrap())
        .collect();
    // The pitch starts at 20.2 s; a live monitor must flag it within 15 s.
    assert_eq!(pitches.len(), 1, "{pitches:?}");
    assert!((20.2..=35.2).contains(&pitches[0]), "{pitches:?}");
    assert!(r["talk"]["rep_questions"].as_u64().unwrap() >= 3);
    let alert = &r["alerts"][0];
    assert!(alert["evidence"].as_str().unwrap().len() > 10);
    // The pitch is explained by its act: how sure, and the labelled sentences it is like.
    assert_eq!(r["acts"], "sentence encoder", "{r}");
    let pitch = r["alerts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["kind"] == "pitch")
        .unwrap();
    let evidence = pitch["evidence"].as_str().unwrap();
    assert!(
        evidence.contains("presentation (") || evidence.contains("price ("),
        "{evidence}"
    );
    assert!(evidence.contains("sounds like: \""), "{evidence}");
    // The report keeps every sentence's reading, in call order, and the pitch alert's
    // sentence among them (issue 33: see why a pitch was or was not taken).
    let sentences = r["sentences"].as_array().unwrap();
    let segments = r["segments"].as_array().unwrap();
    assert!(
        sentences.len() >= segments.len(),
        "{} sentences",
        sentences.len()
    );
    let duration = r["duration_s"].as_f64().unwrap();
    assert!(
        sentences
            .iter()
            .all(|s| (0.0..=duration).contains(&s["end_s"].as_f64().unwrap())),
        "{sentences:?}"
    );
    let pitched = sentences
        .iter()
        .find(|s| evidence.starts_with(&format!("\"{}\"", s["text"].as_str().unwrap())))
        .unwrap_or_else(|| panic!("the alert's sentence among {sentences:?}"));
    assert!(pitched["pitch"].as_f64().unwrap() >= 0.35, "{pitched}");
    assert!(
        sentences.iter().any(|s| s["act"] == "open_question"),
        "the rep's questions: {sentences:?}"
    );
    // And `rules explain --acts` lists them, the alert's sentence marked.
    let out = twoears(
        &["rules", "explain", json.to_str().unwrap(), "--acts"],
        root,
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let listed = String::from_utf8_lossy(&out.stdout);
    let marked: Vec<&str> = listed
        .lines()
        .filter(|l| l.ends_with("<- pitch alert"))
        .collect();
    assert_eq!(marked.len(), 1, "{listed}");
    assert!(
        marked[0].contains(pitched["text"].as_str().unwrap()),
        "{listed}"
    );
    assert!(
        listed
            .lines()
            .filter(|l| l.contains(" rep ") || l.contains(" prospect "))
            .count()
            >= sentences.len(),
        "{listed}"
    );
}
