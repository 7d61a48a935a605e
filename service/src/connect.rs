//! A client the way kubectl makes one, and the flags every binary takes.

use std::path::{Path, PathBuf};

use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::{Client, Config};

use crate::Error;

/// The flags argo-controller and argo-webhook share; flatten into a
/// binary's own clap arguments.
#[derive(Clone, Debug, clap::Args)]
pub struct Flags {
    /// Kubeconfig to use (default: $KUBECONFIG, ~/.kube/config, or in-cluster)
    #[arg(long, env = "KUBECONFIG")]
    pub kubeconfig: Option<PathBuf>,
    /// Kubeconfig context to use
    #[arg(long)]
    pub context: Option<String>,
    /// Log filter, e.g. `info` or `argo_controller=debug`
    #[arg(long, default_value = "info", env = "RUST_LOG")]
    pub log: String,
}

impl Flags {
    pub async fn client(&self) -> Result<Client, Error> {
        client(self.kubeconfig.as_deref(), self.context.as_deref()).await
    }
}

/// A client for `--kubeconfig` and `--context`: the file when given, else
/// KUBECONFIG or ~/.kube/config when a context is named, else whatever the
/// environment offers (in-cluster included).
pub async fn client(kubeconfig: Option<&Path>, context: Option<&str>) -> Result<Client, Error> {
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
