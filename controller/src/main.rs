//! `argo-controller`: runs Argo-compatible Workflows as Pods.

use clap::Parser;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let args = argo_controller::shell::Args::parse();
    let log = args.service.log.clone();
    argo_service::run_main("argo-controller", &log, argo_controller::shell::run(args)).await
}
