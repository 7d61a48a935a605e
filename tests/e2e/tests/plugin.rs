//! `kubectl argo` end to end: the real kubectl runs our plugin against the
//! local cluster, with a controller running each test's namespace.

use std::io::Write;
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use anyhow::{Context, Result, bail};
use argo_api::workflow::Phase;
use e2e::process::Process;
use e2e::workflows::{self, get, phase, pods, wait_finished};
use e2e::{Cluster, eventually, run_with_input};

const MINUTE: Duration = Duration::from_secs(60);

async fn setup(prefix: &str) -> Result<(Cluster, String, Process)> {
    e2e::process::with_controller(prefix).await
}

fn argo(cluster: &Cluster, ns: &str, args: &[&str]) -> Command {
    let mut c = cluster.kubectl();
    c.arg("argo").args(args).args(["-n", ns]);
    c
}

fn out(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn err(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Runs `kubectl argo ARGS -n NS`, feeding `input` on stdin.
fn run(cluster: &Cluster, ns: &str, args: &[&str], input: &str) -> Result<Output> {
    run_with_input(&mut argo(cluster, ns, args), input)
}

fn ok(cluster: &Cluster, ns: &str, args: &[&str]) -> Result<String> {
    let o = run(cluster, ns, args, "")?;
    if !o.status.success() {
        bail!("kubectl argo {args:?} failed ({}):\n{}\n{}", o.status, out(&o), err(&o));
    }
    Ok(out(&o))
}

/// A DAG: A, then B and C, then D. `code` is B's exit code (a parameter,
/// so a retry can change it); `duration` how long each pod runs.
fn diamond(name: &str, code: u8, duration: &str) -> String {
    format!(
        r#"
apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {{name: {name}}}
spec:
  entrypoint: main
  onExit: report
  arguments:
    parameters: [{{name: code, value: "{code}"}}]
  templates:
  - name: main
    dag:
      tasks:
      - {{name: A, template: ok}}
      - {{name: B, template: flaky, depends: A}}
      - {{name: C, template: ok, depends: A}}
      - {{name: D, template: ok, depends: B && C}}
  - name: ok
    metadata:
      annotations: {{kwok.test/duration: "{duration}"}}
    container: {{image: alpine:3.19, command: [echo, ok]}}
  - name: flaky
    metadata:
      annotations: {{kwok.test/duration: "{duration}", kwok.test/exit-code: "{{{{workflow.parameters.code}}}}"}}
    container: {{image: alpine:3.19, command: [sh, -c, "exit 1"]}}
  - name: report
    container: {{image: alpine:3.19, command: [echo, "{{{{workflow.status}}}}"]}}
"#
    )
}

/// Steps that take a while: long enough to act on them while they run.
fn slow_steps(name: &str, seconds: u32) -> String {
    format!(
        r#"
apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {{name: {name}}}
spec:
  entrypoint: main
  onExit: report
  templates:
  - name: main
    steps:
    - - {{name: first, template: slow}}
    - - {{name: second, template: slow}}
  - name: slow
    metadata:
      annotations: {{kwok.test/duration: "{seconds}s"}}
    container: {{image: alpine:3.19, command: [sleep, "{seconds}"]}}
  - name: report
    container: {{image: alpine:3.19, command: [echo, done]}}
"#
    )
}

#[tokio::test]
async fn submit_wait_exit_codes_follow_the_outcome() -> Result<()> {
    let (cluster, ns, _ctl) = setup("p-submit").await?;
    let good = run(&cluster, &ns, &["submit", "-", "--wait"], &diamond("good", 0, "200ms"))?;
    assert_eq!(good.status.code(), Some(0), "{}{}", out(&good), err(&good));
    assert!(out(&good).contains("Name:                good"), "{}", out(&good));
    assert!(out(&good).contains("good Succeeded at "), "{}", out(&good));

    let bad = run(&cluster, &ns, &["submit", "-", "--wait", "-o", "name"], &diamond("bad", 3, "200ms"))?;
    assert_eq!(bad.status.code(), Some(1), "{}{}", out(&bad), err(&bad));
    assert_eq!(out(&bad).lines().next(), Some("bad"), "-o name prints the name:\n{}", out(&bad));
    assert!(out(&bad).contains("bad Failed at "), "{}", out(&bad));

    // Parameters from the command line reach the pods.
    let p = run(
        &cluster,
        &ns,
        &["submit", "-", "--wait", "-p", "code=0", "--name", "override"],
        &diamond("x", 3, "100ms"),
    )?;
    assert_eq!(p.status.code(), Some(0), "{}{}", out(&p), err(&p));
    Ok(())
}

#[tokio::test]
async fn get_shows_the_tree_while_running_and_after() -> Result<()> {
    let (cluster, ns, _ctl) = setup("p-get").await?;
    run(&cluster, &ns, &["submit", "-"], &diamond("tree", 0, "3s"))?;
    let running = eventually(MINUTE, "a running node in get", || async {
        let text = ok(&cluster, &ns, &["get", "@latest"])?;
        Ok(text.contains("● A").then_some(text))
    })
    .await?;
    assert!(running.contains("Status:              Running"), "{running}");
    assert!(running.contains("STEP") && running.contains(" ● tree"), "{running}");

    wait_finished(&cluster.client, &ns, "tree", MINUTE).await?;
    let done = ok(&cluster, &ns, &["get", "tree"])?;
    assert!(done.contains("Status:              Succeeded"), "{done}");
    for line in [
        " ✔ tree ",
        " ├─✔ A ",
        " ├─✔ B ",
        " ├─✔ C ",
        " └─✔ D ",
        " ✔ tree.onExit ",
    ] {
        assert!(done.contains(line), "{line:?} missing:\n{done}");
    }
    let words = ok(&cluster, &ns, &["get", "tree", "--no-utf8"])?;
    assert!(words.contains(" |-Succeeded A "), "{words}");
    let failed_only = ok(&cluster, &ns, &["get", "tree", "--status", "Failed"])?;
    assert!(!failed_only.contains(" A "), "{failed_only}");
    let json: serde_json::Value = serde_json::from_str(&ok(&cluster, &ns, &["get", "tree", "-o", "json"])?)?;
    assert_eq!(json["status"]["phase"], "Succeeded");

    let missing = run(&cluster, &ns, &["get", "missing"], "")?;
    assert_eq!(missing.status.code(), Some(1));
    assert_eq!(err(&missing).trim(), "Error from server (NotFound): workflows.argoproj.io \"missing\" not found");
    Ok(())
}

#[tokio::test]
async fn watch_redraws_until_the_workflow_finishes() -> Result<()> {
    let (cluster, ns, _ctl) = setup("p-watch").await?;
    run(&cluster, &ns, &["submit", "-"], &diamond("watched", 0, "1s"))?;
    let child = argo(&cluster, &ns, &["watch", "watched"]).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn()?;
    let output = tokio::task::spawn_blocking(move || child.wait_with_output()).await??;
    assert_eq!(output.status.code(), Some(0), "{}", err(&output));
    let text = out(&output);
    let renders = text.matches("Name:                watched").count();
    assert!(renders >= 2, "one render per change, not just the last:\n{text}");
    assert!(text.contains("Status:              Running"), "{text}");
    let last = text.rsplit("Name:                watched").next().unwrap_or_default();
    assert!(last.contains("Status:              Succeeded"), "it stops on the final state:\n{last}");
    let nudge = "This workflow does not have security context set";
    assert_eq!(text.matches(nudge).count(), 1, "the notice once per command, not per redraw:\n{text}");
    assert!(last.trim_end().ends_with("workflow-pod-security-context/"), "and last:\n{last}");
    let both = ok(&cluster, &ns, &["get", "watched", "watched"])?;
    assert_eq!(both.matches("Name:                watched").count(), 2);
    assert_eq!(both.matches(nudge).count(), 1, "{both}");
    Ok(())
}

#[tokio::test]
async fn logs_prefix_lines_with_pods_and_follow_new_pods() -> Result<()> {
    let (cluster, ns, _ctl) = setup("p-logs").await?;
    run(&cluster, &ns, &["submit", "-"], &diamond("logged", 0, "1s"))?;
    // -f starts before most pods exist and ends when the workflow does.
    let follow = argo(&cluster, &ns, &["logs", "logged", "-f"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()?;
    let followed = tokio::task::spawn_blocking(move || follow.wait_with_output()).await??;
    assert_eq!(followed.status.code(), Some(0), "{}", err(&followed));
    let wf = get(&cluster.client, &ns, "logged").await?;
    assert_eq!(phase(&wf), Some(Phase::Succeeded));
    let pod_names: Vec<String> =
        pods(&cluster.client, &ns, "logged").await?.iter().filter_map(|p| p.metadata.name.clone()).collect();
    assert_eq!(pod_names.len(), 5, "{pod_names:?}");
    let text = out(&followed);
    for pod in &pod_names {
        if pod.contains("-report-") {
            continue; // the exit handler's pod may start after the workflow's main part
        }
        assert!(
            text.contains(&format!("{pod}: kwok: hello from a simulated container")),
            "-f printed {pod}'s lines:\n{text}"
        );
    }

    let all = ok(&cluster, &ns, &["logs", "logged"])?;
    assert_eq!(all.lines().count(), 2 * pod_names.len(), "{all}");
    let one = ok(&cluster, &ns, &["logs", "logged", &pod_names[0], "--tail", "1", "--timestamps"])?;
    let lines: Vec<&str> = one.lines().collect();
    assert_eq!(lines.len(), 1, "{one}");
    let rest = lines[0].strip_prefix(&format!("{}: ", pod_names[0])).context("prefixed with the pod")?;
    assert!(rest.split(' ').next().is_some_and(|t| t.parse::<k8s_openapi::jiff::Timestamp>().is_ok()), "{one}");
    let grep = ok(&cluster, &ns, &["logs", "logged", "--grep", "started"])?;
    assert!(grep.lines().all(|l| l.ends_with("kwok: container started")), "{grep}");
    Ok(())
}

#[tokio::test]
async fn retry_reruns_only_what_failed() -> Result<()> {
    let (cluster, ns, _ctl) = setup("p-retry").await?;
    let first = run(&cluster, &ns, &["submit", "-", "--wait"], &diamond("again", 2, "200ms"))?;
    assert_eq!(first.status.code(), Some(1), "{}{}", out(&first), err(&first));
    let before = pods(&cluster.client, &ns, "again").await?;
    let uid = |pods: &[k8s_openapi::api::core::v1::Pod], tmpl: &str| -> Vec<String> {
        pods.iter()
            .filter(|p| p.metadata.name.as_deref().is_some_and(|n| n.contains(tmpl)))
            .filter_map(|p| p.metadata.uid.clone())
            .collect()
    };

    let retried = run(&cluster, &ns, &["retry", "again", "-p", "code=0", "--wait"], "")?;
    assert_eq!(retried.status.code(), Some(0), "{}{}", out(&retried), err(&retried));
    assert!(out(&retried).contains("again Succeeded at "), "{}", out(&retried));
    let wf = get(&cluster.client, &ns, "again").await?;
    assert_eq!(phase(&wf), Some(Phase::Succeeded));
    let after = pods(&cluster.client, &ns, "again").await?;
    let a_pod = workflows::nodes(&wf).values().find(|n| n.display_name == "A").and_then(|n| n.pod_name.clone());
    let a_pod = a_pod.context("A has a pod")?;
    assert_eq!(uid(&before, &a_pod), uid(&after, &a_pod), "A succeeded and was not run again");
    assert_ne!(uid(&before, "-flaky-"), uid(&after, "-flaky-"), "B ran again in a new pod");

    let refused = run(&cluster, &ns, &["retry", "again"], "")?;
    assert_eq!(refused.status.code(), Some(1));
    assert!(err(&refused).contains("only Failed or Error workflows can be retried"), "{}", err(&refused));
    Ok(())
}

#[tokio::test]
async fn stop_runs_exit_handlers_and_terminate_does_not() -> Result<()> {
    let (cluster, ns, _ctl) = setup("p-stop").await?;
    run(&cluster, &ns, &["submit", "-"], &slow_steps("stopped", 60))?;
    run(&cluster, &ns, &["submit", "-"], &slow_steps("terminated", 60))?;
    for name in ["stopped", "terminated"] {
        workflows::wait_until(&cluster.client, &ns, name, MINUTE, "the first step to run", |wf| {
            workflows::nodes(wf).get("first").is_some_and(|n| n.phase == Phase::Running)
        })
        .await?;
    }
    let stop = ok(&cluster, &ns, &["stop", "stopped", "--message", "maintenance window"])?;
    assert_eq!(stop.trim(), "workflow stopped stopped");
    assert_eq!(ok(&cluster, &ns, &["terminate", "terminated"])?.trim(), "workflow terminated terminated");

    let s = wait_finished(&cluster.client, &ns, "stopped", MINUTE).await?;
    let st = s.status.clone().unwrap_or_default();
    assert_eq!(st.phase, Some(Phase::Failed));
    assert_eq!(st.message.as_deref(), Some("Stopped with strategy 'Stop': maintenance window"));
    assert!(
        workflows::nodes(&s).values().any(|n| n.display_name == "stopped.onExit"),
        "Stop runs the exit handler"
    );
    let t = wait_finished(&cluster.client, &ns, "terminated", MINUTE).await?;
    assert!(!workflows::nodes(&t).values().any(|n| n.display_name == "terminated.onExit"), "Terminate does not");

    let again = run(&cluster, &ns, &["stop", "stopped"], "")?;
    assert_eq!(again.status.code(), Some(1));
    assert!(err(&again).contains("cannot shutdown a completed workflow"), "{}", err(&again));
    let list = ok(&cluster, &ns, &["list"])?;
    assert!(list.contains("Failed (Terminated)"), "{list}");
    Ok(())
}

#[tokio::test]
async fn suspend_holds_new_steps_until_resume() -> Result<()> {
    let (cluster, ns, _ctl) = setup("p-suspend").await?;
    run(&cluster, &ns, &["submit", "-"], &slow_steps("held", 2))?;
    workflows::wait_until(&cluster.client, &ns, "held", MINUTE, "the first step", |wf| {
        workflows::nodes(wf).contains_key("first")
    })
    .await?;
    assert_eq!(ok(&cluster, &ns, &["suspend", "held"])?.trim(), "workflow held suspended");
    let list = eventually(MINUTE, "the list to say suspended", || async {
        let l = ok(&cluster, &ns, &["list"])?;
        Ok(l.contains("Running (Suspended)").then_some(l))
    })
    .await?;
    assert!(list.starts_with("NAME "), "{list}");
    // `first` finishes; the pass that records it (after the suspend was
    // observed) is the one that would start `second`.
    let wf = workflows::wait_until(&cluster.client, &ns, "held", MINUTE, "first to finish, suspended", |wf| {
        let observed = wf.status.as_ref().and_then(|s| s.observed_generation) >= wf.metadata.generation;
        observed && workflows::nodes(wf).get("first").is_some_and(|n| n.phase.is_completed())
    })
    .await?;
    assert!(!workflows::nodes(&wf).values().any(|n| n.display_name == "second"), "nothing new starts");
    assert_eq!(ok(&cluster, &ns, &["resume", "held"])?.trim(), "workflow held resumed");
    let wait = run(&cluster, &ns, &["wait", "held"], "")?;
    assert_eq!(wait.status.code(), Some(0), "{}", err(&wait));
    assert!(out(&wait).starts_with("held Succeeded at "), "{}", out(&wait));
    Ok(())
}

#[tokio::test]
async fn delete_by_name_and_by_filter() -> Result<()> {
    let (cluster, ns, _ctl) = setup("p-delete").await?;
    for name in ["keep-1", "ci-1", "ci-2"] {
        run(&cluster, &ns, &["submit", "-", "--wait"], &diamond(name, 0, "100ms"))?;
    }
    run(&cluster, &ns, &["submit", "-", "--wait"], &diamond("ci-failed", 1, "100ms"))?;
    let dry = ok(&cluster, &ns, &["delete", "--completed", "--prefix", "ci-", "--dry-run"])?;
    assert_eq!(dry.lines().count(), 3, "{dry}");
    assert!(dry.contains("Workflow 'ci-1' deleted (dry-run)"), "{dry}");
    assert_eq!(ok(&cluster, &ns, &["list", "-o", "name"])?.lines().count(), 4, "a dry run deletes nothing");

    let by_status = ok(&cluster, &ns, &["delete", "--status", "Failed"])?;
    assert_eq!(by_status.trim(), "Workflow 'ci-failed' deleted");
    let by_prefix = ok(&cluster, &ns, &["delete", "--prefix", "ci-", "--completed"])?;
    assert_eq!(by_prefix.lines().count(), 2, "{by_prefix}");
    assert_eq!(ok(&cluster, &ns, &["list", "-o", "name"])?.trim(), "keep-1");
    assert_eq!(ok(&cluster, &ns, &["delete", "keep-1"])?.trim(), "Workflow 'keep-1' deleted");
    assert_eq!(ok(&cluster, &ns, &["list"])?.trim(), "No workflows found");
    let missing = run(&cluster, &ns, &["delete", "keep-1"], "")?;
    assert_eq!(missing.status.code(), Some(1));
    assert!(err(&missing).contains("Error from server (NotFound)"), "{}", err(&missing));
    Ok(())
}

#[tokio::test]
async fn resubmit_and_latest() -> Result<()> {
    let (cluster, ns, _ctl) = setup("p-resubmit").await?;
    run(&cluster, &ns, &["submit", "-", "--wait"], &diamond("orig", 1, "100ms"))?;
    let new = ok(&cluster, &ns, &["resubmit", "orig", "-p", "code=0", "--wait", "-o", "name"])?;
    let name = new.lines().next().context("a name")?.to_owned();
    assert!(name.starts_with("orig-"), "{new}");
    assert!(new.contains(&format!("{name} Succeeded at")), "{new}");
    let wf = get(&cluster.client, &ns, &name).await?;
    let labels = wf.metadata.labels.unwrap_or_default();
    assert_eq!(labels.get("workflows.argoproj.io/resubmitted-from-workflow").map(String::as_str), Some("orig"));
    let latest = ok(&cluster, &ns, &["get", "@latest", "-o", "name"])?;
    assert_eq!(latest.trim(), name);
    Ok(())
}

/// A kubeconfig with the test cluster under two contexts (two namespaces)
/// and a third context whose server is not there.
fn multi_kubeconfig(cluster: &Cluster, a: &str, b: &str) -> Result<tempfile::NamedTempFile> {
    let text = std::fs::read_to_string(&cluster.kubeconfig)?;
    let mut kc: serde_yaml::Value = serde_yaml::from_str(&text)?;
    let ctx0 = kc["contexts"][0]["context"].clone();
    let mut contexts = Vec::new();
    for (name, ns) in [("ctx-a", a), ("ctx-b", b)] {
        let mut c = ctx0.clone();
        c["namespace"] = ns.into();
        contexts.push(serde_yaml::to_value(serde_json::json!({"name": name, "context": serde_json::to_value(&c)?}))?);
    }
    contexts.push(serde_yaml::to_value(
        serde_json::json!({"name": "ctx-dead", "context": {"cluster": "dead", "user": ctx0["user"].as_str()}}),
    )?);
    kc["contexts"] = serde_yaml::Value::Sequence(contexts);
    if let Some(clusters) = kc["clusters"].as_sequence_mut() {
        clusters.push(serde_yaml::to_value(
            serde_json::json!({"name": "dead", "cluster": {"server": "https://127.0.0.1:1"}}),
        )?);
    }
    kc["current-context"] = "ctx-a".into();
    let mut f = tempfile::NamedTempFile::new()?;
    f.write_all(serde_yaml::to_string(&kc)?.as_bytes())?;
    Ok(f)
}

#[tokio::test]
async fn list_across_clusters_with_one_unreachable() -> Result<()> {
    let (cluster, a, _ctl_a) = setup("p-multi-a").await?;
    let b = cluster.namespace("p-multi-b").await?;
    let ctl_b = cluster.controller(&b, "c1", &["--leader-elect=false"])?;
    ctl_b.wait_ready(Duration::from_secs(30)).await?;
    run(&cluster, &a, &["submit", "-", "--wait"], &diamond("in-a", 0, "100ms"))?;
    run(&cluster, &b, &["submit", "-", "--wait"], &diamond("in-b", 0, "100ms"))?;
    let kc = multi_kubeconfig(&cluster, &a, &b)?;
    let multi = |args: &[&str]| -> Result<Output> {
        let mut c = cluster.kubectl();
        c.env("KUBECONFIG", kc.path()).arg("argo").args(args);
        Ok(c.output()?)
    };
    let both = multi(&["list", "--context", "ctx-a,ctx-b"])?;
    assert_eq!(both.status.code(), Some(0), "{}", err(&both));
    let text = out(&both);
    assert!(text.starts_with("CONTEXT "), "{text}");
    assert!(text.lines().any(|l| l.starts_with("ctx-a ") && l.contains(" in-a ")), "{text}");
    assert!(text.lines().any(|l| l.starts_with("ctx-b ") && l.contains(" in-b ")), "{text}");

    let started = std::time::Instant::now();
    let with_dead = multi(&["list", "--all-contexts", "--cluster-timeout", "5s"])?;
    assert_eq!(with_dead.status.code(), Some(1), "an unreachable cluster fails the command");
    assert!(started.elapsed() < Duration::from_secs(30), "the dead cluster did not hold the others up");
    let text = out(&with_dead);
    assert!(text.lines().any(|l| l.starts_with("ctx-dead ") && l.contains("<unreachable>")), "{text}");
    assert!(text.contains(" in-a ") && text.contains(" in-b "), "the others still show:\n{text}");
    assert!(err(&with_dead).contains("ctx-dead"), "{}", err(&with_dead));

    // CONTEXT/NAME reaches into another cluster of the kubeconfig.
    let other = multi(&["get", "ctx-b/in-b", "-o", "name"])?;
    assert_eq!(out(&other).trim(), "in-b", "{}", err(&other));
    Ok(())
}

#[tokio::test]
async fn lint_runs_through_kubectl_without_a_cluster_call() -> Result<()> {
    let cluster = Cluster::connect().await?;
    let example = workflows::example("dag-diamond.yaml");
    let o = cluster.kubectl().args(["argo", "lint"]).arg(&example).output()?;
    assert_eq!(o.status.code(), Some(0), "{}{}", out(&o), err(&o));
    let bad = run_with_input(
        cluster.kubectl().args(["argo", "lint", "-"]),
        "kind: Workflow\napiVersion: argoproj.io/v1alpha1\nmetadata: {name: x}\nspec: {entrypoint: nope, templates: []}\n",
    )?;
    assert_eq!(bad.status.code(), Some(1));
    assert!(out(&bad).contains("<stdin>:4: Workflow \"x\": spec.entrypoint"), "{}", out(&bad));
    Ok(())
}
