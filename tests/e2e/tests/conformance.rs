//! Every upstream example the controller accepts runs for real on the
//! local cluster's real node and must reach the phase upstream expects:
//! Succeeded, as upstream's own examples test wants of every example it
//! runs, unless `EXPECT` says otherwise and why. Upstream's test skips the
//! examples labelled `workflows.argoproj.io/no-test`; here they run too,
//! with what their "environment" needs (a Secret, a volume, a resume).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, Result, ensure};
use argo_api::workflow::{NodeType, Phase};
use e2e::workflows;
use e2e::{Cluster, run_ok};
use futures::StreamExt;
use k8s_openapi::api::core::v1::{PersistentVolume, PersistentVolumeClaim, Secret, ServiceAccount};
use kube::api::{Api, DynamicObject, Patch, PatchParams, PostParams};
use kube::core::ApiResource;
use kube::runtime::{WatchStreamExt, watcher};
use std::sync::{Arc, Mutex};

fn examples_dir() -> Result<PathBuf> {
    let candidates = [
        std::env::var_os("ARGO_EXAMPLES_DIR").map(PathBuf::from),
        Some(e2e::repo_root().join("../shared/conformance/argo-examples")),
        Some(PathBuf::from("/work/shared/conformance/argo-examples")),
    ];
    candidates
        .into_iter()
        .flatten()
        .find(|p| p.is_dir())
        .context("upstream examples not found: set ARGO_EXAMPLES_DIR")
}

fn yaml_files(dir: &Path, out: &mut Vec<PathBuf>) -> Result<()> {
    let mut entries: Vec<_> = std::fs::read_dir(dir)?.map(|e| e.map(|e| e.path())).collect::<Result<_, _>>()?;
    entries.sort();
    for p in entries {
        if p.is_dir() {
            yaml_files(&p, out)?;
        } else if p.extension().is_some_and(|e| e == "yaml" || e == "yml") {
            out.push(p);
        }
    }
    Ok(())
}

struct Run {
    file: String,
    name: String,
    expect: Expect,
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Expect {
    Phase(Phase),
    /// Random exit codes: either end is right.
    Ends,
    /// Runs for a long time by design: still running when checked.
    StillRunning,
    /// Succeeds where its pods fit; on a small machine a pod stays
    /// unschedulable and it is still running.
    SucceededWhereItFits,
    /// Not submitted: it needs what no local cluster has.
    NotRun,
}

/// The examples that upstream's examples test skips and that do not simply
/// succeed, with what they do instead and why.
const EXPECT: &[(&str, Expect, &str)] = &[
    (
        "continue-on-fail.yaml",
        Expect::Phase(Phase::Succeeded),
        "a step fails on purpose; continueOn.failed lets the workflow succeed",
    ),
    (
        "dag-continue-on-fail.yaml",
        Expect::Phase(Phase::Failed),
        "a task without continueOn fails on purpose",
    ),
    (
        "dag-disable-failFast.yaml",
        Expect::Phase(Phase::Failed),
        "a task fails on purpose; failFast: false only lets the others finish",
    ),
    (
        "dag-task-level-timeout.yaml",
        Expect::Phase(Phase::Failed),
        "a task outlives its timeout on purpose",
    ),
    (
        "exit-handlers.yaml",
        Expect::Phase(Phase::Failed),
        "the main step fails on purpose so the exit handler reports it",
    ),
    (
        "timeouts-step.yaml",
        Expect::Phase(Phase::Failed),
        "a step outlives its activeDeadlineSeconds on purpose",
    ),
    (
        "step-level-timeout.yaml",
        Expect::Phase(Phase::Failed),
        "both steps outlive their timeout; sleep1 continues on error only",
    ),
    (
        "timeouts-workflow.yaml",
        Expect::Phase(Phase::Failed),
        "the workflow's activeDeadlineSeconds (30) ends a sleep of a day",
    ),
    (
        "loops-arbitrary-sequential-steps.yaml",
        Expect::Phase(Phase::Failed),
        "the fourth item exits 1 on purpose",
    ),
    (
        "pod-gc-strategy.yaml",
        Expect::Phase(Phase::Failed),
        "a step exits 1 on purpose, to show which pods are collected",
    ),
    (
        "pod-gc-strategy-with-label-selector.yaml",
        Expect::Phase(Phase::Failed),
        "a step exits 1 on purpose, to show which pods are collected",
    ),
    (
        "exit-handler-slack.yaml",
        Expect::Phase(Phase::Failed),
        "the exit handler posts to the placeholder URL YOUR_WEBHOOK_URL_HERE",
    ),
    (
        "conditionals.yaml",
        Expect::Phase(Phase::Failed),
        "its third step's when reads workflow.parameters.json, which it never declares: that expression cannot evaluate and the step errors; the other two run",
    ),
    (
        "retry-conditional.yaml",
        Expect::Phase(Phase::Failed),
        "python exits 1 or 2, never 0; the retry expression stops at the first exit 1, else after ten retries",
    ),
    ("template-defaults.yaml", Expect::Ends, "python exits 0 or 1 at random, three tries"),
    ("workflow-template/retry-with-steps.yaml", Expect::Ends, "its steps exit 0 or 1 at random"),
    ("retry-backoff.yaml", Expect::Ends, "python exits 0 or 1 at random within a one-minute retry budget"),
    ("retry-on-error.yaml", Expect::Ends, "python exits 0 to 4 at random, three tries"),
    ("resubmit.yaml", Expect::Ends, "nine tasks exit 0 or 1 at random"),
    ("custom-metrics.yaml", Expect::Ends, "its flakey step exits 1 with a two-in-three chance"),
    ("forever.yaml", Expect::StillRunning, "counts to 1,000, a second at a time"),
    (
        "pod-spec-from-previous-step.yaml",
        Expect::SucceededWhereItFits,
        "its second step requests 2 CPUs (read from the first step's output): more than a two-core real node has free",
    ),
    ("hello-windows.yaml", Expect::NotRun, "needs a Windows node"),
    ("hello-hybrid.yaml", Expect::NotRun, "needs a Windows node"),
    (
        "sidecar.yaml",
        Expect::NotRun,
        "installs curl with apk from Alpine's mirrors on the internet, and runs InfluxDB 1.2",
    ),
    ("sidecar-dind.yaml", Expect::NotRun, "runs Docker in Docker (docker:19.03.13-dind, privileged)"),
];

/// Suspend nodes waiting for a person, whom the test plays.
const PERSON: &[&str] = &["approve", "approval"];

/// What the person gives when resuming (`valueFrom.supplied`).
const SUPPLIED: &[(&str, &str)] = &[
    ("suspend-template-outputs.yaml", "message=approved by the conformance test"),
    ("intermediate-parameters.yaml", "approve=YES"),
];

fn expectation(file: &str) -> (Expect, &'static str) {
    EXPECT
        .iter()
        .find(|(f, ..)| *f == file)
        .map_or((Expect::Phase(Phase::Succeeded), ""), |(_, e, why)| (*e, *why))
}

#[tokio::test]
async fn upstream_examples_reach_the_phase_upstream_expects() -> Result<()> {
    let cluster = Cluster::connect().await?;
    let ns = cluster.real_namespace("conformance").await?;
    let c = &cluster.client;
    let dir = examples_dir()?;
    let mut files = Vec::new();
    yaml_files(&dir, &mut files)?;

    // Projects deny ClusterWorkflowTemplates unless they name them.
    cluster
        .project(&ns, serde_json::json!({"namespaces": [ns], "security": {"level": "privileged"}, "clusterWorkflowTemplates": ["*"]}))
        .await?;
    let mut refused: BTreeMap<String, String> = BTreeMap::new();
    let mut not_run: BTreeMap<String, &str> = BTreeMap::new();
    let mut runs = Vec::new();
    let mut accounts = BTreeSet::new();
    let mut texts = Vec::new();
    for file in &files {
        let rel = file.strip_prefix(&dir).unwrap_or(file).display().to_string();
        texts.push((rel, std::fs::read_to_string(file)?));
    }
    // Templates first: the workflows reference them.
    let templates = create_templates(&cluster, &ns, &texts, &mut refused).await?;
    for (rel, text) in &texts {
        let rel = rel.clone();
        for doc in argo_api::load::documents(text)?.into_iter() {
            let (wf, key) = match doc.kind() {
                Some("Workflow") => (argo_api::load::workflow(&doc.value), rel.clone()),
                Some("CronWorkflow") => {
                    let name = doc.value.pointer("/metadata/name").and_then(|v| v.as_str()).unwrap_or_default();
                    (cron_run(&doc.value), format!("{rel} (CronWorkflow {name}, run once)"))
                }
                _ => continue,
            };
            let mut wf = match wf {
                Ok(wf) => wf,
                Err(e) => {
                    refused.insert(key, first_line(&e.to_string()));
                    continue;
                }
            };
            wf.metadata.namespace = Some(ns.clone());
            let problems = match argo_api::templates::resolve(&wf, &templates) {
                Ok(resolved) => argo_api::validate::workflow(&resolved),
                Err(p) => p,
            };
            if let Some(p) = problems.first() {
                refused.insert(key, p.to_string());
                continue;
            }
            let (expect, why) = expectation(&rel);
            if expect == Expect::NotRun {
                not_run.insert(key, why);
                continue;
            }
            accounts.extend(wf.spec.pod.service_account_name.clone());
            accounts.extend(wf.spec.templates.iter().filter_map(|t| t.pod.service_account_name.clone()));
            let api: Api<argo_api::Workflow> = Api::namespaced(c.clone(), &ns);
            match api.create(&PostParams::default(), &wf).await {
                Ok(created) => runs.push(Run {
                    file: key,
                    name: created.metadata.name.unwrap_or_default(),
                    expect,
                }),
                Err(e) => {
                    refused.insert(key, format!("the apiserver refused it: {e}"));
                }
            }
        }
    }
    // Service accounts the examples name, so their pods are admitted.
    let sa_api: Api<ServiceAccount> = Api::namespaced(c.clone(), &ns);
    for sa in &accounts {
        let mut account = ServiceAccount::default();
        account.metadata.name = Some(sa.clone());
        let _ = sa_api.create(&PostParams::default(), &account).await;
    }
    environment(&cluster, &ns).await?;
    let ctl = cluster.controller(&ns, "conformance", &["--leader-elect=false"])?;
    ctl.wait_ready(Duration::from_secs(30)).await?;
    let outcome = watch(&cluster, &ns, &runs).await?;
    drop(ctl);

    let mut matched = 0;
    let mut values_checked = 0;
    let mut differ = Vec::new();
    let api: Api<argo_api::Workflow> = Api::namespaced(c.clone(), &ns);
    for run in &runs {
        let (phase, message) = &outcome[&run.file];
        let ok = match run.expect {
            Expect::Phase(p) => *phase == Some(p),
            Expect::Ends => phase.is_some_and(Phase::is_completed),
            Expect::StillRunning => *phase == Some(Phase::Running),
            Expect::SucceededWhereItFits => matches!(phase, Some(Phase::Succeeded | Phase::Running)),
            Expect::NotRun => false,
        };
        // Not only the phase: what the steps reported.
        let values = match api.get_opt(&run.name).await? {
            Some(wf) => e2e::outputs::check_all_reported(&wf).and_then(|()| {
                e2e::outputs::check_values(&run.file, &wf).map_or(Ok(()), |r| {
                    values_checked += 1;
                    r
                })
            }),
            None => Ok(()),
        };
        if let Err(e) = values {
            differ.push(format!("  {}: outputs: {e}", run.file));
        }
        if ok {
            matched += 1;
        } else {
            differ.push(format!(
                "  {}: expected {:?}, got {} {}",
                run.file,
                run.expect,
                phase.map_or("nothing".into(), |p| p.to_string()),
                first_line(message)
            ));
        }
    }
    println!("upstream example Workflows: {} in all", runs.len() + refused.len() + not_run.len());
    println!("  refused with a named field or feature: {}", refused.len());
    for (file, why) in &refused {
        println!("    {file}: {why}");
    }
    println!("  not run: they need what no local cluster has: {}", not_run.len());
    for (file, why) in &not_run {
        println!("    {file}: {why}");
    }
    println!("  run on the real node: {}; reached the phase upstream expects: {matched}", runs.len());
    for run in runs.iter().filter(|r| r.expect != Expect::Phase(Phase::Succeeded)) {
        println!("    {}: {:?}, because {}", run.file, run.expect, expectation(&run.file).1);
    }
    println!("  examples whose output values were checked: {values_checked}");
    println!("  did not: {}", differ.len());
    for d in &differ {
        println!("  {d}");
    }
    ensure!(runs.len() >= 60, "only {} examples were run", runs.len());
    ensure!(
        differ.is_empty(),
        "{} of {} examples did not reach the phase or the outputs upstream expects",
        differ.len(),
        runs.len()
    );
    Ok(())
}

/// Every WorkflowTemplate and ClusterWorkflowTemplate of the examples,
/// checked as admission checks them and created (the ClusterWorkflow-
/// Templates cluster-wide); those refused are reported with why. Returns
/// them as a source for checking the workflows that reference them.
async fn create_templates(
    cluster: &Cluster,
    ns: &str,
    texts: &[(String, String)],
    refused: &mut BTreeMap<String, String>,
) -> Result<argo_api::templates::Documents> {
    let kinds = ["WorkflowTemplate", "ClusterWorkflowTemplate"];
    let docs: Vec<(String, serde_json::Value)> = texts
        .iter()
        .filter_map(|(rel, text)| argo_api::load::documents(text).ok().map(|d| (rel, d)))
        .flat_map(|(rel, docs)| {
            docs.into_iter()
                .filter(|d| d.kind().is_some_and(|k| kinds.contains(&k)))
                .map(|d| (rel.clone(), d.value))
        })
        .collect();
    let all = argo_api::templates::Documents(docs.iter().map(|(_, v)| v.clone()).collect());
    let open = argo_api::load::workflow_project(&serde_json::json!({"apiVersion": "argoproj.io/v1alpha1",
        "kind": "WorkflowProject", "metadata": {"name": "open"},
        "spec": {"namespaces": ["*"], "security": {"level": "privileged"}, "clusterWorkflowTemplates": ["*"]}}))?;
    let projects = argo_api::policy::Projects::new(vec![open]);
    let mut accepted = Vec::new();
    for (rel, v) in docs {
        let kind = v["kind"].as_str().unwrap_or_default().to_owned();
        let cluster_scoped = kind == "ClusterWorkflowTemplate";
        let name = v.pointer("/metadata/name").and_then(|n| n.as_str()).unwrap_or_default().to_owned();
        let decision = argo_api::policy::decide(&argo_api::policy::Request {
            subject: argo_api::policy::Subject::Template {
                object: &v,
                cluster: cluster_scoped,
            },
            namespace: ns,
            user: None,
            projects: &projects,
            templates: &all,
        });
        if let Some(p) = decision.problems.first() {
            refused.insert(format!("{rel} ({kind} {name})"), p.to_string());
            continue;
        }
        let ar = if cluster_scoped {
            ApiResource::erase::<argo_api::kinds::ClusterWorkflowTemplate>(&())
        } else {
            ApiResource::erase::<argo_api::kinds::WorkflowTemplate>(&())
        };
        let api: Api<DynamicObject> = if cluster_scoped {
            Api::all_with(cluster.client.clone(), &ar)
        } else {
            Api::namespaced_with(cluster.client.clone(), ns, &ar)
        };
        let obj: DynamicObject = serde_json::from_value(v.clone())?;
        api.patch(&name, &PatchParams::apply("argo-rs-conformance").force(), &Patch::Apply(&obj))
            .await
            .with_context(|| format!("{rel}: creating {kind} {name}"))?;
        accepted.push(v);
    }
    println!("upstream example templates: {} created", accepted.len());
    Ok(argo_api::templates::Documents(accepted))
}

/// A CronWorkflow's run, as `kubectl argo submit --from cronwf/NAME`
/// makes it (its schedule is checked; waiting for it is not).
fn cron_run(v: &serde_json::Value) -> argo_api::Result<argo_api::Workflow> {
    let cron = argo_api::load::cron_workflow(v)?;
    let problems = argo_api::cron::check(&cron.spec);
    if !problems.is_empty() {
        return Err(argo_api::Error::Invalid(problems));
    }
    let meta = cron.spec.workflow_metadata.clone().unwrap_or_default();
    argo_api::load::workflow(&serde_json::json!({"apiVersion": "argoproj.io/v1alpha1", "kind": "Workflow",
        "metadata": {"generateName": format!("{}-", cron.metadata.name.unwrap_or_default()),
            "labels": meta.labels, "annotations": meta.annotations},
        "spec": cron.spec.workflow_spec}))
}

/// What upstream's "environment" examples assume exists: a Secret, and a
/// claim bound to a volume on the real node.
async fn environment(cluster: &Cluster, ns: &str) -> Result<()> {
    let secret: Secret = serde_json::from_value(serde_json::json!({
        "metadata": {"name": "my-secret"},
        "stringData": {"mypassword": "s3cr3t"}
    }))?;
    Api::<Secret>::namespaced(cluster.client.clone(), ns)
        .create(&PostParams::default(), &secret)
        .await?;
    // Under the cluster's own state, which tests/cluster/down removes.
    let dir = cluster.state_dir().join("node/volumes").join(ns);
    let pv: PersistentVolume = serde_json::from_value(serde_json::json!({
        "metadata": {"name": format!("{ns}-existing")},
        "spec": {
            "capacity": {"storage": "1Gi"}, "accessModes": ["ReadWriteOnce"],
            "persistentVolumeReclaimPolicy": "Delete", "storageClassName": "",
            "hostPath": {"path": dir, "type": "DirectoryOrCreate"},
            "claimRef": {"namespace": ns, "name": "my-existing-volume"}
        }
    }))?;
    Api::<PersistentVolume>::all(cluster.client.clone()).create(&PostParams::default(), &pv).await?;
    let pvc: PersistentVolumeClaim = serde_json::from_value(serde_json::json!({
        "metadata": {"name": "my-existing-volume"},
        "spec": {"accessModes": ["ReadWriteOnce"], "storageClassName": "", "volumeName": format!("{ns}-existing"),
                 "resources": {"requests": {"storage": "1Gi"}}}
    }))?;
    Api::<PersistentVolumeClaim>::namespaced(cluster.client.clone(), ns)
        .create(&PostParams::default(), &pvc)
        .await?;
    Ok(())
}

/// Polls every run until it settles (ends, or runs on as expected),
/// resuming suspend nodes waiting for a person as a person would, or
/// until nothing has changed for a while.
/// Phase and message, by example file or workflow name.
type Outcomes = BTreeMap<String, (Option<Phase>, String)>;

async fn watch(cluster: &Cluster, ns: &str, runs: &[Run]) -> Result<Outcomes> {
    let c = &cluster.client;
    // Some 110 workflows share a two-core machine's real node.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(900);
    let mut outcome: Outcomes = BTreeMap::new();
    let (mut last_pending, mut unchanged_since) = (usize::MAX, tokio::time::Instant::now());
    let mut resumed = BTreeSet::new();
    // A workflow its ttlStrategy deletes a few seconds after it ends may go
    // between two polls: a watch sees every phase it went through.
    let seen: Arc<Mutex<Outcomes>> = Arc::default();
    let watched = {
        let seen = seen.clone();
        let stream = watcher(Api::<argo_api::Workflow>::namespaced(c.clone(), ns), watcher::Config::default());
        tokio::spawn(stream.applied_objects().for_each(move |wf| {
            if let (Ok(wf), Ok(mut seen)) = (wf, seen.lock()) {
                let message = wf.status.as_ref().and_then(|s| s.message.clone()).unwrap_or_default();
                seen.insert(wf.metadata.name.clone().unwrap_or_default(), (workflows::phase(&wf), message));
            }
            futures::future::ready(())
        }))
    };
    let _stop = AbortOnDrop(watched);
    loop {
        let mut pending = 0;
        let api: Api<argo_api::Workflow> = Api::namespaced(c.clone(), ns);
        for run in runs {
            let Some(wf) = api.get_opt(&run.name).await? else {
                // Deleted by its ttlStrategy: what the watch saw last.
                let last = seen.lock().ok().and_then(|s| s.get(&run.name).cloned());
                outcome.insert(run.file.clone(), last.unwrap_or((None, "deleted before it was seen".into())));
                continue;
            };
            let phase = workflows::phase(&wf);
            let message = wf.status.as_ref().and_then(|s| s.message.clone()).unwrap_or_default();
            let waits = matches!(run.expect, Expect::StillRunning | Expect::SucceededWhereItFits);
            let settled = phase.is_some_and(Phase::is_completed) || (waits && phase == Some(Phase::Running));
            if !settled {
                pending += 1;
            }
            let waiting = workflows::nodes(&wf).values().any(|n| {
                n.type_ == NodeType::Suspend && n.phase == Phase::Running && PERSON.contains(&n.display_name.as_str())
            });
            if waiting && resumed.insert(run.name.clone()) {
                let mut args = vec!["argo", "resume", &run.name, "-n", ns];
                for (file, value) in SUPPLIED {
                    if *file == run.file {
                        args.extend(["-p", value]);
                    }
                }
                run_ok(cluster.kubectl().args(args))?;
            }
            outcome.insert(run.file.clone(), (phase, message));
        }
        if pending != last_pending {
            (last_pending, unchanged_since) = (pending, tokio::time::Instant::now());
        }
        let stuck = unchanged_since.elapsed() > Duration::from_secs(90);
        if pending == 0 || stuck || tokio::time::Instant::now() > deadline {
            return Ok(outcome);
        }
        tokio::time::sleep(Duration::from_secs(2)).await;
    }
}

struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

fn first_line(s: &str) -> String {
    let line = s.lines().next().unwrap_or_default();
    if line.len() > 160 {
        format!("{}...", &line[..line.char_indices().nth(157).map_or(line.len(), |(i, _)| i)])
    } else {
        line.to_owned()
    }
}
