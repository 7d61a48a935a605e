//! WorkflowTemplate, ClusterWorkflowTemplate and CronWorkflow: upstream's
//! kinds around a Workflow's spec, field for field.

use k8s_openapi::api::core::v1::ObjectReference;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use kube::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::schema;
use crate::workflow::{Metadata, WorkflowSpec};

/// A Workflow spec published for others to run or reference.
#[derive(CustomResource, Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[kube(
    group = "argoproj.io",
    version = "v1alpha1",
    kind = "WorkflowTemplate",
    plural = "workflowtemplates",
    shortname = "wftmpl",
    category = "argo",
    namespaced,
    doc = "A reusable Workflow spec: submitted with `workflowTemplateRef`, its templates referenced with `templateRef` (argoproj.io/v1alpha1)."
)]
pub struct WorkflowTemplateSpec {
    #[serde(flatten)]
    pub spec: WorkflowSpec,
}

/// A WorkflowTemplate every namespace can reference (`clusterScope: true`).
#[derive(CustomResource, Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[kube(
    group = "argoproj.io",
    version = "v1alpha1",
    kind = "ClusterWorkflowTemplate",
    plural = "clusterworkflowtemplates",
    shortname = "cwftmpl",
    shortname = "cwft",
    category = "argo",
    doc = "A cluster-wide reusable Workflow spec (argoproj.io/v1alpha1)."
)]
pub struct ClusterWorkflowTemplateSpec {
    #[serde(flatten)]
    pub spec: WorkflowSpec,
}

/// A Workflow created on a schedule.
// kube(printcolumn(...)) repeats keys by design; clippy reads them as duplicates.
#[allow(clippy::duplicated_attributes)]
#[serde_with::skip_serializing_none]
#[derive(CustomResource, Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[kube(
    group = "argoproj.io",
    version = "v1alpha1",
    kind = "CronWorkflow",
    plural = "cronworkflows",
    shortname = "cwf",
    shortname = "cronwf",
    category = "argo",
    namespaced,
    status = "CronWorkflowStatus",
    doc = "Creates a Workflow from `workflowSpec` on a cron schedule (argoproj.io/v1alpha1).",
    printcolumn(
        name = "Schedule",
        type_ = "string",
        json_path = ".spec.schedule",
        description = "Cron schedule"
    ),
    printcolumn(
        name = "Suspended",
        type_ = "boolean",
        json_path = ".spec.suspend",
        description = "No new runs"
    ),
    printcolumn(
        name = "Last run",
        type_ = "date",
        json_path = ".status.lastScheduledTime",
        description = "When it last ran"
    ),
    printcolumn(
        name = "Age",
        type_ = "date",
        json_path = ".metadata.creationTimestamp",
        description = "When it was created"
    )
)]
#[serde(rename_all = "camelCase", default)]
pub struct CronWorkflowSpec {
    /// One cron schedule (five fields, `@hourly`..., or `@every 1h`).
    pub schedule: Option<String>,
    /// Several schedules: a run at each time any of them names.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub schedules: Vec<String>,
    /// IANA time zone the schedules are read in (default UTC).
    pub timezone: Option<String>,
    /// Allow (default), Forbid or Replace a run while one is active.
    pub concurrency_policy: Option<String>,
    /// A run missed by more than this many seconds is skipped.
    pub starting_deadline_seconds: Option<i64>,
    /// Finished workflows kept (default 3 succeeded, 1 failed).
    pub successful_jobs_history_limit: Option<i32>,
    pub failed_jobs_history_limit: Option<i32>,
    pub suspend: Option<bool>,
    /// Stops scheduling for good once its expression is true.
    pub stop_strategy: Option<StopStrategy>,
    /// An expression: the run is skipped unless it is true.
    pub when: Option<String>,
    #[schemars(schema_with = "schema::opaque_object")]
    pub workflow_spec: WorkflowSpec,
    /// Labels and annotations of the workflows it creates.
    pub workflow_metadata: Option<Metadata>,
}

#[serde_with::skip_serializing_none]
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", default)]
pub struct StopStrategy {
    /// e.g. `cronworkflow.failed >= 3`.
    pub expression: Option<String>,
}

#[serde_with::skip_serializing_none]
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", default)]
pub struct CronWorkflowStatus {
    /// The workflows it created that have not finished.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    #[schemars(schema_with = "schema::opaque_object_list")]
    pub active: Vec<ObjectReference>,
    pub last_scheduled_time: Option<Time>,
    pub succeeded: Option<i64>,
    pub failed: Option<i64>,
    /// `Running`, or `Stopped` once its stop strategy held.
    pub phase: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub conditions: Vec<crate::workflow::WorkflowCondition>,
}
