//! `argo-webhook`: admission for Workflows and WorkflowProjects.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use argo_api::service::WatchedProjects;
use argo_webhook::admission::{self, Admission};
use argo_webhook::{Args, Error, admin, server, tls};
use clap::Parser;
use tokio::sync::watch;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let args = Args::parse();
    tracing_subscriber::fmt()
        .with_env_filter(args.log.as_str())
        .with_target(false)
        .with_writer(std::io::stderr)
        .init();
    let _ = rustls::crypto::ring::default_provider().install_default();
    match run(args).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!(error = %e, "argo-webhook stopped");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn run(args: Args) -> Result<(), Error> {
    let (stop_tx, stop_rx) = watch::channel(false);
    tokio::spawn(argo_api::service::stop_on_signals(stop_tx));
    let cert = tls::ReloadingCert::new(&args.tls_cert, &args.tls_key)?;
    tokio::spawn(cert.clone().watch(Duration::from_secs(1), stop_rx.clone()));
    let client = argo_api::service::client(args.kubeconfig.as_deref(), args.context.as_deref()).await?;
    let watched = WatchedProjects::start(client);
    let metrics = Arc::new(argo_webhook::metrics::Metrics::default());
    let listening = Arc::new(AtomicBool::new(false));
    let synced = watched.clone();
    let admin_state = admin::Admin {
        metrics: metrics.clone(),
        listening: listening.clone(),
        synced: Arc::new(move || synced.is_synced()),
    };
    let admin_listener = tokio::net::TcpListener::bind(&args.admin_address).await?;
    tracing::info!(address = %admin_listener.local_addr()?, "admin server listening");
    tokio::spawn(admin::serve(admin_listener, admin_state, stop_rx.clone()));

    let app = admission::router(
        Admission {
            projects: watched,
            metrics,
        },
        args.max_concurrency,
    );
    let listener = tokio::net::TcpListener::bind(&args.address).await?;
    tracing::info!(address = %listener.local_addr()?, "admission server listening (TLS)");
    listening.store(true, Ordering::Release);
    server::serve(listener, cert, app, stop_rx).await;
    Ok(())
}
