//! `argo-controller`: runs Argo-compatible Workflows as Pods.

use clap::Parser;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let args = argo_controller::shell::Args::parse();
    tracing_subscriber::fmt()
        .with_env_filter(args.log.as_str())
        .with_target(false)
        .with_writer(std::io::stderr)
        .init();
    if rustls::crypto::ring::default_provider().install_default().is_err() {
        tracing::debug!("a rustls crypto provider was already installed");
    }
    match argo_controller::shell::run(args).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!(error = %e, "argo-controller stopped");
            std::process::ExitCode::FAILURE
        }
    }
}
