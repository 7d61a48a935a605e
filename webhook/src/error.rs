//! The webhook's errors.

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("kubernetes API: {0}")]
    Kube(#[from] kube::Error),
    #[error("kubeconfig: {0}")]
    Kubeconfig(#[from] kube::config::KubeconfigError),
    #[error("kubeconfig: {0}")]
    InferConfig(#[from] kube::config::InferConfigError),
    #[error("{0}")]
    Io(#[from] std::io::Error),
    #[error("TLS certificate {path}: {reason}")]
    Certificate { path: String, reason: String },
}
