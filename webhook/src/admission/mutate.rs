//! `/mutate`: on CREATE of a Workflow, the project label and the project's
//! defaults, as an RFC 6902 patch. Idempotent: a second pass adds nothing.
//! What to refuse is `/validate`'s job; both ask the same decision.

use argo_api::policy::{self, Operation, Subject};
use kube::core::DynamicObject;
use kube::core::admission::{AdmissionRequest, AdmissionResponse};

use super::{Admission, NOT_SYNCED, kind, request};

pub fn decide(req: &AdmissionRequest<DynamicObject>, s: &Admission) -> AdmissionResponse {
    let allow = AdmissionResponse::from(req);
    if kind(req) != Some("Workflow") || req.operation != kube::core::admission::Operation::Create {
        return allow;
    }
    let Some(obj) = &req.object else { return allow };
    let Some(projects) = s.projects.projects() else {
        return allow.deny(NOT_SYNCED);
    };
    let Ok(original) = serde_json::to_value(obj) else {
        return allow;
    };
    let subject = Subject::Workflow {
        operation: Operation::Create,
        object: &original,
        old: None,
        defaulted: false,
    };
    let decision = policy::decide(&request(req, subject, &projects, s));
    let Some(defaulted) = decision.defaulted else {
        return allow;
    };
    let patch = json_patch::diff(&original, &defaulted);
    if patch.0.is_empty() {
        return allow;
    }
    match allow.clone().with_patch(patch) {
        Ok(r) => r,
        Err(e) => allow.deny(format!("could not encode the defaults patch: {e}")),
    }
}
