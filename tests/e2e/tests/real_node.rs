//! What happens inside a pod, for real: the local cluster's real node
//! (`real-0`: containerd, runc, kubelet) runs every pod that does not
//! tolerate the kwok nodes' taint, with images from the loopback registry.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, ensure};
use argo_api::workflow::{NodeType, Phase};
use e2e::workflows::{nodes, phase, pods, submit, wait_finished};
use e2e::{Cluster, KWOK_TOLERATION, run_ok};
use k8s_openapi::api::core::v1::{Node, Pod};
use kube::api::Api;

fn argo(cluster: &Cluster, ns: &str, args: &[&str]) -> Command {
    let mut c = cluster.kubectl();
    c.arg("argo").args(args).args(["-n", ns]);
    c
}

fn pod_node(wf: &argo_api::Workflow, display: &str) -> Result<argo_api::workflow::NodeStatus> {
    nodes(wf)
        .into_values()
        .find(|n| n.display_name == display && n.type_ == NodeType::Pod)
        .with_context(|| format!("no pod node {display}: {:?}", wf.status))
}

#[tokio::test]
async fn the_real_node_is_ready_and_the_kwok_nodes_are_tainted() -> Result<()> {
    let cluster = Cluster::connect().await?;
    let api: Api<Node> = Api::all(cluster.client.clone());
    let real = api.get("real-0").await.context("the local cluster has a real node")?;
    let ready = real.status.as_ref().and_then(|s| s.conditions.as_ref()).into_iter().flatten();
    assert!(ready.clone().any(|c| c.type_ == "Ready" && c.status == "True"), "{:?}", real.status);
    let runtime = real.status.as_ref().and_then(|s| s.node_info.as_ref()).map(|i| i.container_runtime_version.clone());
    assert!(runtime.is_some_and(|r| r.starts_with("containerd://2.")), "{:?}", real.status);
    assert!(real.spec.as_ref().and_then(|s| s.taints.as_ref()).is_none_or(Vec::is_empty));
    for kwok in api
        .list(&Default::default())
        .await?
        .items
        .iter()
        .filter(|n| n.metadata.name.as_deref() != Some("real-0"))
    {
        let taints = kwok.spec.as_ref().and_then(|s| s.taints.clone()).unwrap_or_default();
        assert!(
            taints.iter().any(|t| t.key == "kwok.x-k8s.io/node" && t.effect == "NoSchedule"),
            "{:?} is not tainted: {taints:?}",
            kwok.metadata.name
        );
    }
    Ok(())
}

#[tokio::test]
async fn real_commands_exit_codes_and_logs_and_kwok_only_when_tolerated() -> Result<()> {
    let (cluster, ns, _ctl) = e2e::process::with_real_controller("real-exit").await?;
    let c = &cluster.client;
    let name = submit(
        c,
        &ns,
        &format!(
            r#"
apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {{name: exits}}
spec:
  entrypoint: main
  templates:
  - name: main
    dag:
      tasks:
      - {{name: real, template: fail, continueOn: {{failed: true}}}}
      - {{name: simulated, template: kwok}}
  - name: fail
    container:
      image: busybox
      command: [sh, -c, 'echo "out from $(hostname)"; echo "err line" >&2; exit 3']
  - name: kwok
    tolerations: [{KWOK_TOLERATION}]
    metadata: {{annotations: {{kwok.test/duration: 1s}}}}
    container: {{image: busybox, command: [sh, -c, 'exit 9']}}
"#
        ),
    )
    .await?;
    let wf = wait_finished(c, &ns, &name, Duration::from_secs(90)).await?;
    assert_eq!(phase(&wf), Some(Phase::Succeeded), "{:?}", wf.status);
    let real = pod_node(&wf, "real")?;
    assert_eq!(real.phase, Phase::Failed);
    assert_eq!(real.host_node_name.as_deref(), Some("real-0"));
    assert_eq!(real.outputs.as_ref().and_then(|o| o.exit_code.as_deref()), Some("3"), "the command's own exit code");
    assert!(real.message.as_deref().is_some_and(|m| m.contains("exit code 3")), "{:?}", real.message);
    let simulated = pod_node(&wf, "simulated")?;
    assert_eq!(simulated.phase, Phase::Succeeded, "kwok does not run `exit 9`");
    assert!(simulated.host_node_name.as_deref().is_some_and(|n| n.starts_with("kwok-node-")), "{simulated:?}");

    let logs = run_ok(&mut argo(&cluster, &ns, &["logs", &name, real.pod_name.as_deref().unwrap_or_default()]))?;
    let pod = real.pod_name.clone().unwrap_or_default();
    assert!(logs.contains(&format!("{pod}: out from {pod}")), "stdout, and the pod's hostname:\n{logs}");
    assert!(logs.contains(&format!("{pod}: err line")), "stderr too:\n{logs}");
    Ok(())
}

#[tokio::test]
async fn scripts_and_image_entrypoints_run_for_real() -> Result<()> {
    let (cluster, ns, _ctl) = e2e::process::with_real_controller("real-script").await?;
    let c = &cluster.client;
    let name = submit(
        c,
        &ns,
        r#"
apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {name: scripts}
spec:
  entrypoint: main
  templates:
  - name: main
    steps:
    - - {name: python, template: python}
      - {name: shell, template: shell}
      - {name: argosay, template: argosay}
  - name: python
    script:
      image: python:alpine3.23
      command: [python]
      source: |
        import json, sys
        print("python", sys.version_info.major, json.dumps(sum(range(10))))
  - name: shell
    script:
      image: alpine:3.23
      command: [sh]
      source: |
        for i in 1 2 3; do printf 'line %s\n' "$i"; done
  - name: argosay
    container:
      image: argoproj/argosay:v2
      args: [echo, from the image's own entrypoint]
"#,
    )
    .await?;
    let wf = wait_finished(c, &ns, &name, Duration::from_secs(90)).await?;
    assert_eq!(phase(&wf), Some(Phase::Succeeded), "{:?}", wf.status);
    let logs = run_ok(&mut argo(&cluster, &ns, &["logs", &name]))?;
    for (step, line) in [
        ("python", "python 3 45"),
        ("shell", "line 3"),
        ("argosay", "from the image's own entrypoint"),
    ] {
        let pod = pod_node(&wf, step)?.pod_name.unwrap_or_default();
        assert!(logs.contains(&format!("{pod}: {line}")), "{step}: {line:?} missing:\n{logs}");
    }
    Ok(())
}

#[tokio::test]
async fn a_deadline_kills_the_running_process() -> Result<()> {
    let (cluster, ns, _ctl) = e2e::process::with_real_controller("real-deadline").await?;
    let c = &cluster.client;
    let name = submit(
        c,
        &ns,
        r#"
apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {name: deadline}
spec:
  entrypoint: sleep
  templates:
  - name: sleep
    activeDeadlineSeconds: 3
    container: {image: busybox, command: [sleep, "600"]}
"#,
    )
    .await?;
    let started = Instant::now();
    let wf = wait_finished(c, &ns, &name, Duration::from_secs(90)).await?;
    assert_eq!(phase(&wf), Some(Phase::Failed), "{:?}", wf.status);
    assert!(started.elapsed() < Duration::from_secs(120), "sleep 600 was cut short");
    // The kubelet stops the process: SIGTERM, then (sleep as PID 1 ignores
    // it) SIGKILL after the grace period.
    // The pod's phase may say Failed before its container's state says
    // terminated: wait for both. The kubelet gives the container its
    // termination grace (30 s) first, and a loaded node takes longer.
    let status = e2e::eventually(Duration::from_secs(180), "the pod to be killed", || async {
        let pod = pods(c, &ns, &name).await?.into_iter().next().context("the pod")?;
        let status = pod.status.clone().unwrap_or_default();
        let main = status.container_statuses.iter().flatten().find(|s| s.name == "main");
        let state = main.and_then(|m| m.state.as_ref());
        // On a loaded node the deadline may pass before main even starts.
        let stopped = state.is_some_and(|s| s.terminated.is_some() || s.waiting.is_some());
        Ok((status.phase.as_deref() == Some("Failed") && stopped).then_some(status))
    })
    .await?;
    assert_eq!(status.reason.as_deref(), Some("DeadlineExceeded"), "the kubelet killed it: {status:?}");
    let main = status.container_statuses.iter().flatten().find(|s| s.name == "main").context("main")?;
    if let Some(killed) = main.state.as_ref().and_then(|s| s.terminated.as_ref()) {
        assert!([137, 143].contains(&killed.exit_code), "killed by a signal: {killed:?}");
    }
    let message = pod_node(&wf, "deadline")?.message.unwrap_or_default();
    assert!(message.contains("deadline"), "{message}");
    Ok(())
}

#[tokio::test]
async fn logs_follow_a_running_container() -> Result<()> {
    let (cluster, ns, _ctl) = e2e::process::with_real_controller("real-follow").await?;
    let c = &cluster.client;
    let name = submit(
        c,
        &ns,
        r#"
apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {name: ticking}
spec:
  entrypoint: tick
  templates:
  - name: tick
    container:
      image: busybox
      command: [sh, -c, 'for i in 1 2 3 4 5; do echo "tick $i"; sleep 1; done']
"#,
    )
    .await?;
    let running = |p: &Pod| p.status.as_ref().and_then(|s| s.phase.as_deref()) == Some("Running");
    e2e::eventually(Duration::from_secs(60), "the pod to run", || async {
        Ok(pods(c, &ns, &name).await?.iter().any(running).then_some(()))
    })
    .await?;
    let mut follow =
        argo(&cluster, &ns, &["logs", &name, "-f"]).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn()?;
    let stdout = follow.stdout.take().context("stdout")?;
    let lines = tokio::task::spawn_blocking(move || {
        BufReader::new(stdout)
            .lines()
            .map_while(Result::ok)
            .map(|l| (Instant::now(), l))
            .collect::<Vec<_>>()
    });
    let lines = tokio::time::timeout(Duration::from_secs(60), lines).await.context("-f ends with the workflow")??;
    let status = follow.wait()?;
    ensure!(status.success(), "kubectl argo logs -f failed: {status}");
    let ticks: Vec<&(Instant, String)> = lines.iter().filter(|(_, l)| l.contains(": tick ")).collect();
    let texts: Vec<String> = ticks.iter().map(|(_, l)| l.rsplit(": ").next().unwrap_or_default().to_owned()).collect();
    assert_eq!(texts, ["tick 1", "tick 2", "tick 3", "tick 4", "tick 5"], "{lines:?}");
    let spread = ticks[4].0.duration_since(ticks[0].0);
    assert!(spread >= Duration::from_millis(1500), "lines came as they were written, not at the end: {spread:?}");
    Ok(())
}

#[tokio::test]
async fn a_sidecar_serves_main_and_stops_when_main_ends() -> Result<()> {
    let (cluster, ns, _ctl) = e2e::process::with_real_controller("real-sidecar").await?;
    let c = &cluster.client;
    let name = submit(
        c,
        &ns,
        r#"
apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {name: sidecar}
spec:
  entrypoint: main
  templates:
  - name: main
    container:
      image: curlimages/curl:latest
      command: [sh, -c, 'until curl -fsS http://127.0.0.1/ >/tmp/page; do sleep 0.5; done; grep -o "Welcome to nginx" /tmp/page']
    sidecars:
    - {name: nginx, image: "nginx:1.13", command: [nginx, -g, daemon off;]}
"#,
    )
    .await?;
    let wf = wait_finished(c, &ns, &name, Duration::from_secs(90)).await?;
    assert_eq!(phase(&wf), Some(Phase::Succeeded), "the pod ends with main: {:?}", wf.status);
    let logs = run_ok(&mut argo(&cluster, &ns, &["logs", &name]))?;
    assert!(logs.contains(": Welcome to nginx"), "{logs}");
    let nginx = run_ok(&mut argo(&cluster, &ns, &["logs", &name, "-c", "nginx"]))?;
    assert!(nginx.contains("\"GET / HTTP/1.1\" 200"), "the sidecar's own log: {nginx}");
    Ok(())
}

/// A pod whose image cannot be pulled: its node says why while it waits
/// (`get`, `-o json`), then fails with that reason at the controller's
/// `--image-pull-timeout` instead of at the workflow's deadline.
#[tokio::test]
async fn an_image_that_cannot_be_pulled_is_named_then_fails_the_node() -> Result<()> {
    let cluster = Cluster::connect().await?;
    let ns = cluster.real_namespace("real-pull").await?;
    let ctl = cluster.controller(&ns, "c1", &["--leader-elect=false", "--image-pull-timeout", "40s"])?;
    ctl.wait_ready(Duration::from_secs(30)).await?;
    let c = &cluster.client;
    let name = submit(
        c,
        &ns,
        r#"
apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {name: unpullable}
spec:
  entrypoint: main
  activeDeadlineSeconds: 600
  templates:
  - name: main
    container: {image: "docker.io/argo-rs-e2e/no-such-image:v1", command: [echo, never]}
"#,
    )
    .await?;
    let waiting =
        e2e::workflows::wait_until(c, &ns, &name, Duration::from_secs(120), "a pull error in the node", |wf| {
            nodes(wf).values().any(|n| {
                n.message
                    .as_deref()
                    .is_some_and(|m| m.starts_with("ErrImagePull") || m.starts_with("ImagePullBackOff"))
            })
        })
        .await?;
    let node = nodes(&waiting).into_values().find(|n| n.type_ == NodeType::Pod).context("the pod node")?;
    assert_eq!(node.phase, Phase::Pending, "{node:?}");
    let message = node.message.clone().unwrap_or_default();
    assert!(message.contains("docker.io/argo-rs-e2e/no-such-image:v1"), "names the image: {message}");
    let get = run_ok(&mut argo(&cluster, &ns, &["get", &name]))?;
    assert!(get.contains("ErrImagePull") || get.contains("ImagePullBackOff"), "get shows why it waits:\n{get}");
    let json = run_ok(&mut argo(&cluster, &ns, &["get", &name, "-o", "json"]))?;
    assert!(json.contains("no-such-image"), "-o json has the node's message:\n{json}");

    let done = wait_finished(c, &ns, &name, Duration::from_secs(180)).await?;
    assert_eq!(phase(&done), Some(Phase::Error), "{:?}", done.status);
    let node = nodes(&done).into_values().find(|n| n.type_ == NodeType::Pod).context("the pod node")?;
    let message = node.message.clone().unwrap_or_default();
    assert!(
        message.contains("no-such-image") && message.ends_with("not pulled within the image pull timeout of 40s"),
        "{message}"
    );
    let took = node
        .finished_at
        .as_ref()
        .context("finishedAt")?
        .0
        .duration_since(node.started_at.as_ref().context("startedAt")?.0);
    assert!(took.as_secs() < 120, "failed near the 40s timeout, not the 600s deadline: {took:?}");
    let left = pods(c, &ns, &name).await?;
    assert!(left.iter().all(|p| p.metadata.deletion_timestamp.is_some()), "the pod is deleted: {left:?}");
    drop(ctl);
    Ok(())
}
