//! `kubectl argo get NAME|@latest|CONTEXT/NAME`.

use std::io::Write;
use std::process::ExitCode;

use super::Ctx;
use super::shared::{Format, TreeArgs, columns, output_parser, print_objects, show};
use crate::cluster::split_target;
use crate::error::Result;

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
    #[arg(short, long, value_parser = output_parser(&[Format::Json, Format::Yaml, Format::Wide, Format::Short, Format::Name]))]
    pub output: Option<Format>,
    #[command(flatten)]
    pub tree: TreeArgs,
}

pub async fn run(args: GetArgs, ctx: &Ctx) -> Result<ExitCode> {
    let selector = args.tree.selector()?;
    let format = args.output.filter(|f| f.raw() || *f == Format::Name);
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
                write!(out, "{}", show(ctx, &wf, columns(args.output), selector.as_ref(), args.tree.no_utf8))?;
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
