//! `twoears voice enroll|show|forget`: the rep's voice profile.

use anyhow::{Context, Result};

use crate::app::cli;
use crate::term;

/// `twoears voice enroll|show|forget`.
pub(super) fn voice(cmd: cli::VoiceCommand) -> Result<()> {
    use crate::frontend::voices::{self, profile};
    let path = profile::path().context("no home directory for the voice profile: set HOME")?;
    match cmd {
        cli::VoiceCommand::Enroll { file } => {
            let model = voices::encoder::installed()
                .context("the voice encoder is not installed; run `twoears model install voice`")?;
            let enc = voices::encoder::VoiceEncoder::load(&model)?;
            let (embedding, speech_s) =
                voices::voice_of(&enc, &file, &crate::input::read_mixed_boxed)?;
            let source = file
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            let saved = profile::save(&profile::Profile {
                version: profile::VERSION,
                speech_s,
                source,
                embedding,
            })
            .with_context(|| format!("cannot write {}", term::path(&path)))?;
            println!(
                "enrolled the rep's voice from {:.0} s of speech: {}",
                speech_s,
                term::path(&saved)
            );
        }
        cli::VoiceCommand::Show => match profile::load()? {
            Some(p) => println!(
                "{}: the rep's voice, from {:.0} s of speech in {}",
                term::path(&path),
                p.speech_s,
                term::escape(&p.source)
            ),
            None => println!("no voice enrolled; enroll with `twoears voice enroll FILE`"),
        },
        cli::VoiceCommand::Forget => match std::fs::remove_file(&path) {
            Ok(()) => println!("forgot the voice profile {}", term::path(&path)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => println!("no voice enrolled"),
            Err(e) => {
                return Err(e).with_context(|| format!("cannot delete {}", term::path(&path)))
            }
        },
    }
    Ok(())
}
