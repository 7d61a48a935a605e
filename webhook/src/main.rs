//! `argo-webhook`: admission for Workflows and WorkflowProjects.

use clap::Parser;

#[derive(Debug, Parser)]
#[command(name = "argo-webhook", version = argo_api::VERSION, about = "Admission webhook for Argo-compatible Workflows")]
struct Args {}

fn main() -> std::process::ExitCode {
    let _args = Args::parse();
    eprintln!("argo-webhook: admission is not built yet (issue #4)");
    std::process::ExitCode::FAILURE
}
