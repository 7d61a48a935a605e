//! Templates and what they are made of: containers, scripts, steps, DAGs,
//! suspends, retries and loops.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::Container;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::params::{AnyString, Arguments, Inputs, Outputs};
use super::pod_fields::PodFields;
use crate::schema;

/// One template: exactly one of `container`, `script`, `steps`, `dag` or
/// `suspend` says what it does.
#[serde_with::skip_serializing_none]
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", default)]
pub struct Template {
    /// Unique within the workflow; optional only for inline templates.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub name: String,
    pub inputs: Option<Inputs>,
    pub outputs: Option<Outputs>,
    /// Labels and annotations for the template's pod.
    pub metadata: Option<Metadata>,
    /// Annotations of the template itself, such as
    /// `workflows.argoproj.io/display-name` for its nodes.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    #[schemars(schema_with = "schema::string_map")]
    pub annotations: BTreeMap<String, String>,

    #[schemars(schema_with = "schema::opaque_object")]
    pub container: Option<Container>,
    #[schemars(schema_with = "schema::opaque_object")]
    pub script: Option<ScriptTemplate>,
    /// Outer list runs in sequence, each inner list in parallel.
    pub steps: Option<Vec<Vec<WorkflowStep>>>,
    pub dag: Option<DagTemplate>,
    pub suspend: Option<SuspendTemplate>,

    pub retry_strategy: Option<RetryStrategy>,
    /// Seconds, or a `{{...}}` expression, upstream's IntOrString.
    #[schemars(schema_with = "schema::int_or_string")]
    pub active_deadline_seconds: Option<IntOrString>,
    /// A duration such as `30s`; for leaf templates only.
    pub timeout: Option<String>,
    pub parallelism: Option<i64>,
    /// For `steps`: stop scheduling new steps after one fails (default true).
    pub fail_fast: Option<bool>,

    /// Pod-level fields of this template's pod, over the workflow's.
    #[serde(flatten)]
    pub pod: PodFields,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    #[schemars(schema_with = "schema::opaque_object_list")]
    pub init_containers: Vec<UserContainer>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    #[schemars(schema_with = "schema::opaque_object_list")]
    pub sidecars: Vec<UserContainer>,
    pub priority_class_name: Option<String>,
}

/// Labels and annotations (of a template's pod, or of every pod).
#[serde_with::skip_serializing_none]
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", default)]
pub struct Metadata {
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    #[schemars(schema_with = "schema::string_map")]
    pub labels: BTreeMap<String, String>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    #[schemars(schema_with = "schema::string_map")]
    pub annotations: BTreeMap<String, String>,
}

/// A container whose `source` is written to a file and passed to `command`
/// (upstream's ScriptTemplate).
#[serde_with::skip_serializing_none]
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ScriptTemplate {
    #[serde(flatten)]
    pub container: Container,
    #[serde(default)]
    pub source: String,
}

/// An init container or sidecar (upstream's UserContainer).
#[serde_with::skip_serializing_none]
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UserContainer {
    #[serde(flatten)]
    pub container: Container,
    /// Mount the main container's volumes here too.
    pub mirror_volume_mounts: Option<bool>,
}

#[serde_with::skip_serializing_none]
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct DagTemplate {
    pub tasks: Vec<DagTask>,
    /// Space-separated task names to run (with their dependencies) instead
    /// of the whole DAG.
    pub target: Option<String>,
    /// Stop scheduling new tasks once one fails (default true).
    pub fail_fast: Option<bool>,
}

/// A DAG task: a step that says what it waits for instead of where it
/// stands in a sequence.
#[serde_with::skip_serializing_none]
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct DagTask {
    #[serde(flatten)]
    pub step: WorkflowStep,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub dependencies: Vec<String>,
    /// An expression over other tasks' results, e.g. `A.Succeeded || B`.
    pub depends: Option<String>,
}

/// One step: which template to run (by name or inline), with what
/// arguments, how many times, when, and what runs after it.
#[serde_with::skip_serializing_none]
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct WorkflowStep {
    pub name: String,
    pub template: Option<String>,
    /// A template of a WorkflowTemplate (or ClusterWorkflowTemplate).
    pub template_ref: Option<TemplateRef>,
    // A schema of its own hides the Option from schemars: default keeps
    // the field optional in the CRD.
    #[serde(default)]
    #[schemars(schema_with = "schema::opaque_object")]
    pub inline: Option<Box<Template>>,
    pub arguments: Option<Arguments>,
    #[serde(flatten)]
    pub looping: Loop,
    pub when: Option<String>,
    pub continue_on: Option<ContinueOn>,
    /// A template to run when this step ends.
    pub on_exit: Option<String>,
}

/// `templateRef`: template `template` of WorkflowTemplate `name` (in the
/// workflow's namespace), or of ClusterWorkflowTemplate `name`.
#[serde_with::skip_serializing_none]
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct TemplateRef {
    pub name: String,
    pub template: String,
    pub cluster_scope: Option<bool>,
}

/// The three ways a step or task fans out; at most one may be set.
#[serde_with::skip_serializing_none]
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", default)]
pub struct Loop {
    #[schemars(schema_with = "schema::any_value_list")]
    pub with_items: Option<Vec<serde_json::Value>>,
    /// A JSON array, literally or from a `{{...}}` reference.
    pub with_param: Option<String>,
    pub with_sequence: Option<Sequence>,
}

#[serde_with::skip_serializing_none]
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", default)]
pub struct Sequence {
    #[schemars(schema_with = "schema::int_or_string")]
    pub count: Option<IntOrString>,
    #[schemars(schema_with = "schema::int_or_string")]
    pub start: Option<IntOrString>,
    #[schemars(schema_with = "schema::int_or_string")]
    pub end: Option<IntOrString>,
    /// A printf-style format such as `test%02X`.
    pub format: Option<String>,
}

/// Keep going when a step or task fails or errors.
#[serde_with::skip_serializing_none]
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", default)]
pub struct ContinueOn {
    pub error: Option<bool>,
    pub failed: Option<bool>,
}

/// Waits for a duration, or until resumed when none is given.
#[serde_with::skip_serializing_none]
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", default)]
pub struct SuspendTemplate {
    /// Seconds (`"20"`) or a duration (`"2m"`).
    pub duration: Option<AnyString>,
}

#[serde_with::skip_serializing_none]
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", default)]
pub struct RetryStrategy {
    /// Retries after the first attempt; unlimited when absent.
    #[schemars(schema_with = "schema::int_or_string")]
    pub limit: Option<IntOrString>,
    /// Always, OnFailure (the default), OnError or OnTransientError.
    pub retry_policy: Option<String>,
    pub backoff: Option<Backoff>,
    /// Retry only while this expression (expr-lang, over `lastRetry.exitCode`,
    /// `.status`, `.duration` and `.message`) is true.
    pub expression: Option<String>,
}

#[serde_with::skip_serializing_none]
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", default)]
pub struct Backoff {
    /// Seconds (`"10"`) or a duration (`"2m"`) before the first retry.
    #[schemars(schema_with = "schema::int_or_string")]
    pub duration: Option<IntOrString>,
    /// Multiplies the delay after each retry.
    #[schemars(schema_with = "schema::int_or_string")]
    pub factor: Option<IntOrString>,
    /// No retry starts this long after the first attempt.
    #[schemars(schema_with = "schema::int_or_string")]
    pub max_duration: Option<IntOrString>,
    /// The longest single delay.
    #[schemars(schema_with = "schema::int_or_string")]
    pub cap: Option<IntOrString>,
}

/// What a template does.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum TemplateKind {
    Container,
    Script,
    Steps,
    Dag,
    Suspend,
}

impl TemplateKind {
    pub fn as_str(self) -> &'static str {
        match self {
            TemplateKind::Container => "container",
            TemplateKind::Script => "script",
            TemplateKind::Steps => "steps",
            TemplateKind::Dag => "dag",
            TemplateKind::Suspend => "suspend",
        }
    }

    /// Container and script templates run as a pod.
    pub fn is_pod(self) -> bool {
        matches!(self, TemplateKind::Container | TemplateKind::Script)
    }
}

impl Template {
    /// Every kind this template declares; a valid template has exactly one.
    pub fn kinds(&self) -> Vec<TemplateKind> {
        let mut out = Vec::new();
        if self.container.is_some() {
            out.push(TemplateKind::Container);
        }
        if self.script.is_some() {
            out.push(TemplateKind::Script);
        }
        if self.steps.is_some() {
            out.push(TemplateKind::Steps);
        }
        if self.dag.is_some() {
            out.push(TemplateKind::Dag);
        }
        if self.suspend.is_some() {
            out.push(TemplateKind::Suspend);
        }
        out
    }

    /// The template's kind when it declares exactly one.
    pub fn kind(&self) -> Option<TemplateKind> {
        match self.kinds().as_slice() {
            [k] => Some(*k),
            _ => None,
        }
    }

    /// The input parameter named `name`.
    pub fn input(&self, name: &str) -> Option<&super::Parameter> {
        self.inputs.as_ref()?.parameters.iter().find(|p| p.name == name)
    }
}

impl Loop {
    pub fn is_set(&self) -> bool {
        self.with_items.is_some() || self.with_param.is_some() || self.with_sequence.is_some()
    }
}

impl ContinueOn {
    /// Does it let a node that ended in `phase` count as done?
    pub fn covers(&self, phase: super::Phase) -> bool {
        (phase == super::Phase::Failed && self.failed()) || (phase == super::Phase::Error && self.error())
    }

    pub fn failed(&self) -> bool {
        self.failed.unwrap_or(false)
    }
    pub fn error(&self) -> bool {
        self.error.unwrap_or(false)
    }
}
