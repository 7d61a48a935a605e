//! The status the controller writes, shaped like upstream's so that tools
//! built for upstream (the argo CLI, the UI, dashboards) can read it.

use std::collections::BTreeMap;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use strum::{Display, IntoStaticStr};

use super::params::{Inputs, Outputs};

/// Phase of a workflow (Pending..Error) or of a node (all of them).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema, IntoStaticStr, Display)]
pub enum Phase {
    Pending,
    Running,
    Succeeded,
    Skipped,
    Failed,
    Error,
    Omitted,
}

impl Phase {
    /// True once nothing about the node or workflow will change any more.
    pub fn is_completed(self) -> bool {
        !matches!(self, Phase::Pending | Phase::Running)
    }

    pub fn failed_or_error(self) -> bool {
        matches!(self, Phase::Failed | Phase::Error)
    }

    pub fn as_str(self) -> &'static str {
        self.into()
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema, IntoStaticStr, Display)]
pub enum NodeType {
    Pod,
    Container,
    Steps,
    StepGroup,
    #[serde(rename = "DAG")]
    #[strum(serialize = "DAG")]
    Dag,
    TaskGroup,
    Retry,
    Skipped,
    Suspend,
}

impl NodeType {
    pub fn as_str(self) -> &'static str {
        self.into()
    }
}

#[serde_with::skip_serializing_none]
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", default)]
pub struct WorkflowStatus {
    pub phase: Option<Phase>,
    pub started_at: Option<Time>,
    pub finished_at: Option<Time>,
    /// Finished leaf nodes over all leaf nodes, e.g. `3/4`.
    pub progress: Option<String>,
    pub message: Option<String>,
    /// Output parameters exported with `globalName`.
    pub outputs: Option<Outputs>,
    /// Every node of the workflow, keyed by node id.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub nodes: BTreeMap<String, NodeStatus>,
    /// The nodes as gzip'd JSON in base64, instead of `nodes`, when they do
    /// not fit the object otherwise (upstream's field; see `compress`).
    pub compressed_nodes: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub conditions: Vec<WorkflowCondition>,
    /// Resource usage estimates by resource name, in resource-seconds.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub resources_duration: BTreeMap<String, i64>,
    /// The referenced templates as they were when the workflow started,
    /// keyed `namespaced/<WorkflowTemplate>/<template>` or
    /// `cluster/<ClusterWorkflowTemplate>/<template>`, as upstream's.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    #[schemars(schema_with = "crate::schema::opaque_object")]
    pub stored_templates: BTreeMap<String, super::Template>,
    /// The spec of the `workflowTemplateRef` as it was at the start.
    #[schemars(schema_with = "crate::schema::opaque_object")]
    pub stored_workflow_template_spec: Option<Box<super::WorkflowSpec>>,
    /// The `metadata.generation` of the spec the controller last acted on
    /// (the Kubernetes convention; upstream Argo has no such field).
    pub observed_generation: Option<i64>,
}

#[serde_with::skip_serializing_none]
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct WorkflowCondition {
    #[serde(rename = "type")]
    pub type_: String,
    pub status: String,
    pub message: Option<String>,
}

#[serde_with::skip_serializing_none]
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct NodeStatus {
    pub id: String,
    /// Unique within the workflow, e.g. `wf.A(0:x)` or `wf[0].step`.
    pub name: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub display_name: String,
    #[serde(rename = "type")]
    pub type_: NodeType,
    pub template_name: Option<String>,
    pub template_scope: Option<String>,
    pub phase: Phase,
    /// The id of the steps/DAG node this node belongs to.
    #[serde(rename = "boundaryID")]
    pub boundary_id: Option<String>,
    pub message: Option<String>,
    pub started_at: Option<Time>,
    pub finished_at: Option<Time>,
    pub progress: Option<String>,
    pub inputs: Option<Inputs>,
    pub outputs: Option<Outputs>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub children: Vec<String>,
    /// The leaf nodes whose results are this node's result.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub outbound_nodes: Vec<String>,
    pub host_node_name: Option<String>,
    #[serde(rename = "podIP")]
    pub pod_ip: Option<String>,
    /// The pod that runs a Pod node (upstream derives it from the id).
    pub pod_name: Option<String>,
    pub node_flag: Option<NodeFlag>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub resources_duration: BTreeMap<String, i64>,
}

#[serde_with::skip_serializing_none]
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", default)]
pub struct NodeFlag {
    /// The node is an attempt made by a retry.
    pub retried: Option<bool>,
    /// The node runs a lifecycle hook (an exit handler).
    pub hooked: Option<bool>,
}
