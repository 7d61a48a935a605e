//! Project policy: which WorkflowProject a workflow belongs to, the
//! defaults the project adds, and the rules it enforces. Pure functions,
//! shared by the webhook (at admission), the controller (on every pod it
//! renders) and `kubectl argo lint`.

mod check;
mod defaults;
mod globs;
mod pods;
mod project;
mod select;
mod update;

pub use check::check_workflow;
pub use defaults::apply_defaults;
pub use globs::Globs;
pub use pods::{PodView, check_pod, check_pod_spec};
pub use project::validate_project;
pub use select::{project_for, select_project};
pub use update::check_update;

/// The template kinds a project can allow.
pub const TEMPLATE_TYPES: [&str; 5] = ["container", "script", "steps", "dag", "suspend"];

#[cfg(test)]
mod tests;
