//! The real node survives its runtime and agent dying mid-run: SIGKILL
//! containerd and the kubelet while a container runs, run
//! tests/cluster/up again, and the container finishes as if nothing
//! happened. A binary of its own: it stops the node every other real-pod
//! test uses.

use std::time::Duration;

use anyhow::{Context, Result};
use argo_api::workflow::Phase;
use e2e::Cluster;
use e2e::workflows::{phase, pods, submit, wait_finished};

const SLOW: &str = r#"
apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {name: outlives-its-node}
spec:
  entrypoint: main
  templates:
  - name: main
    container: {image: busybox, command: [sh, -c, 'sleep 12; echo survived']}
"#;

#[tokio::test]
async fn killing_containerd_and_the_kubelet_mid_run_then_up_recovers() -> Result<()> {
    let cluster = Cluster::connect().await?;
    let ns = cluster.real_namespace("node-kill").await?;
    let _ctl = cluster.controller(&ns, "c1", &["--leader-elect=false"])?;
    let c = &cluster.client;
    let name = submit(c, &ns, SLOW).await?;
    e2e::eventually(Duration::from_secs(60), "the pod to run", || async {
        let pods = pods(c, &ns, &name).await?;
        Ok(pods
            .iter()
            .any(|p| p.status.as_ref().and_then(|s| s.phase.as_deref()) == Some("Running"))
            .then_some(()))
    })
    .await?;

    cluster.kill_node_component("kubelet")?;
    cluster.kill_node_component("containerd")?;
    let progress = cluster.start_missing()?;
    assert!(progress.contains("start containerd") && progress.contains("start kubelet"), "{progress}");
    assert!(progress.contains("kube-proxy: already running"), "only what died is started: {progress}");

    let wf = wait_finished(c, &ns, &name, Duration::from_secs(120)).await?;
    assert_eq!(phase(&wf), Some(Phase::Succeeded), "{:?}", wf.status);
    let logs = e2e::run_ok(cluster.kubectl().args(["argo", "logs", &name, "-n", &ns]))?;
    assert!(logs.contains(": survived"), "the container ran on through the restart: {logs}");

    // And the node takes new pods.
    let again =
        submit(c, &ns, &SLOW.replace("outlives-its-node", "after-the-restart").replace("sleep 12; ", "")).await?;
    let wf = wait_finished(c, &ns, &again, Duration::from_secs(60)).await.context("a pod after the restart")?;
    assert_eq!(phase(&wf), Some(Phase::Succeeded), "{:?}", wf.status);
    Ok(())
}
