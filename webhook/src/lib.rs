//! The admission webhook: mutating (`/mutate`) and validating
//! (`/validate`) endpoints for Workflows and WorkflowProjects, served over
//! rustls, with the policy logic from `argo_api::policy`.

pub mod admission;
pub mod args;
pub mod certs;
pub mod metrics;
pub mod projects;
pub mod server;
pub mod tls;

pub use argo_service::Error;
pub use args::Args;
