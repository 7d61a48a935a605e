//! Command-line arguments of `argo-webhook`.

use std::path::PathBuf;

use clap::Parser;

#[derive(Clone, Debug, Parser)]
#[command(name = "argo-webhook", version = argo_api::VERSION, about = "Admission webhook for Argo-compatible Workflows")]
pub struct Args {
    #[command(flatten)]
    pub service: argo_service::Flags,
    /// Address of the TLS port the apiserver calls
    #[arg(long, default_value = "0.0.0.0:8443", env = "ARGO_WEBHOOK_ADDRESS")]
    pub address: String,
    /// PEM certificate chain; re-read when it changes on disk
    #[arg(long, default_value = "/etc/argo-webhook/tls/tls.crt")]
    pub tls_cert: PathBuf,
    /// PEM private key; re-read when it changes on disk
    #[arg(long, default_value = "/etc/argo-webhook/tls/tls.key")]
    pub tls_key: PathBuf,
    /// Plain-HTTP address for /healthz, /readyz and /metrics
    #[arg(long, default_value = "0.0.0.0:9091", env = "ARGO_WEBHOOK_ADMIN_ADDRESS")]
    pub admin_address: String,
    /// The controller's user: the workflows it creates for CronWorkflows
    /// skip the submitter check (the CronWorkflow's writer passed it)
    #[arg(
        long,
        env = "ARGO_CONTROLLER_USER",
        default_value = "system:serviceaccount:argo:argo-controller"
    )]
    pub controller_user: String,
    /// Admission requests handled at once; more wait
    #[arg(long, default_value_t = 256)]
    pub max_concurrency: usize,
}
