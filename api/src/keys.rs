//! Label and annotation keys: upstream Argo Workflows' and this project's.

/// On every pod: the name of the workflow that owns it.
pub const WORKFLOW: &str = "workflows.argoproj.io/workflow";
/// On every pod: "true" once the controller has recorded its outcome.
pub const COMPLETED: &str = "workflows.argoproj.io/completed";
/// On every pod: the node it runs.
pub const NODE_NAME: &str = "workflows.argoproj.io/node-name";
pub const NODE_ID: &str = "workflows.argoproj.io/node-id";
/// On workflows: the phase, so that label selectors can filter by it.
pub const PHASE: &str = "workflows.argoproj.io/phase";
/// On workflows: "true" once the controller will not change them again.
pub const WORKFLOW_COMPLETED: &str = COMPLETED;
/// On workflows: an RFC 3339 time; suspend nodes started before it resume
/// (set by `kubectl argo resume`).
pub const RESUME: &str = "workflows.argoproj.io/resume";
/// On workflows: a JSON object of output parameter values for the suspend
/// nodes that `RESUME` resumes (`valueFrom.supplied`; set by
/// `kubectl argo resume -p NAME=VALUE`).
pub const RESUME_PARAMETERS: &str = "workflows.argoproj.io/resume-parameters";
/// On workflows: a `RetryRequest` as JSON (set by `kubectl argo retry`);
/// the controller resets the failed nodes and removes it.
pub const RETRY: &str = "workflows.argoproj.io/retry";
/// On workflows: why `kubectl argo stop --message` stopped it.
pub const SHUTDOWN_MESSAGE: &str = "workflows.argoproj.io/shutdown-message";
/// On resubmitted workflows: the workflow they were resubmitted from.
pub const RESUBMITTED_FROM: &str = "workflows.argoproj.io/resubmitted-from-workflow";
/// On workflows: the project the namespace selected (set at admission,
/// immutable after create).
pub const PROJECT: &str = "workflows.argoproj.io/project";

/// Label of a workflow a CronWorkflow created: the CronWorkflow's name.
pub const CRON_WORKFLOW: &str = "workflows.argoproj.io/cron-workflow";
/// Annotation of a workflow a CronWorkflow created: the time it was due.
pub const SCHEDULED_TIME: &str = "workflows.argoproj.io/scheduled-time";

/// Pod labels and annotations under this prefix are the controller's
/// (which workflow and node a pod runs); a template's metadata cannot set
/// them.
pub fn is_reserved(key: &str) -> bool {
    key.starts_with("workflows.argoproj.io/")
}
