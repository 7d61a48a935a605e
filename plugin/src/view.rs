//! What the plugin reads of a stored Workflow: a lenient view that
//! tolerates anything upstream or an older controller may have written
//! (missing phases, unknown node types, extra fields) and skips the rest
//! of the object while parsing, which keeps `list` over thousands fast.

use std::borrow::Cow;
use std::collections::BTreeMap;

use argo_api::workflow::AnyString;
use k8s_openapi::NamespaceResourceScope;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, Time};
use k8s_openapi::jiff::Timestamp;
use serde::Deserialize;
use serde::de::IgnoredAny;

#[derive(Clone, Debug, Default, Deserialize)]
pub struct WorkflowView {
    #[serde(default)]
    pub metadata: ObjectMeta,
    #[serde(default)]
    pub spec: SpecView,
    #[serde(default)]
    pub status: StatusView,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct SpecView {
    pub service_account_name: Option<String>,
    pub arguments: Option<ArgumentsView>,
    pub priority: Option<i64>,
    pub suspend: Option<bool>,
    pub shutdown: Option<String>,
    pub security_context: Option<IgnoredAny>,
    pub workflow_template_ref: Option<IgnoredAny>,
    pub templates: Vec<TemplateView>,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default)]
pub struct ArgumentsView {
    pub parameters: Vec<ParameterView>,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default)]
pub struct ParameterView {
    pub name: String,
    pub value: Option<AnyString>,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct TemplateView {
    pub name: String,
    pub container: Option<IgnoredAny>,
    pub script: Option<IgnoredAny>,
    pub resource: Option<IgnoredAny>,
    pub container_set: Option<IgnoredAny>,
    pub data: Option<IgnoredAny>,
    pub suspend: Option<IgnoredAny>,
    pub outputs: Option<serde_json::Value>,
}

impl TemplateView {
    /// Upstream's IsPodType: the template runs as a pod.
    pub fn is_pod(&self) -> bool {
        self.container.is_some()
            || self.script.is_some()
            || self.resource.is_some()
            || self.container_set.is_some()
            || self.data.is_some()
    }
}

fn unpack_nodes<'de, D: serde::Deserializer<'de>>(d: D) -> Result<BTreeMap<String, NodeView>, D::Error> {
    let Some(packed) = Option::<String>::deserialize(d)? else {
        return Ok(BTreeMap::new());
    };
    let mut status = serde_json::json!({ "compressedNodes": packed });
    argo_api::workflow::compress::unpack_value(&mut status).map_err(serde::de::Error::custom)?;
    serde_json::from_value(status["nodes"].take()).map_err(serde::de::Error::custom)
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct StatusView {
    pub phase: Option<String>,
    pub started_at: Option<Time>,
    pub finished_at: Option<Time>,
    pub estimated_duration: Option<i64>,
    pub progress: Option<String>,
    pub message: Option<String>,
    nodes: BTreeMap<String, NodeView>,
    /// `compressedNodes`, unpacked: the controller stores the nodes so
    /// when they do not fit the object otherwise.
    #[serde(rename = "compressedNodes", deserialize_with = "unpack_nodes")]
    packed_nodes: BTreeMap<String, NodeView>,
    pub outputs: Option<OutputsView>,
    pub conditions: Vec<ConditionView>,
    pub resources_duration: BTreeMap<String, i64>,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ConditionView {
    #[serde(rename = "type")]
    pub type_: String,
    pub status: String,
    pub message: Option<String>,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct NodeView {
    pub id: String,
    pub name: String,
    pub display_name: String,
    #[serde(rename = "type")]
    pub type_: String,
    pub template_name: Option<String>,
    pub template_ref: Option<TemplateRefView>,
    pub phase: Option<String>,
    #[serde(rename = "boundaryID")]
    pub boundary_id: Option<String>,
    pub message: Option<String>,
    pub started_at: Option<Time>,
    pub finished_at: Option<Time>,
    pub children: Vec<String>,
    pub host_node_name: Option<String>,
    pub pod_name: Option<String>,
    pub inputs: Option<ArgumentsView>,
    pub outputs: Option<OutputsView>,
    pub resources_duration: BTreeMap<String, i64>,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default)]
pub struct TemplateRefView {
    pub name: String,
    pub template: String,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default)]
pub struct OutputsView {
    pub artifacts: Vec<ParameterView>,
    pub parameters: Vec<ParameterView>,
    pub result: Option<String>,
}

impl argo_api::selector::SelectableNode for NodeView {
    fn name(&self) -> &str {
        &self.name
    }

    fn display_name(&self) -> &str {
        &self.display_name
    }

    fn template_name(&self) -> Option<&str> {
        self.template_name.as_deref()
    }

    fn phase(&self) -> Option<&str> {
        self.phase.as_deref()
    }

    fn id(&self) -> &str {
        &self.id
    }

    fn type_name(&self) -> &str {
        &self.type_
    }

    fn template_ref(&self) -> Option<(&str, &str)> {
        self.template_ref.as_ref().map(|r| (r.name.as_str(), r.template.as_str()))
    }

    fn input(&self, name: &str) -> Option<&str> {
        let p = self.inputs.as_ref()?.parameters.iter().find(|p| p.name == name)?;
        p.value.as_ref().map(|v| v.0.as_str())
    }
}

impl NodeView {
    pub fn phase(&self) -> &str {
        self.phase.as_deref().unwrap_or("")
    }

    pub fn is_active_suspend(&self) -> bool {
        self.type_ == "Suspend" && self.phase() == "Running"
    }

    pub fn template(&self) -> String {
        match &self.template_ref {
            Some(r) => format!("{}/{}", r.name, r.template),
            // A referenced template, resolved (`namespaced/lib/x`): shown
            // as upstream shows a templateRef, `lib/x`.
            None => {
                let name = self.template_name.as_deref().unwrap_or_default();
                let unscoped = name.strip_prefix("namespaced/").or_else(|| name.strip_prefix("cluster/"));
                unscoped.filter(|_| name.matches('/').count() == 2).unwrap_or(name).to_owned()
            }
        }
    }

    pub fn started(&self) -> Option<Timestamp> {
        self.started_at.as_ref().map(|t| t.0)
    }

    pub fn finished(&self) -> Option<Timestamp> {
        self.finished_at.as_ref().map(|t| t.0)
    }

    /// The pod of a Pod node: recorded by our controller, else derived
    /// as upstream names pods (v1: the node id; v2: workflow-template-hash).
    pub fn pod(&self, workflow: &str, v1_names: bool) -> String {
        match &self.pod_name {
            Some(p) => p.clone(),
            None if v1_names => self.id.clone(),
            None => argo_api::names::pod_name(workflow, &self.name, self.template_name.as_deref()),
        }
    }

    pub fn is_completed(&self) -> bool {
        matches!(self.phase(), "Succeeded" | "Failed" | "Error" | "Skipped" | "Omitted")
    }
}

impl StatusView {
    /// Every node, however the controller stored them.
    pub fn nodes(&self) -> &BTreeMap<String, NodeView> {
        if self.nodes.is_empty() {
            &self.packed_nodes
        } else {
            &self.nodes
        }
    }
}

impl WorkflowView {
    /// Outputs of suspend templates given when they are resumed.
    pub fn supplied_outputs(&self) -> std::collections::BTreeSet<&str> {
        let suspends = self.spec.templates.iter().filter(|t| t.suspend.is_some());
        let params = suspends.filter_map(|t| t.outputs.as_ref()?.get("parameters")?.as_array()).flatten();
        params
            .filter(|p| p.pointer("/valueFrom/supplied").is_some())
            .filter_map(|p| p.get("name")?.as_str())
            .collect()
    }

    pub fn name(&self) -> &str {
        self.metadata.name.as_deref().unwrap_or("")
    }

    pub fn namespace(&self) -> &str {
        self.metadata.namespace.as_deref().unwrap_or("")
    }

    pub fn phase(&self) -> &str {
        self.status.phase.as_deref().unwrap_or("")
    }

    pub fn v1_pod_names(&self) -> bool {
        v1_pod_names(&self.metadata)
    }

    pub fn is_completed(&self) -> bool {
        matches!(self.phase(), "Succeeded" | "Failed" | "Error")
    }

    pub fn created(&self) -> Option<Timestamp> {
        self.metadata.creation_timestamp.as_ref().map(|t| t.0)
    }

    pub fn started(&self) -> Option<Timestamp> {
        self.status.started_at.as_ref().map(|t| t.0)
    }

    pub fn finished(&self) -> Option<Timestamp> {
        self.status.finished_at.as_ref().map(|t| t.0)
    }

    pub fn parameters(&self) -> &[ParameterView] {
        self.spec.arguments.as_ref().map(|a| a.parameters.as_slice()).unwrap_or_default()
    }

    pub fn is_suspended(&self) -> bool {
        self.spec.suspend == Some(true) || self.status.nodes().values().any(NodeView::is_active_suspend)
    }

    /// Upstream's printer.WorkflowStatus: the phase, qualified.
    pub fn display_status(&self) -> String {
        match self.phase() {
            "Running" if self.is_suspended() => "Running (Suspended)".into(),
            "Failed" if self.spec.shutdown.as_deref().is_some_and(|s| !s.is_empty()) => "Failed (Terminated)".into(),
            "" | "Pending" if self.created().is_some() => "Pending".into(),
            "" | "Pending" => "Unknown".into(),
            other => other.into(),
        }
    }

    /// Pending, running and completed pod nodes (`-o wide`'s P/R/C).
    pub fn pod_counts(&self) -> (usize, usize, usize) {
        let pods: std::collections::HashSet<&str> =
            self.spec.templates.iter().filter(|t| t.is_pod()).map(|t| t.name.as_str()).collect();
        let (mut pending, mut running, mut completed) = (0, 0, 0);
        for node in self.status.nodes().values() {
            if !node.template_name.as_deref().is_some_and(|t| pods.contains(t)) {
                continue;
            }
            if node.is_completed() {
                completed += 1;
            } else if node.phase() == "Running" {
                running += 1;
            } else {
                pending += 1;
            }
        }
        (pending, running, completed)
    }
}

/// Upstream's `workflows.argoproj.io/pod-name-format: v1` annotation.
pub fn v1_pod_names(meta: &ObjectMeta) -> bool {
    meta.annotations
        .as_ref()
        .and_then(|a| a.get("workflows.argoproj.io/pod-name-format"))
        .map(String::as_str)
        == Some("v1")
}

impl kube::Resource for WorkflowView {
    type DynamicType = ();
    type Scope = NamespaceResourceScope;

    fn kind(_: &()) -> Cow<'_, str> {
        "Workflow".into()
    }
    fn group(_: &()) -> Cow<'_, str> {
        "argoproj.io".into()
    }
    fn version(_: &()) -> Cow<'_, str> {
        "v1alpha1".into()
    }
    fn plural(_: &()) -> Cow<'_, str> {
        "workflows".into()
    }
    fn meta(&self) -> &ObjectMeta {
        &self.metadata
    }
    fn meta_mut(&mut self) -> &mut ObjectMeta {
        &mut self.metadata
    }
}
