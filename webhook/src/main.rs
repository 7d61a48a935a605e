//! `argo-webhook`: admission for Workflows and WorkflowProjects.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use argo_service::ready::Readiness;
use argo_service::{WatchedProjects, WatchedTemplates};
use argo_webhook::admission::{self, Admission};
use argo_webhook::{Args, Error, server, tls};
use clap::Parser;
use tokio::sync::watch;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let args = Args::parse();
    let log = args.service.log.clone();
    argo_service::run_main("argo-webhook", &log, run(args)).await
}

async fn run(args: Args) -> Result<(), Error> {
    let (stop_tx, stop_rx) = watch::channel(false);
    tokio::spawn(argo_service::stop_on_signals(stop_tx));
    let cert = tls::ReloadingCert::new(&args.tls_cert, &args.tls_key)?;
    tokio::spawn(cert.clone().watch(Duration::from_secs(1), stop_rx.clone()));
    let client = args.service.client().await?;
    let watched = WatchedProjects::start(client.clone());
    let templates = WatchedTemplates::start(client);
    let metrics = Arc::new(argo_webhook::metrics::Metrics::default());
    let ready = Readiness::new();
    let listening = ready.flag("listening");
    let synced = watched.clone();
    ready.require("projects synced", move || synced.is_synced());
    let admin_listener = tokio::net::TcpListener::bind(&args.admin_address).await?;
    tracing::info!(address = %admin_listener.local_addr()?, "admin server listening");
    let encode = metrics.clone();
    tokio::spawn(argo_service::admin::serve(
        admin_listener,
        ready,
        Arc::new(move || encode.encode()),
        stop_rx.clone(),
    ));

    let app = admission::router(
        Admission {
            projects: watched,
            templates,
            controller_user: Some(args.controller_user.clone()).filter(|u| !u.is_empty()),
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
