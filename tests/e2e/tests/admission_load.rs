//! Issue 19, findings 6 and 7, through the real apiserver: a tenant's
//! huge workflows (tens of thousands of templates, deep nesting, the most
//! templates allowed, references that amplify into megabytes) sent many at
//! once while another user creates ordinary workflows. The others' creates
//! all go through within the webhook's timeout, the hostile ones are
//! refused naming the limit they pass, and the webhook gives the memory
//! back afterwards.

use std::time::{Duration, Instant};

use anyhow::{Context, Result, ensure};
use e2e::Cluster;
use e2e::webhook::SCOPE_LABEL;
use kube::api::{Api, DynamicObject, PostParams};
use kube::config::{KubeConfigOptions, Kubeconfig};
use serde_json::{Value, json};

/// A client acting as `user` (the kubeconfig's admin may impersonate).
async fn client_as(kubeconfig: &std::path::Path, user: &str) -> Result<kube::Client> {
    let kc = Kubeconfig::read_from(kubeconfig)?;
    let mut config = kube::Config::from_custom_kubeconfig(kc, &KubeConfigOptions::default()).await?;
    config.auth_info.impersonate = Some(user.into());
    Ok(kube::Client::try_from(config)?)
}

fn workflows(client: &kube::Client, ns: &str) -> Api<DynamicObject> {
    Api::namespaced_with(client.clone(), ns, &kube::core::ApiResource::erase::<argo_api::Workflow>(&()))
}

fn workflow(name: &str, templates: Vec<Value>) -> DynamicObject {
    serde_json::from_value(json!({"apiVersion": "argoproj.io/v1alpha1", "kind": "Workflow",
        "metadata": {"generateName": format!("{name}-")}, "spec": {"entrypoint": "t0", "templates": templates}}))
    .expect("a workflow")
}

fn containers(n: usize, pad: usize) -> Vec<Value> {
    (0..n)
        .map(|i| json!({"name": format!("t{i}"), "container": {"image": "alpine:3.20", "command": ["echo", "x".repeat(pad)]}}))
        .collect()
}

fn nested(depth: usize) -> Vec<Value> {
    let mut inner = json!({"container": {"image": "alpine:3.20"}});
    for i in 0..depth {
        inner = json!({"steps": [[{"name": format!("n{i}"), "inline": inner}]]});
    }
    vec![json!({"name": "t0", "steps": [[{"name": "top", "inline": inner}]]})]
}

/// What the hostile tenant sends: each refused, for its own reason.
fn hostile(library: usize) -> Vec<(DynamicObject, &'static str)> {
    let refs: Vec<Value> = (0..library)
        .map(|i| json!([{"name": format!("s{i}"), "templateRef": {"name": format!("big-{i}"), "template": "t"}}]))
        .collect();
    vec![
        (workflow("many", containers(24_000, 0)), "more than the 2000 a workflow may have"),
        (workflow("deep", nested(25)), "nested more than 64 levels deep"),
        (workflow("deeper", nested(40)), "nested too deep to read"),
        (workflow("most", containers(2_000, 900)), "may not submit"),
        (workflow("refs", vec![json!({"name": "t0", "steps": refs})]), "may store"),
    ]
}

/// Resident memory of a process in KiB: (all of it, what is its own).
/// The latter leaves out the pages of its binary (a debug build's are
/// tens of megabytes), which the kernel can drop and share.
fn rss_kib(pid: u32) -> Result<(u64, u64)> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    let field = |name: &str| -> Result<u64> {
        let line = status.lines().find(|l| l.starts_with(name)).with_context(|| name.to_owned())?;
        Ok(line.split_whitespace().nth(1).context("a number")?.parse()?)
    };
    Ok((field("VmRSS:")?, field("RssAnon:")? + field("RssShmem:")?))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_workflows_stall_no_one_and_leave_no_memory_behind() -> Result<()> {
    let cluster = Cluster::connect().await?;
    let (ns, hook) = e2e::webhook::scoped(&cluster, "load").await?;
    let project = format!(
        "apiVersion: argoproj.io/v1alpha1\nkind: WorkflowProject\nmetadata:\n  name: {}\n  labels: {{{SCOPE_LABEL}: {}}}\nspec:\n  namespaces: [{ns}]\n  submitters: {{users: [alice, kubernetes-admin]}}\n",
        hook.scope, hook.scope
    );
    let applied = e2e::run_with_input(cluster.kubectl().args(["apply", "-f", "-"]), &project)?;
    ensure!(applied.status.success(), "{}", String::from_utf8_lossy(&applied.stderr));
    // WorkflowTemplates of about 300 KB (the admin makes them): a few
    // references amplify past what a workflow may store.
    let library = 4;
    let templates: Api<DynamicObject> = Api::namespaced_with(
        cluster.client.clone(),
        &ns,
        &kube::core::ApiResource::erase::<argo_api::kinds::WorkflowTemplate>(&()),
    );
    for i in 0..library {
        let t: DynamicObject =
            serde_json::from_value(json!({"apiVersion": "argoproj.io/v1alpha1", "kind": "WorkflowTemplate",
            "metadata": {"name": format!("big-{i}")}, "spec": {"templates": [
                {"name": "t", "container": {"image": "alpine:3.20", "args": ["y".repeat(300 * 1024)]}}]}}))?;
        templates.create(&PostParams::default(), &t).await.context("a large WorkflowTemplate")?;
    }
    let pid = hook.process.child.id();
    let before = rss_kib(pid)?;
    let alice = client_as(&cluster.kubeconfig, "alice").await?;

    // The tenant: six at a time, again and again, for the whole run, from
    // a thread and runtime of its own (building megabytes of JSON there
    // must not delay this test's own measurements).
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let attacker = {
        let (stop, ns, kubeconfig) = (stop.clone(), ns.clone(), cluster.kubeconfig.clone());
        std::thread::spawn(move || -> Result<Vec<String>> {
            let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build()?;
            rt.block_on(async move {
                let mallory = client_as(&kubeconfig, "mallory").await?;
                let mut lanes = Vec::new();
                for lane in 0..6 {
                    let (api, stop, ns) = (workflows(&mallory, &ns), stop.clone(), ns.clone());
                    lanes.push(tokio::spawn(async move {
                        let mut refused = Vec::new();
                        let mut round = 0;
                        while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                            let cases = hostile(library);
                            let (wf, why) = &cases[(lane + round) % cases.len()];
                            round += 1;
                            match api.create(&PostParams::default(), wf).await {
                                Ok(o) => refused.push(format!("{ns}: admitted {:?}", o.metadata.name)),
                                Err(e) => refused.push(format!("{why}|{e}")),
                            }
                        }
                        refused
                    }));
                }
                let mut all = Vec::new();
                for l in lanes {
                    all.extend(l.await?);
                }
                Ok(all)
            })
        })
    };
    tokio::time::sleep(Duration::from_secs(2)).await;
    // Meanwhile ordinary reviews straight to the webhook, as the apiserver
    // sends them: each answered well within the apiserver's 5 s timeout.
    let addr: std::net::SocketAddr = hook.url.trim_start_matches("https://").parse()?;
    let mut conn = e2e::admission::connect(addr, &hook.ca.pem.cert).await?;
    let (mut buf, mut slowest_review) = (Vec::new(), Duration::ZERO);
    for i in 0..40 {
        let started = Instant::now();
        let answer = e2e::admission::post(&mut conn, "/validate", &e2e::admission::review(i, &ns), &mut buf).await?;
        slowest_review = slowest_review.max(started.elapsed());
        let v: Value = serde_json::from_slice(answer)?;
        ensure!(v["response"]["uid"].is_string(), "an answer to review {i}: {v}");
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    ensure!(
        slowest_review < Duration::from_secs(4),
        "an ordinary review took {slowest_review:?} while the tenant's ran"
    );
    // And alice creates ordinary workflows through the apiserver.
    let api = workflows(&alice, &ns);
    let mut slowest = Duration::ZERO;
    for i in 0..6 {
        let started = Instant::now();
        let wf = workflow(&format!("ordinary-{i}"), containers(3, 8));
        api.create(&PostParams::default(), &wf)
            .await
            .with_context(|| format!("alice's create {i} while the tenant's run (after {:?})", started.elapsed()))?;
        slowest = slowest.max(started.elapsed());
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let mut outcomes: Vec<String> = Vec::new();
    outcomes.extend(attacker.join().map_err(|_| anyhow::anyhow!("the attacker thread panicked"))??);
    println!(
        "slowest ordinary review at the webhook: {slowest_review:?}; alice's slowest create: {slowest:?}; the tenant sent {}",
        outcomes.len()
    );
    // Every hostile one was refused by the webhook for what it is.
    for o in &outcomes {
        let (why, error) = o.split_once('|').context("no hostile workflow may be admitted")?;
        ensure!(
            error.contains(why) || error.contains("the webhook is busy"),
            "refused for the wrong reason (expected {why:?}): {error}"
        );
    }
    ensure!(outcomes.iter().any(|o| o.contains("more than the 2000")), "{outcomes:?}");

    // The memory the large reviews took goes back.
    let mut after = rss_kib(pid)?;
    for _ in 0..20 {
        if after.1 < 64 * 1024 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
        after = rss_kib(pid)?;
    }
    println!("webhook RSS (all, own) in KiB: {before:?} before, {after:?} after");
    ensure!(
        after.1 < 64 * 1024,
        "the webhook keeps {after:?} KiB after the hostile reviews ({before:?} KiB before)"
    );
    Ok(())
}
