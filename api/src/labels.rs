//! Label and annotation keys shared with upstream Argo Workflows.

/// On every pod: the name of the workflow that owns it.
pub const WORKFLOW: &str = "workflows.argoproj.io/workflow";
/// On every pod: "true" once the controller has recorded its outcome.
pub const COMPLETED: &str = "workflows.argoproj.io/completed";
/// On every pod: the node it runs.
pub const NODE_NAME: &str = "workflows.argoproj.io/node-name";
pub const NODE_ID: &str = "workflows.argoproj.io/node-id";
/// On workflows: the phase, so that label selectors can filter by it.
pub const PHASE: &str = "workflows.argoproj.io/phase";
