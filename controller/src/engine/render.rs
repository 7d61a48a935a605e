//! Rendering the pod of a Pod node: the workflow's pod-level fields with
//! its global variables substituted, under the node's substituted template
//! (the layout itself is `argo_api::pod`, shared with admission).

use std::collections::BTreeMap;

use argo_api::pod::{self, Node, Owner, Patches};
use argo_api::policy;
use argo_api::vars::{self, Mode, Scope};
use argo_api::workflow::{Template, WorkflowSpec};
use k8s_openapi::api::core::v1::Pod;

use super::ctx::Ctx;

impl Ctx<'_> {
    /// The pod to create: rendered, decided against the project, then run
    /// under `argo-exec` (this project's part, outside the tenant's rules).
    pub fn pod_to_create(
        &self,
        node_name: &str,
        node_id: &str,
        pod_name: &str,
        tmpl: &Template,
        tname: Option<&str>,
        boundary: &Option<String>,
    ) -> Result<Pod, String> {
        let world = self.world;
        let spec = world.pod_level.get_or_init(|| pod_level(world.spec, &world.globals)).as_ref()?;
        let owner = Owner {
            name: world.name,
            namespace: world.wf.metadata.namespace.as_deref(),
            uid: world.wf.metadata.uid.as_deref().unwrap_or_default(),
        };
        let node = Node {
            name: node_name,
            id: node_id,
            pod_name,
            template_name: tname,
            boundary: boundary.as_deref(),
        };
        let mut pod = pod::render(owner, node, spec, tmpl, Patches::Apply)?;
        if let Some(why) = self.refused_by_project(&pod) {
            return Err(why);
        }
        let files: BTreeMap<String, String> = tmpl
            .outputs
            .iter()
            .flat_map(|o| &o.parameters)
            .filter_map(|p| Some((p.name.clone(), p.value_from.as_ref()?.path.clone()?)))
            .collect();
        world.executor.wrap(&mut pod, &files).map_err(|e| format!("{pod_name}: {e}"))?;
        Ok(pod)
    }

    /// Why this pod, as rendered, may not be created: the same decision
    /// admission makes, on the final values.
    fn refused_by_project(&self, pod: &Pod) -> Option<String> {
        let namespace = self.world.wf.metadata.namespace.as_deref().unwrap_or_default();
        let decision = policy::decide(&policy::Request {
            subject: policy::Subject::Pod(pod),
            namespace,
            user: None,
            projects: self.world.projects,
            templates: &argo_api::templates::NoTemplates,
        });
        if decision.allowed() {
            return None;
        }
        let list: Vec<String> = decision.problems.iter().map(ToString::to_string).collect();
        Some(match decision.project {
            Some(name) => format!("pod refused by project {name:?}: {}", list.join("; ")),
            None => format!("pod not created: {}", list.join("; ")),
        })
    }
}

/// The workflow's pod-level fields (service account, volumes, security
/// context, podSpecPatch...) with `{{workflow.*}}` substituted, as upstream
/// substitutes global variables into the whole spec.
fn pod_level(spec: &WorkflowSpec, globals: &Scope) -> Result<WorkflowSpec, String> {
    let fields = WorkflowSpec {
        pod: spec.pod.clone(),
        image_pull_secrets: spec.image_pull_secrets.clone(),
        host_network: spec.host_network,
        dns_policy: spec.dns_policy.clone(),
        dns_config: spec.dns_config.clone(),
        pod_metadata: spec.pod_metadata.clone(),
        pod_priority_class_name: spec.pod_priority_class_name.clone(),
        ..WorkflowSpec::default()
    };
    vars::replace_in(&fields, globals, Mode::Strict).map_err(|e| format!("spec: {e}"))
}
