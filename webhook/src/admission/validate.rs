//! `/validate`: structure, supported features and project rules for
//! Workflows; shape and consistency for WorkflowProjects. One denial lists
//! every problem with its field path.

use argo_api::{Problem, load, policy, validate};
use kube::core::DynamicObject;
use kube::core::admission::{AdmissionRequest, AdmissionResponse, Operation};
use serde_json::Value;

use super::{Admission, deny, kind, with_warnings};

pub fn decide(req: &AdmissionRequest<DynamicObject>, s: &Admission) -> AdmissionResponse {
    match (kind(req), &req.operation) {
        (Some("Workflow"), Operation::Create) => workflow_create(req, s),
        (Some("Workflow"), Operation::Update) => workflow_update(req, s),
        (Some("WorkflowProject"), Operation::Create | Operation::Update) => project(req),
        _ => AdmissionResponse::from(req),
    }
}

fn value(obj: Option<&DynamicObject>) -> Value {
    obj.and_then(|o| serde_json::to_value(o).ok()).unwrap_or(Value::Null)
}

fn workflow_create(req: &AdmissionRequest<DynamicObject>, s: &Admission) -> AdmissionResponse {
    let v = value(req.object.as_ref());
    let (wf, warnings) = match load::workflow_with_warnings(&v) {
        Ok(x) => x,
        Err(e) => return deny(req, "workflow refused", &problems_of(e)),
    };
    let mut problems = validate::workflow(&wf);
    let Some(projects) = s.projects.projects() else {
        return AdmissionResponse::from(req)
            .deny("the webhook's WorkflowProject cache is not synced yet; retry in a moment");
    };
    let namespace = req.namespace.clone().or_else(|| wf.metadata.namespace.clone()).unwrap_or_default();
    let labels = wf.metadata.labels.as_ref();
    match policy::project_for(&projects, labels, &namespace, &s.default_project) {
        Some(project) => problems.extend(policy::check_workflow(&wf, project, &namespace, Some(&req.user_info))),
        None => problems.push(match labels.and_then(|l| l.get(argo_api::project::PROJECT_LABEL)) {
            Some(name) => Problem::new(
                format!("metadata.labels[{:?}]", argo_api::project::PROJECT_LABEL),
                format!("there is no WorkflowProject named {name:?}"),
            ),
            None => Problem::new(
                "metadata.namespace",
                format!(
                    "no WorkflowProject covers namespace {namespace:?}, and there is no {:?} project",
                    s.default_project
                ),
            ),
        }),
    }
    if problems.is_empty() {
        with_warnings(AdmissionResponse::from(req), &warnings)
    } else {
        with_warnings(deny(req, "workflow refused", &problems), &warnings)
    }
}

fn workflow_update(req: &AdmissionRequest<DynamicObject>, s: &Admission) -> AdmissionResponse {
    let (old, new) = (value(req.old_object.as_ref()), value(req.object.as_ref()));
    let mut problems = policy::check_update(&old, &new);
    // A new deadline must still be within the project's maximum.
    let ads = |v: &Value| v.pointer("/spec/activeDeadlineSeconds").and_then(Value::as_i64);
    if ads(&old) != ads(&new)
        && let (Some(new_ads), Some(projects)) = (ads(&new), s.projects.projects())
    {
        let namespace = req.namespace.clone().unwrap_or_default();
        let labels = req.object.as_ref().and_then(|o| o.metadata.labels.as_ref());
        let project = policy::project_for(&projects, labels, &namespace, &s.default_project);
        if let Some(max) = project.and_then(|p| p.spec.max_active_deadline_seconds).filter(|max| new_ads > *max) {
            problems.push(Problem::new(
                "spec.activeDeadlineSeconds",
                format!("{new_ads} is more than the project allows ({max})"),
            ));
        }
    }
    if problems.is_empty() {
        AdmissionResponse::from(req)
    } else {
        deny(req, "update refused", &problems)
    }
}

fn project(req: &AdmissionRequest<DynamicObject>) -> AdmissionResponse {
    let v = value(req.object.as_ref());
    let problems = match load::workflow_project(&v) {
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
