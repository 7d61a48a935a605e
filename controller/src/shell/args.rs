//! Command-line arguments of `argo-controller`.

use clap::Parser;

#[derive(Clone, Debug, Parser)]
#[command(name = "argo-controller", version = argo_api::VERSION, about = "Runs Argo-compatible Workflows as Pods")]
pub struct Args {
    #[command(flatten)]
    pub service: argo_service::Flags,
    /// Only run workflows in this namespace (default: all namespaces)
    #[arg(long, short = 'n')]
    pub namespace: Option<String>,
    /// Plain-HTTP address for /healthz, /readyz and /metrics
    #[arg(long, default_value = "0.0.0.0:9090", env = "ARGO_CONTROLLER_ADMIN_ADDRESS")]
    pub admin_address: String,
    /// Workflows reconciled at once
    #[arg(long, default_value_t = 32)]
    pub workers: u16,
    /// Pod creations in flight at once
    #[arg(long, default_value_t = 64)]
    pub pod_create_concurrency: usize,
    /// Wait this long after a change to batch the next ones (milliseconds)
    #[arg(long, default_value_t = 0)]
    pub debounce_ms: u64,
    /// Elect one active replica through a Lease (disable for a single replica)
    #[arg(long, default_value_t = true, action = clap::ArgAction::Set)]
    pub leader_elect: bool,
    #[arg(long, default_value = "argo-controller")]
    pub lease_name: String,
    #[arg(long, default_value = "argo", env = "ARGO_CONTROLLER_NAMESPACE")]
    pub lease_namespace: String,
    /// This replica's name in the Lease (default: $POD_NAME, else hostname-pid)
    #[arg(long, env = "POD_NAME")]
    pub id: Option<String>,
    /// For tests of the panic guard only: a reconcile panics on purpose
    /// when its workflow carries the annotation `argo-rs.test/panic`.
    #[arg(long, hide = true)]
    pub test_panic_annotation: bool,
}

impl Args {
    pub fn identity(&self) -> String {
        self.id.clone().unwrap_or_else(|| {
            let host = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap_or_default();
            format!("{}-{}", host.trim(), std::process::id())
        })
    }
}
