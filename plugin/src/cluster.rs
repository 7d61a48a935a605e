//! Reaching clusters the way kubectl does: `--kubeconfig`, else
//! `KUBECONFIG` (several files, merged), else `~/.kube/config`; the
//! context from `--context` or the current one; the namespace from `-n`,
//! else the context's, else `default`.

use std::path::PathBuf;
use std::time::Duration;

use argo_api::Workflow;
use kube::api::{Api, DynamicObject};
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::core::ApiResource;
use kube::{Client, Config};

use crate::error::{Error, Result};
use crate::view::WorkflowView;

/// The flags every command shares.
#[derive(Clone, Debug, Default)]
pub struct Flags {
    pub kubeconfig: Option<PathBuf>,
    pub context: Option<String>,
    pub namespace: Option<String>,
    pub request_timeout: Option<Duration>,
}

/// One cluster, ready to talk to.
#[derive(Clone)]
pub struct Conn {
    pub client: Client,
    /// The namespace commands act in.
    pub namespace: String,
    /// `host:port`, for error messages.
    pub server: String,
    pub context: String,
}

pub fn kubeconfig(flags: &Flags) -> Result<Kubeconfig> {
    match &flags.kubeconfig {
        Some(path) => Kubeconfig::read_from(path)
            .map_err(|e| Error::Other(format!("cannot read kubeconfig {}: {}", path.display(), e))),
        None => Kubeconfig::read().map_err(|e| {
            Error::Other(format!(
                "cannot read a kubeconfig (KUBECONFIG or ~/.kube/config): {}",
                crate::error::chain(&e)
            ))
        }),
    }
}

/// Every context of the kubeconfig, in file order.
pub fn context_names(kc: &Kubeconfig) -> Vec<String> {
    kc.contexts.iter().map(|c| c.name.clone()).collect()
}

/// Connects to `context` (None: the current one). `streaming` connections
/// (watch, logs -f) get no read timeout.
pub async fn connect(kc: &Kubeconfig, context: Option<&str>, flags: &Flags, streaming: bool) -> Result<Conn> {
    let name = context.map(str::to_owned).or_else(|| kc.current_context.clone()).unwrap_or_default();
    if let Some(ctx) = context
        && !kc.contexts.iter().any(|c| c.name == ctx)
    {
        return Err(Error::Other(format!("context \"{ctx}\" does not exist")));
    }
    let options = KubeConfigOptions {
        context: context.map(str::to_owned),
        ..Default::default()
    };
    let mut config = Config::from_custom_kubeconfig(kc.clone(), &options)
        .await
        .map_err(|e| Error::Other(format!("invalid configuration: {}", crate::error::chain(&e))))?;
    config.connect_timeout =
        Some(flags.request_timeout.unwrap_or(Duration::from_secs(10)).min(Duration::from_secs(10)));
    config.read_timeout = if streaming { None } else { flags.request_timeout };
    let server = config.cluster_url.authority().map(ToString::to_string).unwrap_or_default();
    let namespace = flags.namespace.clone().unwrap_or_else(|| config.default_namespace.clone());
    let client = Client::try_from(config).map_err(|e| Error::from_kube(e, &server))?;
    Ok(Conn {
        client,
        namespace,
        server,
        context: name,
    })
}

fn resource() -> ApiResource {
    ApiResource::erase::<Workflow>(&())
}

impl Conn {
    /// Workflows as raw objects (everything the server stored).
    pub fn raw(&self, all_namespaces: bool) -> Api<DynamicObject> {
        if all_namespaces {
            Api::all_with(self.client.clone(), &resource())
        } else {
            Api::namespaced_with(self.client.clone(), &self.namespace, &resource())
        }
    }

    /// Workflows as the lenient view the printers use.
    pub fn views(&self, all_namespaces: bool) -> Api<WorkflowView> {
        if all_namespaces {
            Api::all(self.client.clone())
        } else {
            Api::namespaced(self.client.clone(), &self.namespace)
        }
    }

    pub fn err(&self, e: kube::Error) -> Error {
        Error::from_kube(e, &self.server)
    }

    /// The name, or for `@latest` the most recently created workflow.
    pub async fn resolve(&self, name: &str) -> Result<String> {
        if name != "@latest" {
            return Ok(name.to_owned());
        }
        let list = self.raw(false).list_metadata(&Default::default()).await.map_err(|e| self.err(e))?;
        list.items
            .into_iter()
            .max_by_key(|m| m.metadata.creation_timestamp.as_ref().map(|t| t.0))
            .and_then(|m| m.metadata.name)
            .ok_or_else(|| Error::Other(format!("no workflows in namespace \"{}\" for @latest", self.namespace)))
    }

    pub async fn view(&self, name: &str) -> Result<WorkflowView> {
        self.views(false).get(name).await.map_err(|e| self.err(e))
    }
}

/// Splits `CONTEXT/NAME`; a plain `NAME` has no context.
pub fn split_target(target: &str) -> (Option<&str>, &str) {
    match target.split_once('/') {
        Some((ctx, name)) if !ctx.is_empty() && !name.is_empty() => (Some(ctx), name),
        _ => (None, target),
    }
}

/// `kubectl`-style durations, plus upstream's days: `30s`, `5m`, `2h`, `1d`.
pub fn parse_duration(s: &str) -> Result<Duration> {
    if let Some(days) = s.strip_suffix('d')
        && let Ok(n) = days.parse::<u64>()
    {
        return Ok(Duration::from_secs(n * 86_400));
    }
    argo_api::duration::parse(s).map_err(Error::Usage)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_split_on_the_first_slash() {
        assert_eq!(split_target("prod/wf-1"), (Some("prod"), "wf-1"));
        assert_eq!(split_target("wf-1"), (None, "wf-1"));
        assert_eq!(split_target("/wf"), (None, "/wf"));
    }

    #[test]
    fn durations_accept_days() {
        assert_eq!(parse_duration("2d").unwrap(), Duration::from_secs(172_800));
        assert_eq!(parse_duration("90s").unwrap(), Duration::from_secs(90));
        assert!(parse_duration("soon").is_err());
    }
}
