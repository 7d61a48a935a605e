//! The one admission decision. The webhook (mutate and validate), `kubectl
//! argo lint --project` and the controller (on every pod it is about to
//! create) all call `decide`, so a rule holds the same on every path.

use k8s_openapi::api::authentication::v1::UserInfo;
use k8s_openapi::api::core::v1::Pod;
use serde_json::Value;

use super::pods::{Tags, check_pod};
use super::projects::Projects;
use super::{defaults, update, workflow};
use crate::keys;
use crate::templates::{self, Source};
use crate::workflow::Workflow;
use crate::{Problem, WorkflowProject, load, validate};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Operation {
    Create,
    Update,
}

/// What is being decided on.
#[derive(Clone, Copy, Debug)]
pub enum Subject<'a> {
    /// A Workflow as sent to the apiserver (or read from a file).
    Workflow {
        operation: Operation,
        object: &'a Value,
        /// The stored object, on update.
        old: Option<&'a Value>,
        /// The object must already carry its project's defaults (true at
        /// validation, which runs after the mutating webhook).
        defaulted: bool,
    },
    /// A pod the controller rendered, about to be created.
    Pod(&'a Pod),
    /// A WorkflowTemplate, or a ClusterWorkflowTemplate when `cluster`.
    Template { object: &'a Value, cluster: bool },
    /// A CronWorkflow, created or updated.
    Cron { object: &'a Value, operation: Operation },
}

#[derive(Clone, Copy)]
pub struct Request<'a> {
    pub subject: Subject<'a>,
    pub namespace: &'a str,
    /// Who asks; None when unknown (lint, or the controller's own pods).
    pub user: Option<&'a UserInfo>,
    pub projects: &'a Projects,
    /// Where `templateRef` and `workflowTemplateRef` are looked up.
    pub templates: &'a dyn Source,
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct Decision {
    /// The project the namespace selects, when there is a usable one.
    pub project: Option<String>,
    /// On create: the workflow with its project's label and defaults (what
    /// the mutating webhook patches it into).
    pub defaulted: Option<Value>,
    pub problems: Vec<Problem>,
    /// Upstream fields that are ignored here.
    pub warnings: Vec<Problem>,
}

impl Decision {
    pub fn allowed(&self) -> bool {
        self.problems.is_empty()
    }
}

pub fn decide(req: &Request) -> Decision {
    let selected = req.projects.select(req.namespace);
    let mut d = Decision {
        project: selected.as_ref().ok().and_then(|p| p.metadata.name.clone()),
        ..Decision::default()
    };
    match req.subject {
        Subject::Pod(pod) => match selected {
            Ok(project) => d.problems = check_pod(pod, project, Tags::Check),
            Err(p) => d.problems.push(p),
        },
        Subject::Workflow {
            operation: Operation::Create,
            object,
            defaulted,
            ..
        } => create(req, object, defaulted, selected, &mut d),
        Subject::Workflow {
            operation: Operation::Update,
            object,
            old,
            ..
        } => update(req, old.unwrap_or(&Value::Null), object, selected, &mut d),
        Subject::Template { object, cluster } => super::kinds::template(req, object, cluster, &mut d),
        Subject::Cron { object, operation } => super::kinds::cron(req, object, operation, &mut d),
    }
    dedup(&mut d.problems);
    d
}

/// The mutation of a new workflow: what the mutating webhook patches it
/// into (its project's label and defaults, and what a referenced
/// template's workflowMetadata adds); None when there is no project or
/// the workflow cannot be read. Only the work that takes: whether the
/// workflow may run is the validating webhook's question, for `decide`.
pub fn mutation(req: &Request, object: &Value) -> Option<Value> {
    let project = req.projects.select(req.namespace).ok()?;
    let mut with_defaults = object.clone();
    defaults::apply_defaults(&mut with_defaults, project);
    let mut wf = load::workflow(&with_defaults).ok()?;
    if validate::too_many_templates(&wf.spec).is_some() {
        return None;
    }
    if templates::references(&wf.spec) {
        wf.metadata.namespace.get_or_insert_with(|| req.namespace.to_owned());
        let resolved = templates::resolve(&wf, req.templates).ok()?;
        workflow_metadata(&mut with_defaults, &resolved);
    }
    Some(with_defaults)
}

pub(super) fn create(
    req: &Request,
    object: &Value,
    expect_defaults: bool,
    selected: Result<&WorkflowProject, Problem>,
    d: &mut Decision,
) {
    let mut with_defaults = object.clone();
    if let Ok(project) = selected {
        defaults::apply_defaults(&mut with_defaults, project);
    }
    let (mut wf, warnings) = match load::workflow_with_warnings(&with_defaults) {
        Ok(x) => x,
        Err(e) => {
            d.problems.extend(problems_of(e));
            if let Err(p) = selected {
                d.problems.push(p);
            }
            return;
        }
    };
    d.warnings = warnings;
    // Refused before anything that costs per template.
    if let Some(p) = validate::too_many_templates(&wf.spec) {
        d.problems.push(p);
        return;
    }
    wf.metadata.namespace.get_or_insert_with(|| req.namespace.to_owned());
    // What it references is what it runs: validated and checked as one.
    let mut resolved = match templates::resolve(&wf, req.templates) {
        Ok(r) => r,
        Err(problems) => {
            d.problems.extend(problems);
            if let Err(p) = selected {
                d.problems.push(p);
            }
            return;
        }
    };
    workflow_metadata(&mut with_defaults, &resolved);
    if let Ok(project) = selected {
        defaults::resolved_with_defaults(&mut resolved, project);
    }
    let placed = |p| templates::origin(&resolved, p);
    d.problems.extend(validate::workflow(&resolved).into_iter().map(placed));
    let project = match selected {
        Ok(p) => p,
        Err(p) => {
            d.problems.push(p);
            return;
        }
    };
    let name = project.metadata.name.as_deref().unwrap_or_default();
    if let Some(label) = label(object).filter(|l| *l != name) {
        d.problems.push(Problem::new(
            format!("metadata.labels[{:?}]", keys::PROJECT),
            format!(
                "namespace {:?} belongs to project {name:?}, not {label:?}: the namespace decides the project (remove the label, or set it to {name:?})",
                req.namespace
            ),
        ));
    }
    if req.user.is_some() && object.pointer("/metadata/labels").and_then(|l| l.get(keys::CRON_WORKFLOW)).is_some() {
        d.problems.push(Problem::new(
            format!("metadata.labels[{:?}]", keys::CRON_WORKFLOW),
            "only the controller sets this label, on the runs it creates for a CronWorkflow: it decides which workflows a CronWorkflow's history limits delete (kubectl argo submit --from cronwf/NAME labels a run of your own with workflows.argoproj.io/cron-workflow-submitted)",
        ));
    }
    if expect_defaults && without_nulls(object) != without_nulls(&with_defaults) {
        d.problems.push(Problem::new(
            "",
            format!(
                "the workflow lacks project {name:?}'s label or defaults: the mutating webhook did not run (check the MutatingWebhookConfiguration argo-webhook)"
            ),
        ));
    }
    d.problems.extend(workflow::check_workflow(&resolved, project, req.user).into_iter().map(placed));
    d.problems.extend(super::check_templates(&wf, &resolved, project));
    d.defaulted = Some(with_defaults);
}

/// The labels and annotations of a referenced template's
/// `workflowMetadata` onto the workflow, as upstream; the workflow's own
/// and the reserved `*argoproj.io/` keys (the project label) are kept.
fn workflow_metadata(object: &mut Value, resolved: &Workflow) {
    let Some(meta) = resolved.spec.workflow_metadata.as_ref() else {
        return;
    };
    for (field, map) in [("labels", &meta.labels), ("annotations", &meta.annotations)] {
        for (k, v) in map {
            let reserved = k.split_once('/').is_some_and(|(prefix, _)| prefix.ends_with("argoproj.io"));
            let Some(metadata) = object.get_mut("metadata").and_then(Value::as_object_mut) else {
                return;
            };
            let entries = metadata.entry(field).or_insert_with(|| Value::Object(Default::default()));
            if let Some(entries) = entries.as_object_mut()
                && !reserved
                && !entries.contains_key(k)
            {
                entries.insert(k.clone(), Value::String(v.clone()));
            }
        }
    }
}

fn update(req: &Request, old: &Value, new: &Value, selected: Result<&WorkflowProject, Problem>, d: &mut Decision) {
    d.problems.extend(update::check_update(old, new));
    d.problems.extend(changed_fields_valid(old, new));
    let escalations = update::escalations(old, new);
    let project = match selected {
        Ok(p) => p,
        // Without a project, only what runs less is allowed.
        Err(p) if !escalations.is_empty() => {
            d.problems.push(p);
            return;
        }
        Err(_) => return,
    };
    if !escalations.is_empty()
        && let Some(user) = req.user
        && let Some(mut p) = workflow::refuse_submitter(user, project)
    {
        p.message = format!("{} ({})", p.message, escalations.join(", "));
        d.problems.push(p);
    }
    let ads = |v: &Value| v.pointer("/spec/activeDeadlineSeconds").and_then(Value::as_i64);
    if ads(old) != ads(new)
        && let Some(p) = workflow::deadline_rule(project, ads(new))
    {
        d.problems.push(p);
    }
    d.problems.extend(update::removed_defaults(old, new, project));
}

/// Structural problems in the spec fields an update changed (the rest was
/// admitted before and may predate today's rules).
fn changed_fields_valid(old: &Value, new: &Value) -> Vec<Problem> {
    let wf = match load::workflow(new) {
        Ok(wf) => wf,
        Err(e) => return problems_of(e),
    };
    let changed: Vec<String> = update::MUTABLE_SPEC_FIELDS
        .iter()
        .filter(|k| old.pointer(&format!("/spec/{k}")) != new.pointer(&format!("/spec/{k}")))
        .map(|k| format!("spec.{k}"))
        .collect();
    validate::workflow(&wf)
        .into_iter()
        .filter(|p| changed.iter().any(|c| p.path == *c || p.path.starts_with(&format!("{c}."))))
        .collect()
}

fn label(v: &Value) -> Option<&str> {
    v.pointer("/metadata/labels").and_then(|l| l.get(keys::PROJECT)).and_then(Value::as_str)
}

/// The value with null object members dropped (the apiserver may or may
/// not keep them; they mean "unset" either way).
fn without_nulls(v: &Value) -> Value {
    match v {
        Value::Object(m) => {
            Value::Object(m.iter().filter(|(_, x)| !x.is_null()).map(|(k, x)| (k.clone(), without_nulls(x))).collect())
        }
        Value::Array(items) => Value::Array(items.iter().map(without_nulls).collect()),
        other => other.clone(),
    }
}

pub(super) fn problems_of(e: crate::Error) -> Vec<Problem> {
    match e {
        crate::Error::Invalid(p) => p,
        other => vec![Problem::new("", other.to_string())],
    }
}

fn dedup(problems: &mut Vec<Problem>) {
    let mut seen = std::collections::HashSet::new();
    problems.retain(|p| seen.insert((p.path.clone(), p.message.clone())));
}
