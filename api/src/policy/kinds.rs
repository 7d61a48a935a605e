//! WorkflowTemplates, ClusterWorkflowTemplates and CronWorkflows at
//! admission: each is checked as the workflows it will make would be, so a
//! problem shows when the template is applied, not at 2 a.m.

use serde_json::{Value, json};

use super::decide::{Decision, Operation, Request, Subject, create, problems_of};
use crate::templates::{self, Found, Source};
use crate::{API_VERSION, Problem, load, validate};

static PARAMETER: std::sync::LazyLock<regex::Regex> = std::sync::LazyLock::new(|| {
    regex::Regex::new(r"workflow\.parameters\.([A-Za-z0-9_.-]+?)\s*\}\}").expect("a valid regex")
});

/// A (Cluster)WorkflowTemplate: its spec as a workflow's, against the
/// project of its namespace; a ClusterWorkflowTemplate belongs to no
/// project (each workflow that uses it is checked against its own).
pub(super) fn template(req: &Request, object: &Value, cluster: bool, d: &mut Decision) {
    let parsed = if cluster {
        load::cluster_workflow_template(object).map(|t| (t.metadata, t.spec.spec))
    } else {
        load::workflow_template(object).map(|t| (t.metadata, t.spec.spec))
    };
    let (meta, mut spec) = match parsed {
        Ok(x) => x,
        Err(e) => return d.problems.extend(problems_of(e)),
    };
    if spec.workflow_template_ref.is_some() {
        d.problems
            .push(Problem::new("spec.workflowTemplateRef", "a template cannot itself reference a WorkflowTemplate"));
    }
    // Only run through templateRef, it needs no entrypoint; its arguments
    // may leave values to the submitter.
    let no_entrypoint = spec.entrypoint.is_none();
    if no_entrypoint {
        spec.entrypoint = spec.templates.first().map(|t| t.name.clone());
    }
    let mut wf = json!({"apiVersion": API_VERSION, "kind": "Workflow",
        "metadata": {"name": meta.name.clone().unwrap_or_default()}, "spec": spec});
    for p in wf.pointer_mut("/spec/arguments/parameters").and_then(Value::as_array_mut).into_iter().flatten() {
        if p.get("value").is_none_or(Value::is_null) && p.get("valueFrom").is_none() {
            p["value"] = json!("");
        }
    }
    // As upstream validates a template alone: the workflow that runs it
    // (or its event binding) may supply workflow parameters it uses.
    let text = wf["spec"].to_string();
    let used: std::collections::BTreeSet<&str> =
        PARAMETER.captures_iter(&text).filter_map(|c| c.get(1)).map(|m| m.as_str()).collect();
    if !used.is_empty() {
        let args = wf["spec"].as_object_mut().map(|s| s.entry("arguments").or_insert_with(|| json!({})));
        if let Some(list) =
            args.and_then(|a| a.as_object_mut()).map(|a| a.entry("parameters").or_insert_with(|| json!([])))
            && let Some(list) = list.as_array_mut()
        {
            for name in used {
                if !list.iter().any(|p| p.get("name").and_then(Value::as_str) == Some(name)) {
                    list.push(json!({"name": name, "value": ""}));
                }
            }
        }
    }
    // The template may reference itself (recursion), as it is now.
    let own = Itself {
        cluster,
        namespace: req.namespace,
        name: meta.name.as_deref().unwrap_or_default(),
        object,
        rest: req.templates,
    };
    let req = &Request {
        templates: &own,
        ..*req
    };
    let mut inner = Decision::default();
    if cluster {
        match load::workflow(&wf) {
            Ok(w) => match templates::resolve(&w, req.templates) {
                Ok(r) => inner.problems.extend(validate::workflow(&r)),
                Err(p) => inner.problems.extend(p),
            },
            Err(e) => inner.problems.extend(problems_of(e)),
        }
    } else {
        wf["metadata"]["namespace"] = json!(req.namespace);
        let selected = req.projects.select(req.namespace);
        d.project = selected.as_ref().ok().and_then(|p| p.metadata.name.clone());
        create(req, &wf, false, selected, &mut inner);
    }
    d.warnings = inner.warnings;
    d.problems
        .extend(inner.problems.into_iter().filter(|p| !(no_entrypoint && p.path == "spec.entrypoint")));
}

struct Itself<'a> {
    cluster: bool,
    namespace: &'a str,
    name: &'a str,
    object: &'a Value,
    rest: &'a dyn Source,
}

impl Source for Itself<'_> {
    fn spec(&self, cluster: bool, namespace: &str, name: &str) -> Found {
        if cluster == self.cluster && name == self.name && (cluster || namespace == self.namespace) {
            return templates::Documents(vec![self.object.clone()]).spec(cluster, namespace, name);
        }
        self.rest.spec(cluster, namespace, name)
    }
}

/// A CronWorkflow: its schedule, and its `workflowSpec` as a workflow
/// submitted by whoever writes the CronWorkflow (the controller creates
/// the runs, so this is where the submitter is checked).
pub(super) fn cron(req: &Request, object: &Value, operation: Operation, d: &mut Decision) {
    let cron = match load::cron_workflow(object) {
        Ok(c) => c,
        Err(e) => return d.problems.extend(problems_of(e)),
    };
    d.problems.extend(crate::cron::check(&cron.spec));
    let meta = cron.spec.workflow_metadata.clone().unwrap_or_default();
    let wf = json!({"apiVersion": API_VERSION, "kind": "Workflow",
        "metadata": {"name": cron.metadata.name.clone().unwrap_or_default(), "namespace": req.namespace,
            "labels": meta.labels, "annotations": meta.annotations},
        "spec": cron.spec.workflow_spec});
    let selected = req.projects.select(req.namespace);
    d.project = selected.as_ref().ok().and_then(|p| p.metadata.name.clone());
    let mut inner = Decision::default();
    let sub = Request {
        subject: Subject::Workflow {
            operation,
            object: &wf,
            old: None,
            defaulted: false,
        },
        ..*req
    };
    create(&sub, &wf, false, selected, &mut inner);
    d.warnings = inner.warnings;
    d.problems.extend(inner.problems.into_iter().map(|mut p| {
        p.path = if let Some(rest) = p.path.strip_prefix("spec") {
            format!("spec.workflowSpec{rest}")
        } else if let Some(rest) = p.path.strip_prefix("metadata") {
            format!("spec.workflowMetadata{rest}")
        } else {
            p.path
        };
        p
    }));
}
