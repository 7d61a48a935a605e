//! Every upstream example the controller accepts runs on the local
//! cluster; the test prints how many reach the phase upstream expects
//! (Succeeded, or Failed for those labelled `expected-failure`) and why
//! the others do not.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, Result, ensure};
use argo_api::workflow::Phase;
use e2e::Cluster;
use e2e::workflows;
use k8s_openapi::api::core::v1::ServiceAccount;
use kube::api::{Api, PostParams};

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
    expect: Phase,
}

#[tokio::test]
async fn upstream_examples_reach_the_phase_upstream_expects() -> Result<()> {
    let cluster = Cluster::connect().await?;
    let ns = cluster.namespace("conformance").await?;
    let c = &cluster.client;
    let dir = examples_dir()?;
    let mut files = Vec::new();
    yaml_files(&dir, &mut files)?;

    let mut refused: BTreeMap<String, String> = BTreeMap::new();
    let mut runs = Vec::new();
    let mut accounts = BTreeSet::new();
    for file in &files {
        let rel = file.strip_prefix(&dir).unwrap_or(file).display().to_string();
        let text = std::fs::read_to_string(file)?;
        for doc in argo_api::load::documents(&text)?.into_iter().filter(|d| d.kind() == Some("Workflow")) {
            let mut wf = match argo_api::load::workflow(&doc.value) {
                Ok(wf) => wf,
                Err(e) => {
                    refused.insert(rel.clone(), first_line(&e.to_string()));
                    continue;
                }
            };
            let problems = argo_api::validate::workflow(&wf);
            if let Some(p) = problems.first() {
                refused.insert(rel.clone(), p.to_string());
                continue;
            }
            let labels = wf.metadata.labels.clone().unwrap_or_default();
            let expect = match labels.get("workflows.argoproj.io/no-test").map(String::as_str) {
                Some("expected-failure") => Phase::Failed,
                _ => Phase::Succeeded,
            };
            accounts.extend(wf.spec.pod.service_account_name.clone());
            accounts.extend(wf.spec.templates.iter().filter_map(|t| t.pod.service_account_name.clone()));
            wf.metadata.namespace = Some(ns.clone());
            let api: Api<argo_api::Workflow> = Api::namespaced(c.clone(), &ns);
            match api.create(&PostParams::default(), &wf).await {
                Ok(created) => runs.push(Run {
                    file: rel.clone(),
                    name: created.metadata.name.unwrap_or_default(),
                    expect,
                }),
                Err(e) => {
                    refused.insert(rel.clone(), format!("the apiserver refused it: {e}"));
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
    let ctl = cluster.controller(&ns, "conformance", &["--leader-elect=false"])?;
    ctl.wait_ready(Duration::from_secs(30)).await?;

    // Some examples never end here (a suspend waiting for a person, a pod
    // no kwok node can take): stop once nothing has changed for a while.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(180);
    let mut outcome: BTreeMap<String, (Option<Phase>, String)> = BTreeMap::new();
    let (mut last_pending, mut unchanged_since) = (usize::MAX, tokio::time::Instant::now());
    loop {
        let mut pending = 0;
        let api: Api<argo_api::Workflow> = Api::namespaced(c.clone(), &ns);
        for run in &runs {
            let Some(wf) = api.get_opt(&run.name).await? else {
                // Deleted by its ttlStrategy: keep what was last seen.
                outcome.entry(run.file.clone()).or_insert((None, "deleted by its TTL before it was seen".into()));
                continue;
            };
            let phase = workflows::phase(&wf);
            let message = wf.status.as_ref().and_then(|s| s.message.clone()).unwrap_or_default();
            if !phase.is_some_and(Phase::is_completed) {
                pending += 1;
            }
            outcome.insert(run.file.clone(), (phase, message));
        }
        if pending != last_pending {
            (last_pending, unchanged_since) = (pending, tokio::time::Instant::now());
        }
        let stuck = unchanged_since.elapsed() > Duration::from_secs(45);
        if pending == 0 || stuck || tokio::time::Instant::now() > deadline {
            break;
        }
        tokio::time::sleep(Duration::from_secs(2)).await;
    }

    let mut matched = 0;
    let mut differ = Vec::new();
    for run in &runs {
        let (phase, message) = &outcome[&run.file];
        if *phase == Some(run.expect) {
            matched += 1;
        } else {
            differ.push(format!(
                "  {}: expected {}, got {} {}",
                run.file,
                run.expect,
                phase.map_or("nothing (still running)".into(), |p| p.to_string()),
                first_line(message)
            ));
        }
    }
    println!("upstream example Workflows: {} in all", runs.len() + refused.len());
    println!("  refused with a named field or feature: {}", refused.len());
    for (file, why) in &refused {
        println!("    {file}: {why}");
    }
    println!("  run on the local cluster: {}; reached the expected phase: {matched}", runs.len());
    println!("  did not:");
    for d in &differ {
        println!("  {d}");
    }
    drop(ctl);
    ensure!(runs.len() >= 60, "only {} examples were run", runs.len());
    ensure!(
        matched * 10 >= runs.len() * 8,
        "only {matched} of {} examples reached the phase upstream expects",
        runs.len()
    );
    Ok(())
}

fn first_line(s: &str) -> String {
    let line = s.lines().next().unwrap_or_default();
    if line.len() > 160 {
        format!("{}...", &line[..line.char_indices().nth(157).map_or(line.len(), |(i, _)| i)])
    } else {
        line.to_owned()
    }
}
