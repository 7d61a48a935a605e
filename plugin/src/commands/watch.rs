//! `kubectl argo watch`: the `get` view, redrawn on every change the
//! watch delivers (and every second on a terminal, so durations tick),
//! until the workflow finishes. Ctrl-C restores the cursor.

use std::io::{IsTerminal, Write};
use std::process::ExitCode;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use super::Ctx;
use super::shared::{TreeArgs, columns, show};
use crate::cluster::{Conn, split_target};
use crate::error::Result;
use crate::follow::until_done;
use crate::view::WorkflowView;

pub const EXAMPLES: &str = "Examples:
  # Follow a workflow until it finishes
  kubectl argo watch my-wf
  # The latest one, only its failed nodes
  kubectl argo watch @latest --status Failed
  # In another cluster of the kubeconfig
  kubectl argo watch prod/my-wf";

#[derive(Debug, clap::Args)]
pub struct WatchArgs {
    /// Workflow: NAME, @latest or CONTEXT/NAME
    #[arg(value_name = "NAME")]
    pub name: String,
    #[command(flatten)]
    pub tree: TreeArgs,
}

const CLEAR: &str = "\x1b[H\x1b[2J";
const HIDE_CURSOR: &str = "\x1b[?25l";
const SHOW_CURSOR: &str = "\x1b[?25h";

pub async fn run(args: WatchArgs, ctx: &Ctx) -> Result<ExitCode> {
    let (context, name) = split_target(&args.name);
    let conn = ctx.conn(context, true).await?;
    let name = conn.resolve(name).await?;
    let tty = std::io::stdout().is_terminal();
    if tty {
        print!("{HIDE_CURSOR}");
    }
    let result = tokio::select! {
        r = follow(ctx, &conn, &name, &args, tty) => r,
        _ = tokio::signal::ctrl_c() => {
            if tty { print!("{SHOW_CURSOR}"); }
            let _ = std::io::stdout().flush();
            return Ok(ExitCode::from(130));
        }
    };
    if tty {
        print!("{SHOW_CURSOR}");
    }
    let _ = std::io::stdout().flush();
    result.map(|_| ExitCode::SUCCESS)
}

/// Redraws on every change; on a terminal, also once a second.
pub async fn follow(ctx: &Ctx, conn: &Conn, name: &str, args: &WatchArgs, tty: bool) -> Result<WorkflowView> {
    let selector = args.tree.selector()?;
    let latest: Arc<Mutex<Option<WorkflowView>>> = Arc::default();
    let last_text = Mutex::new(String::new());
    let draw = |wf: &WorkflowView| {
        let text = show(ctx, wf, columns(None), selector.as_ref(), args.tree.no_utf8);
        let mut last = last_text.lock().unwrap_or_else(|p| p.into_inner());
        if *last == text {
            return;
        }
        let mut out = std::io::stdout().lock();
        if tty {
            let _ = write!(out, "{CLEAR}{text}");
        } else {
            let _ = write!(out, "{}{text}", if last.is_empty() { "" } else { "\n" });
        }
        let _ = out.flush();
        *last = text;
    };
    let ticker = async {
        let mut tick = tokio::time::interval(Duration::from_secs(1));
        loop {
            tick.tick().await;
            if tty && let Some(wf) = latest.lock().unwrap_or_else(|p| p.into_inner()).clone() {
                draw(&wf);
            }
        }
    };
    let watch = until_done(conn, name, |wf| {
        *latest.lock().unwrap_or_else(|p| p.into_inner()) = Some(wf.clone());
        draw(wf);
    });
    tokio::select! {
        r = watch => r,
        _ = ticker => unreachable!("the ticker never ends"),
    }
}
