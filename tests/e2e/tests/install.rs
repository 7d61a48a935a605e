//! Shipping, end to end: the kustomize base against the real apiserver,
//! `kubectl argo install` in the cluster and on the host, and the krew
//! package installed by the real krew. This binary runs alone (cargo runs
//! test binaries one after another) and its tests one at a time: they own
//! the cluster-wide webhook configurations named argo-webhook.

use std::path::Path;
use std::process::{Command, Output};

use anyhow::{Context, Result, bail};
use argo_api::WorkflowProject;
use e2e::{Cluster, repo_root, run_with_input};
use k8s_openapi::api::admissionregistration::v1::{MutatingWebhookConfiguration, ValidatingWebhookConfiguration};
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::Secret;
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::{Api, DeleteParams};
use tokio::sync::Mutex;

static ONE_AT_A_TIME: Mutex<()> = Mutex::const_new(());

fn out(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn err(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn argo(cluster: &Cluster, args: &[&str]) -> Result<Output> {
    Ok(cluster.kubectl().arg("argo").args(args).output()?)
}

fn ok(o: Output, what: &str) -> Result<String> {
    if !o.status.success() {
        bail!("{what} failed ({}):\n{}\n{}", o.status, out(&o), err(&o));
    }
    Ok(out(&o))
}

/// Leaves the cluster as the other tests expect it: no argo-webhook
/// configurations, no default project (it would cover every namespace).
struct Cleanup(Cluster);

impl Drop for Cleanup {
    fn drop(&mut self) {
        let c = &self.0;
        let _ = c
            .kubectl()
            .args([
                "delete",
                "mutatingwebhookconfiguration,validatingwebhookconfiguration",
                "argo-webhook",
                "--ignore-not-found",
            ])
            .output();
        let _ = c.kubectl().args(["delete", "workflowproject", "default", "--ignore-not-found"]).output();
    }
}

async fn webhook_ca(cluster: &Cluster) -> Result<(String, String)> {
    let m = Api::<MutatingWebhookConfiguration>::all(cluster.client.clone()).get("argo-webhook").await?;
    let v = Api::<ValidatingWebhookConfiguration>::all(cluster.client.clone()).get("argo-webhook").await?;
    let ca =
        |b: Option<&k8s_openapi::ByteString>| b.map(|b| String::from_utf8_lossy(&b.0).into_owned()).unwrap_or_default();
    Ok((
        ca(m.webhooks.as_ref().and_then(|w| w[0].client_config.ca_bundle.as_ref())),
        ca(v.webhooks.as_ref().and_then(|w| w[0].client_config.ca_bundle.as_ref())),
    ))
}

#[tokio::test]
async fn the_kustomize_base_validates_against_the_apiserver() -> Result<()> {
    let _one = ONE_AT_A_TIME.lock().await;
    let cluster = Cluster::connect().await?;
    // Namespaced objects can only be dry-run into a namespace that exists.
    let ns = run_with_input(
        cluster.kubectl().args(["apply", "-f", "-"]),
        "apiVersion: v1\nkind: Namespace\nmetadata: {name: argo}\n",
    )?;
    ok(ns, "creating namespace argo")?;
    let base = repo_root().join("manifests");
    let o = cluster.kubectl().args(["apply", "--server-side", "--dry-run=server", "-k"]).arg(&base).output()?;
    let text = ok(o, "kubectl apply --dry-run=server -k manifests/")?;
    assert_eq!(text.lines().filter(|l| l.ends_with("(server dry run)")).count(), 22, "{text}");
    for object in [
        "deployment.apps/argo-controller",
        "deployment.apps/argo-webhook",
        "poddisruptionbudget.policy/argo-webhook",
        "validatingwebhookconfiguration.admissionregistration.k8s.io/argo-webhook",
        "workflowproject.argoproj.io/default",
    ] {
        assert!(text.contains(object), "{object} missing:\n{text}");
    }
    Ok(())
}

#[tokio::test]
async fn install_waits_for_readiness_is_repeatable_and_uninstalls() -> Result<()> {
    let _one = ONE_AT_A_TIME.lock().await;
    let cluster = Cluster::connect().await?;
    let ns = cluster.namespace("install").await?;
    let _cleanup = Cleanup(Cluster::connect().await?);
    let selector = format!("argo-rs.e2e/install={ns}");
    let install = ["install", "-n", &ns, "--webhook-selector", &selector, "--timeout", "2m"];
    let first = ok(argo(&cluster, &install)?, "kubectl argo install")?;
    for line in [
        "secret/argo-webhook-tls created",
        "deployment.apps/argo-controller ready (2/2)",
        "deployment.apps/argo-webhook ready (2/2)",
        &format!("argo-rs v{} installed in namespace {ns}", argo_api::VERSION),
    ] {
        assert!(first.contains(line), "{line:?} missing:\n{first}");
    }
    // Webhooks are registered only after the Deployments are ready.
    let pos = |s: &str| first.find(s).unwrap_or(usize::MAX);
    assert!(pos("argo-webhook ready") < pos("mutatingwebhookconfiguration"), "{first}");

    let secret = Api::<Secret>::namespaced(cluster.client.clone(), &ns).get("argo-webhook-tls").await?;
    let ca = secret.data.as_ref().and_then(|d| d.get("ca.crt")).context("ca.crt")?;
    let ca = String::from_utf8_lossy(&ca.0).into_owned();
    assert_eq!(webhook_ca(&cluster).await?, (ca.clone(), ca.clone()), "caBundle is the Secret's CA");
    let v = Api::<ValidatingWebhookConfiguration>::all(cluster.client.clone()).get("argo-webhook").await?;
    let hook = &v.webhooks.as_ref().context("webhooks")?[0];
    assert_eq!(hook.client_config.service.as_ref().map(|s| s.namespace.clone()), Some(ns.clone()));

    let second = ok(argo(&cluster, &install)?, "kubectl argo install, again")?;
    assert!(second.contains("secret/argo-webhook-tls kept (still valid)"), "{second}");
    assert_eq!(webhook_ca(&cluster).await?.0, ca, "running it twice keeps the CA");

    let dry = ok(argo(&cluster, &["install", "-n", &ns, "--dry-run"])?, "install --dry-run")?;
    assert_eq!(dry.matches("\nkind: ").count() + usize::from(dry.starts_with("kind: ")), 22, "{dry}");

    let gone = ok(argo(&cluster, &["uninstall", "-n", &ns])?, "kubectl argo uninstall")?;
    assert!(gone.contains("deployment.apps/argo-controller deleted"), "{gone}");
    let deployments: Api<Deployment> = Api::namespaced(cluster.client.clone(), &ns);
    assert!(deployments.get_opt("argo-controller").await?.is_none());
    assert!(
        Api::<ValidatingWebhookConfiguration>::all(cluster.client.clone())
            .get_opt("argo-webhook")
            .await?
            .is_none()
    );
    let crds: Api<CustomResourceDefinition> = Api::all(cluster.client.clone());
    assert!(crds.get_opt("workflows.argoproj.io").await?.is_some(), "workflows' data stays without --purge");
    Ok(())
}

#[tokio::test]
async fn install_local_runs_on_the_host_and_enforces_projects() -> Result<()> {
    let _one = ONE_AT_A_TIME.lock().await;
    let cluster = Cluster::connect().await?;
    let _cleanup = Cleanup(Cluster::connect().await?);
    let scope = format!("local-{}", std::process::id());
    let ns = cluster.namespace_labelled("local", &[("argo-rs.e2e/local", &scope)]).await?;
    let state = tempfile::tempdir()?;
    let bin = cluster.project_bin.display().to_string();
    let selector = format!("argo-rs.e2e/local={scope}");
    let local = |args: &[&str]| -> Result<Output> {
        Ok(cluster.kubectl().env("XDG_STATE_HOME", state.path()).arg("argo").args(args).output()?)
    };
    let installed = ok(
        local(&["install", "--local", "--bin-dir", &bin, "--webhook-selector", &selector])?,
        "install --local",
    )?;
    assert!(installed.contains("argo-controller running on this machine"), "{installed}");
    assert!(installed.contains("argo-webhook running on this machine"), "{installed}");
    // Twice is fine: the processes are replaced.
    let again = ok(local(&["install", "--local", "--bin-dir", &bin, "--webhook-selector", &selector])?, "again")?;
    assert!(again.contains("stopped argo-controller"), "{again}");
    // A webhook that died (its registration still in place, failing
    // closed) does not stop the next install from recovering.
    let state_of = std::fs::read_dir(state.path().join("kubectl-argo"))?.next().context("a state directory")??.path();
    let pid = std::fs::read_to_string(state_of.join("argo-webhook.pid"))?;
    e2e::run_ok(std::process::Command::new("kill").args(["-KILL", pid.trim()]))?;
    let recovered =
        ok(local(&["install", "--local", "--bin-dir", &bin, "--webhook-selector", &selector])?, "after a crash")?;
    assert!(recovered.contains("argo-webhook running on this machine"), "{recovered}");

    let project = format!(
        "apiVersion: argoproj.io/v1alpha1\nkind: WorkflowProject\nmetadata:\n  name: {ns}\n  labels: {{argo-rs.e2e/local: {scope}}}\nspec:\n  namespaces: [{ns}]\n  images: [\"alpine:*\"]\n"
    );
    ok(run_with_input(cluster.kubectl().args(["apply", "-f", "-"]), &project)?, "creating the project")?;
    let wf = |image: &str| {
        format!(
            "apiVersion: argoproj.io/v1alpha1\nkind: Workflow\nmetadata: {{generateName: local-}}\nspec:\n  entrypoint: main\n  templates:\n  - name: main\n    container: {{image: \"{image}\", command: [echo, hi]}}\n"
        )
    };
    let good = run_with_input(
        cluster.kubectl().args(["argo", "submit", "-", "--wait", "-o", "name", "-n", &ns]),
        &wf("alpine:3.19"),
    )?;
    assert_eq!(good.status.code(), Some(0), "{}{}", out(&good), err(&good));
    assert!(out(&good).contains("Succeeded at"), "the host's controller ran it: {}", out(&good));
    let bad = run_with_input(cluster.kubectl().args(["argo", "submit", "-", "-n", &ns]), &wf("busybox:1.36"))?;
    assert_eq!(bad.status.code(), Some(1));
    assert!(err(&bad).contains("denied the request") && err(&bad).contains("busybox:1.36"), "{}", err(&bad));
    // A parameter admission could not see through: the controller checks the pod it renders.
    let sneaky = "apiVersion: argoproj.io/v1alpha1\nkind: Workflow\nmetadata: {name: sneaky}\nspec:\n  entrypoint: main\n  templates:\n  - name: main\n    steps:\n    - - {name: run, template: run, arguments: {parameters: [{name: image, value: \"busybox:1.36\"}]}}\n  - name: run\n    inputs: {parameters: [{name: image}]}\n    container: {image: \"{{inputs.parameters.image}}\", command: [echo]}\n";
    let run = run_with_input(cluster.kubectl().args(["argo", "submit", "-", "--wait", "-n", &ns]), sneaky)?;
    assert_eq!(run.status.code(), Some(1), "{}{}", out(&run), err(&run));
    let tree = ok(cluster.kubectl().args(["argo", "get", "sneaky", "-n", &ns]).output()?, "get")?;
    assert!(
        tree.contains(&format!("pod refused by project \"{ns}\"")) && tree.contains("busybox:1.36"),
        "{tree}"
    );

    // Issue 19, finding 9: in a project that lists its submitters, the
    // CronWorkflow of a submitter runs; the controller on this machine acts
    // as its service account, which the webhook knows, not as the admin.
    let submitters = format!(
        "apiVersion: argoproj.io/v1alpha1\nkind: WorkflowProject\nmetadata:\n  name: {ns}\n  labels: {{argo-rs.e2e/local: {scope}}}\nspec:\n  namespaces: [{ns}]\n  images: [\"alpine:*\"]\n  submitters: {{users: [alice]}}\n"
    );
    ok(
        run_with_input(cluster.kubectl().args(["apply", "-f", "-"]), &submitters)?,
        "the project with submitters",
    )?;
    let alice_rbac = format!(
        "apiVersion: rbac.authorization.k8s.io/v1\nkind: Role\nmetadata: {{name: alice, namespace: {ns}}}\nrules:\n- {{apiGroups: [argoproj.io], resources: [cronworkflows, workflows], verbs: [\"*\"]}}\n---\napiVersion: rbac.authorization.k8s.io/v1\nkind: RoleBinding\nmetadata: {{name: alice, namespace: {ns}}}\nroleRef: {{apiGroup: rbac.authorization.k8s.io, kind: Role, name: alice}}\nsubjects: [{{apiGroup: rbac.authorization.k8s.io, kind: User, name: alice}}]\n"
    );
    ok(run_with_input(cluster.kubectl().args(["apply", "-f", "-"]), &alice_rbac)?, "alice's rights")?;
    let cron = "apiVersion: argoproj.io/v1alpha1\nkind: CronWorkflow\nmetadata: {name: every-two}\nspec:\n  schedule: \"@every 2s\"\n  concurrencyPolicy: Forbid\n  workflowSpec:\n    entrypoint: main\n    templates:\n    - name: main\n      container: {image: \"alpine:3.19\", command: [echo, tick]}\n";
    ok(
        run_with_input(cluster.kubectl().args(["apply", "--as", "alice", "-n", &ns, "-f", "-"]), cron)?,
        "alice's CronWorkflow",
    )?;
    let runs: Api<argo_api::Workflow> = Api::namespaced(cluster.client.clone(), &ns);
    let lp = kube::api::ListParams::default().labels("workflows.argoproj.io/cron-workflow=every-two");
    let ran = e2e::eventually(std::time::Duration::from_secs(90), "a run of alice's CronWorkflow to succeed", || {
        let (runs, lp) = (runs.clone(), lp.clone());
        async move {
            let list = runs.list(&lp).await?;
            Ok(list
                .items
                .into_iter()
                .find(|w| e2e::workflows::phase(w) == Some(argo_api::workflow::Phase::Succeeded)))
        }
    })
    .await;
    let events = ok(
        cluster
            .kubectl()
            .args([
                "get",
                "events",
                "-n",
                &ns,
                "-o",
                "name",
                "--field-selector",
                "reason=WorkflowRefused",
            ])
            .output()?,
        "events",
    )?;
    ran?;
    assert!(events.trim().is_empty(), "no run was refused: {events}");
    ok(
        cluster.kubectl().args(["delete", "cronworkflow", "every-two", "-n", &ns]).output()?,
        "deleting the cron",
    )?;
    let _ = Api::<WorkflowProject>::all(cluster.client.clone()).delete(&ns, &DeleteParams::default()).await;

    let stopped = ok(local(&["uninstall", "--local"])?, "uninstall --local")?;
    assert!(stopped.contains("stopped argo-webhook"), "{stopped}");
    let dir = std::fs::read_dir(state.path().join("kubectl-argo"))?.next().context("a state directory")??.path();
    assert!(!dir.join("argo-controller.pid").exists() && !dir.join("argo-webhook.pid").exists());
    assert!(
        Api::<MutatingWebhookConfiguration>::all(cluster.client.clone())
            .get_opt("argo-webhook")
            .await?
            .is_none()
    );
    Ok(())
}

#[tokio::test]
async fn krew_installs_the_packaged_plugin() -> Result<()> {
    let cluster = Cluster::connect().await?;
    let out_dir = tempfile::tempdir()?;
    let plugin = cluster.project_bin.join("kubectl-argo");
    let packaged = Command::new(repo_root().join("krew/package.sh"))
        .args([
            "--binary".as_ref(),
            plugin.as_os_str(),
            "--out".as_ref(),
            out_dir.path().as_os_str(),
        ])
        .output()?;
    let files = ok(packaged, "krew/package.sh")?;
    let archive = files.lines().find(|l| l.ends_with(".tar.gz")).context("an archive")?;
    let manifest = out_dir.path().join("argo.yaml");

    let validator = cluster.cluster_bin.join("validate-krew-manifest");
    for m in [manifest.as_path(), &repo_root().join("krew/argo.yaml")] {
        let o = Command::new(&validator).args(["-skip-install", "-manifest"]).arg(m).output()?;
        assert!(o.status.success(), "{}: {}", m.display(), err(&o));
    }
    let krew_root = tempfile::tempdir()?;
    let installed = cluster
        .kubectl()
        .env("KREW_ROOT", krew_root.path())
        .args(["krew", "install"])
        .arg(format!("--manifest={}", manifest.display()))
        .arg(format!("--archive={archive}"))
        .output()?;
    ok(installed, "kubectl krew install")?;
    // Only krew's bin directory provides the plugin now.
    let path = std::env::join_paths([
        krew_root.path().join("bin").as_path(),
        &cluster.cluster_bin,
        Path::new("/usr/bin"),
        Path::new("/bin"),
    ])?;
    let version = Command::new(cluster.cluster_bin.join("kubectl"))
        .env("PATH", path)
        .args(["argo", "version", "--short"])
        .output()?;
    assert_eq!(ok(version, "kubectl argo version")?.trim(), format!("kubectl-argo: v{}", argo_api::VERSION));
    Ok(())
}
