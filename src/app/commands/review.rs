//! `twoears review CALL`: one call.

use std::io::IsTerminal;

use anyhow::Result;

use std::path::PathBuf;

use super::batch::review_many;
use super::config::{load_rules, stt_settings};
use super::save;
use crate::app::cli::ReviewArgs;
use crate::detect::DetectConfig;
use crate::history::Keep;
use crate::input::InputSpec;
use crate::output::{self, Output, OutputKind};
use crate::pipeline::SttSettings;
use crate::term;

pub(super) fn review(mut args: ReviewArgs) -> Result<()> {
    let keep = args.save.keep().map_err(anyhow::Error::msg)?;
    if let Some(out) = args.out.take() {
        return review_many(args, &out, keep.as_ref());
    }
    Review::checked(args, keep)?.run()
}

/// One review as the flags ask for it, checked whole before any model or file opens
/// (ripgrep's low-level args to high-level args): what to read, with what, and where
/// each output goes.
struct Review {
    spec: InputSpec,
    stt: Option<SttSettings>,
    rules: DetectConfig,
    keep: Option<Keep>,
    json: Option<PathBuf>,
    html: Option<PathBuf>,
    /// What the page plays.
    audio: Option<PathBuf>,
    quiet: bool,
    explain: bool,
    acts: bool,
}

impl Review {
    /// # Errors
    /// The flags ask for something that cannot be: no call or several, an output that is
    /// an input or would replace another file, a missing --audio, a bad model or rules file.
    fn checked(args: ReviewArgs, keep: Option<Keep>) -> Result<Self> {
        let spec = match (args.call.as_slice(), args.rep, args.prospect) {
            ([path], _, _) => InputSpec::Stereo {
                path: path.clone(),
                rep_channel: args.rep_channel,
                prospect_channel: args.prospect_channel,
                rep_voice: args.rep_voice.clone(),
            },
            ([_, _, ..], _, _) => anyhow::bail!(
                "several calls need --out DIR: each call's report and page go there, with an index"
            ),
            ([], Some(rep), Some(prospect)) => InputSpec::Pair { rep, prospect },
            _ => anyhow::bail!("give a stereo CALL file, or both --rep FILE and --prospect FILE"),
        };
        let mut inputs = spec.paths();
        inputs.extend(args.rules.as_deref());
        inputs.extend(args.rep_voice.as_deref());
        let outputs: Vec<_> = [
            (&args.json, OutputKind::Report),
            (&args.html, OutputKind::Page),
        ]
        .into_iter()
        .filter_map(|(p, what)| p.as_deref().map(|path| Output { path, what }))
        .collect();
        // A report replaces an older report of the same name, never an input.
        output::check(
            &outputs,
            &inputs,
            &[OutputKind::Report, OutputKind::Page],
            false,
        )?;
        if let Some(audio) = &args.audio {
            anyhow::ensure!(
                audio.is_file(),
                "{}: no such recording for --audio; give the file the page should play",
                audio.display()
            );
        }
        let audio = args.audio.or(match &spec {
            InputSpec::Stereo { path, .. } => Some(path.clone()),
            InputSpec::Pair { .. } => None,
        });
        Ok(Self {
            stt: stt_settings(&args.stt)?,
            rules: load_rules(args.rules.as_deref())?,
            spec,
            keep,
            json: args.json,
            html: args.html,
            audio,
            quiet: args.quiet,
            explain: args.explain,
            acts: args.acts,
        })
    }

    fn run(self) -> Result<()> {
        let bar = std::io::stderr().is_terminal().then(|| {
            let bar = indicatif::ProgressBar::new(1000);
            bar.set_style(
                indicatif::ProgressStyle::with_template("{spinner} reviewing [{bar:30}] {msg}")
                    .expect("valid template")
                    .progress_chars("=> "),
            );
            bar
        });
        let mut progress = |done_s: f64, total_s: Option<f64>| {
            if let Some(bar) = &bar {
                if let Some(total) = total_s.filter(|t| *t > 0.0) {
                    bar.set_position((done_s / total * 1000.0).min(1000.0) as u64);
                }
                bar.set_message(format!("{} of call", crate::event::clock(done_s)));
            }
        };
        let report =
            crate::review::review(&self.spec, self.stt.as_ref(), self.rules, &mut progress)?;
        if let Some(bar) = bar {
            bar.finish_and_clear();
        }
        for w in &report.warnings {
            eprintln!("twoears: warning: {}", term::escape(w));
        }
        // The sinks are made only now: a review that fails leaves no file behind.
        let call = self.spec.paths().first().map(|p| p.to_path_buf());
        let name = call
            .as_deref()
            .and_then(|p| p.file_name())
            .map(|n| n.to_string_lossy().into_owned());
        let mut sinks = save::files(self.json.as_deref(), self.html.as_deref());
        if let Some(name) = &name {
            sinks.extend(save::history(self.keep, name, None));
        }
        let date = call.as_deref().and_then(crate::clock::file_date);
        let shown = save::Shown {
            title: name.as_deref().unwrap_or("call"),
            date: date.as_deref(),
            audio: self.audio,
        };
        save::finish(&mut sinks, &report, &shown)?;
        // With --json - or --html - stdout holds that alone; what else a review says goes
        // to stderr.
        let to_stdout = [&self.json, &self.html]
            .into_iter()
            .any(|p| p.as_deref().is_some_and(output::is_stdout));
        let mut said: Box<dyn std::io::Write> = if to_stdout {
            Box::new(std::io::stderr().lock())
        } else {
            Box::new(std::io::stdout().lock())
        };
        if !self.quiet {
            report.write_summary(&mut said)?;
        }
        if self.explain || self.acts {
            let value = serde_json::to_value(&report)?;
            if self.explain {
                crate::report::explain::write(&value, &mut said)?;
            }
            if self.acts {
                crate::report::explain::write_acts(&value, &mut said)?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;
    use std::path::Path;

    fn checked(args: &[&str]) -> Result<Review> {
        let cli = crate::app::cli::Cli::try_parse_from(
            ["twoears", "review", "--no-stt"].iter().chain(args),
        )
        .expect("a command line clap takes");
        match cli.command {
            crate::app::cli::Command::Review(a) => Review::checked(a, None),
            _ => unreachable!("a review"),
        }
    }

    #[test]
    fn the_flags_are_checked_whole_before_anything_opens() {
        let dir = tempfile::tempdir().unwrap();
        let call = dir.path().join("call.wav");
        std::fs::write(&call, b"not read while checking").unwrap();
        let call = call.to_str().unwrap();
        let r = checked(&[call]).expect("one call, nothing else asked");
        assert_eq!(
            r.audio.as_deref(),
            Some(Path::new(call)),
            "the page plays the call"
        );
        assert!(r.stt.is_none() && r.json.is_none());
        let e = checked(&[call, call]).err().unwrap().to_string();
        assert!(e.contains("--out DIR"), "{e}");
        let e = checked(&[call, "--html", "p.html", "--audio", "/nowhere.wav"])
            .err()
            .unwrap()
            .to_string();
        assert!(e.contains("--audio"), "{e}");
        let e = checked(&[call, "--json", call]).err().unwrap().to_string();
        assert!(e.contains("is also the input"), "{e}");
    }
}
