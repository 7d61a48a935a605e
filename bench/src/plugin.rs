//! The plugin benchmark: `kubectl-argo version` start-up, `kubectl argo
//! list` against `kubectl get wf` over the same 5,000 workflows, and
//! `kubectl argo get` of a 2,000-node workflow. Medians of several runs,
//! the two list commands interleaved so that noise hits both.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use futures::{StreamExt, stream};
use kube::api::{Api, DynamicObject, Patch, PatchParams, PostParams};
use kube::core::ApiResource;
use serde_json::{Value, json};

use crate::cluster;

#[derive(clap::Args)]
pub struct Args {
    #[arg(long)]
    kubeconfig: PathBuf,
    /// The kubectl-argo binary to measure (a release build)
    #[arg(long)]
    plugin: PathBuf,
    #[arg(long)]
    kubectl: PathBuf,
    #[arg(long, default_value_t = 5000)]
    workflows: usize,
    #[arg(long, default_value_t = 2000)]
    nodes: usize,
    /// Runs per measurement (the median is printed)
    #[arg(long, default_value_t = 7)]
    runs: usize,
}

pub const NS: &str = "bench-plugin";

fn resource() -> ApiResource {
    ApiResource::erase::<argo_api::Workflow>(&())
}

fn time(n: &str, t: &str) -> String {
    format!("2026-01-01T{n}:{t}Z")
}

/// A finished workflow with a small DAG, as `list` would find thousands.
fn small(i: usize) -> (Value, Value) {
    let name = format!("wf-{i:05}");
    let obj = json!({"apiVersion": "argoproj.io/v1alpha1", "kind": "Workflow",
        "metadata": {"name": name, "labels": {"workflows.argoproj.io/phase": "Succeeded", "workflows.argoproj.io/completed": "true"}},
        "spec": {"entrypoint": "main", "arguments": {"parameters": [{"name": "n", "value": i.to_string()}]},
            "templates": [{"name": "main", "dag": {"tasks": [{"name": "A", "template": "echo"}, {"name": "B", "template": "echo", "depends": "A"}]}},
                {"name": "echo", "container": {"image": "alpine:3.19", "command": ["echo", "hi"]}}]}});
    let nodes = big_nodes(&name, 2);
    let status = json!({"phase": "Succeeded", "startedAt": time("00", "00:00"), "finishedAt": time("00", "00:07"),
        "progress": "2/2", "nodes": nodes});
    (obj, status)
}

/// The nodes of a DAG of `n` pod tasks, as the controller writes them.
fn big_nodes(wf: &str, n: usize) -> Value {
    let mut nodes = serde_json::Map::new();
    let ids: Vec<String> = (0..n).map(|i| argo_api::names::node_id(wf, &format!("{wf}.t{i}"))).collect();
    nodes.insert(wf.into(), json!({"id": wf, "name": wf, "displayName": wf, "type": "DAG", "templateName": "main",
        "phase": "Succeeded", "startedAt": time("00", "00:00"), "finishedAt": time("00", "59:00"), "children": ids.iter().take(1).collect::<Vec<_>>(),
        "outboundNodes": ids.last().into_iter().collect::<Vec<_>>()}));
    for (i, id) in ids.iter().enumerate() {
        let name = format!("{wf}.t{i}");
        let (m, s) = (i / 60 % 60, i % 60);
        nodes.insert(
            id.clone(),
            json!({"id": id, "name": name, "displayName": format!("t{i}"), "type": "Pod",
            "templateName": "echo", "phase": "Succeeded", "boundaryID": wf,
            "startedAt": time("00", &format!("{m:02}:{s:02}")), "finishedAt": time("01", &format!("{m:02}:{s:02}")),
            "podName": argo_api::names::pod_name(wf, &name, Some("echo")), "hostNodeName": "kwok-node-0",
            "children": ids.get(i + 1).into_iter().collect::<Vec<_>>(),
            "outputs": {"exitCode": "0"}, "progress": "1/1", "resourcesDuration": {"cpu": 1, "memory": 1}}),
        );
    }
    Value::Object(nodes)
}

pub async fn create(api: &Api<DynamicObject>, obj: Value, status: Value) -> Result<()> {
    let name = obj["metadata"]["name"].as_str().unwrap_or_default().to_owned();
    let o: DynamicObject = serde_json::from_value(obj)?;
    match api.create(&PostParams::default(), &o).await {
        Ok(_) => {}
        Err(kube::Error::Api(e)) if e.code == 409 => {}
        Err(e) => return Err(e.into()),
    }
    api.patch_status(&name, &PatchParams::default(), &Patch::Merge(&json!({"status": status}))).await?;
    Ok(())
}

fn median(mut v: Vec<Duration>) -> f64 {
    v.sort();
    v[v.len() / 2].as_secs_f64() * 1000.0
}

fn timed(cmd: &mut Command) -> Result<Duration> {
    let t = Instant::now();
    let out = cmd.output().with_context(|| format!("running {cmd:?}"))?;
    let took = t.elapsed();
    if !out.status.success() {
        bail!("{cmd:?} failed: {}", String::from_utf8_lossy(&out.stderr));
    }
    Ok(took)
}

fn kubectl(args: &Args, plugin_dir: &Path) -> Command {
    let mut c = Command::new(&args.kubectl);
    let path = std::env::join_paths([plugin_dir, Path::new("/usr/bin"), Path::new("/bin")]).unwrap_or_default();
    c.env("KUBECONFIG", &args.kubeconfig).env("PATH", path).env("NO_COLOR", "1");
    c
}

/// `workflows` small finished workflows and `big`, a chain of `nodes` nodes.
pub async fn populate(api: &Api<DynamicObject>, workflows: usize, nodes: usize) -> Result<()> {
    let results: Vec<Result<()>> = stream::iter(0..workflows)
        .map(|i| {
            let api = api.clone();
            async move {
                let (o, s) = small(i);
                create(&api, o, s).await
            }
        })
        .buffer_unordered(32)
        .collect()
        .await;
    results.into_iter().collect::<Result<Vec<()>>>()?;
    let big = json!({"apiVersion": "argoproj.io/v1alpha1", "kind": "Workflow", "metadata": {"name": "big"},
        "spec": {"entrypoint": "main", "templates": [{"name": "main", "dag": {"tasks": [{"name": "t0", "template": "echo"}]}},
            {"name": "echo", "container": {"image": "alpine:3.19"}}]}});
    let big_status = json!({"phase": "Succeeded", "startedAt": time("00", "00:00"), "finishedAt": time("01", "00:00"),
        "progress": format!("{0}/{0}", nodes), "nodes": big_nodes("big", nodes)});
    create(api, big, big_status).await?;
    Ok(())
}

pub async fn run(args: Args) -> Result<()> {
    let client = cluster::client(&args.kubeconfig).await?;
    cluster::namespace(&client, NS).await?;
    let api: Api<DynamicObject> = Api::namespaced_with(client.clone(), NS, &resource());
    println!("plugin benchmark, one run (medians of {} runs):", args.runs);
    let started = Instant::now();
    populate(&api, args.workflows, args.nodes).await?;
    println!(
        "  setup: {} workflows + one of {} nodes in {:.1} s",
        args.workflows + 1,
        args.nodes,
        started.elapsed().as_secs_f64()
    );

    // kubectl finds plugins on PATH; give it a directory with just ours.
    let dir = std::env::temp_dir().join(format!("argo-bench-plugin-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let link = dir.join("kubectl-argo");
    let _ = std::fs::remove_file(&link);
    std::os::unix::fs::symlink(std::fs::canonicalize(&args.plugin)?, &link)?;

    let version: Vec<Duration> = (0..args.runs * 3)
        .map(|_| timed(Command::new(&args.plugin).arg("version")))
        .collect::<Result<_>>()?;
    println!("  kubectl-argo version: {:.1} ms (target < 10 ms)", median(version));

    let (mut ours, mut through, mut theirs) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..args.runs {
        let mut direct = Command::new(&args.plugin);
        direct.env("KUBECONFIG", &args.kubeconfig).env("NO_COLOR", "1").args(["list", "-n", NS]);
        ours.push(timed(&mut direct)?);
        through.push(timed(kubectl(&args, &dir).args(["argo", "list", "-n", NS]))?);
        theirs.push(timed(kubectl(&args, &dir).args(["get", "wf", "-n", NS]))?);
    }
    let (a, b, c) = (median(ours), median(through), median(theirs));
    println!(
        "  list of {} workflows: kubectl-argo list {a:.0} ms, kubectl argo list {b:.0} ms, kubectl get wf {c:.0} ms",
        args.workflows + 1
    );
    println!("  ratio kubectl argo list / kubectl get wf: {:.2} (target <= 1.00)", b / c);

    let get: Vec<Duration> = (0..args.runs)
        .map(|_| {
            let mut c = Command::new(&args.plugin);
            c.env("KUBECONFIG", &args.kubeconfig).env("NO_COLOR", "1").args(["get", "big", "-n", NS]);
            timed(&mut c)
        })
        .collect::<Result<_>>()?;
    println!("  kubectl-argo get of {} nodes: {:.0} ms (target < 300 ms)", args.nodes, median(get));
    let _ = std::fs::remove_dir_all(&dir);
    cluster::delete_namespace(&client, NS).await;
    Ok(())
}
