//! One module per command, and what they share: the connection context,
//! the async runtime (only for commands that talk to a cluster, so that
//! `version` starts in a few milliseconds) and output helpers.

pub mod delete;
pub mod get;
pub mod intent;
pub mod kinds;
pub mod lint;
pub mod list;
pub mod logs;
pub mod resubmit;
pub mod retry;
pub mod shared;
pub mod submit;
pub mod version;
pub mod wait;
pub mod watch;

use std::io::Write;
use std::process::ExitCode;

use kube::config::Kubeconfig;

use crate::cli::{Cli, Command, Shell};
use crate::cluster::{self, Conn, Flags};
use crate::error::{Error, Result};
use crate::print::Style;

/// What every command gets: the connection flags and output preferences.
pub struct Ctx {
    pub flags: Flags,
    pub no_color: bool,
    /// Said once, after the command's output, however often it redraws.
    notices: std::sync::Mutex<Vec<&'static str>>,
}

impl Ctx {
    pub fn kubeconfig(&self) -> Result<Kubeconfig> {
        cluster::kubeconfig(&self.flags)
    }

    /// The cluster of `--context` (or of `context`, from `CONTEXT/NAME`).
    pub async fn conn(&self, context: Option<&str>, streaming: bool) -> Result<Conn> {
        let kc = self.kubeconfig()?;
        let context = context.or(self.flags.context.as_deref());
        cluster::connect(&kc, context, &self.flags, streaming).await
    }

    pub fn style(&self, no_utf8: bool) -> Style {
        Style::detect(self.no_color, no_utf8)
    }

    /// Keeps `text` to print once when the command ends.
    pub fn notice(&self, text: &'static str) {
        let mut notices = self.notices.lock().unwrap_or_else(|p| p.into_inner());
        if !notices.contains(&text) {
            notices.push(text);
        }
    }

    fn take_notices(&self) -> Vec<&'static str> {
        std::mem::take(&mut *self.notices.lock().unwrap_or_else(|p| p.into_inner()))
    }
}

pub fn run(cli: Cli) -> Result<ExitCode> {
    let g = cli.global;
    let request_timeout = match g.request_timeout.as_deref() {
        None | Some("0") => None,
        Some(t) => Some(cluster::parse_duration(t)?).filter(|d| !d.is_zero()),
    };
    let ctx = Ctx {
        flags: Flags {
            kubeconfig: g.kubeconfig,
            context: g.context,
            namespace: g.namespace,
            request_timeout,
        },
        no_color: g.no_color,
        notices: Default::default(),
    };
    let result = dispatch(cli.command, &ctx);
    if result.is_ok() {
        for text in ctx.take_notices() {
            print!("{text}");
        }
    }
    result
}

fn dispatch(command: Command, ctx: &Ctx) -> Result<ExitCode> {
    // stdout is locked per write, never across a command: tasks on other
    // threads (logs -f) print too.
    match command {
        Command::Version(args) => version::run(&args, &mut std::io::stdout()),
        Command::Completion(args) => completion(args.shell, &mut std::io::stdout()),
        Command::Lint(args) => lint::run(&args, ctx, &mut std::io::stdout()),
        Command::Submit(args) => block_on(submit::run(args, ctx)),
        Command::List(args) => block_on(list::run(args, ctx)),
        Command::Get(args) => block_on(get::run(args, ctx)),
        Command::Watch(args) => block_on(watch::run(args, ctx)),
        Command::Logs(args) => block_on(logs::run(args, ctx)),
        Command::Delete(args) => block_on(delete::run(args, ctx)),
        Command::Retry(args) => block_on(retry::run(args, ctx)),
        Command::Resubmit(args) => block_on(resubmit::run(args, ctx)),
        Command::Suspend(args) => block_on(intent::suspend(args, ctx)),
        Command::Resume(args) => block_on(intent::resume(args, ctx)),
        Command::Stop(args) => block_on(intent::stop(args, ctx)),
        Command::Terminate(args) => block_on(intent::terminate(args, ctx)),
        Command::Wait(args) => block_on(wait::run(args, ctx)),
        Command::Template(cmd) => block_on(kinds::run(kinds::Kind::Template, cmd, ctx)),
        Command::ClusterTemplate(cmd) => block_on(kinds::run(kinds::Kind::ClusterTemplate, cmd, ctx)),
        Command::Cron(cmd) => block_on(kinds::run(kinds::Kind::Cron, cmd, ctx)),
        Command::Ui(args) => block_on(crate::ui::run(args, ctx)),
        Command::Install(args) => block_on(crate::install::install(args, ctx)),
        Command::Uninstall(args) => block_on(crate::install::uninstall(args, ctx)),
    }
}

fn block_on<F: Future<Output = Result<ExitCode>>>(f: F) -> Result<ExitCode> {
    let _ = rustls::crypto::ring::default_provider().install_default();
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| Error::Other(format!("cannot start the async runtime: {e}")))?
        .block_on(f)
}

fn completion(shell: Shell, out: &mut impl Write) -> Result<ExitCode> {
    use clap::CommandFactory;
    let mut cmd = Cli::command();
    let shell = match shell {
        Shell::Bash => clap_complete::Shell::Bash,
        Shell::Zsh => clap_complete::Shell::Zsh,
        Shell::Fish => clap_complete::Shell::Fish,
    };
    clap_complete::generate(shell, &mut cmd, "kubectl-argo", out);
    Ok(ExitCode::SUCCESS)
}
