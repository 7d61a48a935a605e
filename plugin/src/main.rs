//! `kubectl argo`: the everyday interface to Argo-compatible workflows.

mod cli;
mod commands;
mod error;

use std::process::ExitCode;

fn main() -> ExitCode {
    let cli = cli::parse();
    match commands::run(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e}");
            e.exit_code()
        }
    }
}
