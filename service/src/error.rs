//! The one error type of argo-controller and argo-webhook: whatever stops
//! a binary is one of these.

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("kubeconfig: {0}")]
    Kubeconfig(#[from] kube::config::KubeconfigError),
    #[error("kubeconfig: {0}")]
    InferConfig(#[from] kube::config::InferConfigError),
    #[error("kubernetes API: {0}")]
    Kube(#[from] kube::Error),
    #[error("{0}")]
    Io(#[from] std::io::Error),
    #[error("JSON: {0}")]
    Json(#[from] serde_json::Error),
    /// Something named (a file, an object) cannot be used, and why.
    #[error("{what}: {reason}")]
    Invalid { what: String, reason: String },
}

impl Error {
    pub fn invalid(what: impl Into<String>, reason: impl Into<String>) -> Self {
        Error::Invalid {
            what: what.into(),
            reason: reason.into(),
        }
    }
}
