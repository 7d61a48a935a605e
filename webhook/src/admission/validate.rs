//! `/validate`: structure, supported features and project rules for
//! Workflows (the same decision as `/mutate`, the controller and `kubectl
//! argo lint`); shape and consistency for WorkflowProjects. One denial
//! lists every problem with its field path.

use argo_api::policy::{self, Operation, Subject};
use argo_api::{Problem, load};
use kube::core::DynamicObject;
use kube::core::admission::{self, AdmissionRequest, AdmissionResponse};

use super::{Admission, NOT_SYNCED, Objects, deny, kind, request, with_warnings};

pub fn decide(req: &AdmissionRequest<DynamicObject>, o: &Objects, s: &Admission) -> AdmissionResponse {
    let operation = match req.operation {
        admission::Operation::Create => Operation::Create,
        admission::Operation::Update => Operation::Update,
        _ => return AdmissionResponse::from(req),
    };
    match kind(req) {
        Some("Workflow") => workflow(req, o, operation, s),
        Some("WorkflowProject") => project(req, o),
        Some(k @ ("WorkflowTemplate" | "ClusterWorkflowTemplate" | "CronWorkflow")) => {
            other_kind(req, o, k, operation, s)
        }
        _ => AdmissionResponse::from(req),
    }
}

fn workflow(
    req: &AdmissionRequest<DynamicObject>,
    o: &Objects,
    operation: Operation,
    s: &Admission,
) -> AdmissionResponse {
    // Fail closed: without the projects nothing can be decided, on any path.
    let Some(projects) = s.projects.projects() else {
        return AdmissionResponse::from(req).deny(NOT_SYNCED);
    };
    let subject = Subject::Workflow {
        operation,
        object: &o.object,
        old: Some(&o.old),
        defaulted: true,
    };
    let decision = policy::decide(&request(req, subject, &projects, s));
    let what = match operation {
        Operation::Create => "workflow refused",
        Operation::Update => "update refused",
    };
    let response = if decision.allowed() {
        AdmissionResponse::from(req)
    } else {
        deny(req, what, &decision.problems)
    };
    with_warnings(response, &decision.warnings)
}

/// WorkflowTemplates and CronWorkflows, checked as the workflows they
/// will make would be.
fn other_kind(
    req: &AdmissionRequest<DynamicObject>,
    o: &Objects,
    kind: &str,
    operation: Operation,
    s: &Admission,
) -> AdmissionResponse {
    let Some(projects) = s.projects.projects() else {
        return AdmissionResponse::from(req).deny(NOT_SYNCED);
    };
    let object = &o.object;
    let subject = match kind {
        "CronWorkflow" => Subject::Cron { object, operation },
        _ => Subject::Template {
            object,
            cluster: kind == "ClusterWorkflowTemplate",
        },
    };
    let decision = policy::decide(&request(req, subject, &projects, s));
    let response = if decision.allowed() {
        AdmissionResponse::from(req)
    } else {
        deny(req, &format!("{kind} refused"), &decision.problems)
    };
    with_warnings(response, &decision.warnings)
}

fn project(req: &AdmissionRequest<DynamicObject>, o: &Objects) -> AdmissionResponse {
    let problems = match load::workflow_project(&o.object) {
        Ok(p) => policy::validate_project(&p),
        Err(e) => problems_of(e),
    };
    if problems.is_empty() {
        AdmissionResponse::from(req)
    } else {
        deny(req, "WorkflowProject refused", &problems)
    }
}

fn problems_of(e: argo_api::Error) -> Vec<Problem> {
    match e {
        argo_api::Error::Invalid(p) => p,
        other => vec![Problem::new("", other.to_string())],
    }
}
