//! `argo-controller`: runs Workflows as Pods.

use clap::Parser;

#[derive(Debug, Parser)]
#[command(name = "argo-controller", version = argo_api::VERSION, about = "Runs Argo-compatible Workflows as Pods")]
struct Args {}

fn main() -> std::process::ExitCode {
    let _args = Args::parse();
    eprintln!("argo-controller: the reconcile loop is not built yet (issue #3)");
    std::process::ExitCode::FAILURE
}
