//! `kubectl argo`: the everyday interface to Argo-compatible workflows.

mod cli;
mod cluster;
mod commands;
mod error;
mod follow;
mod install;
mod lint;
mod locate;
mod print;
mod ui;
mod view;

use std::process::ExitCode;

fn main() -> ExitCode {
    let cli = cli::parse();
    match commands::run(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("{}", e.report());
            e.exit_code()
        }
    }
}
