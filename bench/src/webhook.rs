//! The webhook benchmark: AdmissionReviews straight to the webhook over
//! TLS with keep-alive (closed loop at several concurrencies, then a fixed
//! 1,000 requests/s), and the latency of creating Workflows through the
//! real apiserver with and without the webhook registered.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Result;
use argo_api::Workflow;
use argo_webhook::certs::Ca;
use base64::Engine;
use e2e::admission::{connect, post};
use k8s_openapi::api::admissionregistration::v1::{MutatingWebhookConfiguration, ValidatingWebhookConfiguration};
use kube::Client;
use kube::api::{Api, DeleteParams, PostParams};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::{cluster, procstat};

#[derive(clap::Args)]
pub struct Args {
    #[arg(long)]
    kubeconfig: PathBuf,
    /// The argo-webhook binary to measure (a release build)
    #[arg(long)]
    webhook: PathBuf,
    /// Seconds per closed-loop concurrency level
    #[arg(long, default_value_t = 5)]
    seconds: u64,
    /// Workflows created through the apiserver per variant
    #[arg(long, default_value_t = 300)]
    creates: usize,
}

const HOOKED: &str = "bench-webhook";
const PLAIN: &str = "bench-plain";

struct Server {
    child: Child,
    addr: SocketAddr,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn review(i: usize) -> Vec<u8> {
    let wf = serde_json::json!({"apiVersion": "argoproj.io/v1alpha1", "kind": "Workflow",
        "metadata": {"name": format!("w{i}"), "namespace": HOOKED},
        "spec": {"entrypoint": "diamond", "templates": [
            {"name": "diamond", "dag": {"tasks": [
                {"name": "A", "template": "echo"}, {"name": "B", "depends": "A", "template": "echo"},
                {"name": "C", "depends": "A", "template": "echo"}, {"name": "D", "depends": "B && C", "template": "echo"}]}},
            {"name": "echo", "container": {"image": "alpine:3.19", "command": ["echo", "hi"]}}]}});
    let review = serde_json::json!({"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview", "request": {
        "uid": format!("00000000-0000-0000-0000-{i:012}"),
        "kind": {"group": "argoproj.io", "version": "v1alpha1", "kind": "Workflow"},
        "resource": {"group": "argoproj.io", "version": "v1alpha1", "resource": "workflows"},
        "name": format!("w{i}"), "namespace": HOOKED, "operation": "CREATE",
        "userInfo": {"username": "bench", "groups": ["system:authenticated"]}, "object": wf, "dryRun": false}});
    serde_json::to_vec(&review).unwrap_or_default()
}

/// One request on a kept-alive connection; returns when the whole answer
/// has arrived.
async fn call(conn: &mut e2e::admission::Connection, path: &str, body: &[u8], buf: &mut Vec<u8>) -> Result<()> {
    post(conn, path, body, buf).await.map(|_| ())
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    sorted.get(((sorted.len() as f64 - 1.0) * p).round() as usize).copied().unwrap_or(0.0)
}

/// Closed loop: `conns` connections each sending as fast as answers come.
async fn closed_loop(addr: SocketAddr, ca: &str, conns: usize, secs: u64) -> Result<(f64, f64, f64)> {
    let end = Instant::now() + Duration::from_secs(secs);
    let mut tasks = Vec::new();
    for c in 0..conns {
        let ca = ca.to_owned();
        tasks.push(tokio::spawn(async move {
            let mut conn = connect(addr, &ca).await?;
            let mut lat = Vec::new();
            let mut buf = Vec::new();
            let mut i = c * 1_000_000;
            while Instant::now() < end {
                let body = review(i);
                let t = Instant::now();
                call(&mut conn, if i % 2 == 0 { "/mutate" } else { "/validate" }, &body, &mut buf).await?;
                lat.push(t.elapsed().as_secs_f64() * 1000.0);
                i += 1;
            }
            anyhow::Ok(lat)
        }));
    }
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await??);
    }
    all.sort_by(f64::total_cmp);
    Ok((all.len() as f64 / secs as f64, percentile(&all, 0.5), percentile(&all, 0.99)))
}

/// Open loop at a fixed rate over 8 connections: latency at a given load,
/// counted from when each request was due, so a late send counts too. The
/// schedule is kept by a thread of its own because tokio's timers tick in
/// whole milliseconds, which alone would exceed the 1 ms target.
async fn fixed_rate(addr: SocketAddr, ca: &str, rate: u64, secs: u64) -> Result<(f64, f64, f64)> {
    let conns = 8;
    let total = (secs * rate) as usize;
    let bodies: Arc<Vec<Vec<u8>>> = Arc::new((0..total).map(review).collect());
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel::<(usize, Instant)>();
    let rx = Arc::new(tokio::sync::Mutex::new(rx));
    let mut tasks = Vec::new();
    for _ in 0..conns {
        let (ca, rx, bodies) = (ca.to_owned(), rx.clone(), bodies.clone());
        let mut conn = connect(addr, &ca).await?;
        tasks.push(tokio::spawn(async move {
            let mut lat = Vec::new();
            let mut buf = Vec::new();
            loop {
                let next = rx.lock().await.recv().await;
                let Some((k, due)) = next else { break };
                call(&mut conn, "/validate", &bodies[k], &mut buf).await?;
                lat.push(due.elapsed().as_secs_f64() * 1000.0);
            }
            anyhow::Ok(lat)
        }));
    }
    let started = Instant::now();
    let schedule = std::thread::spawn(move || {
        let period = Duration::from_secs_f64(1.0 / rate as f64);
        for k in 0..total {
            let due = started + period * k as u32;
            if let Some(wait) = due.checked_duration_since(Instant::now()) {
                std::thread::sleep(wait);
            }
            if tx.send((k, due)).is_err() {
                break;
            }
        }
    });
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await??);
    }
    let _ = schedule.join();
    let took = started.elapsed().as_secs_f64();
    all.sort_by(f64::total_cmp);
    Ok((all.len() as f64 / took, percentile(&all, 0.5), percentile(&all, 0.99)))
}

/// Creates alternate between a namespace the webhook is registered for and
/// one it is not, so that both see the same machine noise.
async fn create_latencies(client: &Client, n: usize, prefix: &str) -> Result<(Vec<f64>, Vec<f64>)> {
    let (mut plain, mut hooked) = (Vec::new(), Vec::new());
    for i in 0..n {
        for (ns, lat) in [(PLAIN, &mut plain), (HOOKED, &mut hooked)] {
            let value: serde_json::Value = serde_json::from_slice(&review(i))?;
            let mut wf = argo_api::load::workflow(&value["request"]["object"])?;
            wf.metadata.name = Some(format!("{prefix}-{i}"));
            wf.metadata.namespace = None;
            let t = Instant::now();
            Api::<Workflow>::namespaced(client.clone(), ns).create(&PostParams::default(), &wf).await?;
            lat.push(t.elapsed().as_secs_f64() * 1000.0);
        }
    }
    plain.sort_by(f64::total_cmp);
    hooked.sort_by(f64::total_cmp);
    Ok((plain, hooked))
}

/// Count and total seconds of the requests the webhook has decided, from
/// its own histogram.
async fn decided(admin: SocketAddr) -> Result<(f64, f64)> {
    let mut tcp = TcpStream::connect(admin).await?;
    tcp.write_all(b"GET /metrics HTTP/1.1\r\nHost: bench\r\nConnection: close\r\n\r\n").await?;
    let mut text = String::new();
    tcp.read_to_string(&mut text).await?;
    let sum = |suffix: &str| -> f64 {
        text.lines()
            .filter(|l| l.starts_with(&format!("argo_webhook_request_duration_seconds_{suffix}{{")))
            .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
            .sum()
    };
    Ok((sum("count"), sum("sum")))
}

async fn register(client: &Client, url: &str, ca_pem: &str) -> Result<()> {
    let bundle = base64::engine::general_purpose::STANDARD.encode(ca_pem);
    let hook = |name: &str, path: &str, ops: &[&str]| {
        serde_json::json!({"name": name, "admissionReviewVersions": ["v1"], "sideEffects": "None", "failurePolicy": "Fail",
            "timeoutSeconds": 5, "clientConfig": {"url": format!("{url}{path}"), "caBundle": bundle},
            "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": HOOKED}},
            "rules": [{"apiGroups": ["argoproj.io"], "apiVersions": ["v1alpha1"], "operations": ops, "resources": ["workflows"]}]})
    };
    let m: MutatingWebhookConfiguration = serde_json::from_value(serde_json::json!({
        "metadata": {"name": "bench"}, "webhooks": [hook("mutate.workflows.argoproj.io", "/mutate", &["CREATE"])]}))?;
    let v: ValidatingWebhookConfiguration = serde_json::from_value(serde_json::json!({
        "metadata": {"name": "bench"}, "webhooks": [hook("validate.workflows.argoproj.io", "/validate", &["CREATE", "UPDATE"])]}))?;
    Api::<MutatingWebhookConfiguration>::all(client.clone()).create(&PostParams::default(), &m).await?;
    Api::<ValidatingWebhookConfiguration>::all(client.clone())
        .create(&PostParams::default(), &v)
        .await?;
    // The apiserver picks new configurations up asynchronously.
    tokio::time::sleep(Duration::from_secs(2)).await;
    Ok(())
}

/// A review of a Workflow with `templates` (as a hostile tenant sends).
fn large_review(i: usize, spec_templates: serde_json::Value) -> Vec<u8> {
    let wf = serde_json::json!({"apiVersion": "argoproj.io/v1alpha1", "kind": "Workflow",
        "metadata": {"name": format!("h{i}"), "namespace": HOOKED},
        "spec": {"entrypoint": "t0", "templates": spec_templates}});
    let review = serde_json::json!({"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview", "request": {
        "uid": format!("00000000-0000-0000-0001-{i:012}"),
        "kind": {"group": "argoproj.io", "version": "v1alpha1", "kind": "Workflow"},
        "resource": {"group": "argoproj.io", "version": "v1alpha1", "resource": "workflows"},
        "name": format!("h{i}"), "namespace": HOOKED, "operation": "CREATE",
        "userInfo": {"username": "mallory", "groups": ["system:authenticated"]}, "object": wf, "dryRun": false}});
    serde_json::to_vec(&review).unwrap_or_default()
}

/// Ordinary reviews at 20/s for `secs`: their latencies in ms, sorted.
async fn ordinary(addr: SocketAddr, ca: &str, secs: u64) -> Result<Vec<f64>> {
    let mut conn = connect(addr, ca).await?;
    let (mut buf, mut lat) = (Vec::new(), Vec::new());
    let end = Instant::now() + Duration::from_secs(secs);
    let mut i = 5_000_000;
    while Instant::now() < end {
        let body = review(i);
        let t = Instant::now();
        call(&mut conn, "/validate", &body, &mut buf).await?;
        lat.push(t.elapsed().as_secs_f64() * 1000.0);
        i += 1;
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    lat.sort_by(f64::total_cmp);
    Ok(lat)
}

/// Issue 19's hostile tenant: six connections sending huge reviews (24,000
/// templates; the 2,000 allowed, each padded; nesting past the limits)
/// as fast as they are answered, while ordinary reviews go on; the
/// ordinary latency beside the same without the tenant, and the memory
/// the webhook keeps afterwards.
async fn hostile(server: &Server, ca: &str, secs: u64) -> Result<()> {
    let quiet = ordinary(server.addr, ca, secs).await?;
    let container = |i: usize, pad: usize| serde_json::json!({"name": format!("t{i}"), "container": {"image": "alpine:3.19", "command": ["echo", "x".repeat(pad)]}});
    let mut deep = serde_json::json!({"container": {"image": "alpine:3.19"}});
    for i in 0..25 {
        deep = serde_json::json!({"steps": [[{"name": format!("n{i}"), "inline": deep}]]});
    }
    let bodies = Arc::new(vec![
        large_review(0, (0..24_000).map(|i| container(i, 0)).collect()),
        large_review(1, (0..2_000).map(|i| container(i, 900)).collect()),
        large_review(2, serde_json::json!([{"name": "t0", "steps": [[{"name": "top", "inline": deep}]]}])),
    ]);
    let end = Instant::now() + Duration::from_secs(secs);
    let mut tasks = Vec::new();
    for c in 0..6 {
        let (ca, bodies) = (ca.to_owned(), bodies.clone());
        let addr = server.addr;
        tasks.push(tokio::spawn(async move {
            let mut conn = connect(addr, &ca).await?;
            let (mut buf, mut n) = (Vec::new(), 0usize);
            while Instant::now() < end {
                call(
                    &mut conn,
                    if n % 2 == 0 { "/mutate" } else { "/validate" },
                    &bodies[(c + n) % bodies.len()],
                    &mut buf,
                )
                .await?;
                n += 1;
            }
            anyhow::Ok(n)
        }));
    }
    let attacked = ordinary(server.addr, ca, secs).await?;
    let mut sent = 0;
    for t in tasks {
        sent += t.await??;
    }
    let peak = procstat::usage(server.child.id())?.peak_rss_mib;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let after = procstat::rss_mib(server.child.id())?;
    let (q99, a99, amax) =
        (percentile(&quiet, 0.99), percentile(&attacked, 0.99), attacked.last().copied().unwrap_or(0.0));
    println!(
        "  hostile tenant, 6 connections of 1.8-2 MB reviews ({sent} answered in {secs} s): ordinary reviews p99 {a99:.2} ms (max {amax:.1} ms) against {q99:.2} ms without it ({:.1}x); webhook peak RSS {peak:.1} MiB, {after:.1} MiB 2 s after (target < 64 MiB)",
        a99 / q99.max(0.001)
    );
    Ok(())
}

pub async fn run(args: Args) -> Result<()> {
    let client = cluster::client(&args.kubeconfig).await?;
    cluster::namespace(&client, HOOKED).await?;
    let project = argo_api::load::workflow_project(&serde_json::json!({"apiVersion": "argoproj.io/v1alpha1",
        "kind": "WorkflowProject", "metadata": {"name": "default"}, "spec": {"namespaces": ["*"]}}))?;
    let _ = Api::<argo_api::WorkflowProject>::all(client.clone()).create(&PostParams::default(), &project).await;

    let dir = std::env::temp_dir().join(format!("argo-bench-webhook-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let ca = Ca::new("bench")?;
    argo_webhook::certs::write_mounted(
        &dir,
        "..v1",
        &ca.serving(&["localhost".into()], &[IpAddr::V4(Ipv4Addr::LOCALHOST)])?,
    )?;
    let addr: SocketAddr = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?;
    let admin = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?;
    let child = Command::new(&args.webhook)
        .args([
            "--kubeconfig".as_ref(),
            args.kubeconfig.as_os_str(),
            "--log".as_ref(),
            "warn".as_ref(),
        ])
        .args(["--address", &addr.to_string(), "--admin-address", &admin.to_string()])
        .args([
            "--tls-cert".as_ref(),
            dir.join("tls.crt").as_os_str(),
            "--tls-key".as_ref(),
            dir.join("tls.key").as_os_str(),
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()?;
    let server = Server { child, addr };
    for _ in 0..100 {
        if connect(server.addr, &ca.pem.cert).await.is_ok() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    tokio::time::sleep(Duration::from_secs(1)).await;

    println!("webhook benchmark, one run (AdmissionReview of a 4-task DAG Workflow, TLS, keep-alive):");
    for conns in [1, 8, 32, 64] {
        let (rps, p50, p99) = closed_loop(server.addr, &ca.pem.cert, conns, args.seconds).await?;
        println!(
            "  direct, {conns:>2} connections, as fast as answered: {rps:>7.0} req/s, p50 {p50:.3} ms, p99 {p99:.3} ms"
        );
    }
    let (rps, p50, p99) = fixed_rate(server.addr, &ca.pem.cert, 1000, args.seconds).await?;
    println!("  direct, fixed 1,000 req/s: {rps:.0} req/s done, p50 {p50:.3} ms, p99 {p99:.3} ms (target p99 <= 1 ms)");
    let usage = procstat::usage(server.child.id())?;
    println!(
        "  webhook peak RSS {:.1} MiB (target <= 20 MiB), CPU {:.1} s",
        usage.peak_rss_mib, usage.cpu_seconds
    );

    hostile(&server, &ca.pem.cert, args.seconds).await?;

    cluster::namespace(&client, PLAIN).await?;
    register(&client, &format!("https://{}", server.addr), &ca.pem.cert).await?;
    create_latencies(&client, 20, "warm").await?;
    let before = decided(admin).await?;
    let (without, with) = create_latencies(&client, args.creates, "w").await?;
    let after = decided(admin).await?;
    let _ = Api::<MutatingWebhookConfiguration>::all(client.clone())
        .delete("bench", &DeleteParams::default())
        .await;
    let _ = Api::<ValidatingWebhookConfiguration>::all(client.clone())
        .delete("bench", &DeleteParams::default())
        .await;
    let (p50a, p99a, p50b, p99b) = (
        percentile(&without, 0.5),
        percentile(&without, 0.99),
        percentile(&with, 0.5),
        percentile(&with, 0.99),
    );
    println!(
        "  through the apiserver, {} creates each, interleaved: without webhook p50 {p50a:.2} ms p99 {p99a:.2} ms; with p50 {p50b:.2} ms p99 {p99b:.2} ms",
        args.creates
    );
    println!("  added p99 {:.2} ms (target <= 2 ms)", p99b - p99a);
    let (count, secs) = (after.0 - before.0, after.1 - before.1);
    println!(
        "  of which deciding in the webhook: {count:.0} requests, mean {:.3} ms each",
        secs * 1000.0 / count.max(1.0)
    );
    cluster::delete_namespace(&client, HOOKED).await;
    cluster::delete_namespace(&client, PLAIN).await;
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}
