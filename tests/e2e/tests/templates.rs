//! WorkflowTemplates, ClusterWorkflowTemplates and CronWorkflows through
//! the real apiserver: created with `kubectl argo template|cluster-template
//! |cron`, admitted by the real webhook, run by the real controller on
//! kwok nodes; and what a tenant may not reference, refused with its path.

use std::process::{Command, Output};
use std::time::Duration;

use anyhow::{Context, Result, bail, ensure};
use argo_api::workflow::Phase;
use e2e::workflows::{get, pods, wait_finished, wait_until};
use e2e::{Cluster, run_with_input};
use kube::api::{Api, DeleteParams, DynamicObject, ListParams, Patch, PatchParams};
use kube::core::ApiResource;

const MINUTE: Duration = Duration::from_secs(60);

fn argo(cluster: &Cluster, ns: &str, args: &[&str]) -> Command {
    let mut c = cluster.kubectl();
    c.arg("argo").args(args).args(["-n", ns]);
    c
}

fn text(o: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr))
}

fn run(cluster: &Cluster, ns: &str, args: &[&str], input: &str) -> Result<Output> {
    run_with_input(&mut argo(cluster, ns, args), input)
}

fn ok(cluster: &Cluster, ns: &str, args: &[&str], input: &str) -> Result<String> {
    let o = run(cluster, ns, args, input)?;
    if !o.status.success() {
        bail!("kubectl argo {args:?} failed ({}):\n{}", o.status, text(&o));
    }
    Ok(String::from_utf8_lossy(&o.stdout).into_owned())
}

fn refused(cluster: &Cluster, ns: &str, args: &[&str], input: &str) -> Result<String> {
    let o = run(cluster, ns, args, input)?;
    ensure!(!o.status.success(), "kubectl argo {args:?} was accepted:\n{}", text(&o));
    Ok(text(&o))
}

/// A namespace in a fresh webhook's scope, its project, and a controller.
async fn setup(
    prefix: &str,
    project: serde_json::Value,
) -> Result<(Cluster, String, e2e::webhook::Webhook, e2e::process::Process)> {
    let cluster = Cluster::connect().await?;
    let (ns, hook) = e2e::webhook::scoped(&cluster, prefix).await?;
    let mut spec = project;
    spec["namespaces"] = serde_json::json!([ns]);
    cluster.project(&ns, spec).await?;
    let ctl = cluster.controller(&ns, "c1", &["--leader-elect=false"])?;
    ctl.wait_ready(Duration::from_secs(30)).await?;
    Ok((cluster, ns, hook, ctl))
}

fn cluster_template(scope: &str, name: &str, image: &str) -> String {
    format!(
        r#"apiVersion: argoproj.io/v1alpha1
kind: ClusterWorkflowTemplate
metadata:
  name: {name}
  labels: {{{label}: "{scope}"}}
spec:
  templates:
  - name: echo
    inputs: {{parameters: [{{name: msg}}]}}
    metadata: {{annotations: {{kwok.test/duration: 1s}}}}
    container: {{image: {image}, args: ["{{{{inputs.parameters.msg}}}}"]}}
"#,
        label = e2e::webhook::SCOPE_LABEL
    )
}

/// ClusterWorkflowTemplate `shared-<ns>`, created through the plugin.
fn shared_template(cluster: &Cluster, ns: &str, hook: &e2e::webhook::Webhook, image: &str) -> Result<String> {
    let name = format!("shared-{ns}");
    ok(cluster, ns, &["cluster-template", "create", "-"], &cluster_template(&hook.scope, &name, image))?;
    Ok(name)
}

fn library(name: &str, shared: &str, seconds: u32) -> String {
    format!(
        r#"apiVersion: argoproj.io/v1alpha1
kind: WorkflowTemplate
metadata:
  name: {name}
spec:
  entrypoint: main
  arguments: {{parameters: [{{name: msg, value: from-the-template}}]}}
  workflowMetadata: {{labels: {{made-by: {name}}}}}
  templates:
  - name: main
    steps:
    - - name: slow
        template: slow
    - - name: shared
        templateRef: {{name: {shared}, template: echo, clusterScope: true}}
        arguments: {{parameters: [{{name: msg, value: "{{{{workflow.parameters.msg}}}}"}}]}}
  - name: slow
    metadata: {{annotations: {{kwok.test/duration: {seconds}s}}}}
    container: {{image: alpine:3.20}}
"#
    )
}

#[tokio::test]
async fn templates_run_by_reference_and_a_running_workflow_keeps_what_it_started_with() -> Result<()> {
    let project = serde_json::json!({"workflowTemplates": ["lib-*"], "clusterWorkflowTemplates": ["shared-*"],
        "images": ["alpine:*", "busybox:*"]});
    let (cluster, ns, hook, _ctl) = setup("tmpl", project).await?;
    let c = &cluster.client;
    let shared = shared_template(&cluster, &ns, &hook, "busybox:1.36")?;
    let created = ok(&cluster, &ns, &["template", "create", "-"], &library("lib-say", &shared, 6))?;
    ensure!(created.contains("Name:") && created.contains("lib-say") && created.contains(&ns), "{created}");
    let listed = ok(&cluster, &ns, &["template", "list"], "")?;
    ensure!(listed.lines().next() == Some("NAME") && listed.contains("lib-say"), "{listed}");
    let got = ok(&cluster, &ns, &["template", "get", "lib-say", "-o", "json"], "")?;
    ensure!(got.contains("\"kind\": \"WorkflowTemplate\""), "{got}");

    // Submitted by reference, with a parameter.
    let name = ok(
        &cluster,
        &ns,
        &[
            "submit",
            "--from",
            "workflowtemplate/lib-say",
            "-p",
            "msg=hello",
            "-o",
            "name",
        ],
        "",
    )?;
    let name = name.trim().to_owned();
    ensure!(name.starts_with("lib-say-"), "{name}");
    // Mid-run, both templates change; the running workflow must not see it.
    wait_until(c, &ns, &name, MINUTE, "the first step to run", |wf| {
        wf.status
            .as_ref()
            .is_some_and(|s| s.nodes.values().any(|n| n.display_name == "slow" && n.phase == Phase::Running))
    })
    .await?;
    ok(&cluster, &ns, &["cluster-template", "delete", &shared], "")?;
    ok(
        &cluster,
        &ns,
        &["cluster-template", "create", "-"],
        &cluster_template(&hook.scope, &shared, "alpine:3.20"),
    )?;
    let wf = wait_finished(c, &ns, &name, 2 * MINUTE).await?;
    ensure!(wf.status.as_ref().and_then(|s| s.phase) == Some(Phase::Succeeded), "{:?}", wf.status);
    let status = wf.status.as_ref().context("status")?;
    ensure!(status.stored_workflow_template_spec.is_some(), "the WorkflowTemplate's spec is stored");
    let key = format!("cluster/{shared}/echo");
    ensure!(status.stored_templates.contains_key(&key), "{:?}", status.stored_templates.keys());
    ensure!(wf.metadata.labels.as_ref().and_then(|l| l.get("made-by")).map(String::as_str) == Some("lib-say"));
    let echo = pods(c, &ns, &name)
        .await?
        .into_iter()
        .find(|p| p.metadata.name.as_deref().is_some_and(|n| n.contains("-echo-")))
        .context("the referenced template's pod, named for it")?;
    let main = &echo.spec.as_ref().context("spec")?.containers[0];
    ensure!(
        main.image.as_deref() == Some("busybox:1.36"),
        "the template as it was at the start: {:?}",
        main.image
    );
    ensure!(main.args.iter().flatten().any(|a| a.contains("hello")), "the parameter reached it: {:?}", main.args);
    Ok(())
}

#[tokio::test]
async fn what_a_project_does_not_allow_and_bad_references_are_refused_with_their_path() -> Result<()> {
    let project = serde_json::json!({"workflowTemplates": ["lib-*", "!lib-secret"], "images": ["alpine:*"]});
    let (cluster, ns, hook, _ctl) = setup("tmplbad", project).await?;
    let shared = shared_template(&cluster, &ns, &hook, "alpine:3.20")?;
    let plain = |name: &str, image: &str| {
        format!(
            "apiVersion: argoproj.io/v1alpha1\nkind: WorkflowTemplate\nmetadata: {{name: {name}}}\nspec:\n  templates:\n  - name: run\n    container: {{image: \"{image}\"}}\n"
        )
    };
    ok(&cluster, &ns, &["template", "create", "-"], &plain("lib-ok", "alpine:3.20"))?;
    // Stored templates are checked against the namespace's project too.
    let out = refused(&cluster, &ns, &["template", "create", "-"], &plain("lib-evil", "evil/miner:1"))?;
    ensure!(out.contains("spec.templates[0].container.image") && out.contains("evil/miner:1"), "{out}");
    // The denied template exists (created as another project's would be, unchecked by this webhook's project rules).
    ok(&cluster, &ns, &["template", "create", "-"], &plain("lib-secret", "alpine:3.20"))?;
    let wf = |step: &str| {
        format!(
            "apiVersion: argoproj.io/v1alpha1\nkind: Workflow\nmetadata: {{generateName: ref-}}\nspec:\n  entrypoint: main\n  templates:\n  - name: main\n    steps:\n    - - name: s\n        {step}\n"
        )
    };
    let cases = [
        ("templateRef: {name: lib-ok, template: run}", None),
        (
            "templateRef: {name: lib-secret, template: run}",
            Some(
                "spec.templates[0].steps[0][0].templateRef.name: WorkflowTemplate \"lib-secret\" is not allowed by project",
            ),
        ),
        (
            "templateRef: {name: lib-missing, template: run}",
            Some("spec.templates[0].steps[0][0].templateRef.name: WorkflowTemplate \"lib-missing\" not found"),
        ),
        (
            "templateRef: {name: lib-ok, template: nope}",
            Some(
                "spec.templates[0].steps[0][0].templateRef.template: template \"nope\" not found in WorkflowTemplate \"lib-ok\"",
            ),
        ),
    ];
    for (step, expect) in cases {
        let o = run(&cluster, &ns, &["submit", "-"], &wf(step))?;
        match expect {
            None => ensure!(o.status.success(), "{step}: {}", text(&o)),
            Some(e) => ensure!(!o.status.success() && text(&o).contains(e), "{step}: expected {e:?}:\n{}", text(&o)),
        }
    }
    let cwt = format!("templateRef: {{name: {shared}, template: echo, clusterScope: true}}");
    let out = refused(&cluster, &ns, &["submit", "-"], &wf(&cwt))?;
    ensure!(out.contains(&format!("ClusterWorkflowTemplate \"{shared}\" is not allowed by project")), "{out}");
    let out = refused(&cluster, &ns, &["submit", "--from", "workflowtemplate/lib-secret"], "")?;
    ensure!(out.contains("spec.workflowTemplateRef.name"), "{out}");
    // A cycle no condition breaks.
    let a = "apiVersion: argoproj.io/v1alpha1\nkind: WorkflowTemplate\nmetadata: {name: lib-loop}\nspec:\n  templates:\n  - name: x\n    steps:\n    - - {name: again, templateRef: {name: lib-loop, template: x}}\n";
    let out = refused(&cluster, &ns, &["template", "create", "-"], a)?;
    ensure!(out.contains("reference cycle without a condition"), "{out}");
    // Bad schedules and time zones, with their field.
    for (field, value, expect) in [
        ("schedule", "\"61 * * * *\"", "spec.schedule: \"61 * * * *\" is not a cron schedule"),
        ("timezone", "Mars/Olympus", "spec.timezone: \"Mars/Olympus\" is not an IANA time zone"),
    ] {
        let mut cron = cron_yaml("bad", "@every 1h", "1s");
        cron = cron.replace("spec:\n", &format!("spec:\n  {field}: {value}\n"));
        if field == "schedule" {
            cron = cron.replace("  schedules: [\"@every 1h\"]\n", "");
        }
        let out = refused(&cluster, &ns, &["cron", "create", "-"], &cron)?;
        ensure!(out.contains(expect), "{field}: {out}");
    }
    Ok(())
}

fn cron_yaml(name: &str, schedule: &str, duration: &str) -> String {
    format!(
        r#"apiVersion: argoproj.io/v1alpha1
kind: CronWorkflow
metadata: {{name: {name}}}
spec:
  schedules: ["{schedule}"]
  successfulJobsHistoryLimit: 1
  workflowMetadata: {{labels: {{from: cron}}}}
  workflowSpec:
    entrypoint: main
    templates:
    - name: main
      metadata: {{annotations: {{kwok.test/duration: {duration}}}}}
      container: {{image: alpine:3.20, args: ["{{{{workflow.scheduledTime}}}}"]}}
"#
    )
}

fn cron_workflows(ns: &str, cluster: &Cluster) -> Api<DynamicObject> {
    let ar = ApiResource::erase::<argo_api::kinds::CronWorkflow>(&());
    Api::namespaced_with(cluster.client.clone(), ns, &ar)
}

async fn runs(cluster: &Cluster, ns: &str, cron: &str) -> Result<Vec<argo_api::Workflow>> {
    let api: Api<argo_api::Workflow> = Api::namespaced(cluster.client.clone(), ns);
    let lp = ListParams::default().labels(&format!("{}={cron}", argo_api::keys::CRON_WORKFLOW));
    Ok(api.list(&lp).await?.items)
}

#[tokio::test]
async fn a_cron_workflow_runs_on_schedule_counts_prunes_and_suspends() -> Result<()> {
    let (cluster, ns, _hook, _ctl) = setup("cron", serde_json::json!({"images": ["alpine:*"]})).await?;
    ok(&cluster, &ns, &["cron", "create", "-"], &cron_yaml("tick", "@every 3s", "1s"))?;
    let crons = cron_workflows(&ns, &cluster);
    let status = e2e::eventually(MINUTE, "two runs to succeed", || async {
        let c = crons.get("tick").await?;
        let ok = c.data.pointer("/status/succeeded").and_then(|v| v.as_i64()).unwrap_or(0);
        Ok((ok >= 2).then_some(c.data["status"].clone()))
    })
    .await?;
    ensure!(status.get("lastScheduledTime").is_some(), "{status}");
    let all = runs(&cluster, &ns, "tick").await?;
    let finished = all
        .iter()
        .filter(|w| w.status.as_ref().and_then(|s| s.phase).is_some_and(Phase::is_completed))
        .count();
    ensure!(finished <= 2, "successfulJobsHistoryLimit 1 prunes the rest: {finished} finished kept");
    let first = all.first().context("a run")?;
    ensure!(first.metadata.labels.as_ref().and_then(|l| l.get("from")).map(String::as_str) == Some("cron"));
    let scheduled = first.metadata.annotations.as_ref().and_then(|a| a.get(argo_api::keys::SCHEDULED_TIME)).cloned();
    let pod = pods(&cluster.client, &ns, first.metadata.name.as_deref().unwrap_or_default()).await?;
    if let (Some(p), Some(t)) = (pod.first(), scheduled) {
        let args = p.spec.as_ref().map(|s| s.containers[0].args.clone().unwrap_or_default()).unwrap_or_default();
        ensure!(args.contains(&t), "{{{{workflow.scheduledTime}}}} is the due time {t}: {args:?}");
    }
    let listed = ok(&cluster, &ns, &["cron", "list"], "")?;
    ensure!(
        listed.starts_with("NAME") && listed.contains("LAST RUN") && listed.contains("@every 3s"),
        "{listed}"
    );
    let got = ok(&cluster, &ns, &["cron", "get", "tick"], "")?;
    ensure!(got.contains("LastScheduledTime:") && got.contains("Suspended:"), "{got}");

    ok(&cluster, &ns, &["cron", "suspend", "tick"], "")?;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let before = runs(&cluster, &ns, "tick").await?.iter().map(|w| w.metadata.name.clone()).max();
    tokio::time::sleep(Duration::from_secs(8)).await;
    let after = runs(&cluster, &ns, "tick").await?.iter().map(|w| w.metadata.name.clone()).max();
    ensure!(before == after, "no run while suspended: {before:?} then {after:?}");
    ok(&cluster, &ns, &["cron", "resume", "tick"], "")?;
    e2e::eventually(MINUTE, "a run after resume", || async {
        let newest = runs(&cluster, &ns, "tick").await?.iter().map(|w| w.metadata.name.clone()).max();
        Ok((newest > after).then_some(()))
    })
    .await?;

    // Run now, outside the schedule.
    let now = ok(&cluster, &ns, &["submit", "--from", "cronwf/tick", "-o", "name"], "")?;
    let wf = wait_finished(&cluster.client, &ns, now.trim(), MINUTE).await?;
    ensure!(wf.status.as_ref().and_then(|s| s.phase) == Some(Phase::Succeeded), "{:?}", wf.status);

    // Deleting the CronWorkflow takes its workflows with it (owner references).
    ok(&cluster, &ns, &["cron", "delete", "tick"], "")?;
    e2e::eventually(2 * MINUTE, "its workflows to be collected", || async {
        Ok(runs(&cluster, &ns, "tick").await?.is_empty().then_some(()))
    })
    .await?;
    let _ = get(&cluster.client, &ns, now.trim()).await?;
    Ok(())
}

#[tokio::test]
async fn forbid_keeps_one_run_at_a_time_and_a_restarted_controller_goes_on() -> Result<()> {
    let (cluster, ns, _hook, mut ctl) = setup("cronfb", serde_json::json!({"images": ["alpine:*"]})).await?;
    let yaml = cron_yaml("slow", "@every 2s", "7s").replace("spec:\n", "spec:\n  concurrencyPolicy: Forbid\n");
    ok(&cluster, &ns, &["cron", "create", "-"], &yaml)?;
    let crons = cron_workflows(&ns, &cluster);
    e2e::eventually(MINUTE, "a run to succeed", || async {
        let c = crons.get("slow").await?;
        Ok((c.data.pointer("/status/succeeded").and_then(|v| v.as_i64()).unwrap_or(0) >= 1).then_some(()))
    })
    .await?;
    let all = runs(&cluster, &ns, "slow").await?;
    let overlapping = all
        .iter()
        .filter(|w| !w.status.as_ref().and_then(|s| s.phase).is_some_and(Phase::is_completed))
        .count();
    ensure!(overlapping <= 1, "Forbid: at most one active, {overlapping}");
    // Killed and restarted: the schedule goes on from its status.
    let newest = all.iter().filter_map(|w| w.metadata.name.clone()).max();
    ctl.kill_hard();
    let ctl2 = cluster.controller(&ns, "c2", &["--leader-elect=false"])?;
    ctl2.wait_ready(Duration::from_secs(30)).await?;
    e2e::eventually(MINUTE, "a run after the restart", || async {
        let now = runs(&cluster, &ns, "slow").await?.iter().filter_map(|w| w.metadata.name.clone()).max();
        Ok((now > newest).then_some(()))
    })
    .await?;
    crons
        .patch("slow", &PatchParams::default(), &Patch::Merge(&serde_json::json!({"spec": {"suspend": true}})))
        .await?;
    crons.delete("slow", &DeleteParams::default()).await?;
    Ok(())
}
