//! `kubectl argo list`, in one namespace, all of them, or across clusters.

use std::io::Write;
use std::process::ExitCode;
use std::time::Duration;

use kube::api::{Api, DynamicObject, ListParams};
use serde::de::DeserializeOwned;

use super::Ctx;
use super::shared::{Filter, Format, label_selector, list_all, now, output_parser, print_objects, view_of};
use crate::cluster::{self, Conn, parse_duration};
use crate::error::{Error, Result};
use crate::print::list::{Options, Row, sort, table};
use crate::view::WorkflowView;

pub const EXAMPLES: &str = "Examples:
  # Workflows in the current namespace, then in all of them
  kubectl argo list
  kubectl argo list -A
  # Only failed ones from the last day, with parameters and pod counts
  kubectl argo list --status Failed,Error --since 1d -o wide
  # One view over two clusters, and over every context of the kubeconfig
  kubectl argo list --context prod,staging
  kubectl argo list --all-contexts -A";

#[derive(Debug, clap::Args)]
pub struct ListArgs {
    /// All namespaces
    #[arg(short = 'A', long)]
    pub all_namespaces: bool,
    /// Every context of the kubeconfig (a CONTEXT column; --context a,b names some)
    #[arg(long)]
    pub all_contexts: bool,
    /// Only unfinished workflows
    #[arg(long, conflicts_with = "completed")]
    pub running: bool,
    /// Only finished workflows
    #[arg(long)]
    pub completed: bool,
    /// Only these phases, comma-separated (Pending, Running, Succeeded, Failed, Error)
    #[arg(long)]
    pub status: Option<String>,
    /// Only names starting with this
    #[arg(long)]
    pub prefix: Option<String>,
    /// Only workflows created within this long (e.g. 30m, 2h, 1d)
    #[arg(long)]
    pub since: Option<String>,
    /// Only finished workflows that finished longer ago than this (e.g. 1h, 7d)
    #[arg(long)]
    pub older: Option<String>,
    /// Label selector (e.g. app=x,team!=y)
    #[arg(short = 'l', long)]
    pub selector: Option<String>,
    /// Field selector (e.g. metadata.name=x, status.phase=Failed)
    #[arg(long)]
    pub field_selector: Option<String>,
    /// Fetch this many workflows per request
    #[arg(long, default_value_t = 500)]
    pub chunk_size: u32,
    /// No header row
    #[arg(long)]
    pub no_headers: bool,
    /// How long to wait for each cluster before reporting it unreachable
    #[arg(long, default_value = "10s")]
    pub cluster_timeout: String,
    /// Output format
    #[arg(short, long, value_parser = output_parser(&[Format::Wide, Format::Json, Format::Yaml, Format::Name]))]
    pub output: Option<Format>,
}

async fn fetch<K>(conn: &Conn, api: Api<K>, params: &ListParams) -> Result<Vec<K>>
where
    K: Clone + DeserializeOwned + std::fmt::Debug,
{
    list_all(&api, params).await.map_err(|e| conn.err(e))
}

pub async fn run(args: ListArgs, ctx: &Ctx) -> Result<ExitCode> {
    let selector = label_selector(args.selector.as_deref(), args.running, args.completed, args.status.as_deref())?;
    let filter = Filter::from_flags(args.prefix.as_deref(), args.since.as_deref(), args.older.as_deref())?;
    let mut params = ListParams::default().limit(args.chunk_size.max(1));
    if !selector.is_empty() {
        params = params.labels(&selector);
    }
    if let Some(f) = &args.field_selector {
        params = params.fields(f);
    }
    let contexts: Option<Vec<String>> = if args.all_contexts {
        Some(cluster::context_names(&ctx.kubeconfig()?))
    } else {
        ctx.flags
            .context
            .as_deref()
            .filter(|c| c.contains(','))
            .map(|c| c.split(',').map(str::trim).filter(|c| !c.is_empty()).map(str::to_owned).collect())
    };
    let raw = args.output.is_some_and(Format::raw);
    let timeout = parse_duration(&args.cluster_timeout)?;
    let Some(contexts) = contexts else {
        let conn = ctx.conn(None, false).await?;
        if raw {
            let items = fetch(&conn, conn.raw(args.all_namespaces), &params).await?;
            return print_raw(&keep_raw(items, &filter), args.output);
        }
        let views = fetch(&conn, conn.views(args.all_namespaces), &params).await?;
        let results = vec![(conn.context.clone(), Ok(views))];
        return print_table(results, &args, &filter, false);
    };
    if raw {
        let mut all = Vec::new();
        let mut failed = false;
        for (context, result) in across(ctx, &contexts, timeout, &params, args.all_namespaces, true).await {
            match result {
                Ok(Listed::Raw(items)) => all.extend(keep_raw(items, &filter)),
                Ok(Listed::Views(_)) => {}
                Err(e) => {
                    failed = true;
                    eprintln!("error: context {context}: {e}");
                }
            }
        }
        print_raw(&all, args.output)?;
        return Ok(if failed { ExitCode::FAILURE } else { ExitCode::SUCCESS });
    }
    let results = across(ctx, &contexts, timeout, &params, args.all_namespaces, false)
        .await
        .into_iter()
        .map(|(c, r)| {
            let r = r.map(|l| match l {
                Listed::Views(v) => v,
                Listed::Raw(items) => items.iter().map(view_of).collect(),
            });
            (c, r)
        })
        .collect();
    print_table(results, &args, &filter, true)
}

enum Listed {
    Views(Vec<WorkflowView>),
    Raw(Vec<DynamicObject>),
}

/// Lists every context concurrently, each within `timeout`.
async fn across(
    ctx: &Ctx,
    contexts: &[String],
    timeout: Duration,
    params: &ListParams,
    all_namespaces: bool,
    raw: bool,
) -> Vec<(String, Result<Listed>)> {
    let kc = match ctx.kubeconfig() {
        Ok(kc) => kc,
        Err(e) => return vec![(String::new(), Err(e))],
    };
    let one = |context: String| {
        let kc = &kc;
        async move {
            let work = async {
                let conn = cluster::connect(kc, Some(&context), &ctx.flags, false).await?;
                if raw {
                    Ok(Listed::Raw(fetch(&conn, conn.raw(all_namespaces), params).await?))
                } else {
                    Ok(Listed::Views(fetch(&conn, conn.views(all_namespaces), params).await?))
                }
            };
            let result = match tokio::time::timeout(timeout, work).await {
                Ok(r) => r,
                Err(_) => Err(Error::Connection(format!("no answer within {}", argo_api::duration::format(timeout)))),
            };
            (context, result)
        }
    };
    futures::future::join_all(contexts.iter().cloned().map(one)).await
}

fn keep_raw(items: Vec<DynamicObject>, filter: &Filter) -> Vec<DynamicObject> {
    items.into_iter().filter(|o| filter.keeps(&view_of(o))).collect()
}

fn print_raw(items: &[DynamicObject], output: Option<Format>) -> Result<ExitCode> {
    print_objects(items, output.unwrap_or(Format::Yaml), false)?;
    Ok(ExitCode::SUCCESS)
}

fn print_table(
    results: Vec<(String, Result<Vec<WorkflowView>>)>,
    args: &ListArgs,
    filter: &Filter,
    contexts: bool,
) -> Result<ExitCode> {
    let mut out = std::io::stdout().lock();
    let mut failed = false;
    let mut workflows = Vec::new();
    let mut errors = Vec::new();
    for (context, result) in results {
        match result {
            Ok(views) => workflows.extend(views.into_iter().filter(|v| filter.keeps(v)).map(|v| (context.clone(), v))),
            Err(e) => {
                failed = true;
                errors.push((context, e.to_string()));
            }
        }
    }
    sort(&mut workflows);
    if args.output == Some(Format::Name) {
        for (_, wf) in &workflows {
            writeln!(out, "{}", wf.name())?;
        }
    } else if workflows.is_empty() && errors.is_empty() {
        writeln!(out, "No workflows found")?;
    } else {
        let mut rows: Vec<Row<'_>> =
            workflows.iter().map(|(context, workflow)| Row::Workflow { context, workflow }).collect();
        rows.extend(errors.iter().map(|(context, error)| Row::Unreachable {
            context,
            error: error.clone(),
        }));
        let opts = Options {
            all_namespaces: args.all_namespaces,
            wide: args.output == Some(Format::Wide),
            no_headers: args.no_headers,
            contexts,
        };
        write!(out, "{}", table(&rows, opts, now()))?;
    }
    for (context, error) in &errors {
        eprintln!("error: context {context}: {error}");
    }
    Ok(if failed { ExitCode::FAILURE } else { ExitCode::SUCCESS })
}
