//! `WorkflowProject`: the Argo CD AppProject idea applied to workflows.
//! A cluster-scoped policy saying where a project's workflows may run, who
//! may submit them, what their pods may do, and which defaults they get.

use std::collections::BTreeMap;

use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use kube::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::schema;

/// The project for namespaces no other project covers: it ships with the
/// install (and allows everything a baseline pod may do).
pub const DEFAULT_PROJECT: &str = "default";

/// Glob lists below use `*` and `?`; an entry starting with `!` denies.
/// A value is allowed when some allow entry matches and no deny entry does.
// kube(printcolumn(...)) repeats keys by design; clippy reads them as duplicates.
#[allow(clippy::duplicated_attributes)]
#[serde_with::skip_serializing_none]
#[derive(CustomResource, Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[kube(
    group = "argoproj.io",
    version = "v1alpha1",
    kind = "WorkflowProject",
    plural = "workflowprojects",
    shortname = "wfproj",
    category = "argo",
    doc = "A WorkflowProject scopes workflows: where they run, who submits them, what their pods may do, and their defaults.",
    printcolumn(
        name = "Namespaces",
        type_ = "string",
        json_path = ".spec.namespaces",
        description = "Namespaces whose workflows belong to the project"
    ),
    printcolumn(
        name = "Age",
        type_ = "date",
        json_path = ".metadata.creationTimestamp",
        description = "When the project was created"
    ),
    printcolumn(
        name = "Description",
        type_ = "string",
        json_path = ".spec.description",
        priority = 1,
        description = "What the project is for"
    )
)]
#[serde(rename_all = "camelCase", default)]
pub struct WorkflowProjectSpec {
    pub description: Option<String>,
    /// Namespaces whose workflows belong to this project. A project with no
    /// namespaces owns none.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub namespaces: Vec<String>,
    /// Who may submit workflows to the project; anyone when absent.
    pub submitters: Option<Submitters>,
    /// Service accounts the workflow's pods may run as; any when empty.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub service_accounts: Vec<String>,
    /// Images containers may use; any when empty.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub images: Vec<String>,
    /// Registries (`host` or `host:port` globs, `!` to deny) the controller
    /// may read an image's configuration from, to run an image used without
    /// `command` under argo-exec. When empty: any registry named by a DNS
    /// name, but no IP address, `localhost`, name without a dot, or cluster
    /// name (`*.svc`, `*.cluster.local`, `*.local`, `*.internal`). An image
    /// whose registry is not allowed runs without argo-exec (no `result`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub lookup_registries: Vec<String>,
    /// The Pod Security Standards level pods must meet (`baseline` when
    /// absent), and the exceptions the project grants.
    pub security: Option<SecurityPolicy>,
    /// Resources every container must set a limit for, e.g. `[cpu, memory]`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub required_limits: Vec<String>,
    /// The most any one container may request or be limited to, e.g.
    /// `{cpu: "4", memory: 8Gi}`.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    #[schemars(schema_with = "schema::quantity_map")]
    pub max_limits: BTreeMap<String, Quantity>,
    pub max_parallelism: Option<i64>,
    pub max_active_deadline_seconds: Option<i64>,
    /// Template kinds allowed: container, script, steps, dag, suspend; all
    /// when empty.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub template_types: Vec<String>,
    /// WorkflowTemplates (of the workflow's namespace) its workflows may
    /// reference, by name glob, `!` to deny; empty allows them all.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub workflow_templates: Vec<String>,
    /// ClusterWorkflowTemplates its workflows may reference, by name glob,
    /// `!` to deny; empty allows none (they are another team's code).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub cluster_workflow_templates: Vec<String>,
    /// A partial Workflow (`metadata` labels and annotations, and `spec`)
    /// merged under each workflow's own values (upstream's
    /// `workflowDefaults`).
    #[schemars(schema_with = "schema::opaque_object")]
    pub workflow_defaults: Option<serde_json::Map<String, serde_json::Value>>,
    /// A partial template merged under every container and script template
    /// (upstream's `templateDefaults`), e.g. a default `retryStrategy`.
    #[schemars(schema_with = "schema::opaque_object")]
    pub template_defaults: Option<serde_json::Map<String, serde_json::Value>>,
}

#[serde_with::skip_serializing_none]
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", default)]
pub struct Submitters {
    /// User names (`userInfo.username`) as globs.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub users: Vec<String>,
    /// Groups (`userInfo.groups`) as globs.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub groups: Vec<String>,
    /// Service accounts as `namespace:name` globs.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub service_accounts: Vec<String>,
}

#[serde_with::skip_serializing_none]
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", default)]
pub struct SecurityPolicy {
    /// The Kubernetes Pod Security Standards level every pod must meet:
    /// privileged (anything), baseline (the default) or restricted.
    pub level: Option<SecurityLevel>,
    /// Exception: privileged containers, whatever the level.
    pub allow_privileged: Option<bool>,
    /// Exception: hostNetwork, hostPID and hostIPC, whatever the level.
    pub allow_host_namespaces: Option<bool>,
    /// Exception: hostPath volumes, whatever the level.
    pub allow_host_path: Option<bool>,
}

/// A Pod Security Standards profile
/// (https://kubernetes.io/docs/concepts/security/pod-security-standards/).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum SecurityLevel {
    Privileged,
    #[default]
    Baseline,
    Restricted,
}

impl SecurityLevel {
    pub fn as_str(self) -> &'static str {
        match self {
            SecurityLevel::Privileged => "privileged",
            SecurityLevel::Baseline => "baseline",
            SecurityLevel::Restricted => "restricted",
        }
    }
}
