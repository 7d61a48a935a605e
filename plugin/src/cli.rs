//! Command-line definitions, shaped like upstream's `argo` CLI and
//! kubectl's conventions. Each command's own flags live with the command.

use std::path::PathBuf;

use clap::{Parser, Subcommand, ValueEnum};

use crate::commands::{
    delete::DeleteArgs, get::GetArgs, intent::ResumeArgs, intent::ShutdownArgs, intent::TargetsArgs, lint::LintArgs,
    list::ListArgs, logs::LogsArgs, resubmit::ResubmitArgs, retry::RetryArgs, submit::SubmitArgs, wait::WaitArgs,
    watch::WatchArgs,
};

/// kubectl runs a plugin with argv[0] = path of `kubectl-argo`; help and
/// errors should still read `kubectl argo ...`.
pub const BIN_NAME: &str = "kubectl argo";

#[derive(Debug, Parser)]
#[command(
    name = "kubectl-argo",
    bin_name = BIN_NAME,
    version = argo_api::VERSION,
    about = "Submit, inspect, watch, steer and lint Argo-compatible workflows",
    propagate_version = true
)]
pub struct Cli {
    #[command(flatten)]
    pub global: Global,
    #[command(subcommand)]
    pub command: Command,
}

/// kubectl's connection flags, accepted by every command.
#[derive(Debug, Default, clap::Args)]
pub struct Global {
    /// The namespace to act in (default: the context's namespace)
    #[arg(short = 'n', long, global = true, value_name = "NAMESPACE")]
    pub namespace: Option<String>,
    /// The kubeconfig context to use (`list` takes several, comma-separated)
    #[arg(long, global = true, value_name = "CONTEXT")]
    pub context: Option<String>,
    /// Path to the kubeconfig file (default: KUBECONFIG, then ~/.kube/config)
    #[arg(long, global = true, value_name = "PATH")]
    pub kubeconfig: Option<PathBuf>,
    /// How long to wait for one request to the server (e.g. 5s, 1m; 0: no limit)
    #[arg(long, global = true, value_name = "DURATION")]
    pub request_timeout: Option<String>,
    /// Never colour the output (colour is used only on a terminal and never with NO_COLOR)
    #[arg(long, global = true)]
    pub no_color: bool,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Submit workflows from files or stdin
    #[command(after_help = crate::commands::submit::EXAMPLES)]
    Submit(SubmitArgs),
    /// List workflows (from several clusters with --context a,b or --all-contexts)
    #[command(after_help = crate::commands::list::EXAMPLES)]
    List(ListArgs),
    /// Show a workflow and its node tree
    #[command(after_help = crate::commands::get::EXAMPLES)]
    Get(GetArgs),
    /// Follow a workflow's progress until it finishes
    #[command(after_help = crate::commands::watch::EXAMPLES)]
    Watch(WatchArgs),
    /// Print the logs of a workflow's pods
    #[command(after_help = crate::commands::logs::EXAMPLES)]
    Logs(LogsArgs),
    /// Delete workflows by name or by filter
    #[command(after_help = crate::commands::delete::EXAMPLES)]
    Delete(DeleteArgs),
    /// Re-run the failed nodes of a failed workflow
    #[command(after_help = crate::commands::retry::EXAMPLES)]
    Retry(RetryArgs),
    /// Submit a new workflow with the same spec as an old one
    #[command(after_help = crate::commands::resubmit::EXAMPLES)]
    Resubmit(ResubmitArgs),
    /// Suspend workflows: no new nodes start until they are resumed
    #[command(after_help = crate::commands::intent::SUSPEND_EXAMPLES)]
    Suspend(TargetsArgs),
    /// Resume suspended workflows and their suspend nodes
    #[command(after_help = crate::commands::intent::RESUME_EXAMPLES)]
    Resume(ResumeArgs),
    /// Stop workflows: running nodes stop, exit handlers still run
    #[command(after_help = crate::commands::intent::STOP_EXAMPLES)]
    Stop(ShutdownArgs),
    /// Terminate workflows: running nodes stop, exit handlers do not run
    #[command(after_help = crate::commands::intent::TERMINATE_EXAMPLES)]
    Terminate(TargetsArgs),
    /// Wait for workflows to finish; exits non-zero unless all Succeeded
    #[command(after_help = crate::commands::wait::EXAMPLES)]
    Wait(WaitArgs),
    /// Validate workflow files offline, as the admission webhook would
    #[command(after_help = crate::commands::lint::EXAMPLES)]
    Lint(LintArgs),
    /// Manage WorkflowTemplates: create, list, get, delete, lint
    #[command(subcommand, after_help = crate::commands::kinds::TEMPLATE_EXAMPLES)]
    Template(crate::commands::kinds::KindCommand),
    /// Manage ClusterWorkflowTemplates: create, list, get, delete, lint
    #[command(subcommand, after_help = crate::commands::kinds::CLUSTER_TEMPLATE_EXAMPLES)]
    ClusterTemplate(crate::commands::kinds::KindCommand),
    /// Manage CronWorkflows: create, list, get, suspend, resume, delete, lint
    #[command(subcommand, after_help = crate::commands::kinds::CRON_EXAMPLES)]
    Cron(crate::commands::kinds::KindCommand),
    /// Open the web UI: live workflows of one or more clusters, in the browser
    #[command(after_help = crate::ui::EXAMPLES)]
    Ui(crate::ui::UiArgs),
    /// Install or upgrade argo-rs in the cluster (or run it on this machine with --local)
    #[command(after_help = crate::install::INSTALL_EXAMPLES)]
    Install(crate::install::InstallArgs),
    /// Remove argo-rs from the cluster
    #[command(after_help = crate::install::UNINSTALL_EXAMPLES)]
    Uninstall(crate::install::UninstallArgs),
    /// Print the version of kubectl-argo
    #[command(
        after_help = "Examples:\n  kubectl argo version\n  kubectl argo version --short\n  kubectl argo version -o json"
    )]
    Version(VersionArgs),
    /// Print a shell completion script
    #[command(
        after_help = "Examples:\n  source <(kubectl-argo completion bash)\n  kubectl-argo completion zsh > \"${fpath[1]}/_kubectl-argo\"\n  kubectl-argo completion fish | source"
    )]
    Completion(CompletionArgs),
}

#[derive(Debug, clap::Args)]
pub struct VersionArgs {
    /// Print only the version number
    #[arg(long)]
    pub short: bool,
    /// Output format
    #[arg(short, long, value_enum)]
    pub output: Option<VersionFormat>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum VersionFormat {
    Json,
    Yaml,
}

#[derive(Debug, clap::Args)]
pub struct CompletionArgs {
    #[arg(value_enum)]
    pub shell: Shell,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Shell {
    Bash,
    Zsh,
    Fish,
}

/// Parses the command line; usage errors exit 1 as kubectl's do (help
/// and version exit 0).
pub fn parse() -> Cli {
    Cli::try_parse().unwrap_or_else(|e| {
        let code = if e.use_stderr() { 1 } else { 0 };
        let _ = e.print();
        std::process::exit(code)
    })
}
