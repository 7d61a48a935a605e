//! Types and pure logic shared by the controller, the webhook and the
//! plugin: the `Workflow` and `WorkflowProject` resources, strict parsing
//! that names every field it cannot honour, and CRD generation.

#[cfg(feature = "certs")]
pub mod certs;
pub mod crd;
pub mod cron;
pub mod depends;
pub mod duration;
pub mod error;
pub mod executor;
pub mod expr;
pub mod image;
pub mod json;
pub mod keys;
pub mod kinds;
pub mod limits;
pub mod load;
pub mod names;
pub mod pod;
pub mod policy;
pub mod project;
pub mod quantity;
pub mod retry;
pub mod schema;
pub mod selector;
pub mod strict;
pub mod templates;
pub mod text;
pub mod validate;
pub mod vars;
pub mod when;
pub mod workflow;

pub use error::{Error, Problem, Result};
pub use project::{WorkflowProject, WorkflowProjectSpec};
pub use workflow::{Workflow, WorkflowSpec, WorkflowStatus};

/// `apiVersion` of every resource here, as upstream Argo spells it.
pub const API_VERSION: &str = "argoproj.io/v1alpha1";
/// The version of this project, reported by every binary.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
