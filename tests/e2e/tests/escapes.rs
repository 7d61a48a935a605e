//! What a hostile tenant tried (issue 9), through the real apiserver: each
//! escape from a project and each way to crash the controller or the
//! webhook, as a test that fails if it works again. Admission is the real
//! webhook called by the apiserver; run time is the real controller on
//! kwok nodes. "Nothing happened" is asserted only after a positive signal
//! (the workflow finished, the controller observed the spec).

use std::time::Duration;

use anyhow::{Context, Result, ensure};
use argo_api::workflow::{NodeStatus, Phase};
use e2e::workflows::{self, pods, wait_finished};
use e2e::{Cluster, run_with_input};
use k8s_openapi::api::core::v1::ServiceAccount;
use kube::api::{Api, DeleteParams, PostParams};

const MINUTE: Duration = Duration::from_secs(60);

/// `kubectl apply -n NS -f -` (with extra flags such as `--as`): whether
/// it worked, and what kubectl said.
fn apply(cluster: &Cluster, ns: &str, yaml: &str, extra: &[&str]) -> Result<(bool, String)> {
    let mut cmd = cluster.kubectl();
    cmd.args(["apply", "-n", ns, "-f", "-"]).args(extra);
    let out = run_with_input(&mut cmd, yaml)?;
    Ok((
        out.status.success(),
        format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr)),
    ))
}

/// `kubectl ARGS -n NS` without stdin.
fn kubectl(cluster: &Cluster, ns: &str, args: &[&str]) -> Result<(bool, String)> {
    let out = cluster.kubectl().args(args).args(["-n", ns]).output()?;
    Ok((
        out.status.success(),
        format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr)),
    ))
}

/// A project in a webhook's scope, created through kubectl (so the
/// webhook validates it too).
fn scoped_project(cluster: &Cluster, ns: &str, scope: &str, name: &str, spec: serde_json::Value) -> Result<()> {
    let yaml =
        serde_json::to_string(&serde_json::json!({"apiVersion": "argoproj.io/v1alpha1", "kind": "WorkflowProject",
        "metadata": {"name": name, "labels": {e2e::webhook::SCOPE_LABEL: scope}}, "spec": spec}))?;
    let (ok, out) = apply(cluster, ns, &yaml, &[])?;
    ensure!(ok, "{out}");
    Ok(())
}

fn node_named<'a>(wf: &'a argo_api::Workflow, display: &str) -> Result<&'a NodeStatus> {
    wf.status
        .iter()
        .flat_map(|s| s.nodes.values())
        .find(|n| n.display_name == display)
        .with_context(|| format!("no node {display}: {:?}", wf.status))
}

/// A namespace the webhook does not cover, with a controller of its own
/// and the projects given (none: no project covers it).
async fn unguarded(
    prefix: &str,
    projects: &[(&str, serde_json::Value)],
) -> Result<(Cluster, String, e2e::process::Process)> {
    let cluster = Cluster::connect().await?;
    let ns = cluster.namespace_labelled(prefix, &[]).await?;
    for (suffix, spec) in projects {
        let mut spec = spec.clone();
        spec["namespaces"] = serde_json::json!([ns]);
        cluster.project(&format!("{ns}{suffix}"), spec).await?;
    }
    let ctl = cluster.controller(&ns, "c1", &["--leader-elect=false"])?;
    ctl.wait_ready(Duration::from_secs(30)).await?;
    Ok((cluster, ns, ctl))
}

fn create(cluster: &Cluster, ns: &str, yaml: &str) -> Result<()> {
    let out = run_with_input(cluster.kubectl().args(["create", "-n", ns, "-f", "-"]), yaml)?;
    ensure!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    Ok(())
}

const PRIVILEGED: &str = r#"
apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {name: root, labels: {workflows.argoproj.io/project: does-not-exist}}
spec:
  entrypoint: main
  hostNetwork: true
  podSpecPatch: '{"hostPID": true}'
  volumes: [{name: root, hostPath: {path: /}}]
  templates:
  - name: main
    container: {image: alpine, securityContext: {privileged: true}, volumeMounts: [{name: root, mountPath: /host}]}
"#;

#[tokio::test]
async fn a_label_cannot_escape_to_a_laxer_project() -> Result<()> {
    let cluster = Cluster::connect().await?;
    let (ns, hook) = e2e::webhook::scoped(&cluster, "esc-label").await?;
    let scope = hook.scope.clone();
    scoped_project(
        &cluster,
        &ns,
        &scope,
        &format!("{scope}-lax"),
        serde_json::json!({
        "namespaces": ["e2e-esc-label-*"], "security": {"level": "privileged"}}),
    )?;
    scoped_project(
        &cluster,
        &ns,
        &scope,
        &ns,
        serde_json::json!({
        "namespaces": [ns], "submitters": {"users": ["alice"]}, "images": ["alpine:*"], "serviceAccounts": ["default"],
        "requiredLimits": ["memory"], "maxParallelism": 2, "maxActiveDeadlineSeconds": 600}),
    )?;
    let wf = format!(
        "apiVersion: argoproj.io/v1alpha1\nkind: Workflow\nmetadata: {{name: escape, labels: {{workflows.argoproj.io/project: {scope}-lax}}}}\nspec:\n  entrypoint: main\n  parallelism: 1000\n  activeDeadlineSeconds: 999999\n  serviceAccountName: admin-sa\n  templates:\n  - {{name: main, container: {{image: evil.example/miner:1}}}}\n"
    );
    let (ok, out) = apply(&cluster, &ns, &wf, &["--as", "mallory"])?;
    ensure!(!ok, "admitted: {out}");
    for expected in [
        &format!("namespace \"{ns}\" belongs to project \"{ns}\", not \"{scope}-lax\"") as &str,
        "user \"mallory\"",
        "spec.parallelism: 1000 is more than",
        "spec.activeDeadlineSeconds: 999999 is more than",
        "service account \"admin-sa\" is not allowed",
        "image \"evil.example/miner:1\" is not allowed",
        "a memory limit is required",
    ] {
        ensure!(out.contains(expected), "missing {expected:?} in {out}");
    }
    let (stored, _) = kubectl(&cluster, &ns, &["get", "wf", "escape"])?;
    ensure!(!stored, "the refused workflow was stored");
    cluster.unregister(&scope).await;
    Ok(())
}

#[tokio::test]
async fn without_a_project_the_controller_creates_no_pod() -> Result<()> {
    let (cluster, ns, _ctl) = unguarded("esc-none", &[]).await?;
    create(&cluster, &ns, PRIVILEGED)?;
    let wf = wait_finished(&cluster.client, &ns, "root", MINUTE).await?;
    ensure!(workflows::phase(&wf).is_some_and(Phase::failed_or_error), "{:?}", wf.status);
    let main = node_named(&wf, "root")?;
    ensure!(
        main.message
            .as_deref()
            .unwrap_or_default()
            .contains(&format!("no WorkflowProject covers namespace \"{ns}\"")),
        "{main:?}"
    );
    ensure!(pods(&cluster.client, &ns, "root").await?.is_empty(), "a pod was created without a project");
    Ok(())
}

#[tokio::test]
async fn a_project_replaced_mid_run_rules_the_later_steps() -> Result<()> {
    let (cluster, ns, _ctl) =
        unguarded("esc-rename", &[("-v1", serde_json::json!({"images": ["alpine:*", "busybox:*"]}))]).await?;
    let c = &cluster.client;
    create(
        &cluster,
        &ns,
        r#"
apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {name: two-steps}
spec:
  entrypoint: main
  templates:
  - name: main
    steps: [[{name: first, template: alpine}], [{name: second, template: busybox}]]
  - name: alpine
    metadata: {annotations: {kwok.test/duration: 4s}}
    container: {image: "alpine:3.19"}
  - name: busybox
    container: {image: "busybox:1.36"}
"#,
    )?;
    workflows::wait_until(c, &ns, "two-steps", MINUTE, "the first step to run", |wf| {
        workflows::nodes(wf).get("first").is_some_and(|n| n.phase == Phase::Running)
    })
    .await?;
    // Renamed: the new project first, then the old one goes.
    cluster
        .project(&format!("{ns}-v2"), serde_json::json!({"namespaces": [ns], "images": ["alpine:*"]}))
        .await?;
    Api::<argo_api::WorkflowProject>::all(c.clone())
        .delete(&format!("{ns}-v1"), &DeleteParams::default())
        .await?;
    let wf = wait_finished(c, &ns, "two-steps", MINUTE).await?;
    let second = node_named(&wf, "second")?;
    ensure!(second.phase == Phase::Error, "{second:?}");
    let msg = second.message.as_deref().unwrap_or_default();
    ensure!(
        msg.contains(&format!("pod refused by project \"{ns}-v2\"")) && msg.contains("busybox:1.36"),
        "{msg}"
    );
    ensure!(pods(c, &ns, "two-steps").await?.len() == 1, "only the first step's pod exists");
    // And with no project left at all, nothing runs.
    Api::<argo_api::WorkflowProject>::all(c.clone())
        .delete(&format!("{ns}-v2"), &DeleteParams::default())
        .await?;
    e2e::eventually(MINUTE, "the project to be gone", || async {
        Ok(Api::<argo_api::WorkflowProject>::all(c.clone())
            .get_opt(&format!("{ns}-v2"))
            .await?
            .is_none()
            .then_some(()))
    })
    .await?;
    create(
        &cluster,
        &ns,
        "apiVersion: argoproj.io/v1alpha1\nkind: Workflow\nmetadata: {name: orphan}\nspec:\n  entrypoint: main\n  templates:\n  - {name: main, container: {image: \"alpine:3.19\"}}\n",
    )?;
    let wf = wait_finished(c, &ns, "orphan", MINUTE).await?;
    ensure!(workflows::phase(&wf) == Some(Phase::Error), "{:?}", wf.status);
    ensure!(pods(c, &ns, "orphan").await?.is_empty());
    Ok(())
}

const LEGACY_SA: &str = r#"
apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {name: legacy-sa}
spec:
  entrypoint: main
  templates:
  - name: main
    podSpecPatch: '{"serviceAccount": "admin-sa"}'
    container: {image: "alpine:3.19"}
"#;

#[tokio::test]
async fn the_legacy_service_account_field_is_checked_at_admission_and_at_run_time() -> Result<()> {
    let cluster = Cluster::connect().await?;
    let (ns, hook) = e2e::webhook::scoped(&cluster, "esc-sa").await?;
    scoped_project(
        &cluster,
        &ns,
        &hook.scope,
        &ns,
        serde_json::json!({"namespaces": [ns], "serviceAccounts": ["default"]}),
    )?;
    let (ok, out) = apply(&cluster, &ns, LEGACY_SA, &[])?;
    ensure!(!ok, "admitted: {out}");
    ensure!(
        out.contains(
            "spec.templates[0].podSpecPatch: spec.serviceAccount: service account \"admin-sa\" is not allowed"
        ),
        "{out}"
    );
    cluster.unregister(&hook.scope).await;

    let (cluster, ns, _ctl) =
        unguarded("esc-sa-run", &[("", serde_json::json!({"serviceAccounts": ["default"]}))]).await?;
    create(&cluster, &ns, LEGACY_SA)?;
    let wf = wait_finished(&cluster.client, &ns, "legacy-sa", MINUTE).await?;
    let msg = wf.status.as_ref().and_then(|s| s.message.clone()).unwrap_or_default();
    ensure!(workflows::phase(&wf) == Some(Phase::Error), "{msg}");
    let main = node_named(&wf, "legacy-sa")?;
    ensure!(
        main.message
            .as_deref()
            .unwrap_or_default()
            .contains("spec.serviceAccount: service account \"admin-sa\""),
        "{main:?}"
    );
    ensure!(pods(&cluster.client, &ns, "legacy-sa").await?.is_empty());
    Ok(())
}

#[tokio::test]
async fn updates_cannot_drop_requirements_and_only_submitters_steer() -> Result<()> {
    let cluster = Cluster::connect().await?;
    let (ns, hook) = e2e::webhook::scoped(&cluster, "esc-update").await?;
    scoped_project(
        &cluster,
        &ns,
        &hook.scope,
        &ns,
        serde_json::json!({
        "namespaces": [ns], "submitters": {"users": ["alice"]}, "maxActiveDeadlineSeconds": 600,
        "workflowDefaults": {"spec": {"activeDeadlineSeconds": 300, "ttlStrategy": {"secondsAfterCompletion": 600}}}}),
    )?;
    let wf = "apiVersion: argoproj.io/v1alpha1\nkind: Workflow\nmetadata: {name: held}\nspec:\n  entrypoint: main\n  suspend: true\n  templates:\n  - {name: main, container: {image: alpine}}\n";
    let (ok, out) = apply(&cluster, &ns, wf, &["--as", "alice"])?;
    ensure!(ok, "{out}");
    let patch =
        |p: &str, who: &str| kubectl(&cluster, &ns, &["patch", "wf", "held", "--type=merge", "-p", p, "--as", who]);
    let refused = [
        (
            r#"{"spec":{"activeDeadlineSeconds":null}}"#,
            "alice",
            "spec.activeDeadlineSeconds: required by project",
        ),
        (r#"{"spec":{"ttlStrategy":null}}"#, "alice", "spec.ttlStrategy: cannot be removed"),
        (r#"{"spec":{"activeDeadlineSeconds":99999}}"#, "alice", "99999 is more than"),
        (
            r#"{"spec":{"suspend":false}}"#,
            "mallory",
            "user \"mallory\" (groups: system:authenticated) may not submit or steer",
        ),
        (
            r#"{"metadata":{"annotations":{"workflows.argoproj.io/resume":"2026-12-01T00:00:00Z"}}}"#,
            "mallory",
            "(resuming it)",
        ),
    ];
    for (p, who, expected) in refused {
        let (ok, out) = patch(p, who)?;
        ensure!(!ok && out.contains(expected), "{who} {p}: {out}");
    }
    // Running less is anyone's right that RBAC grants; resuming is alice's.
    let (ok, out) = patch(r#"{"spec":{"activeDeadlineSeconds":100}}"#, "mallory")?;
    ensure!(ok, "{out}");
    let (ok, out) = patch(r#"{"spec":{"suspend":false}}"#, "alice")?;
    ensure!(ok, "{out}");
    let (ok, out) = patch(r#"{"spec":{"shutdown":"Terminate"}}"#, "mallory")?;
    ensure!(ok, "{out}");
    cluster.unregister(&hook.scope).await;
    Ok(())
}

#[tokio::test]
async fn parameters_are_checked_after_substitution_literal_tags_included() -> Result<()> {
    let (cluster, ns, _ctl) = unguarded(
        "esc-tags",
        &[("", serde_json::json!({"images": ["alpine:*"], "serviceAccounts": ["default", "runner"]}))],
    )
    .await?;
    let mut sa = ServiceAccount::default();
    sa.metadata.name = Some("runner".into());
    Api::<ServiceAccount>::namespaced(cluster.client.clone(), &ns)
        .create(&PostParams::default(), &sa)
        .await?;
    let image = "apiVersion: argoproj.io/v1alpha1\nkind: Workflow\nmetadata: {name: img}\nspec:\n  entrypoint: main\n  arguments: {parameters: [{name: img, value: \"alpine:3.19\"}]}\n  templates:\n  - {name: main, container: {image: \"{{workflow.parameters.img}}\"}}\n";
    let submit = |yaml: &str, args: &[&str]| {
        let mut cmd = cluster.kubectl();
        cmd.args(["argo", "submit", "-", "-n", &ns]).args(args);
        run_with_input(&mut cmd, yaml)
    };
    let out = submit(image, &["-p", "img=evil.example/miner:1{{x}}"])?;
    ensure!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let wf = wait_finished(&cluster.client, &ns, "img", MINUTE).await?;
    let msg = node_named(&wf, "img")?.message.clone().unwrap_or_default();
    ensure!(msg.contains("image \"evil.example/miner:1{{x}}\" is not a valid image reference"), "{msg}");
    ensure!(pods(&cluster.client, &ns, "img").await?.is_empty());

    let account = |name: &str| {
        format!(
            "apiVersion: argoproj.io/v1alpha1\nkind: Workflow\nmetadata: {{name: {name}}}\nspec:\n  entrypoint: main\n  serviceAccountName: \"{{{{workflow.parameters.sa}}}}\"\n  arguments: {{parameters: [{{name: sa, value: default}}]}}\n  templates:\n  - {{name: main, container: {{image: \"alpine:3.19\"}}}}\n"
        )
    };
    ensure!(submit(&account("sa-bad"), &["-p", "sa=admin-sa"])?.status.success());
    ensure!(submit(&account("sa-good"), &["-p", "sa=runner"])?.status.success());
    let bad = wait_finished(&cluster.client, &ns, "sa-bad", MINUTE).await?;
    let msg = node_named(&bad, "sa-bad")?.message.clone().unwrap_or_default();
    ensure!(msg.contains("service account \"admin-sa\" is not allowed"), "{msg}");
    let good = wait_finished(&cluster.client, &ns, "sa-good", MINUTE).await?;
    ensure!(workflows::phase(&good) == Some(Phase::Succeeded), "{:?}", good.status);
    let pod = pods(&cluster.client, &ns, "sa-good").await?.pop().context("the pod")?;
    ensure!(
        pod.spec.and_then(|s| s.service_account_name).as_deref() == Some("runner"),
        "the spec-level tag was substituted"
    );
    Ok(())
}

#[tokio::test]
async fn pod_security_and_image_rules_hold_through_the_apiserver() -> Result<()> {
    let cluster = Cluster::connect().await?;
    let (ns, hook) = e2e::webhook::scoped(&cluster, "esc-pss").await?;
    let base = serde_json::json!({"namespaces": [ns], "images": ["alpine:*"], "maxLimits": {"memory": "8Gi"}});
    scoped_project(&cluster, &ns, &hook.scope, &ns, base.clone())?;
    let wf = r#"
apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {name: pss}
spec:
  entrypoint: main
  templates:
  - name: main
    steps: [[{name: a, template: caps}, {name: b, template: node}, {name: c, template: big}, {name: d, template: registry}]]
  - name: caps
    container:
      image: "alpine:3.19"
      ports: [{containerPort: 80, hostPort: 80}]
      securityContext: {capabilities: {add: [SYS_ADMIN]}, seccompProfile: {type: Unconfined}}
  - name: node
    podSpecPatch: '{"nodeName": "kwok-node-0"}'
    container: {image: "alpine:3.19"}
  - name: big
    container: {image: "alpine:3.19", resources: {limits: {memory: 64Ti}}}
  - name: registry
    container: {image: "alpine:5000/evil/miner:1"}
"#;
    let (ok, out) = apply(&cluster, &ns, wf, &[])?;
    ensure!(!ok, "admitted: {out}");
    for expected in [
        "spec.templates[1].container.securityContext.capabilities.add[0]: adding capability SYS_ADMIN",
        "spec.templates[1].container.securityContext.seccompProfile.type: seccomp profile Unconfined",
        "spec.templates[1].container.ports[0].hostPort",
        "spec.templates[2].podSpecPatch: spec.nodeName: pods may not pick their node",
        "spec.templates[3].container.resources.limits.memory: 64Ti is more than",
        "spec.templates[4].container.image: image \"alpine:5000/evil/miner:1\" is not allowed",
    ] {
        ensure!(out.contains(expected), "missing {expected:?} in {out}");
    }
    let mut restricted = base;
    restricted["security"] = serde_json::json!({"level": "restricted"});
    scoped_project(&cluster, &ns, &hook.scope, &ns, restricted)?;
    let root = "apiVersion: argoproj.io/v1alpha1\nkind: Workflow\nmetadata: {name: root}\nspec:\n  entrypoint: main\n  templates:\n  - {name: main, container: {image: \"alpine:3.19\", securityContext: {runAsUser: 0}}}\n";
    let (ok, out) = apply(&cluster, &ns, root, &[])?;
    ensure!(!ok, "admitted: {out}");
    for expected in [
        "allowPrivilegeEscalation must be false",
        "runAsNonRoot must be true",
        "running as user 0",
        "capabilities.drop must include ALL",
    ] {
        ensure!(out.contains(expected), "missing {expected:?} in {out}");
    }
    cluster.unregister(&hook.scope).await;
    Ok(())
}

/// The controller's peak resident memory, from /proc.
fn peak_rss_mib(pid: u32) -> Result<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    let kib: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .context("VmHWM in /proc/PID/status")?;
    Ok(kib / 1024)
}

#[tokio::test]
async fn what_crashed_the_webhook_or_the_controller_is_refused_or_contained() -> Result<()> {
    let cluster = Cluster::connect().await?;
    let (ns, hook) = e2e::webhook::scoped(&cluster, "esc-crash").await?;
    scoped_project(&cluster, &ns, &hook.scope, &ns, serde_json::json!({"namespaces": [ns]}))?;
    let deep = format!("{}A{}", "(".repeat(1000), ")".repeat(1000));
    let dag = format!(
        "apiVersion: argoproj.io/v1alpha1\nkind: Workflow\nmetadata: {{name: deep}}\nspec:\n  entrypoint: d\n  templates:\n  - name: d\n    dag:\n      tasks:\n      - {{name: A, template: c}}\n      - {{name: B, template: c, depends: \"{deep}\"}}\n  - {{name: c, container: {{image: alpine}}}}\n"
    );
    let (ok, out) = apply(&cluster, &ns, &dag, &[])?;
    ensure!(
        !ok && out.contains("spec.templates[0].dag.tasks[1].depends") && out.contains("nested more than 64 levels"),
        "{out}"
    );
    let (ok, out) = apply(
        &cluster,
        &ns,
        "apiVersion: argoproj.io/v1alpha1\nkind: Workflow\nmetadata: {name: fine}\nspec:\n  entrypoint: c\n  templates:\n  - {name: c, container: {image: alpine}}\n",
        &[],
    )?;
    ensure!(ok, "the webhook still answers: {out}");
    cluster.unregister(&hook.scope).await;

    let (cluster, ns, ctl) = unguarded("esc-crash-run", &[("", serde_json::json!({}))]).await?;
    let c = &cluster.client;
    let deep_when = format!("{}true{}", "(".repeat(2000), ")".repeat(2000));
    create(
        &cluster,
        &ns,
        &format!(
            "apiVersion: argoproj.io/v1alpha1\nkind: Workflow\nmetadata: {{name: when}}\nspec:\n  entrypoint: main\n  arguments: {{parameters: [{{name: w, value: \"{deep_when}\"}}]}}\n  templates:\n  - name: main\n    steps: [[{{name: a, template: c, when: \"{{{{workflow.parameters.w}}}}\"}}]]\n  - {{name: c, container: {{image: alpine}}}}\n"
        ),
    )?;
    create(
        &cluster,
        &ns,
        "apiVersion: argoproj.io/v1alpha1\nkind: Workflow\nmetadata: {name: seq}\nspec:\n  entrypoint: main\n  arguments: {parameters: [{name: count, value: \"1125899906842624\"}]}\n  templates:\n  - name: main\n    steps: [[{name: a, template: c, withSequence: {count: \"{{workflow.parameters.count}}\"}}]]\n  - {name: c, container: {image: alpine}}\n",
    )?;
    let items: Vec<String> = (0..100_000).map(|i| format!("{i:05}")).collect();
    create(
        &cluster,
        &ns,
        &format!(
            "apiVersion: argoproj.io/v1alpha1\nkind: Workflow\nmetadata: {{name: items}}\nspec:\n  entrypoint: main\n  templates:\n  - name: main\n    steps: [[{{name: a, template: c, withItems: [{}]}}]]\n  - {{name: c, container: {{image: alpine}}}}\n",
            items.join(",")
        ),
    )?;
    for (name, expected) in [
        ("when", "nested more than 64 levels"),
        ("seq", "more than the limit of 10000 per loop"),
        ("items", "100000 items, more than the limit of 10000 per loop"),
    ] {
        let wf = wait_finished(c, &ns, name, MINUTE).await?;
        let all: Vec<String> = wf
            .status
            .iter()
            .flat_map(|s| s.message.iter().cloned().chain(s.nodes.values().filter_map(|n| n.message.clone())))
            .collect();
        ensure!(all.iter().any(|m| m.contains(expected)), "{name}: {all:?}");
        ensure!(pods(c, &ns, name).await?.is_empty());
    }
    create(
        &cluster,
        &ns,
        "apiVersion: argoproj.io/v1alpha1\nkind: Workflow\nmetadata: {name: after}\nspec:\n  entrypoint: c\n  templates:\n  - {name: c, container: {image: alpine}}\n",
    )?;
    ensure!(workflows::phase(&wait_finished(c, &ns, "after", MINUTE).await?) == Some(Phase::Succeeded));
    let rss = peak_rss_mib(ctl.child.id())?;
    println!("controller peak RSS after the hostile workflows: {rss} MiB");
    ensure!(rss < 300, "the controller's peak RSS was {rss} MiB");
    ensure!(ctl.get("/healthz")?.0 == 200);
    Ok(())
}

#[tokio::test]
async fn a_panic_fails_its_workflow_and_the_controller_goes_on() -> Result<()> {
    let cluster = Cluster::connect().await?;
    let ns = cluster.namespace("esc-panic").await?;
    let ctl = cluster.controller(&ns, "c1", &["--leader-elect=false", "--test-panic-annotation"])?;
    ctl.wait_ready(Duration::from_secs(30)).await?;
    create(
        &cluster,
        &ns,
        "apiVersion: argoproj.io/v1alpha1\nkind: Workflow\nmetadata: {name: boom, annotations: {argo-rs.test/panic: \"yes\"}}\nspec:\n  entrypoint: c\n  templates:\n  - {name: c, container: {image: alpine}}\n",
    )?;
    let wf = wait_finished(&cluster.client, &ns, "boom", MINUTE).await?;
    let msg = wf.status.as_ref().and_then(|s| s.message.clone()).unwrap_or_default();
    ensure!(
        workflows::phase(&wf) == Some(Phase::Error)
            && msg.starts_with("internal error: the controller failed on this workflow"),
        "{msg}"
    );
    let (_, metrics) = ctl.get("/metrics")?;
    let panics = metrics
        .lines()
        .find_map(|l| l.strip_prefix("argo_reconcile_panics_total "))
        .and_then(|v| v.trim().parse::<u64>().ok());
    ensure!(panics.is_some_and(|n| n >= 1), "{metrics}");
    create(
        &cluster,
        &ns,
        "apiVersion: argoproj.io/v1alpha1\nkind: Workflow\nmetadata: {name: calm}\nspec:\n  entrypoint: c\n  templates:\n  - {name: c, container: {image: alpine}}\n",
    )?;
    ensure!(workflows::phase(&wait_finished(&cluster.client, &ns, "calm", MINUTE).await?) == Some(Phase::Succeeded));
    ensure!(ctl.get("/healthz")?.0 == 200, "the same process still serves");
    Ok(())
}
