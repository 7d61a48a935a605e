//! `/mutate`: on CREATE of a Workflow, the project label and the project's
//! defaults, as an RFC 6902 patch. Idempotent: a second pass adds nothing.
//! What to refuse is `/validate`'s job; both ask the same decision.

use argo_api::policy::{self, Operation, Subject};
use kube::core::DynamicObject;
use kube::core::admission::{AdmissionRequest, AdmissionResponse};

use super::{Admission, NOT_SYNCED, Objects, kind, request};

pub fn decide(req: &AdmissionRequest<DynamicObject>, o: &Objects, s: &Admission) -> AdmissionResponse {
    let allow = AdmissionResponse::from(req);
    if kind(req) != Some("Workflow") || req.operation != kube::core::admission::Operation::Create {
        return allow;
    }
    if o.object.is_null() {
        return allow;
    }
    let Some(projects) = s.projects.projects() else {
        return allow.deny(NOT_SYNCED);
    };
    let original = &o.object;
    let subject = Subject::Workflow {
        operation: Operation::Create,
        object: original,
        old: None,
        defaulted: false,
    };
    let Some(defaulted) = policy::mutation(&request(req, subject, &projects, s), original) else {
        return allow;
    };
    let patch = json_patch::diff(original, &defaulted);
    if patch.0.is_empty() {
        return allow;
    }
    match allow.clone().with_patch(patch) {
        Ok(r) => r,
        Err(e) => allow.deny(format!("could not encode the defaults patch: {e}")),
    }
}
