//! The web UI benchmark, in headless chromium: first paint of the list of
//! 5,000 workflows, and the graph of a 2,000-node workflow (a chain, and a
//! loop of 2,000 items grouped, then expanded), with the time from a click
//! on a node to its panel. The page marks its own milestones
//! (`argo-ui:list`, `argo-ui:layout`), read back from the browser.

use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use e2e::browser::{Browser, Ui};
use kube::api::{Api, DynamicObject};
use kube::core::ApiResource;
use serde_json::{Value, json};

use crate::cluster;
use crate::plugin::{NS, create, populate};

#[derive(clap::Args)]
pub struct Args {
    #[arg(long)]
    kubeconfig: PathBuf,
    /// The kubectl-argo binary to measure (a release build)
    #[arg(long)]
    plugin: PathBuf,
    #[arg(long, default_value_t = 5000)]
    workflows: usize,
    #[arg(long, default_value_t = 2000)]
    nodes: usize,
    /// Page loads per measurement (the median is printed)
    #[arg(long, default_value_t = 5)]
    runs: usize,
}

/// A loop of `n` items: the Steps node, its step group, `n` pods.
fn fan_nodes(wf: &str, n: usize) -> Value {
    let at = "2026-01-01T00:00:00Z";
    let group = format!("{wf}-group");
    let ids: Vec<String> = (0..n).map(|i| format!("{wf}-{i}")).collect();
    let mut nodes = serde_json::Map::new();
    nodes.insert(
        wf.into(),
        json!({"id": wf, "name": wf, "displayName": wf, "type": "Steps", "templateName": "main",
        "phase": "Succeeded", "startedAt": at, "finishedAt": at, "children": [group]}),
    );
    nodes.insert(
        group.clone(),
        json!({"id": group, "name": format!("{wf}[0]"), "displayName": "[0]", "type": "StepGroup",
        "phase": "Succeeded", "boundaryID": wf, "startedAt": at, "finishedAt": at, "children": ids}),
    );
    for (i, id) in ids.iter().enumerate() {
        nodes.insert(id.clone(), json!({"id": id, "name": format!("{wf}[0].item({i})"), "displayName": format!("item({i})"),
            "type": "Pod", "templateName": "echo", "phase": "Succeeded", "boundaryID": wf, "startedAt": at, "finishedAt": at}));
    }
    Value::Object(nodes)
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

async fn until(b: &Browser, what: &str, script: &str) -> Result<Value> {
    match b.until(Duration::from_secs(120), what, script).await {
        Ok(v) => Ok(v),
        Err(e) => {
            let errors = b.js("return window.__uiErrors", vec![]).await.unwrap_or_default();
            Err(e.context(format!("errors in the page: {errors}")))
        }
    }
}

/// The duration of the last layout the page measured, and of how many nodes.
async fn last_layout(b: &Browser) -> Result<(f64, u64)> {
    let v = until(
        b,
        "a layout",
        r#"const m = performance.getEntriesByName("argo-ui:layout").pop(); return m && [m.duration, m.detail]"#,
    )
    .await?;
    Ok((v[0].as_f64().unwrap_or_default(), v[1].as_u64().unwrap_or_default()))
}

pub async fn run(args: Args) -> Result<()> {
    let client = cluster::client(&args.kubeconfig).await?;
    cluster::namespace(&client, NS).await?;
    let api: Api<DynamicObject> =
        Api::namespaced_with(client.clone(), NS, &ApiResource::erase::<argo_api::Workflow>(&()));
    println!("UI benchmark (medians of {} page loads):", args.runs);
    let started = Instant::now();
    populate(&api, args.workflows, args.nodes).await?;
    let fan = json!({"apiVersion": "argoproj.io/v1alpha1", "kind": "Workflow", "metadata": {"name": "fan"},
        "spec": {"entrypoint": "main", "templates": [{"name": "main", "container": {"image": "alpine:3.19"}}]}});
    let fan_status = json!({"phase": "Succeeded", "startedAt": "2026-01-01T00:00:00Z", "finishedAt": "2026-01-01T00:10:00Z",
        "progress": format!("{0}/{0}", args.nodes), "nodes": fan_nodes("fan", args.nodes)});
    create(&api, fan, fan_status).await?;
    let total = args.workflows + 2;
    println!("  setup: {total} workflows in {:.1} s", started.elapsed().as_secs_f64());

    let mut cmd = Command::new(&args.plugin);
    cmd.args(["ui", "--port", "0", "--no-open", "-n", NS, "--kubeconfig"]).arg(&args.kubeconfig);
    let ui = Ui::start(cmd)?;
    let (url, base) = (ui.url.clone(), ui.base());
    let browser = Browser::start(1440, 900).await?;
    browser.client.goto(&url).await?;

    let mut paints = Vec::new();
    for _ in 0..args.runs {
        browser.client.goto(&format!("{base}/")).await?;
        let at = until(
            &browser,
            "the full list",
            r#"const m = performance.getEntriesByName("argo-ui:list")[0]; return m && m.startTime"#,
        )
        .await?;
        let shown = until(&browser, "the count", r#"return document.querySelector(".count").textContent"#).await?;
        if !shown.as_str().is_some_and(|s| s.starts_with(&format!("{total} of {total}"))) {
            bail!("the list shows {shown}, not {total} workflows");
        }
        paints.push(at.as_f64().unwrap_or_default());
    }
    println!(
        "  list of {total} workflows, first paint with every row loaded: {:.0} ms (target < 1000 ms)",
        median(paints)
    );
    // Scrolling to the end draws the last rows (virtualised: ~40 rows in the DOM).
    let t = browser.js(r#"const s = document.querySelector(".scroller"); const t0 = performance.now(); s.scrollTop = s.scrollHeight; s.dispatchEvent(new Event("scroll")); return new Promise(r => requestAnimationFrame(() => requestAnimationFrame(() => r([performance.now() - t0, document.querySelectorAll("a.row").length]))))"#, vec![]).await?;
    println!("  scroll to the end: {:.0} ms, {} rows in the page", t[0].as_f64().unwrap_or_default(), t[1]);

    for (name, what) in [("big", "a chain"), ("fan", "a loop")] {
        let mut layouts = Vec::new();
        let mut count = 0;
        for _ in 0..args.runs {
            browser.client.goto(&format!("{base}/workflows/{}/{NS}/{name}", context(&args.kubeconfig)?)).await?;
            let (ms, n) = last_layout(&browser).await?;
            layouts.push(ms);
            count = n;
        }
        println!(
            "  graph of {} nodes ({what}): layout and draw {:.0} ms, {count} boxes drawn",
            args.nodes,
            median(layouts)
        );
    }
    let expand = browser.js(r#"const b = [...document.querySelectorAll(".graph-tools button")].find(b => b.textContent === "Expand all"); const t0 = performance.now(); b.click(); return [performance.now() - t0, document.querySelectorAll(".graph g.node").length]"#, vec![]).await?;
    println!("  loop expanded: {:.0} ms for {} boxes", expand[0].as_f64().unwrap_or_default(), expand[1]);
    let click = browser.js(r##"const g = document.querySelector(`.graph g.node[data-name="item(${arguments[0]})"]`); const t0 = performance.now(); g.dispatchEvent(new MouseEvent("click", {bubbles: true})); return [performance.now() - t0, document.querySelector("#node-title").textContent]"##, vec![json!(args.nodes / 2)]).await?;
    println!(
        "  click on a node of the expanded loop to its panel: {:.0} ms ({})",
        click[0].as_f64().unwrap_or_default(),
        click[1]
    );
    drop(ui);
    Ok(())
}

fn context(kubeconfig: &std::path::Path) -> Result<String> {
    let kc: serde_yaml::Value = serde_yaml::from_str(&std::fs::read_to_string(kubeconfig)?)?;
    Ok(kc["current-context"].as_str().context("current-context")?.to_owned())
}
