//! The controller on the real local cluster: each test runs its own
//! `argo-controller` process scoped to a fresh namespace, submits Workflows
//! through the apiserver, and checks status and pods as kwok runs them.

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, ensure};
use argo_api::workflow::{NodeType, Phase};
use e2e::Cluster;
use e2e::process::Process;
use e2e::workflows::{self, nodes, pods, submit, wait_finished, wait_until};
use futures::StreamExt;
use k8s_openapi::api::core::v1::{Event, Pod};
use kube::api::{Api, ListParams};
use kube::runtime::{WatchStreamExt, watcher};

const MINUTE: Duration = Duration::from_secs(60);

/// A namespace with a running controller.
async fn setup(prefix: &str) -> Result<(Cluster, String, Process)> {
    e2e::process::with_controller(prefix).await
}

fn started(n: &argo_api::workflow::NodeStatus) -> k8s_openapi::jiff::Timestamp {
    n.started_at.as_ref().expect("startedAt").0
}
fn finished(n: &argo_api::workflow::NodeStatus) -> k8s_openapi::jiff::Timestamp {
    n.finished_at.as_ref().expect("finishedAt").0
}

#[tokio::test]
async fn diamond_dag_runs_in_order_with_upstream_status_and_pods() -> Result<()> {
    let (cluster, ns, ctl) = setup("diamond").await?;
    let c = &cluster.client;
    let name = submit(c, &ns, &std::fs::read_to_string(workflows::example("dag-diamond.yaml"))?).await?;
    let wf = wait_finished(c, &ns, &name, MINUTE).await?;
    let st = wf.status.clone().context("status")?;
    ensure!(st.phase == Some(Phase::Succeeded), "{st:?}");
    ensure!(st.progress.as_deref() == Some("4/4"));
    let n = nodes(&wf);
    ensure!(started(&n["B"]) >= finished(&n["A"]) && started(&n["C"]) >= finished(&n["A"]));
    ensure!(started(&n["D"]) >= finished(&n["B"]) && started(&n["D"]) >= finished(&n["C"]));
    ensure!(n[&name].type_ == NodeType::Dag && n[&name].id == name);
    // Pods are labelled completed after the status that says so is
    // written (the other order could hide a pod from a restarted
    // controller): wait for the last label.
    let done = |p: &k8s_openapi::api::core::v1::Pod| {
        p.metadata.labels.as_ref().and_then(|l| l.get(argo_api::keys::COMPLETED)).map(String::as_str) == Some("true")
    };
    let pods = e2e::eventually(MINUTE, "every pod labelled completed", || async {
        let pods = pods(c, &ns, &name).await?;
        Ok(pods.iter().all(done).then_some(pods))
    })
    .await?;
    ensure!(pods.len() == 4, "{} pods", pods.len());
    for p in &pods {
        let ann = p.metadata.annotations.clone().unwrap_or_default();
        let node = n.values().find(|x| Some(&x.id) == ann.get(argo_api::keys::NODE_ID)).context("pod's node")?;
        ensure!(ann[argo_api::keys::NODE_NAME] == node.name);
        ensure!(p.metadata.name == node.pod_name, "{:?} vs {:?}", p.metadata.name, node.pod_name);
        let owner = &p.metadata.owner_references.clone().unwrap_or_default()[0];
        ensure!(owner.kind == "Workflow" && owner.name == name && owner.controller == Some(true));
        ensure!(p.spec.as_ref().and_then(|s| s.restart_policy.as_deref()) == Some("Never"));
        ensure!(p.metadata.labels.as_ref().unwrap()[argo_api::keys::COMPLETED] == "true");
    }
    let labels = wf.metadata.labels.clone().unwrap_or_default();
    ensure!(labels[argo_api::keys::PHASE] == "Succeeded");
    // Events for start and end.
    let events: Api<Event> = Api::namespaced(c.clone(), &ns);
    let reasons: BTreeSet<String> =
        events.list(&ListParams::default()).await?.items.into_iter().filter_map(|e| e.reason).collect();
    ensure!(reasons.contains("WorkflowRunning") && reasons.contains("WorkflowSucceeded"), "{reasons:?}");
    // The admin port reports it.
    let (code, metrics) = ctl.get("/metrics")?;
    ensure!(code == 200 && metrics.contains("argo_workflows{phase=\"Succeeded\"} 1"), "{metrics}");
    ensure!(metrics.contains("argo_pods_created_total 4"), "{metrics}");
    ensure!(ctl.get("/healthz")?.0 == 200);
    Ok(())
}

#[tokio::test]
async fn nested_steps_and_dags() -> Result<()> {
    let (cluster, ns, _ctl) = setup("nested").await?;
    let c = &cluster.client;
    let name = submit(
        c,
        &ns,
        r#"
apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {generateName: nested-}
spec:
  entrypoint: main
  templates:
  - name: main
    steps:
    - - {name: first, template: echo}
    - - {name: inner-dag, template: dag}
      - {name: side, template: echo}
  - name: dag
    dag:
      tasks:
      - {name: A, template: echo}
      - {name: B, depends: A, template: inner-steps}
  - name: inner-steps
    steps:
    - - {name: s1, template: echo}
      - {name: s2, template: echo}
  - name: echo
    container: {image: alpine}
"#,
    )
    .await?;
    let wf = wait_finished(c, &ns, &name, MINUTE).await?;
    ensure!(workflows::phase(&wf) == Some(Phase::Succeeded), "{:?}", wf.status);
    let n = nodes(&wf);
    ensure!(n["inner-dag"].type_ == NodeType::Dag && n["B"].type_ == NodeType::Steps);
    ensure!(n["s1"].name == format!("{name}[1].inner-dag.B[0].s1"), "{}", n["s1"].name);
    ensure!(started(&n["A"]) >= finished(&n["first"]));
    ensure!(wf.status.unwrap().progress.as_deref() == Some("5/5"));
    Ok(())
}

#[tokio::test]
async fn depends_on_failed_branches() -> Result<()> {
    let (cluster, ns, _ctl) = setup("depends").await?;
    let c = &cluster.client;
    let name = submit(
        c,
        &ns,
        r#"
apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {generateName: depends-}
spec:
  entrypoint: d
  templates:
  - name: d
    dag:
      tasks:
      - {name: A, template: ok}
      - {name: B, depends: A, template: bad}
      - {name: on-failure, depends: B.Failed, template: ok}
      - {name: on-success, depends: B.Succeeded, template: ok}
      - {name: either, depends: "on-failure || on-success", template: ok}
  - name: ok
    container: {image: alpine}
  - name: bad
    metadata: {annotations: {kwok.test/exit-code: "2", kwok.test/message: "tests failed"}}
    container: {image: alpine}
"#,
    )
    .await?;
    let wf = wait_finished(c, &ns, &name, MINUTE).await?;
    let n = nodes(&wf);
    ensure!(n["B"].phase == Phase::Failed);
    ensure!(n["B"].message.as_deref() == Some("main: Error (exit code 2): tests failed"), "{:?}", n["B"].message);
    ensure!(n["B"].outputs.as_ref().and_then(|o| o.exit_code.as_deref()) == Some("2"));
    ensure!(n["on-failure"].phase == Phase::Succeeded);
    ensure!(n["on-success"].phase == Phase::Omitted);
    ensure!(n["either"].phase == Phase::Succeeded);
    ensure!(workflows::phase(&wf) == Some(Phase::Succeeded), "the failure was handled: {:?}", wf.status);
    Ok(())
}

fn fail_fast(enabled: bool) -> String {
    format!(
        r#"
apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {{generateName: failfast-}}
spec:
  entrypoint: d
  templates:
  - name: d
    dag:
      failFast: {enabled}
      tasks:
      - {{name: A, template: quick}}
      - {{name: B, depends: A, template: slow}}
      - {{name: C, depends: A, template: bad}}
      - {{name: D, depends: B, template: quick}}
  - name: quick
    container: {{image: alpine}}
  - name: slow
    metadata: {{annotations: {{kwok.test/duration: 4s}}}}
    container: {{image: alpine}}
  - name: bad
    metadata: {{annotations: {{kwok.test/exit-code: "1"}}}}
    container: {{image: alpine}}
"#
    )
}

#[tokio::test]
async fn fail_fast_on_and_off() -> Result<()> {
    let (cluster, ns, _ctl) = setup("failfast").await?;
    let c = &cluster.client;
    let on = submit(c, &ns, &fail_fast(true)).await?;
    let off = submit(c, &ns, &fail_fast(false)).await?;
    let on = wait_finished(c, &ns, &on, MINUTE).await?;
    let off = wait_finished(c, &ns, &off, MINUTE).await?;
    ensure!(workflows::phase(&on) == Some(Phase::Failed) && workflows::phase(&off) == Some(Phase::Failed));
    let (n_on, n_off) = (nodes(&on), nodes(&off));
    ensure!(n_on["B"].phase == Phase::Succeeded, "running tasks finish");
    ensure!(!n_on.contains_key("D"), "failFast: D must not start after C failed");
    ensure!(n_off["D"].phase == Phase::Succeeded, "without failFast D runs");
    Ok(())
}

#[tokio::test]
async fn retries_with_backoff_until_the_pod_succeeds() -> Result<()> {
    let (cluster, ns, _ctl) = setup("retry").await?;
    let c = &cluster.client;
    let name = submit(
        c,
        &ns,
        r#"
apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {generateName: retry-}
spec:
  entrypoint: flaky
  templates:
  - name: flaky
    retryStrategy: {limit: 3, retryPolicy: OnFailure, backoff: {duration: "2s", factor: 2}}
    metadata: {annotations: {kwok.test/exit-code: "5,5,0", kwok.test/attempt: "{{retries}}"}}
    container: {image: alpine}
"#,
    )
    .await?;
    let wf = wait_finished(c, &ns, &name, MINUTE).await?;
    ensure!(workflows::phase(&wf) == Some(Phase::Succeeded), "{:?}", wf.status);
    let n = nodes(&wf);
    ensure!(n[&name].type_ == NodeType::Retry && n[&name].children.len() == 3);
    let a = |i: usize| &n[&format!("{name}({i})")];
    ensure!(a(0).phase == Phase::Failed && a(1).phase == Phase::Failed && a(2).phase == Phase::Succeeded);
    let gap1 = started(a(1)).duration_since(finished(a(0))).as_secs_f64();
    let gap2 = started(a(2)).duration_since(finished(a(1))).as_secs_f64();
    ensure!(gap1 >= 1.9 && gap2 >= 3.9, "backoff gaps {gap1}s and {gap2}s, expected 2s then 4s");
    ensure!(pods(c, &ns, &name).await?.len() == 3);
    Ok(())
}

#[tokio::test]
async fn workflow_and_template_deadlines() -> Result<()> {
    let (cluster, ns, _ctl) = setup("deadline").await?;
    let c = &cluster.client;
    let wf_deadline = submit(
        c,
        &ns,
        r#"
apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {generateName: wf-deadline-}
spec:
  entrypoint: sleep
  activeDeadlineSeconds: 4
  templates:
  - name: sleep
    metadata: {annotations: {kwok.test/duration: 10m}}
    container: {image: alpine}
"#,
    )
    .await?;
    let tmpl_deadline = submit(
        c,
        &ns,
        r#"
apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {generateName: tmpl-deadline-}
spec:
  entrypoint: main
  templates:
  - name: main
    steps:
    - - {name: too-long, template: capped}
  - name: capped
    activeDeadlineSeconds: 3
    metadata: {annotations: {kwok.test/duration: 10m}}
    container: {image: alpine}
"#,
    )
    .await?;
    let started_at = Instant::now();
    let a = wait_finished(c, &ns, &wf_deadline, MINUTE).await?;
    ensure!(started_at.elapsed() < Duration::from_secs(30));
    ensure!(workflows::phase(&a) == Some(Phase::Failed));
    ensure!(nodes(&a)[&wf_deadline].message.as_deref() == Some("Step exceeded its deadline"));
    // kwok does not enforce a pod's activeDeadlineSeconds: the controller
    // stops the pod a grace (60 s) past it, when no kubelet did.
    let b = wait_finished(c, &ns, &tmpl_deadline, 2 * MINUTE).await?;
    ensure!(workflows::phase(&b) == Some(Phase::Failed));
    ensure!(
        nodes(&b)["too-long"].message.as_deref()
            == Some("Pod was active on the node longer than the specified deadline"),
        "{:?}",
        nodes(&b)["too-long"].message
    );
    // The stopped pods are gone from the cluster.
    e2e::eventually(Duration::from_secs(30), "stopped pods to be deleted", || async {
        let left = pods(c, &ns, &wf_deadline).await?.len() + pods(c, &ns, &tmpl_deadline).await?.len();
        Ok((left == 0).then_some(()))
    })
    .await
}

#[tokio::test]
async fn parallelism_caps_running_pods() -> Result<()> {
    let (cluster, ns, _ctl) = setup("parallel").await?;
    let c = &cluster.client;
    // Watch pods from before the submit, and count how many run at once.
    let api: Api<Pod> = Api::namespaced(c.clone(), &ns);
    let watch = tokio::spawn(async move {
        let mut running = BTreeMap::<String, bool>::new();
        let mut max = 0usize;
        let stream = watcher(api, watcher::Config::default()).default_backoff().applied_objects();
        futures::pin_mut!(stream);
        let end = Instant::now() + Duration::from_secs(90);
        while Instant::now() < end {
            let Ok(Some(Ok(pod))) = tokio::time::timeout(Duration::from_secs(1), stream.next()).await else {
                continue;
            };
            let phase = pod.status.and_then(|s| s.phase).unwrap_or_default();
            running.insert(pod.metadata.name.unwrap_or_default(), matches!(phase.as_str(), "Pending" | "Running"));
            max = max.max(running.values().filter(|r| **r).count());
            if running.len() == 8 && running.values().all(|r| !r) {
                break;
            }
        }
        max
    });
    let name = submit(
        c,
        &ns,
        r#"
apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {generateName: parallel-}
spec:
  entrypoint: main
  parallelism: 3
  templates:
  - name: main
    steps:
    - - {name: fan, template: sleep, withSequence: {count: "8"}}
  - name: sleep
    metadata: {annotations: {kwok.test/duration: 2s}}
    container: {image: alpine}
"#,
    )
    .await?;
    let wf = wait_finished(c, &ns, &name, MINUTE).await?;
    ensure!(workflows::phase(&wf) == Some(Phase::Succeeded));
    let max = watch.await?;
    ensure!(max == 3, "at most 3 pods may run at once, saw {max}");
    Ok(())
}

#[tokio::test]
async fn exit_handler_runs_after_failure() -> Result<()> {
    let (cluster, ns, _ctl) = setup("exit").await?;
    let c = &cluster.client;
    let name = submit(
        c,
        &ns,
        r#"
apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {generateName: exit-}
spec:
  entrypoint: main
  onExit: cleanup
  templates:
  - name: main
    metadata: {annotations: {kwok.test/exit-code: "1"}}
    container: {image: alpine}
  - name: cleanup
    container: {image: alpine, args: ["status={{workflow.status}}"]}
"#,
    )
    .await?;
    let wf = wait_finished(c, &ns, &name, MINUTE).await?;
    ensure!(workflows::phase(&wf) == Some(Phase::Failed));
    let n = nodes(&wf);
    let exit = &n[&format!("{name}.onExit")];
    ensure!(exit.phase == Phase::Succeeded && started(exit) >= finished(&n[&name]));
    let pod = pods(c, &ns, &name)
        .await?
        .into_iter()
        .find(|p| p.metadata.name == exit.pod_name)
        .context("exit pod")?;
    // The image's ENTRYPOINT (from the registry) and the args, under argo-exec.
    let main = pod.spec.context("spec")?.containers[0].clone();
    let line: Vec<String> = main.command.into_iter().flatten().chain(main.args.into_iter().flatten()).collect();
    ensure!(line.last().map(String::as_str) == Some("status=Failed"), "{line:?}");
    Ok(())
}

#[tokio::test]
async fn suspend_and_resume() -> Result<()> {
    let (cluster, ns, _ctl) = setup("suspend").await?;
    let c = &cluster.client;
    let name = submit(
        c,
        &ns,
        r#"
apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {generateName: suspend-}
spec:
  entrypoint: main
  templates:
  - name: main
    steps:
    - - {name: approve, template: approve}
    - - {name: after, template: ok}
  - name: approve
    suspend: {}
  - name: ok
    container: {image: alpine}
"#,
    )
    .await?;
    wait_until(c, &ns, &name, MINUTE, "the suspend node", |wf| {
        nodes(wf).get("approve").is_some_and(|n| n.phase == Phase::Running)
    })
    .await?;
    // Make the controller look again (a spec change it must observe), then
    // check that looking did not start the next step.
    e2e::run_ok(cluster.kubectl().args([
        "patch",
        "wf",
        &name,
        "-n",
        &ns,
        "--type=merge",
        "-p",
        r#"{"spec":{"priority":5}}"#,
    ]))?;
    let seen = workflows::wait_observed(c, &ns, &name, MINUTE).await?;
    ensure!(!nodes(&seen).contains_key("after"), "nothing runs while suspended");
    // Resume, as `kubectl argo resume` does: an annotation with the time.
    let now = k8s_openapi::jiff::Timestamp::now().to_string();
    let mut cmd = cluster.kubectl();
    cmd.args([
        "annotate",
        "wf",
        &name,
        "-n",
        &ns,
        &format!("{}={now}", argo_api::keys::RESUME),
    ]);
    e2e::run_ok(&mut cmd)?;
    let wf = wait_finished(c, &ns, &name, MINUTE).await?;
    ensure!(workflows::phase(&wf) == Some(Phase::Succeeded));
    ensure!(nodes(&wf)["approve"].message.as_deref() == Some("Resumed"));

    // spec.suspend holds new pods until it is cleared.
    let held = submit(
        c,
        &ns,
        r#"
apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {generateName: held-}
spec:
  entrypoint: ok
  suspend: true
  templates:
  - name: ok
    container: {image: alpine}
"#,
    )
    .await?;
    let seen = workflows::wait_observed(c, &ns, &held, MINUTE).await?;
    ensure!(workflows::phase(&seen) == Some(Phase::Running), "{:?}", seen.status);
    ensure!(pods(c, &ns, &held).await?.is_empty());
    e2e::run_ok(cluster.kubectl().args([
        "patch",
        "wf",
        &held,
        "-n",
        &ns,
        "--type=merge",
        "-p",
        r#"{"spec":{"suspend":false}}"#,
    ]))?;
    ensure!(workflows::phase(&wait_finished(c, &ns, &held, MINUTE).await?) == Some(Phase::Succeeded));
    Ok(())
}

#[tokio::test]
async fn stop_and_terminate() -> Result<()> {
    let (cluster, ns, _ctl) = setup("shutdown").await?;
    let c = &cluster.client;
    let yaml = r#"
apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {generateName: shutdown-}
spec:
  entrypoint: long
  onExit: bye
  templates:
  - name: long
    metadata: {annotations: {kwok.test/duration: 10m}}
    container: {image: alpine}
  - name: bye
    container: {image: alpine}
"#;
    let stop = submit(c, &ns, yaml).await?;
    let term = submit(c, &ns, yaml).await?;
    for wf in [&stop, &term] {
        wait_until(c, &ns, wf, MINUTE, "its pod to run", |w| {
            nodes(w).get(wf.as_str()).is_some_and(|n| n.phase == Phase::Running)
        })
        .await?;
    }
    for (wf, strategy) in [(&stop, "Stop"), (&term, "Terminate")] {
        let patch = format!(r#"{{"spec":{{"shutdown":"{strategy}"}}}}"#);
        e2e::run_ok(cluster.kubectl().args(["patch", "wf", wf, "-n", &ns, "--type=merge", "-p", &patch]))?;
    }
    let s = wait_finished(c, &ns, &stop, MINUTE).await?;
    let t = wait_finished(c, &ns, &term, MINUTE).await?;
    ensure!(workflows::phase(&s) == Some(Phase::Failed) && workflows::phase(&t) == Some(Phase::Failed));
    ensure!(s.status.as_ref().unwrap().message.as_deref() == Some("Stopped with strategy 'Stop'"));
    ensure!(t.status.as_ref().unwrap().message.as_deref() == Some("Stopped with strategy 'Terminate'"));
    ensure!(nodes(&s)[&format!("{stop}.onExit")].phase == Phase::Succeeded, "Stop runs exit handlers");
    ensure!(!nodes(&t).contains_key(&format!("{term}.onExit")), "Terminate does not");
    ensure!(nodes(&s)[&stop].message.as_deref() == Some("workflow shutdown with strategy: Stop"));
    Ok(())
}

#[tokio::test]
async fn pod_gc_and_ttl() -> Result<()> {
    let (cluster, ns, _ctl) = setup("gc").await?;
    let c = &cluster.client;
    let name = submit(
        c,
        &ns,
        r#"
apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {generateName: gc-}
spec:
  entrypoint: main
  podGC: {strategy: OnPodSuccess}
  ttlStrategy: {secondsAfterCompletion: 5}
  templates:
  - name: main
    steps:
    - - {name: ok, template: ok}
      - {name: bad, template: bad, continueOn: {failed: true}}
  - name: ok
    container: {image: alpine}
  - name: bad
    metadata: {annotations: {kwok.test/exit-code: "1"}}
    container: {image: alpine}
"#,
    )
    .await?;
    let wf = wait_finished(c, &ns, &name, MINUTE).await?;
    ensure!(workflows::phase(&wf) == Some(Phase::Succeeded));
    let bad_pod = nodes(&wf)["bad"].pod_name.clone();
    let left = e2e::eventually(Duration::from_secs(20), "the succeeded pod to be collected", || async {
        let p = pods(c, &ns, &name).await?;
        Ok((p.len() == 1).then_some(p))
    })
    .await?;
    ensure!(left[0].metadata.name == bad_pod, "OnPodSuccess keeps the failed pod");
    let finished_at = Instant::now();
    e2e::eventually(Duration::from_secs(30), "the workflow to be deleted by its TTL", || async {
        Ok(Api::<argo_api::Workflow>::namespaced(c.clone(), &ns).get_opt(&name).await?.is_none().then_some(()))
    })
    .await?;
    ensure!(finished_at.elapsed() >= Duration::from_secs(3), "deleted before its TTL");
    Ok(())
}

#[tokio::test]
async fn an_unrunnable_workflow_errors_and_others_still_run() -> Result<()> {
    let (cluster, ns, _ctl) = setup("invalid").await?;
    let c = &cluster.client;
    // Created with kubectl so that nothing client-side checks it first.
    let bad = r#"{"apiVersion":"argoproj.io/v1alpha1","kind":"Workflow","metadata":{"name":"bad"},
        "spec":{"entrypoint":"main","templates":[{"name":"main","synchronization":{"mutex":{"name":"m"}},"container":{"image":"alpine"}}]}}"#;
    let mut cmd = cluster.kubectl();
    cmd.args(["create", "-n", &ns, "-f", "-"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null());
    let mut child = cmd.spawn()?;
    std::io::Write::write_all(child.stdin.as_mut().context("stdin")?, bad.as_bytes())?;
    drop(child.stdin.take());
    ensure!(child.wait()?.success());
    let good = submit(c, &ns, &std::fs::read_to_string(workflows::example("dag-diamond.yaml"))?).await?;
    let wf = wait_finished(c, &ns, "bad", MINUTE).await?;
    ensure!(workflows::phase(&wf) == Some(Phase::Error));
    let msg = wf.status.unwrap().message.unwrap_or_default();
    ensure!(msg.contains("spec.templates[0].synchronization") && msg.contains("not supported"), "{msg}");
    ensure!(workflows::phase(&wait_finished(c, &ns, &good, MINUTE).await?) == Some(Phase::Succeeded));
    Ok(())
}
