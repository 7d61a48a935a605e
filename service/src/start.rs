//! Start-up: logging, the TLS crypto provider, and an exit code.

use std::fmt::Display;
use std::future::Future;
use std::process::ExitCode;

/// Runs a binary's `run`: logs to stderr with `log` as the filter
/// (`info`, `argo_controller=debug`...), installs rustls' crypto provider,
/// and turns the outcome into the exit code (an error is logged).
pub async fn run_main<E: Display>(name: &str, log: &str, run: impl Future<Output = Result<(), E>>) -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(log)
        .with_target(false)
        .with_writer(std::io::stderr)
        .init();
    if rustls::crypto::ring::default_provider().install_default().is_err() {
        tracing::debug!("a rustls crypto provider was already installed");
    }
    match run.await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!(error = %e, "{name} stopped");
            ExitCode::FAILURE
        }
    }
}
