//! What argo-controller, argo-webhook and `kubectl argo install --local`
//! share, so the three do it one way: connecting like kubectl
//! (`--kubeconfig`, `--context`, in-cluster), one shutdown signal fanned
//! out (a second forces exit), readiness and the admin port (`/healthz`,
//! `/readyz`, `/metrics`), logging, start-up, and the WorkflowProjects
//! every policy decision needs, watched.

#[cfg(feature = "server")]
pub mod admin;
mod connect;
mod error;
mod projects;
pub mod ready;
mod signals;
mod start;
mod templates;

pub use connect::{Flags, client};
pub use error::Error;
pub use projects::WatchedProjects;
pub use signals::stop_on_signals;
pub use start::run_main;
pub use templates::WatchedTemplates;
