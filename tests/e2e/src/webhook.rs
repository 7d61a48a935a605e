//! The webhook as a real process on the host, registered with the real
//! apiserver by URL with a caBundle, its certificates on disk in the
//! layout of a mounted Secret so they can be rotated.

use std::fs::File;
use std::net::{IpAddr, Ipv4Addr};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::{Context, Result};
use argo_webhook::certs::{Ca, Pem};
use base64::Engine;
use k8s_openapi::api::admissionregistration::v1::{MutatingWebhookConfiguration, ValidatingWebhookConfiguration};
use k8s_openapi::api::rbac::v1::{ClusterRole, RoleBinding};
use kube::api::{Api, DeleteParams, PostParams};

use crate::process::{Process, free_port};
use crate::{Cluster, repo_root};

/// Label that puts a namespace or project in one webhook test's scope.
pub const SCOPE_LABEL: &str = "argo-rs.e2e/webhook";

pub struct Webhook {
    pub process: Process,
    pub ca: Ca,
    pub dir: PathBuf,
    pub scope: String,
    pub url: String,
    versions: usize,
}

pub fn publish(dir: &Path, version: &str, pem: &Pem) -> Result<()> {
    Ok(argo_webhook::certs::write_mounted(dir, version, pem)?)
}

impl Webhook {
    /// Replaces the serving certificate (same CA) on disk.
    pub fn rotate(&mut self) -> Result<()> {
        self.versions += 1;
        let pem = self.ca.serving(&["localhost".into()], &[IpAddr::V4(Ipv4Addr::LOCALHOST)])?;
        publish(&self.dir, &format!("..v{}", self.versions), &pem)
    }

    pub fn ca_bundle(&self) -> String {
        base64::engine::general_purpose::STANDARD.encode(&self.ca.pem.cert)
    }
}

/// A namespace in the scope of a fresh webhook, where alice and bob may
/// create workflows (so impersonating them reaches admission).
pub async fn scoped(cluster: &Cluster, prefix: &str) -> Result<(String, Webhook)> {
    let scope = format!("{prefix}-{}", std::process::id());
    let ns = cluster.namespace_labelled(prefix, &[(SCOPE_LABEL, scope.as_str())]).await?;
    grant_editors(cluster, &ns).await?;
    let hook = cluster.webhook(&scope).await?;
    Ok((ns, hook))
}

/// Lets the users alice, bob and mallory edit workflows in `ns`.
pub async fn grant_editors(cluster: &Cluster, ns: &str) -> Result<()> {
    let roles: Api<ClusterRole> = Api::all(cluster.client.clone());
    let role: ClusterRole = serde_json::from_value(serde_json::json!({
        "metadata": {"name": "e2e-workflow-editor"},
        "rules": [{"apiGroups": ["argoproj.io"], "resources": ["workflows"], "verbs": ["*"]}]
    }))?;
    let _ = roles.create(&PostParams::default(), &role).await;
    let binding: RoleBinding = serde_json::from_value(serde_json::json!({
        "metadata": {"name": "e2e-workflow-editors"},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "e2e-workflow-editor"},
        "subjects": [{"kind": "User", "name": "alice"}, {"kind": "User", "name": "bob"}, {"kind": "User", "name": "mallory"}]
    }))?;
    Api::<RoleBinding>::namespaced(cluster.client.clone(), ns)
        .create(&PostParams::default(), &binding)
        .await?;
    Ok(())
}

impl Cluster {
    /// Starts `argo-webhook` and registers it for namespaces and projects
    /// labelled `SCOPE_LABEL=<scope>`.
    pub async fn webhook(&self, scope: &str) -> Result<Webhook> {
        let dir = repo_root().join("target/e2e-certs").join(scope);
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir)?;
        let ca = Ca::new(&format!("e2e {scope}"))?;
        publish(&dir, "..v1", &ca.serving(&["localhost".into()], &[IpAddr::V4(Ipv4Addr::LOCALHOST)])?)?;
        let tls = free_port()?;
        let admin = free_port()?;
        let log = repo_root().join("target/e2e-logs").join(format!("{scope}-webhook.log"));
        std::fs::create_dir_all(log.parent().context("log dir")?)?;
        let child = Command::new(self.project_bin.join("argo-webhook"))
            .args(["--kubeconfig".as_ref(), self.kubeconfig.as_os_str()])
            .args(["--address", &tls.to_string(), "--admin-address", &admin.to_string()])
            .args(["--tls-cert".as_ref(), dir.join("tls.crt").as_os_str()])
            .args(["--tls-key".as_ref(), dir.join("tls.key").as_os_str()])
            .args(["--log", "info"])
            // The tests' controllers act as the kubeconfig's user (an
            // install's act as their service account): their CronWorkflow
            // runs are the controller's.
            .args(["--controller-user", "kubernetes-admin"])
            .stdout(Stdio::null())
            .stderr(File::create(&log)?)
            .spawn()
            .context("starting argo-webhook")?;
        let process = Process { child, admin, log };
        process.wait_ready(std::time::Duration::from_secs(30)).await?;
        let hook = Webhook {
            process,
            ca,
            dir,
            scope: scope.into(),
            url: format!("https://{tls}"),
            versions: 1,
        };
        self.register(&hook).await?;
        Ok(hook)
    }

    async fn register(&self, hook: &Webhook) -> Result<()> {
        let scope = &hook.scope;
        let selector = serde_json::json!({"matchLabels": {SCOPE_LABEL: scope}});
        let client =
            |path: &str| serde_json::json!({"url": format!("{}{path}", hook.url), "caBundle": hook.ca_bundle()});
        let mutating: MutatingWebhookConfiguration = serde_json::from_value(serde_json::json!({
            "metadata": {"name": format!("e2e-{scope}")},
            "webhooks": [{
                "name": "mutate.workflows.argoproj.io", "admissionReviewVersions": ["v1"], "sideEffects": "None",
                "failurePolicy": "Fail", "timeoutSeconds": 5, "reinvocationPolicy": "IfNeeded",
                "clientConfig": client("/mutate"), "namespaceSelector": selector,
                "rules": [{"apiGroups": ["argoproj.io"], "apiVersions": ["v1alpha1"], "operations": ["CREATE"], "resources": ["workflows"]}]
            }]
        }))?;
        let validating: ValidatingWebhookConfiguration = serde_json::from_value(serde_json::json!({
            "metadata": {"name": format!("e2e-{scope}")},
            "webhooks": [{
                "name": "validate.workflows.argoproj.io", "admissionReviewVersions": ["v1"], "sideEffects": "None",
                "failurePolicy": "Fail", "timeoutSeconds": 5,
                "clientConfig": client("/validate"), "namespaceSelector": selector,
                "rules": [{"apiGroups": ["argoproj.io"], "apiVersions": ["v1alpha1"], "operations": ["CREATE", "UPDATE"], "resources": ["workflows", "workflowtemplates", "cronworkflows"]}]
            }, {
                "name": "validate.workflowprojects.argoproj.io", "admissionReviewVersions": ["v1"], "sideEffects": "None",
                "failurePolicy": "Fail", "timeoutSeconds": 5,
                "clientConfig": client("/validate"), "objectSelector": selector,
                "rules": [{"apiGroups": ["argoproj.io"], "apiVersions": ["v1alpha1"], "operations": ["CREATE", "UPDATE"], "resources": ["workflowprojects", "clusterworkflowtemplates"]}]
            }]
        }))?;
        let m: Api<MutatingWebhookConfiguration> = Api::all(self.client.clone());
        let v: Api<ValidatingWebhookConfiguration> = Api::all(self.client.clone());
        let name = format!("e2e-{scope}");
        let _ = m.delete(&name, &DeleteParams::default()).await;
        let _ = v.delete(&name, &DeleteParams::default()).await;
        m.create(&PostParams::default(), &mutating).await?;
        v.create(&PostParams::default(), &validating).await?;
        Ok(())
    }

    /// Removes the webhook configurations of a scope.
    pub async fn unregister(&self, scope: &str) {
        let name = format!("e2e-{scope}");
        let _ = Api::<MutatingWebhookConfiguration>::all(self.client.clone())
            .delete(&name, &DeleteParams::default())
            .await;
        let _ = Api::<ValidatingWebhookConfiguration>::all(self.client.clone())
            .delete(&name, &DeleteParams::default())
            .await;
    }
}
