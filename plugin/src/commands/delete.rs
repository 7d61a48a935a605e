//! `kubectl argo delete`: by name, or every workflow a filter selects.
//! Pods go with their workflow (owner references).

use std::process::ExitCode;

use kube::api::{DeleteParams, ListParams};

use super::Ctx;
use super::shared::{Filter, label_selector, list_all};
use crate::cluster::split_target;
use crate::error::{Error, Result};

pub const EXAMPLES: &str = "Examples:
  kubectl argo delete my-wf other-wf
  # Everything finished more than a day ago, across namespaces
  kubectl argo delete --completed --older 1d -A
  # Failed workflows whose name starts with ci-, only showing what would go
  kubectl argo delete --status Failed --prefix ci- --dry-run
  kubectl argo delete --all -l team=data";

#[derive(Debug, clap::Args)]
pub struct DeleteArgs {
    /// Workflows to delete: NAME, @latest or CONTEXT/NAME
    #[arg(value_name = "NAME")]
    pub names: Vec<String>,
    /// Every workflow in the namespace (with -A: in every namespace)
    #[arg(long)]
    pub all: bool,
    /// Only finished workflows
    #[arg(long)]
    pub completed: bool,
    /// Only finished workflows that finished longer ago than this (e.g. 1h, 7d)
    #[arg(long)]
    pub older: Option<String>,
    /// Only names starting with this
    #[arg(long)]
    pub prefix: Option<String>,
    /// Only these phases, comma-separated
    #[arg(long)]
    pub status: Option<String>,
    /// Label selector
    #[arg(short = 'l', long)]
    pub selector: Option<String>,
    /// All namespaces (with a filter)
    #[arg(short = 'A', long)]
    pub all_namespaces: bool,
    /// Show what would be deleted; delete nothing
    #[arg(long)]
    pub dry_run: bool,
}

/// Deletes workflow `name` (its pods go with it): what the CLI and the
/// web UI both do.
pub async fn delete_one(conn: &crate::cluster::Conn, name: &str, params: &DeleteParams) -> Result<()> {
    conn.raw(false).delete(name, params).await.map_err(|e| conn.err(e))?;
    Ok(())
}

pub async fn run(args: DeleteArgs, ctx: &Ctx) -> Result<ExitCode> {
    let filtered = args.all
        || args.completed
        || args.older.is_some()
        || args.prefix.is_some()
        || args.status.is_some()
        || args.selector.is_some();
    if args.names.is_empty() && !filtered {
        return Err(Error::Usage(
            "requires workflow names or one of --all, --completed, --older, --prefix, --status, -l".into(),
        ));
    }
    if !args.names.is_empty() && filtered {
        return Err(Error::Usage("give workflow names or filters, not both".into()));
    }
    let params = DeleteParams {
        dry_run: args.dry_run,
        ..DeleteParams::background()
    };
    let suffix = if args.dry_run { " (dry-run)" } else { "" };
    let mut failed = false;
    if !args.names.is_empty() {
        for target in &args.names {
            let (context, name) = split_target(target);
            let conn = ctx.conn(context, false).await?;
            let name = conn.resolve(name).await?;
            match delete_one(&conn, &name, &params).await {
                Ok(()) => println!("Workflow '{name}' deleted{suffix}"),
                Err(e) => {
                    eprintln!("{}", e.report());
                    failed = true;
                }
            }
        }
        return Ok(if failed { ExitCode::FAILURE } else { ExitCode::SUCCESS });
    }
    let conn = ctx.conn(None, false).await?;
    let completed = args.completed || args.older.is_some();
    let selector = label_selector(args.selector.as_deref(), false, completed, args.status.as_deref())?;
    let filter = Filter::from_flags(args.prefix.as_deref(), None, args.older.as_deref())?;
    let mut list = ListParams::default().limit(500);
    if !selector.is_empty() {
        list = list.labels(&selector);
    }
    let views = list_all(&conn.views(args.all_namespaces), &list).await.map_err(|e| conn.err(e))?;
    let doomed: Vec<_> = views.into_iter().filter(|w| filter.keeps(w)).collect();
    if doomed.is_empty() {
        println!("No workflows found");
    }
    for wf in doomed {
        let api = kube::Api::<kube::api::DynamicObject>::namespaced_with(
            conn.client.clone(),
            wf.namespace(),
            &kube::core::ApiResource::erase::<argo_api::Workflow>(&()),
        );
        match api.delete(wf.name(), &params).await {
            Ok(_) => println!("Workflow '{}' deleted{suffix}", wf.name()),
            Err(e) => {
                eprintln!("{}", conn.err(e).report());
                failed = true;
            }
        }
    }
    Ok(if failed { ExitCode::FAILURE } else { ExitCode::SUCCESS })
}
