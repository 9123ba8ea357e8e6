//! The application: the command line (`cli`) and what each command does (`commands`).

pub mod cli;
pub mod commands;
