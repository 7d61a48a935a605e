//! One module per command.

mod version;

use std::process::ExitCode;

use crate::cli::{Cli, Command};
use crate::error::Result;

pub fn run(cli: Cli) -> Result<ExitCode> {
    match cli.command {
        Command::Version(args) => version::run(&args, &mut std::io::stdout().lock()),
    }
}
