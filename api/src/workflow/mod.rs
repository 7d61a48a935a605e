//! The `Workflow` custom resource, field for field upstream Argo's.

pub mod compress;
mod params;
mod pod_fields;
mod status;
mod template;

use k8s_openapi::api::core::v1::{LocalObjectReference, PodDNSConfig};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;
use kube::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

pub use params::{AnyString, Arguments, Inputs, Outputs, Parameter, ValueFrom};
pub use pod_fields::PodFields;
pub use status::{NodeFlag, NodeStatus, NodeType, Phase, WorkflowCondition, WorkflowStatus};
pub use template::{
    Backoff, ContinueOn, DagTask, DagTemplate, Loop, Metadata, RetryStrategy, ScriptTemplate, Sequence,
    SuspendTemplate, Template, TemplateKind, TemplateRef, UserContainer, WorkflowStep,
};

use crate::schema;

/// A workflow: templates, an entrypoint and the arguments to run it with.
// kube(printcolumn(...)) repeats keys by design; clippy reads them as duplicates.
#[allow(clippy::duplicated_attributes)]
#[serde_with::skip_serializing_none]
#[derive(CustomResource, Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[kube(
    group = "argoproj.io",
    version = "v1alpha1",
    kind = "Workflow",
    plural = "workflows",
    shortname = "wf",
    category = "argo",
    namespaced,
    status = "WorkflowStatus",
    doc = "A Workflow runs its entrypoint template as Pods (argoproj.io/v1alpha1, compatible with upstream Argo Workflows).",
    printcolumn(
        name = "Status",
        type_ = "string",
        json_path = ".status.phase",
        description = "Phase of the workflow"
    ),
    printcolumn(
        name = "Age",
        type_ = "date",
        json_path = ".metadata.creationTimestamp",
        description = "When the workflow was created"
    ),
    printcolumn(
        name = "Progress",
        type_ = "string",
        json_path = ".status.progress",
        description = "Finished/total leaf nodes"
    ),
    printcolumn(
        name = "Message",
        type_ = "string",
        json_path = ".status.message",
        description = "Why the workflow is in its phase"
    ),
    selectable = ".status.phase"
)]
#[serde(rename_all = "camelCase", default)]
pub struct WorkflowSpec {
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub templates: Vec<Template>,
    pub entrypoint: Option<String>,
    pub arguments: Option<Arguments>,
    /// Defaults merged into every template (upstream `templateDefaults`).
    #[schemars(schema_with = "schema::opaque_object")]
    pub template_defaults: Option<Box<Template>>,

    /// A template run when the workflow ends, whatever its phase.
    pub on_exit: Option<String>,
    pub active_deadline_seconds: Option<i64>,
    /// At most this many pods of the workflow run at once.
    pub parallelism: Option<i64>,
    /// Retry strategy for every template that has none.
    pub retry_strategy: Option<RetryStrategy>,
    /// True pauses the workflow: no new pods start until it is false again.
    pub suspend: Option<bool>,
    /// `Stop` (exit handlers still run) or `Terminate` (they do not).
    pub shutdown: Option<String>,
    #[serde(rename = "podGC")]
    pub pod_gc: Option<PodGc>,
    pub ttl_strategy: Option<TtlStrategy>,
    /// Scheduling priority among workflows (higher first).
    pub priority: Option<i32>,
    /// Labels and annotations copied onto the Workflow object itself.
    pub workflow_metadata: Option<Metadata>,
    /// Run a WorkflowTemplate's spec, this spec's fields over it.
    pub workflow_template_ref: Option<WorkflowTemplateRef>,

    /// Pod-level fields for every pod; a template's own take precedence.
    #[serde(flatten)]
    pub pod: PodFields,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    #[schemars(schema_with = "schema::opaque_object_list")]
    pub image_pull_secrets: Vec<LocalObjectReference>,
    pub host_network: Option<bool>,
    pub dns_policy: Option<String>,
    #[schemars(schema_with = "schema::opaque_object")]
    pub dns_config: Option<PodDNSConfig>,
    /// Labels and annotations added to every pod.
    pub pod_metadata: Option<Metadata>,
    pub pod_priority_class_name: Option<String>,
}

/// `workflowTemplateRef`: the WorkflowTemplate (or ClusterWorkflowTemplate)
/// whose spec the workflow runs.
#[serde_with::skip_serializing_none]
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct WorkflowTemplateRef {
    pub name: String,
    pub cluster_scope: Option<bool>,
}

/// When the controller deletes a workflow's pods.
#[serde_with::skip_serializing_none]
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", default)]
pub struct PodGc {
    /// OnPodCompletion, OnPodSuccess, OnWorkflowCompletion or OnWorkflowSuccess.
    pub strategy: Option<String>,
    /// Only pods matching this selector are deleted.
    #[schemars(schema_with = "schema::opaque_object")]
    pub label_selector: Option<LabelSelector>,
    /// Waits this long (a duration such as `30s`) before deleting.
    pub delete_delay_duration: Option<String>,
}

/// When the controller deletes a finished workflow.
#[serde_with::skip_serializing_none]
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", default)]
pub struct TtlStrategy {
    pub seconds_after_completion: Option<i32>,
    pub seconds_after_success: Option<i32>,
    pub seconds_after_failure: Option<i32>,
}
