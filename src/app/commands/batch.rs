//! `twoears review CALL... --out DIR`: many calls, a few at a time, and their index.

use std::io::IsTerminal;

use anyhow::{Context, Result};

use super::config::{create_private_dir, load_rules, stt_settings};
use crate::app::cli::ReviewArgs;
use crate::output::{self, Output, OutputKind};
use crate::term;

/// Calls that failed in a batch whose other calls were reviewed: exit 1, not 2.
#[derive(Debug, thiserror::Error)]
#[error("{failed} of {total} calls not reviewed (listed above); the others are in {}", dir.display())]
pub struct SomeFailed {
    pub failed: usize,
    pub total: usize,
    pub dir: std::path::PathBuf,
}

/// `review CALL... --out DIR`: every call into DIR, a few at a time, then DIR's index.
pub(super) fn review_many(
    args: ReviewArgs,
    dir: &std::path::Path,
    keep: Option<&crate::history::Keep>,
) -> Result<()> {
    use crate::batch::{self, Event, Outcome};
    let (mut calls, not_calls) = batch::gather(&args.call);
    for n in &not_calls {
        eprintln!("twoears: {}: {}; skipped", term::path(&n.path), n.why);
    }
    anyhow::ensure!(
        !calls.is_empty(),
        "no calls to review; give recordings or folders of recordings"
    );
    // Names come from the whole list, so every shard names a call alike.
    if let Some((k, n)) = args.shard {
        let mut i = 0;
        calls.retain(|_| {
            i += 1;
            (i - 1) % n == k - 1
        });
        if calls.is_empty() {
            if !args.quiet {
                println!("share {k}/{n} holds no call (there are fewer than {n})");
            }
            return Ok(());
        }
    }
    let mut stt = stt_settings(&args.stt)?;
    let rules = load_rules(args.rules.as_deref())?;
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    // Whisper spin-waits: jobs x threads beyond the cores is slower than fewer jobs. One
    // thread per job is faster than one job with every core (BENCHMARKS.md).
    let jobs = match (args.jobs, args.stt.threads) {
        (Some(j), _) => usize::from(j),
        (None, Some(t)) => (cores / t.max(1)).max(1),
        (None, None) => cores.min(MAX_DEFAULT_JOBS),
    }
    .min(calls.len());
    if let Some(s) = &mut stt {
        s.threads = args.stt.threads.unwrap_or(cores / jobs).clamp(1, cores);
        if jobs * s.threads > cores {
            eprintln!(
                "twoears: warning: {jobs} jobs x {} whisper threads on {cores} cores: whisper \
                 spin-waits, so this is slower than --jobs {}",
                s.threads,
                (cores / s.threads).max(1)
            );
        }
    }
    create_private_dir(dir)?;
    let index = dir.join("index.html");
    let mut inputs: Vec<&std::path::Path> = calls.iter().map(|c| c.path.as_path()).collect();
    inputs.extend(args.rules.as_deref());
    let index_out = Output {
        path: &index,
        what: OutputKind::Index,
    };
    output::check(&[index_out], &inputs, &[OutputKind::Index], false)?;
    let settings = batch::Settings {
        stt,
        rules,
        rep_channel: args.rep_channel,
        prospect_channel: args.prospect_channel,
        rep_voice: args.rep_voice,
        jobs,
        force: args.force,
        rules_file: args.rules.clone(),
    };
    let bars = BatchBars::new(&calls, !args.quiet && std::io::stderr().is_terminal());
    let mut observe = |event: &Event| {
        bars.show(event);
        match event {
            Event::Finished {
                call,
                outcome: Outcome::Failed(why),
            } => bars.println(&format!(
                "twoears: {}; skipped",
                about(&calls[*call].path, why)
            )),
            Event::Warning { message, .. } => {
                bars.println(&format!("twoears: warning: {message}"));
            }
            _ => {}
        }
    };
    let outcomes = batch::run(&calls, dir, &settings, &mut observe);
    bars.finish();
    for (c, o) in calls.iter().zip(&outcomes) {
        if matches!(o, Outcome::Reviewed { .. } | Outcome::UpToDate) {
            let (json, _) = batch::outputs(dir, &c.name);
            if let Ok(value) = batch::read_back(&json) {
                if let Some(keep) = keep {
                    let history = crate::output::sink::History {
                        keep: keep.clone(),
                        name: c.name.clone(),
                        key: None,
                        date: None,
                    };
                    for w in history.store(&value) {
                        eprintln!("twoears: warning: {}", term::escape(&w));
                    }
                }
            }
        }
    }
    let failures: Vec<(String, String)> = not_calls
        .iter()
        .map(|n| (n.path.display().to_string(), n.why.to_string()))
        .chain(calls.iter().zip(&outcomes).filter_map(|(c, o)| match o {
            Outcome::Failed(why) => Some((c.name.clone(), about(&c.path, why))),
            _ => None,
        }))
        .collect();
    let title = std::fs::canonicalize(dir)
        .ok()
        .and_then(|d| d.file_name().map(|n| n.to_string_lossy().into_owned()))
        .unwrap_or_else(|| "calls".into());
    let page = crate::report::html::render_index(&title, batch::index_rows(dir), &failures)?;
    crate::report::html::write(&index, &page).with_context(|| {
        format!(
            "{}: cannot write the index; check the folder is writable",
            index.display()
        )
    })?;
    if !args.quiet {
        let mut out = std::io::stdout().lock();
        write_batch_summary(&mut out, &calls, &outcomes, &index)?;
    }
    if failures.is_empty() {
        Ok(())
    } else {
        Err(SomeFailed {
            failed: failures.len(),
            total: calls.len() + not_calls.len(),
            dir: dir.to_path_buf(),
        }
        .into())
    }
}

/// `why` a call failed, naming its file unless the reason already does.
fn about(path: &std::path::Path, why: &str) -> String {
    let name = path.display().to_string();
    if why.contains(&name) {
        why.to_string()
    } else {
        format!("{name}: {why}")
    }
}

/// Default jobs at most: each holds a model and the sentence encoder (~280 MB).
const MAX_DEFAULT_JOBS: usize = 8;

fn write_batch_summary(
    out: &mut dyn std::io::Write,
    calls: &[crate::batch::Call],
    outcomes: &[crate::batch::Outcome],
    index: &std::path::Path,
) -> std::io::Result<()> {
    use crate::batch::Outcome;
    let width = calls
        .iter()
        .map(|c| term::escape(&c.name).len())
        .max()
        .unwrap_or(4)
        .max(4);
    for (c, o) in calls.iter().zip(outcomes) {
        let what = match o {
            Outcome::Reviewed {
                duration_s,
                rep_ratio,
                alerts,
                warnings,
            } => format!(
                "{:>6}  rep {:>3.0}%  {alerts} alert{}{}",
                crate::event::clock(*duration_s),
                rep_ratio * 100.0,
                if *alerts == 1 { "" } else { "s" },
                match warnings.len() {
                    0 => String::new(),
                    n => format!(", {n} warning{}", if n == 1 { "" } else { "s" }),
                }
            ),
            Outcome::UpToDate => "up to date".into(),
            Outcome::Failed(_) => "not reviewed".into(),
        };
        writeln!(out, "{:<width$}  {what}", term::escape(&c.name))?;
    }
    writeln!(out, "index: {}", term::path(index))
}

/// The batch's progress on a terminal: a bar per running call and one for all of them.
struct BatchBars {
    multi: Option<indicatif::MultiProgress>,
    total: Option<indicatif::ProgressBar>,
    running: std::cell::RefCell<std::collections::HashMap<usize, indicatif::ProgressBar>>,
    names: Vec<String>,
}

impl BatchBars {
    fn new(calls: &[crate::batch::Call], terminal: bool) -> Self {
        let multi = terminal.then(indicatif::MultiProgress::new);
        let total = multi.as_ref().map(|m| {
            let bar = m.add(indicatif::ProgressBar::new(calls.len() as u64));
            bar.set_style(
                indicatif::ProgressStyle::with_template("calls  [{bar:30}] {pos}/{len} {msg}")
                    .expect("valid template")
                    .progress_chars("=> "),
            );
            bar
        });
        Self {
            multi,
            total,
            running: Default::default(),
            names: calls
                .iter()
                .map(|c| term::escape(&c.name).into_owned())
                .collect(),
        }
    }

    fn show(&self, event: &crate::batch::Event) {
        use crate::batch::Event;
        let (Some(multi), Some(total)) = (&self.multi, &self.total) else {
            return;
        };
        let mut running = self.running.borrow_mut();
        match event {
            Event::Started { call } => {
                let bar = multi.insert_before(total, indicatif::ProgressBar::new(1000));
                bar.set_style(
                    indicatif::ProgressStyle::with_template("{prefix:20!} [{bar:30}] {msg}")
                        .expect("valid template")
                        .progress_chars("=> "),
                );
                bar.set_prefix(self.names[*call].clone());
                running.insert(*call, bar);
            }
            Event::Progress {
                call,
                done_s,
                total_s,
            } => {
                if let Some(bar) = running.get(call) {
                    if let Some(t) = total_s.filter(|t| *t > 0.0) {
                        bar.set_position((done_s / t * 1000.0).min(1000.0) as u64);
                    }
                    bar.set_message(format!("{} of call", crate::event::clock(*done_s)));
                }
            }
            Event::Finished { call, .. } => {
                if let Some(bar) = running.remove(call) {
                    bar.finish_and_clear();
                    multi.remove(&bar);
                }
                total.inc(1);
            }
            Event::Warning { .. } => {}
        }
    }

    /// A line above the bars (or plainly, without them); it may name the user's files.
    fn println(&self, line: &str) {
        let line = term::escape(line);
        match &self.multi {
            Some(m) => {
                let _ = m.println(line);
            }
            None => eprintln!("{line}"),
        }
    }

    fn finish(&self) {
        if let Some(total) = &self.total {
            total.finish_and_clear();
        }
    }
}
