//! `kubectl argo install` for real: the controller and the webhook run as
//! pods on the real node from the images tests/cluster/project-images
//! built, with the manifests' RBAC; the apiserver calls the webhook through
//! its Service; a workflow runs through both; and their service accounts
//! can do what they need and nothing else.

use std::time::Duration;

use anyhow::{Context, Result, bail, ensure};
use argo_api::workflow::Phase;
use e2e::workflows::{nodes, phase, pods, submit, wait_finished};
use e2e::{Cluster, run, run_ok};
use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, ListParams};

const REGISTRY: &str = "127.0.0.1:35000";

/// What `kubectl auth can-i` answers for a service account.
fn can(cluster: &Cluster, sa: &str, args: &[&str]) -> Result<bool> {
    let out = run(cluster.kubectl().args(["auth", "can-i", "--as", sa]).args(args))?;
    let answer = String::from_utf8_lossy(&out.stdout).trim().to_owned();
    match answer.as_str() {
        "yes" => Ok(true),
        "no" => Ok(false),
        _ => bail!("kubectl auth can-i {args:?}: {answer} {}", String::from_utf8_lossy(&out.stderr)),
    }
}

/// Removes the cluster-wide pieces an install leaves, even when the test
/// fails half-way, so the tests after it see the cluster they expect.
struct Uninstall(Cluster, String);

impl Drop for Uninstall {
    fn drop(&mut self) {
        let _ = self.0.kubectl().args(["argo", "uninstall", "-n", &self.1]).output();
        let _ = self.0.kubectl().args(["delete", "workflowproject", "default", "--ignore-not-found"]).output();
    }
}

#[tokio::test]
async fn install_runs_for_real_on_the_real_node_with_least_privilege() -> Result<()> {
    let cluster = Cluster::connect().await?;
    for image in ["argo-controller", "argo-webhook"] {
        let addr = REGISTRY.parse()?;
        let (code, _) = e2e::process::http_get(addr, &format!("/v2/ghcr.io/argo-rs/{image}/tags/list"))
            .with_context(|| format!("the registry {REGISTRY} of the real node"))?;
        ensure!(code == 200, "no {image} image in {REGISTRY}: run tests/cluster/project-images (tests/run does)");
    }
    let ns = cluster.real_namespace("incluster").await?;
    let work = cluster.real_namespace("incluster-wf").await?;
    let scope = format!("argo-rs.e2e/incluster={ns}");
    run_ok(cluster.kubectl().args(["label", "namespace", &work, &scope]))?;
    // Only busybox in the workflow namespace: a refusal proves the
    // validating webhook is called.
    cluster.project(&work, serde_json::json!({"namespaces": [work], "images": ["busybox"]})).await?;
    let _uninstall = Uninstall(Cluster::connect().await?, ns.clone());

    let install = [
        "argo",
        "install",
        "-n",
        &ns,
        "--webhook-selector",
        &scope,
        "--managed-namespace",
        &work,
    ];
    let text = run_ok(cluster.kubectl().args(install).args(["--timeout", "3m"]))?;
    for line in [
        "deployment.apps/argo-controller ready (2/2)",
        "deployment.apps/argo-webhook ready (2/2)",
    ] {
        assert!(text.contains(line), "{line:?} missing:\n{text}");
    }
    let running: Vec<Pod> =
        Api::<Pod>::namespaced(cluster.client.clone(), &ns).list(&ListParams::default()).await?.items;
    assert_eq!(running.len(), 4, "two controllers, two webhooks");
    for p in &running {
        let spec = p.spec.as_ref().context("spec")?;
        assert_eq!(spec.node_name.as_deref(), Some("real-0"), "{:?} runs for real", p.metadata.name);
        let image = &spec.containers[0].image;
        assert!(image.as_deref().is_some_and(|i| i.starts_with("ghcr.io/argo-rs/argo-")), "{image:?}");
        let ready = p.status.as_ref().and_then(|s| s.container_statuses.as_ref()).is_some_and(|c| c[0].ready);
        assert!(ready, "{:?} passes its readiness probe", p.metadata.name);
    }

    let c = &cluster.client;
    let name = submit(
        c,
        &work,
        r#"
apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {name: through-the-install}
spec:
  entrypoint: main
  templates:
  - name: main
    steps:
    - - {name: hello, template: echo}
  - name: echo
    container: {image: busybox, command: [echo, hello from the in-cluster controller]}
"#,
    )
    .await?;
    let wf = wait_finished(c, &work, &name, Duration::from_secs(120)).await?;
    assert_eq!(phase(&wf), Some(Phase::Succeeded), "{:?}", wf.status);
    let labels = wf.metadata.labels.clone().unwrap_or_default();
    assert_eq!(labels.get("workflows.argoproj.io/project").map(String::as_str), Some(work.as_str()), "mutated");
    let pod = pods(c, &work, &name).await?.into_iter().next().context("the step's pod")?;
    assert_eq!(pod.spec.and_then(|s| s.node_name).as_deref(), Some("real-0"));
    let logs = run_ok(cluster.kubectl().args(["argo", "logs", &name, "-n", &work]))?;
    assert!(logs.contains("hello from the in-cluster controller"), "{logs}");
    // The argo-exec image came from the registry too, and reported stdout.
    let hello = nodes(&wf).into_values().find(|n| n.display_name == "hello").context("the hello node")?;
    let result = hello.outputs.and_then(|o| o.result);
    assert_eq!(result.as_deref(), Some("hello from the in-cluster controller"));

    let refused = e2e::run_with_input(
        cluster.kubectl().args(["create", "-n", &work, "-f", "-"]),
        "apiVersion: argoproj.io/v1alpha1\nkind: Workflow\nmetadata: {name: refused}\nspec:\n  entrypoint: m\n  templates:\n  - {name: m, container: {image: alpine:3.23}}\n",
    )?;
    let why = String::from_utf8_lossy(&refused.stderr);
    assert!(
        !refused.status.success()
            && why.contains("validate.workflows.argoproj.io")
            && why.contains("image \"alpine:3.23\" is not allowed"),
        "{why}"
    );

    least_privilege(&cluster, &ns, &work)?;
    Ok(())
}

fn least_privilege(cluster: &Cluster, ns: &str, work: &str) -> Result<()> {
    let controller = format!("system:serviceaccount:{ns}:argo-controller");
    let webhook = format!("system:serviceaccount:{ns}:argo-webhook");
    let lease = ["update", "leases.coordination.k8s.io", "-n", ns];
    for (sa, args, want) in [
        (&controller, &["create", "pods", "-n", work][..], true),
        (&controller, &["delete", "pods", "-n", work], true),
        (&controller, &["patch", "workflows.argoproj.io", "--subresource=status", "-n", work], true),
        (&controller, &["watch", "workflowprojects.argoproj.io"], true),
        (&controller, &["create", "events.events.k8s.io", "-n", work], true),
        (&controller, &lease, true),
        (&controller, &["update", "leases.coordination.k8s.io", "-n", "default"], false),
        (&controller, &["get", "secrets", "-n", work], false),
        (&controller, &["create", "pods", "--subresource=exec", "-n", work], false),
        (&controller, &["create", "workflowprojects.argoproj.io"], false),
        (&controller, &["create", "deployments.apps", "-n", work], false),
        (&controller, &["create", "clusterrolebindings.rbac.authorization.k8s.io"], false),
        (&controller, &["impersonate", "serviceaccounts", "-n", work], false),
        (&webhook, &["list", "workflowprojects.argoproj.io"], true),
        (&webhook, &["create", "pods", "-n", work], false),
        (&webhook, &["get", "secrets", "-n", ns], false),
        (&webhook, &["patch", "workflows.argoproj.io", "-n", work], false),
        (&webhook, &["update", "workflowprojects.argoproj.io"], false),
    ] {
        assert_eq!(can(cluster, sa, args)?, want, "{sa} {args:?}");
    }
    Ok(())
}
