//! `kubectl argo logs`: the workflow's pods' logs, each line prefixed with
//! its pod (coloured per pod on a terminal). Without -f, lines of all pods
//! are merged in time order; with -f, new pods are followed as the
//! workflow creates them, until it finishes.

use std::collections::{HashMap, HashSet};
use std::io::{IsTerminal, Write};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use futures::{AsyncBufReadExt, StreamExt, TryStreamExt};
use k8s_openapi::api::core::v1::Pod;
use k8s_openapi::jiff::Timestamp;
use kube::api::{Api, ListParams, LogParams};
use kube::runtime::{WatchStreamExt, watcher};
use regex::Regex;

use super::Ctx;
use crate::cluster::{Conn, parse_duration, split_target};
use crate::error::{Error, Result};
use crate::follow::until_done;
use crate::print::{FG_CYAN, FG_GREEN, FG_YELLOW, color_allowed};
use crate::view::WorkflowView;

pub const EXAMPLES: &str = "Examples:
  # Every pod of a workflow, merged in time order
  kubectl argo logs my-wf
  # One pod, the last 20 lines, with timestamps
  kubectl argo logs my-wf my-wf-main-1234567 --tail 20 --timestamps
  # Follow the latest workflow's pods as they are created, only lines with ERROR
  kubectl argo logs @latest -f --grep ERROR";

#[derive(Debug, clap::Args)]
pub struct LogsArgs {
    /// Workflow: NAME, @latest or CONTEXT/NAME
    #[arg(value_name = "WORKFLOW")]
    pub workflow: String,
    /// Only this pod of the workflow
    #[arg(value_name = "POD")]
    pub pod: Option<String>,
    /// The container to print
    #[arg(short = 'c', long, default_value = "main")]
    pub container: String,
    /// Keep printing as pods write, and follow new pods until the workflow finishes
    #[arg(short = 'f', long)]
    pub follow: bool,
    /// Only lines newer than this (e.g. 5s, 2m, 3h)
    #[arg(long, conflicts_with = "since_time")]
    pub since: Option<String>,
    /// Only lines after this time (RFC 3339)
    #[arg(long)]
    pub since_time: Option<String>,
    /// Only the last N lines of each pod
    #[arg(long)]
    pub tail: Option<i64>,
    /// Only lines matching this regular expression
    #[arg(long)]
    pub grep: Option<String>,
    /// Show each line's timestamp
    #[arg(long)]
    pub timestamps: bool,
    /// Only pods with these labels (e.g. workflows.argoproj.io/node-name=x)
    #[arg(short = 'l', long)]
    pub selector: Option<String>,
}

#[derive(Clone, Debug, Default)]
pub struct LogOptions {
    pub container: String,
    pub pod: Option<String>,
    pub since_seconds: Option<i64>,
    pub since_time: Option<Timestamp>,
    pub tail: Option<i64>,
    pub grep: Option<Regex>,
    pub timestamps: bool,
    pub selector: Option<String>,
    pub color: bool,
}

impl LogOptions {
    /// What `submit --log` uses.
    pub fn following(ctx: &Ctx) -> LogOptions {
        LogOptions {
            container: "main".into(),
            color: !ctx.no_color && color_allowed(std::io::stdout().is_terminal()),
            ..Default::default()
        }
    }

    fn params(&self, follow: bool) -> LogParams {
        LogParams {
            container: Some(self.container.clone()),
            follow,
            since_seconds: self.since_seconds,
            since_time: self.since_time,
            tail_lines: self.tail,
            timestamps: true,
            ..Default::default()
        }
    }

    /// The printed form of one raw line (`TIMESTAMP CONTENT`), if kept.
    pub fn format(&self, pod: &str, raw: &str) -> Option<String> {
        let (stamp, content) = raw.split_once(' ').unwrap_or(("", raw));
        if self.grep.as_ref().is_some_and(|g| !g.is_match(content)) {
            return None;
        }
        let prefix = if self.color {
            format!("\x1b[{}m{pod}\x1b[0m", pod_color(pod))
        } else {
            pod.to_owned()
        };
        Some(if self.timestamps {
            format!("{prefix}: {stamp} {content}")
        } else {
            format!("{prefix}: {content}")
        })
    }
}

/// Upstream's colour per pod: the sum of its characters picks one of six.
pub fn pod_color(pod: &str) -> u8 {
    const COLORS: [u8; 6] = [FG_GREEN, FG_YELLOW, 34, 35, FG_CYAN, 37];
    let sum: usize = pod.chars().map(|c| c as usize).sum();
    COLORS[sum % COLORS.len()]
}

fn pod_selector(workflow: &str, extra: Option<&str>) -> String {
    let mut s = format!("{}={workflow}", argo_api::keys::WORKFLOW);
    if let Some(e) = extra.filter(|e| !e.is_empty()) {
        s.push(',');
        s.push_str(e);
    }
    s
}

fn phase(pod: &Pod) -> &str {
    pod.status.as_ref().and_then(|s| s.phase.as_deref()).unwrap_or("Pending")
}

fn name(pod: &Pod) -> String {
    pod.metadata.name.clone().unwrap_or_default()
}

pub async fn run(args: LogsArgs, ctx: &Ctx) -> Result<ExitCode> {
    let opts = LogOptions {
        container: args.container.clone(),
        pod: args.pod.clone(),
        since_seconds: args.since.as_deref().map(parse_duration).transpose()?.map(|d| d.as_secs() as i64),
        since_time: args
            .since_time
            .as_deref()
            .map(|t| t.parse().map_err(|e| Error::Usage(format!("--since-time {t:?}: {e}"))))
            .transpose()?,
        tail: args.tail,
        grep: args
            .grep
            .as_deref()
            .map(|g| Regex::new(g).map_err(|e| Error::Usage(format!("--grep: {e}"))))
            .transpose()?,
        timestamps: args.timestamps,
        selector: args.selector.clone(),
        color: !ctx.no_color && color_allowed(std::io::stdout().is_terminal()),
    };
    let (context, workflow) = split_target(&args.workflow);
    let conn = ctx.conn(context, args.follow).await?;
    let workflow = conn.resolve(workflow).await?;
    // The workflow must exist: a typo should say so, not print nothing.
    conn.view(&workflow).await?;
    if args.follow {
        follow_workflow(&conn, &workflow, &opts).await?;
    } else {
        print_all(&conn, &workflow, &opts).await?;
    }
    Ok(ExitCode::SUCCESS)
}

async fn pods(conn: &Conn, workflow: &str, opts: &LogOptions) -> Result<Vec<Pod>> {
    let api: Api<Pod> = Api::namespaced(conn.client.clone(), &conn.namespace);
    let list = api
        .list(&ListParams::default().labels(&pod_selector(workflow, opts.selector.as_deref())))
        .await
        .map_err(|e| conn.err(e))?;
    let mut pods: Vec<Pod> =
        list.items.into_iter().filter(|p| opts.pod.as_deref().is_none_or(|want| name(p) == want)).collect();
    if let Some(want) = &opts.pod
        && pods.is_empty()
    {
        return Err(Error::Other(format!("pod {want:?} is not a pod of workflow {workflow:?}")));
    }
    pods.sort_by_key(|p| p.metadata.creation_timestamp.as_ref().map(|t| t.0));
    Ok(pods)
}

/// Every pod's lines so far, merged by timestamp.
async fn print_all(conn: &Conn, workflow: &str, opts: &LogOptions) -> Result<()> {
    let api: Api<Pod> = Api::namespaced(conn.client.clone(), &conn.namespace);
    let pods: Vec<Pod> = pods(conn, workflow, opts).await?.into_iter().filter(|p| phase(p) != "Pending").collect();
    let fetches = pods.iter().map(|p| {
        let api = api.clone();
        let pod = name(p);
        let params = opts.params(false);
        async move {
            let r = api.logs(&pod, &params).await;
            (pod, r)
        }
    });
    let results: Vec<_> = futures::stream::iter(fetches).buffered(8).collect().await;
    let mut lines: Vec<(String, usize, String)> = Vec::new();
    for (i, (pod, result)) in results.into_iter().enumerate() {
        match result {
            Ok(text) => {
                for l in text.lines() {
                    let stamp = l.split_once(' ').map(|(s, _)| s.to_owned()).unwrap_or_default();
                    if let Some(line) = opts.format(&pod, l) {
                        lines.push((stamp, i, line));
                    }
                }
            }
            Err(e) => eprintln!("warning: logs of pod {pod}: {}", conn.err(e)),
        }
    }
    // RFC 3339 stamps of one format sort as text; ties keep pod order.
    lines.sort_by(|a, b| (&a.0, a.1).cmp(&(&b.0, b.1)));
    let mut out = std::io::stdout().lock();
    for (_, _, line) in lines {
        writeln!(out, "{line}")?;
    }
    Ok(())
}

/// Streams one pod's lines until its stream ends.
async fn stream_pod(api: Api<Pod>, pod: String, params: LogParams, opts: Arc<LogOptions>) {
    match api.log_stream(&pod, &params).await {
        Ok(stream) => {
            let mut lines = stream.lines();
            while let Ok(Some(line)) = lines.try_next().await {
                if let Some(text) = opts.format(&pod, &line) {
                    let mut out = std::io::stdout().lock();
                    let _ = writeln!(out, "{text}");
                    let _ = out.flush();
                }
            }
        }
        Err(e) => eprintln!("warning: logs of pod {pod}: {e}"),
    }
}

/// How long a finished pod's stream may take to end on its own.
const DRAIN: Duration = Duration::from_secs(2);

/// Follows the workflow's pods, new ones included, until it finishes;
/// returns its final state.
pub async fn follow_workflow(conn: &Conn, workflow: &str, opts: &LogOptions) -> Result<WorkflowView> {
    let api: Api<Pod> = Api::namespaced(conn.client.clone(), &conn.namespace);
    let opts = Arc::new(opts.clone());
    let config = watcher::Config::default().labels(&pod_selector(workflow, opts.selector.as_deref()));
    let mut pod_events = watcher(api.clone(), config).default_backoff().applied_objects().boxed();
    let mut started: HashSet<String> = HashSet::new();
    let mut running: HashMap<String, tokio::task::JoinHandle<()>> = HashMap::new();
    let mut draining = Vec::new();
    let finished = until_done(conn, workflow, |_| {});
    tokio::pin!(finished);
    let last = loop {
        tokio::select! {
            done = &mut finished => break done?,
            event = pod_events.next() => {
                let Some(Ok(pod)) = event else { continue };
                let pod_name = name(&pod);
                if opts.pod.as_deref().is_some_and(|want| want != pod_name) {
                    continue;
                }
                let phase = phase(&pod).to_owned();
                let done = matches!(phase.as_str(), "Succeeded" | "Failed");
                if !started.contains(&pod_name) && phase != "Pending" {
                    started.insert(pod_name.clone());
                    let task = tokio::spawn(stream_pod(api.clone(), pod_name.clone(), opts.params(!done), opts.clone()));
                    running.insert(pod_name.clone(), task);
                }
                if done && let Some(task) = running.remove(&pod_name) {
                    // Its stream normally ends with the container; do not wait forever.
                    draining.push(tokio::spawn(drain(task)));
                }
            }
        }
    };
    // Pods the watch had not shown before the workflow finished.
    for pod in pods(conn, workflow, &opts).await.unwrap_or_default() {
        let pod_name = name(&pod);
        if phase(&pod) != "Pending" && started.insert(pod_name.clone()) {
            draining.push(tokio::spawn(stream_pod(api.clone(), pod_name, opts.params(false), opts.clone())));
        }
    }
    draining.extend(running.into_values().map(|t| tokio::spawn(drain(t))));
    futures::future::join_all(draining).await;
    Ok(last)
}

/// Lets a finished pod's stream end on its own, for a while.
async fn drain(task: tokio::task::JoinHandle<()>) {
    let abort = task.abort_handle();
    if tokio::time::timeout(DRAIN, task).await.is_err() {
        abort.abort();
    }
}
