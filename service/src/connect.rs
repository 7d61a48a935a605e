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
    /// Act as this user (kubectl's --as): `kubectl argo install --local`
    /// runs the controller and webhook as their in-cluster service accounts,
    /// so they have those rights and the webhook knows the controller
    #[arg(long = "as", value_name = "USER")]
    pub impersonate: Option<String>,
}

impl Flags {
    pub async fn client(&self) -> Result<Client, Error> {
        let mut config = config(self.kubeconfig.as_deref(), self.context.as_deref()).await?;
        if let Some(user) = self.impersonate.as_ref().filter(|u| !u.is_empty()) {
            config.auth_info.impersonate = Some(user.clone());
        }
        Ok(Client::try_from(config)?)
    }
}

/// A client for `--kubeconfig` and `--context`: the file when given, else
/// KUBECONFIG or ~/.kube/config when a context is named, else whatever the
/// environment offers (in-cluster included).
pub async fn client(kubeconfig: Option<&Path>, context: Option<&str>) -> Result<Client, Error> {
    Ok(Client::try_from(config(kubeconfig, context).await?)?)
}

async fn config(kubeconfig: Option<&Path>, context: Option<&str>) -> Result<Config, Error> {
    let options = KubeConfigOptions {
        context: context.map(str::to_owned),
        ..Default::default()
    };
    let config = match kubeconfig {
        Some(path) => Config::from_custom_kubeconfig(Kubeconfig::read_from(path)?, &options).await?,
        None if context.is_some() => Config::from_kubeconfig(&options).await?,
        None => Config::infer().await?,
    };
    Ok(config)
}
