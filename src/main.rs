//! twoears: parse the command line, run it, print one error chain, exit by outcome.

mod cli;
mod commands;
mod detect;
mod echo;
mod event;
mod frontend;
mod input;
mod model;
mod pipeline;
mod report;
mod resample;
mod review;
mod stt;
mod talk;
mod vad;

use clap::Parser;

fn main() {
    let cli = cli::Cli::parse();
    if let Err(err) = commands::run(cli) {
        eprintln!("twoears: {err:#}");
        std::process::exit(2);
    }
}
