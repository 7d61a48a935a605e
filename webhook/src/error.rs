//! The webhook's errors.

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("kubernetes API: {0}")]
    Kube(#[from] kube::Error),
    #[error(transparent)]
    Service(#[from] argo_service::Error),
    #[error("{0}")]
    Io(#[from] std::io::Error),
    #[error("TLS certificate {path}: {reason}")]
    Certificate { path: String, reason: String },
}
