//! `/mutate`: on CREATE of a Workflow, the project label and the project's
//! defaults, as an RFC 6902 patch. Idempotent: a second pass adds nothing.

use argo_api::policy;
use kube::core::DynamicObject;
use kube::core::admission::{AdmissionRequest, AdmissionResponse, Operation};

use super::{Admission, kind};

pub fn decide(req: &AdmissionRequest<DynamicObject>, s: &Admission) -> AdmissionResponse {
    let allow = AdmissionResponse::from(req);
    if kind(req) != Some("Workflow") || req.operation != Operation::Create {
        return allow;
    }
    let Some(obj) = &req.object else { return allow };
    let Some(projects) = s.projects.projects() else {
        return allow.deny("the webhook's WorkflowProject cache is not synced yet; retry in a moment");
    };
    let namespace = req.namespace.clone().or_else(|| obj.metadata.namespace.clone()).unwrap_or_default();
    // No project: nothing to add; /validate says why the workflow is refused.
    let Some(project) = policy::project_for(&projects, obj.metadata.labels.as_ref(), &namespace, &s.default_project)
    else {
        return allow;
    };
    let Ok(original) = serde_json::to_value(obj) else {
        return allow;
    };
    let mut mutated = original.clone();
    policy::apply_defaults(&mut mutated, project);
    let patch = json_patch::diff(&original, &mutated);
    if patch.0.is_empty() {
        return allow;
    }
    match allow.clone().with_patch(patch) {
        Ok(r) => r,
        Err(e) => allow.deny(format!("could not encode the defaults patch: {e}")),
    }
}
