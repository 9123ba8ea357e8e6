//! twoears: parse the command line, run it, print one error chain, exit by outcome.

mod cli;
mod commands;
mod model;
mod stt;

use clap::Parser;

fn main() {
    let cli = cli::Cli::parse();
    if let Err(err) = commands::run(cli) {
        eprintln!("twoears: {err:#}");
        std::process::exit(2);
    }
}
