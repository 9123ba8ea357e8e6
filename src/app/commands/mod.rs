//! The command layer: one file per subcommand. Each turns its flags into checked settings
//! (`config`) before any device, model or file opens, runs the stages, and writes what the
//! call produced (`save`).

mod batch;
mod check;
mod config;
mod devices;
mod history;
mod listen;
mod model;
mod review;
mod rules;
mod save;
mod voice;

use anyhow::Result;

use crate::app::cli::{Cli, Command};

pub use batch::SomeFailed;

pub fn run(cli: Cli) -> Result<()> {
    match cli.command {
        Command::Review(args) => review::review(args),
        Command::Listen(args) => listen::listen(args),
        Command::Devices(args) => devices::devices(&args),
        Command::Check(args) => check::check(args),
        Command::History(args) => history::history(args),
        Command::Team(args) => history::team(args),
        Command::Rules(cmd) => rules::rules(cmd),
        Command::Model(cmd) => model::model(cmd),
        Command::Voice(cmd) => voice::voice(cmd),
    }
}
