//! Submitting workflows and waiting for them, through the real apiserver.

use std::collections::BTreeMap;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use argo_api::Workflow;
use argo_api::workflow::{NodeStatus, Phase};
use k8s_openapi::api::core::v1::Pod;
use kube::Client;
use kube::api::{Api, ListParams, PostParams};

use crate::repo_root;

/// The text of a fixture under tests/e2e/fixtures/.
pub fn fixture(name: &str) -> Result<String> {
    let path = repo_root().join("tests/e2e/fixtures").join(name);
    std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))
}

/// Creates the workflow in `yaml` (which may use generateName); returns
/// its name.
pub async fn submit(client: &Client, ns: &str, yaml: &str) -> Result<String> {
    let value: serde_json::Value = serde_yaml::from_str(yaml)?;
    let wf = argo_api::load::workflow(&value)?;
    let api: Api<Workflow> = Api::namespaced(client.clone(), ns);
    let created = api.create(&PostParams::default(), &wf).await?;
    created.metadata.name.context("created workflow has a name")
}

pub async fn get(client: &Client, ns: &str, name: &str) -> Result<Workflow> {
    Ok(Api::<Workflow>::namespaced(client.clone(), ns).get(name).await?)
}

pub fn phase(wf: &Workflow) -> Option<Phase> {
    wf.status.as_ref().and_then(|s| s.phase)
}

/// Waits until the workflow's phase is final; fails after `timeout`.
pub async fn wait_finished(client: &Client, ns: &str, name: &str, timeout: Duration) -> Result<Workflow> {
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        let wf = get(client, ns, name).await?;
        if phase(&wf).is_some_and(Phase::is_completed) {
            return Ok(wf);
        }
        if tokio::time::Instant::now() > deadline {
            bail!(
                "workflow {ns}/{name} did not finish in {timeout:?}; status: {}",
                serde_json::to_string_pretty(&wf.status)?
            );
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// Waits until `check` holds for the workflow.
pub async fn wait_until(
    client: &Client,
    ns: &str,
    name: &str,
    timeout: Duration,
    what: &str,
    check: impl Fn(&Workflow) -> bool,
) -> Result<Workflow> {
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        let wf = get(client, ns, name).await?;
        if check(&wf) {
            return Ok(wf);
        }
        if tokio::time::Instant::now() > deadline {
            bail!(
                "{ns}/{name}: timed out after {timeout:?} waiting for {what}; status: {}",
                serde_json::to_string_pretty(&wf.status)?
            );
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Waits until the controller has acted on the workflow's current spec
/// (`status.observedGeneration` reached `metadata.generation`): the
/// positive signal to wait for before asserting that something did not
/// happen.
pub async fn wait_observed(client: &Client, ns: &str, name: &str, timeout: Duration) -> Result<Workflow> {
    wait_until(client, ns, name, timeout, "the controller to observe the current spec", |wf| {
        let observed = wf.status.as_ref().and_then(|s| s.observed_generation);
        observed.is_some() && observed >= wf.metadata.generation
    })
    .await
}

/// Nodes by display name.
pub fn nodes(wf: &Workflow) -> BTreeMap<String, NodeStatus> {
    wf.status
        .iter()
        .flat_map(|s| s.nodes.values())
        .map(|n| (n.display_name.clone(), n.clone()))
        .collect()
}

pub async fn pods(client: &Client, ns: &str, workflow: &str) -> Result<Vec<Pod>> {
    let api: Api<Pod> = Api::namespaced(client.clone(), ns);
    let lp = ListParams::default().labels(&format!("{}={workflow}", argo_api::keys::WORKFLOW));
    Ok(api.list(&lp).await?.items)
}

pub fn example(name: &str) -> std::path::PathBuf {
    repo_root().join("examples").join(name)
}
