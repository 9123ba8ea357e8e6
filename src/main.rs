//! twoears: parse the command line, run it, print one error chain, exit by outcome.

use clap::error::ErrorKind;
use clap::Parser;

fn main() {
    let cli = twoears::app::cli::Cli::try_parse().unwrap_or_else(|e| usage_error(e));
    // The sentence encoder (candle) reads this on every matmul. One core is enough for a
    // sentence in ~15 ms, and whisper spin-waits on the others: never let them compete.
    // Installing runs no whisper beside it, and reads thousands of labelled sentences
    // once: it takes every core.
    let installing = matches!(cli.command, twoears::app::cli::Command::Model(_));
    if std::env::var_os("RAYON_NUM_THREADS").is_none() && !installing {
        std::env::set_var("RAYON_NUM_THREADS", "1");
    }
    twoears::panic::install_hook();
    // A panic the stages did not catch is a bug: one line, the same exit as any error.
    match twoears::panic::catch(|| twoears::app::commands::run(cli)) {
        Ok(Ok(())) => {}
        Ok(Err(err)) => {
            // Errors name the user's files, and a file name may hold terminal escapes.
            eprintln!("twoears: {}", twoears::term::escape(&format!("{err:#}")));
            // Some calls of a batch failed, the others were reviewed: 1; nothing done: 2.
            let partial = err.is::<twoears::app::commands::SomeFailed>();
            std::process::exit(if partial { 1 } else { 2 });
        }
        Err(panic) => {
            let panic = twoears::term::escape(&panic);
            eprintln!("twoears: internal error: {panic}; please report it");
            std::process::exit(2);
        }
    }
}

/// A command line clap refuses, as one line like every other error (clap's own is a
/// paragraph: the error, a tip, the usage); help and the version print as clap prints
/// them.
fn usage_error(e: clap::Error) -> ! {
    if matches!(
        e.kind(),
        ErrorKind::DisplayHelp
            | ErrorKind::DisplayVersion
            | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand
    ) {
        e.exit();
    }
    let text = e.render().to_string();
    let lines: Vec<&str> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    let first = lines.first().copied().unwrap_or("bad command line");
    let mut said = first.strip_prefix("error: ").unwrap_or(first).to_string();
    // "the following required arguments were not provided:" and the list below it.
    if said.ends_with(':') {
        let listed: Vec<&str> = lines[1..]
            .iter()
            .copied()
            .take_while(|l| !l.starts_with("Usage:") && !l.starts_with("tip:"))
            .filter(|l| !l.starts_with("For more information"))
            .collect();
        said = format!("{said} {}", listed.join(", "));
    }
    if let Some(tip) = lines.iter().find_map(|l| l.strip_prefix("tip: ")) {
        said = format!("{said} ({tip})");
    }
    eprintln!(
        "twoears: {}; see twoears --help",
        twoears::term::escape(&said)
    );
    std::process::exit(2);
}
