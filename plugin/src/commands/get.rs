//! `kubectl argo get NAME|@latest|CONTEXT/NAME`.

use std::io::Write;
use std::process::ExitCode;

use argo_api::selector::NodeSelector;
use k8s_openapi::jiff::tz::TimeZone;

use super::{Ctx, Format, now, print_objects};
use crate::cluster::split_target;
use crate::error::{Error, Result};
use crate::print::get::{Options, render};
use crate::print::tree::Columns;
use crate::view::WorkflowView;

pub const EXAMPLES: &str = "Examples:
  # The header and node tree of a workflow
  kubectl argo get my-wf
  # The workflow submitted last in this namespace
  kubectl argo get @latest
  # From another cluster of the kubeconfig
  kubectl argo get prod/my-wf
  # Only failed nodes, without UTF-8 symbols
  kubectl argo get my-wf --status Failed --no-utf8
  # The stored object
  kubectl argo get my-wf -o yaml";

#[derive(Debug, clap::Args)]
pub struct GetArgs {
    /// Workflows: NAME, @latest or CONTEXT/NAME
    #[arg(required = true, value_name = "NAME")]
    pub names: Vec<String>,
    /// Output format
    #[arg(short, long, value_parser = ["json", "yaml", "wide", "short", "name"])]
    pub output: Option<String>,
    #[command(flatten)]
    pub tree: TreeArgs,
}

/// Which nodes the tree shows, and how (get and watch).
#[derive(Debug, Default, clap::Args)]
pub struct TreeArgs {
    /// Only nodes in this phase (shorthand for --node-field-selector phase=PHASE)
    #[arg(long)]
    pub status: Option<String>,
    /// Only nodes matching this field selector (e.g. phase=Failed,templateName=main)
    #[arg(long)]
    pub node_field_selector: Option<String>,
    /// Words instead of UTF-8 symbols and glyphs
    #[arg(long)]
    pub no_utf8: bool,
}

impl TreeArgs {
    pub fn selector(&self) -> Result<Option<NodeSelector>> {
        selector(self.status.as_deref(), self.node_field_selector.as_deref())
    }
}

/// The node selector of `--status` / `--node-field-selector`.
pub fn selector(status: Option<&str>, fields: Option<&str>) -> Result<Option<NodeSelector>> {
    let text = match (status, fields) {
        (Some(_), Some(_)) => return Err(Error::Usage("cannot use both --status and --node-field-selector".into())),
        (Some(s), None) => format!("phase={s}"),
        (None, Some(f)) => f.to_owned(),
        (None, None) => return Ok(None),
    };
    NodeSelector::parse(&text)
        .map(Some)
        .map_err(|e| Error::Usage(format!("--node-field-selector: {e}")))
}

pub fn columns(output: Option<&str>) -> Columns {
    match output {
        Some("wide") => Columns::Wide,
        Some("short") => Columns::Short,
        _ => Columns::Default,
    }
}

/// The `get` view of one workflow, as text.
pub fn show(ctx: &Ctx, wf: &WorkflowView, columns: Columns, selector: Option<&NodeSelector>, no_utf8: bool) -> String {
    render(
        wf,
        &Options {
            style: ctx.style(no_utf8),
            columns,
            selector,
            now: now(),
            tz: TimeZone::system(),
        },
    )
}

pub async fn run(args: GetArgs, ctx: &Ctx) -> Result<ExitCode> {
    let selector = args.tree.selector()?;
    let format = match args.output.as_deref() {
        Some("json") => Some(Format::Json),
        Some("yaml") => Some(Format::Yaml),
        Some("name") => Some(Format::Name),
        _ => None,
    };
    let mut out = std::io::stdout().lock();
    for (i, target) in args.names.iter().enumerate() {
        let (context, name) = split_target(target);
        let conn = ctx.conn(context, false).await?;
        let name = conn.resolve(name).await?;
        match format {
            Some(f @ (Format::Json | Format::Yaml)) => {
                let raw = conn.raw(false).get(&name).await.map_err(|e| conn.err(e))?;
                print_objects(&[raw], f, true)?;
            }
            Some(_) => writeln!(out, "{name}")?,
            None => {
                let wf = conn.view(&name).await?;
                if i > 0 {
                    writeln!(out)?;
                }
                write!(
                    out,
                    "{}",
                    show(ctx, &wf, columns(args.output.as_deref()), selector.as_ref(), args.tree.no_utf8)
                )?;
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
