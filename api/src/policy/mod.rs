//! Project policy: which WorkflowProject a namespace's workflows belong
//! to, the defaults the project adds, and the rules it enforces, decided
//! by one pure function (`decide`) that the webhook, `kubectl argo lint`
//! and the controller (on every pod it renders) share.

mod decide;
mod defaults;
mod globs;
mod kinds;
mod lookup;
mod pods;
mod project;
mod projects;
mod security;
mod templates;
mod update;
mod workflow;

pub use decide::{Decision, Operation, Request, Subject, decide, mutation};
pub use defaults::{apply_defaults, resolved_with_defaults};
pub use globs::Globs;
pub use lookup::may_look_up;
pub use pods::{Tags, check_pod};
pub use project::validate_project;
pub use projects::Projects;
pub use templates::check_templates;
pub use update::{MUTABLE_SPEC_FIELDS, check_update};

/// The template kinds a project can allow.
pub const TEMPLATE_TYPES: [&str; 5] = ["container", "script", "steps", "dag", "suspend"];

#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_round2;
