//! `twoears listen`: one live call, or with `--background` every call until Ctrl-C.

use anyhow::{Context, Result};

use super::config::{create_private_dir, live_stt_settings, load_rules, stop_on_ctrl_c};
use super::save;
use crate::app::cli::ListenArgs;
use crate::output::{self, Output, OutputKind};

pub(super) fn listen(mut args: ListenArgs) -> Result<()> {
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
        (&record, OutputKind::Recording),
        (&args.events, OutputKind::EventLog),
        (&args.json, OutputKind::Report),
        (&args.html, OutputKind::Page),
    ]
    .into_iter()
    .filter_map(|(p, what)| p.as_deref().map(|path| Output { path, what }))
    .collect();
    let inputs: Vec<_> = args.rules.as_deref().into_iter().collect();
    output::check(
        &outputs,
        &inputs,
        &[OutputKind::Report, OutputKind::Page],
        args.force,
    )?;
    anyhow::ensure!(
        ![&args.events, &args.json]
            .iter()
            .all(|p| p.as_deref().is_some_and(output::is_stdout)),
        "--events - and --json - would both write to stdout; send one of them to a file"
    );
    let stt = live_stt_settings(&args.stt)?;
    let rules = load_rules(args.rules.as_deref())?;
    let stop = stop_on_ctrl_c()?;
    let opts = crate::live::ListenOptions {
        record,
        monitor: monitor(&args, rules),
    };
    let mut status = crate::live::status::Status::new(opts.monitor.notify, opts.monitor.quiet);
    // Warnings were shown as they happened; the report keeps them.
    let report = crate::live::listen(&opts, stt.as_ref(), &stop, &mut status)?;
    // The history first: a report that cannot be written must not lose the call.
    let id = format!("{}-{}", crate::clock::today(), crate::clock::now_s());
    let mut sinks: Vec<_> = save::history(keep, "live call", Some(crate::history::live_key(&id)))
        .into_iter()
        .collect();
    sinks.extend(save::files(args.json.as_deref(), args.html.as_deref()));
    let today = crate::clock::today();
    let shown = save::Shown {
        title: "live call",
        date: Some(&today),
        audio: opts.record.clone().filter(|p| p.as_os_str() != "-"),
    };
    save::finish(&mut sinks, &report, &shown)?;
    if !args.quiet {
        // With --events - or --json - the summary would mix into what stdout carries.
        if [&opts.monitor.events, &args.json, &args.html]
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
        let what = OutputKind::EventLog;
        output::check(&[Output { path: events, what }], &inputs, &[], args.force)?;
    }
    let stt = live_stt_settings(&args.stt)?;
    let rules = load_rules(args.rules.as_deref())?;
    create_private_dir(&out)?;
    let stop = stop_on_ctrl_c()?;
    let opts = crate::live::background::BackgroundOptions {
        out,
        record: args.record.is_some(),
        history: keep,
        monitor: monitor(&args, rules),
    };
    let mut status = crate::live::status::Status::new(opts.monitor.notify, opts.monitor.quiet);
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

/// What both monitors take from the flags.
fn monitor(args: &ListenArgs, rules: crate::detect::DetectConfig) -> crate::live::Monitor {
    crate::live::Monitor {
        mic: args.mic.clone(),
        system: args.system.clone(),
        events: args.events.clone(),
        force: args.force,
        notify: args.notify,
        quiet: args.quiet,
        duration_s: args.duration,
        period_s: args.period,
        rules,
    }
}
