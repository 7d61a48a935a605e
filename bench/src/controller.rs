//! The controller benchmark: (a) one DAG of 1,000 independent tasks
//! against a bare client creating the same pods, (b) a chain of 200
//! sequential steps, (c) 200 small workflows at once.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use argo_api::Workflow;
use argo_api::workflow::Phase;
use futures::{StreamExt, stream};
use k8s_openapi::api::core::v1::{Container, Pod, PodSpec, Toleration};
use kube::Client;
use kube::api::{Api, PostParams};
use kube::runtime::{WatchStreamExt, watcher};

use crate::cluster::{self, Controller};
use crate::procstat;

#[derive(clap::Args)]
pub struct Args {
    #[arg(long)]
    kubeconfig: PathBuf,
    /// The argo-controller binary to measure (a release build)
    #[arg(long)]
    controller: PathBuf,
    #[arg(long, default_value_t = 1000)]
    wide: usize,
    #[arg(long, default_value_t = 200)]
    chain: usize,
    #[arg(long, default_value_t = 200)]
    many: usize,
    /// Width of the fan-out / fan-in, with and without outputs (2,000
    /// nodes with outputs are stored packed, as `compressedNodes`)
    #[arg(long, default_value_t = 1000)]
    fan: usize,
    /// Concurrent creates of the bare client (the controller's default)
    #[arg(long, default_value_t = 64)]
    concurrency: usize,
    /// Where the controller logs go
    #[arg(long, default_value = "target/bench-logs")]
    logs: PathBuf,
}

/// When each pod was first seen, and first seen finished.
#[derive(Default)]
struct PodTimes {
    created: HashMap<String, Instant>,
    finished: HashMap<String, Instant>,
}

fn watch_pods(client: &Client, ns: &str) -> Arc<Mutex<PodTimes>> {
    let times = Arc::new(Mutex::new(PodTimes::default()));
    let out = times.clone();
    let api: Api<Pod> = Api::namespaced(client.clone(), ns);
    tokio::spawn(async move {
        let s = watcher(api, watcher::Config::default()).default_backoff().applied_objects();
        futures::pin_mut!(s);
        while let Some(Ok(pod)) = s.next().await {
            let now = Instant::now();
            let name = pod.metadata.name.clone().unwrap_or_default();
            let done = matches!(pod.status.as_ref().and_then(|s| s.phase.as_deref()), Some("Succeeded" | "Failed"));
            let mut t = out.lock().unwrap_or_else(|e| e.into_inner());
            t.created.entry(name.clone()).or_insert(now);
            if done {
                t.finished.entry(name).or_insert(now);
            }
        }
    });
    times
}

async fn wait_for(what: &str, timeout: Duration, mut done: impl FnMut() -> bool) -> Result<()> {
    let end = Instant::now() + timeout;
    while !done() {
        if Instant::now() > end {
            bail!("timed out after {timeout:?} waiting for {what}");
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    Ok(())
}

/// The benchmarks measure the controller, not containers: their pods go
/// to the kwok nodes, whose taint they tolerate (tests/cluster/REAL-NODE.md).
const KWOK: &str = "  tolerations: [{key: kwok.x-k8s.io/node, operator: Exists, effect: NoSchedule}]\n";

fn long_pod(name: String) -> Pod {
    let mut pod = Pod::default();
    pod.metadata.name = Some(name);
    pod.metadata.annotations = Some([("kwok.test/duration".to_string(), "1h".to_string())].into());
    pod.spec = Some(PodSpec {
        restart_policy: Some("Never".into()),
        tolerations: Some(vec![Toleration {
            key: Some("kwok.x-k8s.io/node".into()),
            operator: Some("Exists".into()),
            effect: Some("NoSchedule".into()),
            ..Default::default()
        }]),
        containers: vec![Container {
            name: "main".into(),
            image: Some("alpine".into()),
            ..Default::default()
        }],
        ..Default::default()
    });
    pod
}

/// Pods per second a plain client achieves creating `n` pods.
async fn bare_rate(client: &Client, n: usize, concurrency: usize) -> Result<f64> {
    let ns = "bench-bare";
    cluster::namespace(client, ns).await?;
    let api: Api<Pod> = Api::namespaced(client.clone(), ns);
    let start = Instant::now();
    let results: Vec<Result<Pod, kube::Error>> = stream::iter(0..n)
        .map(|i| {
            let api = api.clone();
            async move { api.create(&PostParams::default(), &long_pod(format!("bare-{i}"))).await }
        })
        .buffer_unordered(concurrency)
        .collect()
        .await;
    let secs = start.elapsed().as_secs_f64();
    let failed = results.iter().filter(|r| r.is_err()).count();
    if failed > 0 {
        bail!("{failed} bare pod creations failed");
    }
    cluster::delete_namespace(client, ns).await;
    Ok(n as f64 / secs)
}

fn wide_dag(n: usize) -> String {
    let mut y = format!(
        "apiVersion: argoproj.io/v1alpha1\nkind: Workflow\nmetadata: {{name: wide}}\nspec:\n  entrypoint: d\n{KWOK}  templates:\n  - name: d\n    dag:\n      tasks:\n",
    );
    for i in 0..n {
        y.push_str(&format!("      - {{name: t{i}, template: w}}\n"));
    }
    y.push_str("  - name: w\n    metadata: {annotations: {kwok.test/duration: 1h}}\n    container: {image: alpine}\n");
    y
}

fn chain(n: usize) -> String {
    let mut y = format!(
        "apiVersion: argoproj.io/v1alpha1\nkind: Workflow\nmetadata: {{name: chain}}\nspec:\n  entrypoint: s\n{KWOK}  templates:\n  - name: s\n    steps:\n",
    );
    for i in 0..n {
        y.push_str(&format!("    - - {{name: s{i}, template: w}}\n"));
    }
    y.push_str(
        "  - name: w\n    metadata: {annotations: {kwok.test/duration: 200ms}}\n    container: {image: alpine}\n",
    );
    y
}

/// A fan-out of `n` tasks, then a fan-in of `n` over what they reported
/// (`outputs: true`: each result, aggregated into one withParam) or over
/// a sequence of the same length (`false`: the same shape, no outputs).
fn fan(n: usize, outputs: bool) -> String {
    let (name, second) = if outputs {
        ("fan-outputs", r#"withParam: "{{steps.out.outputs.result}}""#.to_owned())
    } else {
        ("fan-plain", format!("withSequence: {{count: \"{n}\"}}"))
    };
    format!(
        r#"apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {{name: {name}}}
spec:
  entrypoint: s
{KWOK}  templates:
  - name: s
    steps:
    - - {{name: out, template: emit, withSequence: {{count: "{n}"}}, arguments: {{parameters: [{{name: i, value: "{{{{item}}}}"}}]}}}}
    - - {{name: in, template: take, {second}, arguments: {{parameters: [{{name: i, value: "{{{{item}}}}"}}]}}}}
  - name: emit
    inputs: {{parameters: [{{name: i}}]}}
    metadata: {{annotations: {{kwok.test/duration: 1s, kwok.test/message: '{{"result":"{{{{inputs.parameters.i}}}}"}}'}}}}
    container: {{image: alpine, command: [echo, "{{{{inputs.parameters.i}}}}"]}}
  - name: take
    inputs: {{parameters: [{{name: i}}]}}
    metadata: {{annotations: {{kwok.test/duration: 1s}}}}
    container: {{image: alpine, command: [echo, "{{{{inputs.parameters.i}}}}"]}}
"#
    )
}

fn small(i: usize) -> String {
    format!(
        "apiVersion: argoproj.io/v1alpha1\nkind: Workflow\nmetadata: {{name: small-{i}}}\nspec:\n  entrypoint: w\n{KWOK}  templates:\n  - name: w\n    container: {{image: alpine}}\n"
    )
}

async fn submit(client: &Client, ns: &str, yaml: &str) -> Result<()> {
    let wf = argo_api::load::workflow(&serde_yaml::from_str(yaml)?)?;
    Api::<Workflow>::namespaced(client.clone(), ns).create(&PostParams::default(), &wf).await?;
    Ok(())
}

async fn phase(client: &Client, ns: &str, name: &str) -> Result<Option<Phase>> {
    Ok(Api::<Workflow>::namespaced(client.clone(), ns).get(name).await?.status.and_then(|s| s.phase))
}

pub async fn run(args: Args) -> Result<()> {
    let client = cluster::client(&args.kubeconfig).await?;
    std::fs::create_dir_all(&args.logs)?;
    let start_controller = |name: &str| -> Result<Controller> {
        cluster::start_controller(&args.controller, &args.kubeconfig, &args.logs.join(format!("controller-{name}.log")))
    };

    println!("controller benchmark on the local cluster (kwok nodes), one run:");
    // (a) Pod creation: the bare client first, then the controller.
    let bare = bare_rate(&client, args.wide, args.concurrency).await?;
    cluster::namespace(&client, "bench-wide").await?;
    let times = watch_pods(&client, "bench-wide");
    let ctl = start_controller("wide")?;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let t0 = Instant::now();
    submit(&client, "bench-wide", &wide_dag(args.wide)).await?;
    let n = args.wide;
    wait_for("every pod of the wide DAG", Duration::from_secs(600), || {
        times.lock().map(|t| t.created.len() >= n).unwrap_or(false)
    })
    .await?;
    let to_last = t0.elapsed().as_secs_f64();
    let wide_usage = procstat::usage(ctl.child.id())?;
    drop(ctl);
    cluster::delete_namespace(&client, "bench-wide").await;
    let rate = n as f64 / to_last;
    println!("(a) DAG of {n} independent tasks");
    println!("    submit to last pod created: {to_last:.2} s");
    println!(
        "    controller: {rate:.0} pods/s; bare client: {bare:.0} pods/s; ratio {:.0}% (target >= 90%)",
        100.0 * rate / bare
    );
    println!("    controller CPU {:.2} s, peak RSS {:.1} MiB", wide_usage.cpu_seconds, wide_usage.peak_rss_mib);

    // (b) A chain: how long after a pod ends does the next one appear?
    cluster::namespace(&client, "bench-chain").await?;
    let times = watch_pods(&client, "bench-chain");
    let ctl = start_controller("chain")?;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let t0 = Instant::now();
    submit(&client, "bench-chain", &chain(args.chain)).await?;
    let c = client.clone();
    let end = Instant::now() + Duration::from_secs(1200);
    while !phase(&c, "bench-chain", "chain").await?.is_some_and(Phase::is_completed) {
        if Instant::now() > end {
            bail!("the chain did not finish");
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let total = t0.elapsed().as_secs_f64();
    let wf = Api::<Workflow>::namespaced(client.clone(), "bench-chain").get("chain").await?;
    let mut status = wf.status.context("chain status")?;
    argo_api::workflow::compress::unpack(&mut status).map_err(anyhow::Error::msg)?;
    let mut by_step: Vec<(usize, String)> = status
        .nodes
        .values()
        .filter_map(|n| Some((n.display_name.strip_prefix('s')?.parse().ok()?, n.pod_name.clone()?)))
        .collect();
    by_step.sort();
    let mut gaps: Vec<f64> = {
        let t = times.lock().map_err(|_| anyhow::anyhow!("poisoned"))?;
        by_step
            .windows(2)
            .filter_map(|w| {
                Some(t.created.get(&w[1].1)?.duration_since(*t.finished.get(&w[0].1)?).as_secs_f64() * 1000.0)
            })
            .collect()
    };
    let chain_usage = procstat::usage(ctl.child.id())?;
    drop(ctl);
    cluster::delete_namespace(&client, "bench-chain").await;
    gaps.sort_by(f64::total_cmp);
    let mean = gaps.iter().sum::<f64>() / gaps.len().max(1) as f64;
    let pct = |p: f64| gaps.get(((gaps.len() as f64 - 1.0) * p) as usize).copied().unwrap_or(0.0);
    println!("(b) chain of {} sequential steps ({} measured gaps)", args.chain, gaps.len());
    println!(
        "    total {total:.1} s; pod finished -> next pod created: mean {mean:.0} ms, p50 {:.0} ms, p90 {:.0} ms (target < 50 ms)",
        pct(0.5),
        pct(0.9)
    );
    println!("    controller CPU {:.2} s, peak RSS {:.1} MiB", chain_usage.cpu_seconds, chain_usage.peak_rss_mib);

    // (c) Many small workflows at once.
    cluster::namespace(&client, "bench-many").await?;
    let ctl = start_controller("many")?;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let t0 = Instant::now();
    let submits: Vec<Result<()>> = stream::iter(0..args.many)
        .map(|i| {
            let c = client.clone();
            async move { submit(&c, "bench-many", &small(i)).await }
        })
        .buffer_unordered(32)
        .collect()
        .await;
    submits.into_iter().collect::<Result<Vec<()>>>()?;
    let api: Api<Workflow> = Api::namespaced(client.clone(), "bench-many");
    let end = Instant::now() + Duration::from_secs(900);
    loop {
        let list = api.list(&Default::default()).await?;
        let done = list
            .items
            .iter()
            .filter(|w| w.status.as_ref().and_then(|s| s.phase).is_some_and(Phase::is_completed))
            .count();
        if done >= args.many {
            break;
        }
        if Instant::now() > end {
            bail!("only {done} of {} small workflows finished", args.many);
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    let many_secs = t0.elapsed().as_secs_f64();
    let many_usage = procstat::usage(ctl.child.id())?;
    drop(ctl);
    cluster::delete_namespace(&client, "bench-many").await;
    println!("(c) {} one-pod workflows submitted at once", args.many);
    println!(
        "    all finished after {many_secs:.1} s ({:.0} workflows/minute)",
        args.many as f64 * 60.0 / many_secs
    );
    println!(
        "    controller CPU {:.2} s, peak RSS {:.1} MiB (target < 50 MiB)",
        many_usage.cpu_seconds, many_usage.peak_rss_mib
    );

    // (d) Outputs: the same fan-out / fan-in with and without results.
    let mut rates = Vec::new();
    for outputs in [false, true] {
        let ns = if outputs {
            "bench-fan-outputs"
        } else {
            "bench-fan-plain"
        };
        let name = if outputs { "fan-outputs" } else { "fan-plain" };
        cluster::namespace(&client, ns).await?;
        let ctl = start_controller(name)?;
        tokio::time::sleep(Duration::from_secs(2)).await;
        let t0 = Instant::now();
        submit(&client, ns, &fan(args.fan, outputs)).await?;
        let end = Instant::now() + Duration::from_secs(900);
        let phase = loop {
            match phase(&client, ns, name).await? {
                Some(p) if p.is_completed() => break p,
                _ if Instant::now() > end => bail!("{name} did not finish"),
                _ => tokio::time::sleep(Duration::from_millis(250)).await,
            }
        };
        let secs = t0.elapsed().as_secs_f64();
        let usage = procstat::usage(ctl.child.id())?;
        drop(ctl);
        if phase != Phase::Succeeded {
            let wf = Api::<Workflow>::namespaced(client.clone(), ns).get(name).await?;
            let why = wf.status.and_then(|s| s.message).unwrap_or_default();
            bail!("{name} ended {phase}: {why}");
        }
        cluster::delete_namespace(&client, ns).await;
        rates.push((2 * args.fan) as f64 / secs);
        println!(
            "(d) {name}: {} tasks out, {} in: {secs:.1} s, {:.0} pods/s; controller CPU {:.2} s, peak RSS {:.1} MiB",
            args.fan,
            args.fan,
            rates[rates.len() - 1],
            usage.cpu_seconds,
            usage.peak_rss_mib
        );
    }
    println!("    with outputs / without: {:.0}% of the pods/s (target >= 90%)", 100.0 * rates[1] / rates[0]);
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_benchmark_workflows_are_valid() {
        for yaml in [
            super::fan(3, true),
            super::fan(3, false),
            super::wide_dag(3),
            super::chain(3),
            super::small(1),
        ] {
            let value: serde_json::Value = serde_yaml::from_str(&yaml).expect("YAML");
            let wf = argo_api::load::workflow(&value).expect("parses");
            assert_eq!(argo_api::validate::workflow(&wf), vec![], "{yaml}");
        }
    }
}
