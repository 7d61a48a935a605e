//! `kubectl argo wait`: blocks until workflows finish; the exit code says
//! whether all of them succeeded.

use std::io::Write;
use std::process::ExitCode;

use super::Ctx;
use crate::cluster::{parse_duration, split_target};
use crate::error::{Error, Result};
use crate::follow::{go_time, until_done};
use crate::view::WorkflowView;

pub const EXAMPLES: &str = "Examples:
  # Wait for one workflow; exit code 0 only if it Succeeded
  kubectl argo wait my-wf
  # Wait for several, at most ten minutes
  kubectl argo wait wf-a wf-b --timeout 10m
  # The latest workflow, ignoring it if it is gone
  kubectl argo wait @latest --ignore-not-found";

#[derive(Debug, clap::Args)]
pub struct WaitArgs {
    /// Workflows: NAME, @latest or CONTEXT/NAME
    #[arg(required = true, value_name = "NAME")]
    pub names: Vec<String>,
    /// Give up after this long (e.g. 30s, 10m; default: wait forever)
    #[arg(long)]
    pub timeout: Option<String>,
    /// A workflow that does not exist counts as done
    #[arg(long)]
    pub ignore_not_found: bool,
}

/// Waits for one workflow, prints its line, and exits 0 only if it Succeeded.
pub async fn wait_one(conn: &crate::cluster::Conn, name: &str) -> Result<ExitCode> {
    let done = until_done(conn, name, |_| {}).await?;
    println!("{}", line(&done));
    Ok(if done.phase() == "Succeeded" {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// `NAME PHASE at TIME`, upstream's line.
pub fn line(wf: &WorkflowView) -> String {
    format!("{} {} at {}", wf.name(), wf.phase(), go_time(wf.status.finished_at.as_ref()))
}

pub async fn run(args: WaitArgs, ctx: &Ctx) -> Result<ExitCode> {
    let timeout = args.timeout.as_deref().map(parse_duration).transpose()?;
    let work = async {
        let mut all_ok = true;
        for target in &args.names {
            let (context, name) = split_target(target);
            let conn = ctx.conn(context, true).await?;
            let name = conn.resolve(name).await?;
            match until_done(&conn, &name, |_| {}).await {
                Ok(wf) => {
                    writeln!(std::io::stdout(), "{}", line(&wf))?;
                    all_ok &= wf.phase() == "Succeeded";
                }
                Err(e) if args.ignore_not_found && e.is_not_found() => {}
                Err(e) => return Err(e),
            }
        }
        Ok(all_ok)
    };
    let all_ok = match timeout {
        Some(t) => tokio::time::timeout(t, work).await.map_err(|_| {
            Error::Other(format!("timed out waiting for the workflows after {}", argo_api::duration::format(t)))
        })??,
        None => work.await?,
    };
    Ok(if all_ok { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}
