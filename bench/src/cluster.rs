//! Connecting to the cluster, namespaces, and running the controller.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use anyhow::{Context, Result, bail};
use k8s_openapi::api::core::v1::{Namespace, ServiceAccount};
use kube::api::{Api, DeleteParams, PostParams};
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::{Client, Config};

pub async fn client(kubeconfig: &Path) -> Result<Client> {
    let config =
        Config::from_custom_kubeconfig(Kubeconfig::read_from(kubeconfig)?, &KubeConfigOptions::default()).await?;
    Ok(Client::try_from(config)?)
}

/// A fresh namespace with its default service account.
pub async fn namespace(client: &Client, name: &str) -> Result<()> {
    let api: Api<Namespace> = Api::all(client.clone());
    let _ = api.delete(name, &DeleteParams::default()).await;
    for _ in 0..240 {
        if api.get_opt(name).await?.is_none() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    let mut ns = Namespace::default();
    ns.metadata.name = Some(name.into());
    api.create(&PostParams::default(), &ns).await?;
    open_project(client, name).await?;
    let sa: Api<ServiceAccount> = Api::namespaced(client.clone(), name);
    for _ in 0..240 {
        if sa.get_opt("default").await?.is_some() {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    bail!("namespace {name} got no default service account")
}

/// A WorkflowProject that allows everything in `namespace` (the controller
/// creates no pod for a workflow without a project).
pub async fn open_project(client: &Client, namespace: &str) -> Result<()> {
    let project: argo_api::WorkflowProject = serde_json::from_value(serde_json::json!({
        "apiVersion": "argoproj.io/v1alpha1", "kind": "WorkflowProject",
        "metadata": {"name": format!("bench-{namespace}")},
        "spec": {"namespaces": [namespace], "security": {"level": "privileged"}}
    }))?;
    let api: Api<argo_api::WorkflowProject> = Api::all(client.clone());
    let pp = kube::api::PatchParams::apply("argo-rs-bench").force();
    api.patch(&format!("bench-{namespace}"), &pp, &kube::api::Patch::Apply(&project)).await?;
    Ok(())
}

/// Deletes a namespace and waits until it is gone, so that the next
/// scenario does not share the cluster with its pods' deletion.
pub async fn delete_namespace(client: &Client, name: &str) {
    let api: Api<Namespace> = Api::all(client.clone());
    let _ = api.delete(name, &DeleteParams::default()).await;
    for _ in 0..1200 {
        if matches!(api.get_opt(name).await, Ok(None)) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// The controller as a child process, killed on drop.
pub struct Controller {
    pub child: Child,
}

impl Drop for Controller {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn start_controller(bin: &Path, kubeconfig: &Path, log: &PathBuf) -> Result<Controller> {
    let admin = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?;
    let child = Command::new(bin)
        .args(["--kubeconfig".as_ref(), kubeconfig.as_os_str()])
        .args([
            "--leader-elect=false",
            "--log",
            "warn",
            "--admin-address",
            &admin.to_string(),
        ])
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(log)?)
        .spawn()
        .with_context(|| format!("starting {}", bin.display()))?;
    Ok(Controller { child })
}
