//! twoears: parse the command line, run it, print one error chain, exit by outcome.

use clap::Parser;

fn main() {
    let cli = twoears::cli::Cli::parse();
    if let Err(err) = twoears::commands::run(cli) {
        eprintln!("twoears: {err:#}");
        std::process::exit(2);
    }
}
