//! The pod-level fields a workflow sets for every pod and a template sets
//! for its own: upstream declares them twice (WorkflowSpec and Template)
//! with the same names, so both flatten this one struct.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{Affinity, HostAlias, PodSecurityContext, Toleration, Volume};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::schema;

#[serde_with::skip_serializing_none]
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", default)]
pub struct PodFields {
    pub service_account_name: Option<String>,
    pub automount_service_account_token: Option<bool>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    #[schemars(schema_with = "schema::opaque_object_list")]
    pub volumes: Vec<Volume>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    #[schemars(schema_with = "schema::string_map")]
    pub node_selector: BTreeMap<String, String>,
    #[schemars(schema_with = "schema::opaque_object")]
    pub affinity: Option<Affinity>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    #[schemars(schema_with = "schema::opaque_object_list")]
    pub tolerations: Vec<Toleration>,
    #[schemars(schema_with = "schema::opaque_object")]
    pub security_context: Option<PodSecurityContext>,
    /// A strategic-merge patch (YAML or JSON) applied to the rendered pod:
    /// the workflow's to every pod, then the template's to its own.
    pub pod_spec_patch: Option<String>,
    pub scheduler_name: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    #[schemars(schema_with = "schema::opaque_object_list")]
    pub host_aliases: Vec<HostAlias>,
}

impl PodFields {
    /// These fields (a template's) over `workflow`'s, as upstream merges
    /// them: a template's value wins; node selectors merge key by key;
    /// volumes and host aliases add up; the patches are kept apart since
    /// both apply, in order.
    pub fn over(&self, workflow: &PodFields) -> PodFields {
        let mut node_selector = workflow.node_selector.clone();
        node_selector.extend(self.node_selector.clone());
        let either = |mine: &Option<String>, theirs: &Option<String>| mine.clone().or_else(|| theirs.clone());
        PodFields {
            service_account_name: either(&self.service_account_name, &workflow.service_account_name),
            automount_service_account_token: self
                .automount_service_account_token
                .or(workflow.automount_service_account_token),
            volumes: workflow.volumes.iter().chain(&self.volumes).cloned().collect(),
            node_selector,
            affinity: self.affinity.clone().or_else(|| workflow.affinity.clone()),
            tolerations: if self.tolerations.is_empty() {
                workflow.tolerations.clone()
            } else {
                self.tolerations.clone()
            },
            security_context: self.security_context.clone().or_else(|| workflow.security_context.clone()),
            pod_spec_patch: None,
            scheduler_name: either(&self.scheduler_name, &workflow.scheduler_name),
            host_aliases: workflow.host_aliases.iter().chain(&self.host_aliases).cloned().collect(),
        }
    }
}
