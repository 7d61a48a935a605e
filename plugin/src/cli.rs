//! Command-line definitions, shaped like upstream's `argo` CLI and
//! kubectl's conventions.

use clap::{Parser, Subcommand, ValueEnum};

/// kubectl runs a plugin with argv[0] = path of `kubectl-argo`; help and
/// errors should still read `kubectl argo ...`.
const BIN_NAME: &str = "kubectl argo";

#[derive(Debug, Parser)]
#[command(
    name = "kubectl-argo",
    bin_name = BIN_NAME,
    version = argo_api::VERSION,
    about = "Submit, inspect, watch, steer and lint Argo-compatible workflows",
    propagate_version = true
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Print the version of kubectl-argo
    #[command(
        after_help = "Examples:\n  kubectl argo version\n  kubectl argo version --short\n  kubectl argo version -o json"
    )]
    Version(VersionArgs),
}

#[derive(Debug, clap::Args)]
pub struct VersionArgs {
    /// Print only the version number
    #[arg(long)]
    pub short: bool,
    /// Output format
    #[arg(short, long, value_enum)]
    pub output: Option<VersionFormat>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum VersionFormat {
    Json,
    Yaml,
}

pub fn parse() -> Cli {
    Cli::parse()
}
