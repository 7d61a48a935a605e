//! What argo-controller and argo-webhook both do at start-up: connect the
//! way kubectl does, turn signals into a graceful stop, and watch the
//! WorkflowProjects every decision needs.

mod projects;

pub use projects::WatchedProjects;

use std::path::Path;

use kube::config::{InferConfigError, KubeConfigOptions, Kubeconfig, KubeconfigError};
use kube::{Client, Config};

#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    #[error("kubeconfig: {0}")]
    Kubeconfig(#[from] KubeconfigError),
    #[error("kubeconfig: {0}")]
    Infer(#[from] InferConfigError),
    #[error("kubernetes client: {0}")]
    Client(#[from] kube::Error),
}

/// A client for `--kubeconfig` and `--context`: the file when given, else
/// KUBECONFIG or ~/.kube/config when a context is named, else whatever the
/// environment offers (in-cluster included).
pub async fn client(kubeconfig: Option<&Path>, context: Option<&str>) -> Result<Client, ConnectError> {
    let options = KubeConfigOptions {
        context: context.map(str::to_owned),
        ..Default::default()
    };
    let config = match kubeconfig {
        Some(path) => Config::from_custom_kubeconfig(Kubeconfig::read_from(path)?, &options).await?,
        None if context.is_some() => Config::from_kubeconfig(&options).await?,
        None => Config::infer().await?,
    };
    Ok(Client::try_from(config)?)
}

/// The first SIGTERM/SIGINT sends `true` on `stop`; a second exits at once.
pub async fn stop_on_signals(stop: tokio::sync::watch::Sender<bool>) {
    let Ok(mut term) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) else {
        return;
    };
    for count in 0.. {
        tokio::select! {
            _ = term.recv() => {}
            _ = tokio::signal::ctrl_c() => {}
        }
        if count > 0 {
            tracing::warn!("second signal: exiting now");
            std::process::exit(130);
        }
        let _ = stop.send(true);
    }
}
