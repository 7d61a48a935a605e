//! `kubectl argo install` and `uninstall`: the manifests of manifests/,
//! applied server-side, with the webhook's certificate made here (or by
//! cert-manager), waiting until everything is ready. `--local` runs the
//! controller and webhook on this machine instead of in the cluster.

mod apply;
pub mod local;
pub mod manifests;
mod tls;

use std::path::PathBuf;
use std::process::ExitCode;

use apply::Kinds;
use manifests::{DEPLOYMENTS, Options, Part, render, to_yaml};
use serde_json::Value;

use crate::commands::Ctx;
use crate::error::{Error, Result};

pub const INSTALL_EXAMPLES: &str = "Examples:
  # Install or upgrade into namespace argo of the current context, and wait until ready
  kubectl argo install
  # Print what would be applied
  kubectl argo install --dry-run
  # The controller runs only the workflows of namespace team-a
  kubectl argo install --managed-namespace team-a
  # Let cert-manager issue the webhook's certificate
  kubectl argo install --cert-manager
  # Run the controller and webhook on this machine against the cluster (no images needed)
  kubectl argo install --local";

pub const UNINSTALL_EXAMPLES: &str = "Examples:
  # Remove the controller and webhook; workflows and projects stay
  kubectl argo uninstall
  # Also remove the CRDs (and with them every Workflow and WorkflowProject) and the namespace
  kubectl argo uninstall --purge
  # Stop what `install --local` started
  kubectl argo uninstall --local";

#[derive(Debug, clap::Args)]
pub struct InstallArgs {
    /// Print the manifests that would be applied; apply nothing
    #[arg(long)]
    pub dry_run: bool,
    /// cert-manager issues the webhook's certificate and injects its CA
    #[arg(long, conflicts_with = "local")]
    pub cert_manager: bool,
    /// Run argo-controller and argo-webhook on this machine, not in the cluster
    #[arg(long)]
    pub local: bool,
    /// Only namespaces (and projects) with this label go through the webhook: KEY=VALUE
    #[arg(long, value_name = "KEY=VALUE")]
    pub webhook_selector: Option<String>,
    /// argo-controller runs only the workflows of this namespace (default: every namespace)
    #[arg(long, value_name = "NAMESPACE")]
    pub managed_namespace: Option<String>,
    /// Where argo-controller and argo-webhook are (--local; default: next to kubectl-argo, then PATH)
    #[arg(long, value_name = "DIR")]
    pub bin_dir: Option<PathBuf>,
    /// How long to wait for everything to be ready
    #[arg(long, default_value = "5m")]
    pub timeout: String,
    /// Do not wait for the Deployments to be ready
    #[arg(long)]
    pub no_wait: bool,
}

#[derive(Debug, clap::Args)]
pub struct UninstallArgs {
    /// Also delete the CRDs (every Workflow and WorkflowProject goes with them) and the namespace
    #[arg(long)]
    pub purge: bool,
    /// Stop what `install --local` started
    #[arg(long)]
    pub local: bool,
}

fn namespace(ctx: &Ctx) -> String {
    ctx.flags.namespace.clone().unwrap_or_else(|| manifests::BASE_NAMESPACE.into())
}

fn selector(text: Option<&str>) -> Result<Option<(String, String)>> {
    text.map(|t| match t.split_once('=') {
        Some((k, v)) if !k.is_empty() => Ok((k.to_owned(), v.to_owned())),
        _ => Err(Error::Usage(format!("--webhook-selector {t:?}: expected KEY=VALUE"))),
    })
    .transpose()
}

pub async fn install(args: InstallArgs, ctx: &Ctx) -> Result<ExitCode> {
    let ns = namespace(ctx);
    let timeout = crate::cluster::parse_duration(&args.timeout)?;
    let mut opts = Options {
        namespace: ns.clone(),
        cert_manager: args.cert_manager,
        webhook_selector: selector(args.webhook_selector.as_deref())?,
        ca_bundle: None,
        webhook_url: args.local.then(|| "https://127.0.0.1:PORT".to_owned()),
        managed_namespace: args.managed_namespace.clone(),
    };
    if args.dry_run {
        print!("{}", to_yaml(&render(&opts)));
        return Ok(ExitCode::SUCCESS);
    }
    let conn = ctx.conn(None, false).await?;
    let mut kinds = Kinds::default();
    let docs = render(&opts);
    let applied =
        |part: Part| docs.iter().filter(move |(p, _)| *p == part).map(|(_, d)| d.clone()).collect::<Vec<Value>>();
    let (namespaces, crds, rbac, certificates, workloads, project) = (
        applied(Part::Namespace),
        applied(Part::Crds),
        applied(Part::Rbac),
        applied(Part::Certificates),
        applied(Part::Workloads),
        applied(Part::Project),
    );
    for doc in namespaces.iter().chain(&crds) {
        println!("{}", apply::apply(&conn, &mut kinds, doc).await?);
    }
    let crd_names: Vec<String> = crds
        .iter()
        .filter_map(|d| d.pointer("/metadata/name").and_then(Value::as_str).map(str::to_owned))
        .collect();
    apply::wait_established(&conn, &crd_names, timeout).await?;
    if args.local {
        for doc in &rbac {
            println!("{}", apply::apply(&conn, &mut kinds, doc).await?);
        }
        local::may_impersonate(&conn.client, &ns).await?;
        let setup = local::Setup {
            context: &conn.context,
            kubeconfig: ctx.flags.kubeconfig.as_deref(),
            namespace: &ns,
            bin_dir: args.bin_dir.as_deref(),
            timeout,
            managed_namespace: args.managed_namespace.as_deref(),
        };
        let started = local::start(&setup).await?;
        opts.webhook_url = Some(started.webhook_url);
        opts.ca_bundle = Some(started.ca_pem);
    } else {
        for doc in &rbac {
            println!("{}", apply::apply(&conn, &mut kinds, doc).await?);
        }
        if !args.cert_manager {
            let (ca, created) = tls::ensure(&conn, &ns).await?;
            let how = if created { "created" } else { "kept (still valid)" };
            println!("secret/{} {how}", manifests::TLS_SECRET);
            opts.ca_bundle = Some(ca);
        }
        for doc in certificates.iter().chain(&workloads) {
            println!("{}", apply::apply(&conn, &mut kinds, doc).await?);
        }
        if !args.no_wait {
            apply::wait_deployments(&conn, &ns, &DEPLOYMENTS, timeout).await?;
        }
    }
    // Registered once the webhook answers, so admission never points at a
    // webhook that is not there (a registration left by an earlier install
    // whose webhook died is replaced before anything goes through it).
    for (part, doc) in render(&opts) {
        if part == Part::Webhooks {
            println!("{}", apply::apply(&conn, &mut kinds, &doc).await?);
        }
    }
    // The default project goes through the webhook that now runs.
    for doc in &project {
        println!("{}", apply::apply(&conn, &mut kinds, doc).await?);
    }
    let mode = if args.local {
        " (controller and webhook on this machine)"
    } else {
        ""
    };
    println!("argo-rs v{} installed in namespace {ns} of context {}{mode}", argo_api::VERSION, conn.context);
    Ok(ExitCode::SUCCESS)
}

pub async fn uninstall(args: UninstallArgs, ctx: &Ctx) -> Result<ExitCode> {
    let ns = namespace(ctx);
    let conn = ctx.conn(None, false).await?;
    if args.local {
        for line in local::stop(&conn.context) {
            println!("{line}");
        }
    }
    let opts = Options {
        namespace: ns.clone(),
        cert_manager: true,
        ..Default::default()
    };
    let mut kinds = Kinds::default();
    let mut docs = render(&opts);
    // The webhooks go first, so nothing is refused while the rest goes.
    docs.reverse();
    let tls = serde_json::json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": manifests::TLS_SECRET, "namespace": ns}});
    let keep = |p: Part| !args.purge && matches!(p, Part::Crds | Part::Namespace | Part::Project);
    let mut deleted = 0;
    for (part, doc) in docs.iter_mut().filter(|(p, _)| !keep(*p)) {
        if *part == Part::Namespace {
            // Its own objects go before the namespace does.
            if apply::delete(&conn, &mut kinds, &tls).await? {
                println!("{} deleted", manifests::describe(&tls));
            }
        }
        if apply::delete(&conn, &mut kinds, doc).await? {
            println!("{} deleted", manifests::describe(doc));
            deleted += 1;
        }
    }
    if !args.purge && apply::delete(&conn, &mut kinds, &tls).await? {
        println!("{} deleted", manifests::describe(&tls));
        deleted += 1;
    }
    if deleted == 0 {
        println!("nothing of argo-rs was installed in namespace {ns}");
    } else if !args.purge {
        println!("workflows, projects and the CRDs were kept; --purge removes them too");
    }
    Ok(ExitCode::SUCCESS)
}
