//! Which WorkflowTemplates and ClusterWorkflowTemplates a project's
//! workflows may run. Checked over everything a workflow pulls in, also
//! through other templates, after resolution.

use crate::templates::short_name;
use crate::workflow::{Template, Workflow};
use crate::{Problem, WorkflowProject};

use super::globs::Globs;

/// `original` as submitted, `resolved` what it runs (its status holds
/// what was pulled in).
pub fn check_templates(original: &Workflow, resolved: &Workflow, project: &WorkflowProject) -> Vec<Problem> {
    let mut out = Vec::new();
    let name = project.metadata.name.as_deref().unwrap_or_default();
    let spec = &project.spec;
    let check = |cluster: bool, owner: &str, path: String, out: &mut Vec<Problem>| {
        let (globs, kind, field) = if cluster {
            (&spec.cluster_workflow_templates, "ClusterWorkflowTemplate", "clusterWorkflowTemplates")
        } else {
            (&spec.workflow_templates, "WorkflowTemplate", "workflowTemplates")
        };
        let allowed = if globs.is_empty() {
            !cluster
        } else {
            Globs::new(globs).allows(owner)
        };
        if !allowed {
            let list = if globs.is_empty() {
                "none".to_owned()
            } else {
                globs.join(", ")
            };
            out.push(Problem::new(
                path,
                format!("{kind} {owner:?} is not allowed by project {name:?} (its spec.{field}: {list})"),
            ));
        }
    };
    if let Some(r) = &original.spec.workflow_template_ref {
        check(r.cluster_scope.unwrap_or(false), &r.name, "spec.workflowTemplateRef.name".into(), &mut out);
    }
    let stored = resolved.status.as_ref().map(|s| &s.stored_templates);
    for key in stored.into_iter().flat_map(|s| s.keys()) {
        let mut parts = key.splitn(3, '/');
        let (Some(scope), Some(owner)) = (parts.next(), parts.next()) else {
            continue;
        };
        let cluster = scope == "cluster";
        let path = direct_reference(original, cluster, owner)
            .unwrap_or_else(|| format!("spec (template {:?}, referenced through another template)", short_name(key)));
        check(cluster, owner, path, &mut out);
    }
    out.dedup();
    out
}

/// Where the submitted spec itself references `owner`, if it does.
fn direct_reference(wf: &Workflow, cluster: bool, owner: &str) -> Option<String> {
    wf.spec
        .templates
        .iter()
        .enumerate()
        .find_map(|(i, t)| find(t, cluster, owner, &format!("spec.templates[{i}]")))
}

fn find(t: &Template, cluster: bool, owner: &str, path: &str) -> Option<String> {
    for (i, group) in t.steps.iter().flatten().enumerate() {
        for (j, s) in group.iter().enumerate() {
            let at = format!("{path}.steps[{i}][{j}]");
            if let Some(r) = &s.template_ref
                && r.name == owner
                && r.cluster_scope.unwrap_or(false) == cluster
            {
                return Some(format!("{at}.templateRef.name"));
            }
            if let Some(found) = s.inline.as_deref().and_then(|t| find(t, cluster, owner, &format!("{at}.inline"))) {
                return Some(found);
            }
        }
    }
    for (i, task) in t.dag.iter().flat_map(|d| &d.tasks).enumerate() {
        let at = format!("{path}.dag.tasks[{i}]");
        if let Some(r) = &task.step.template_ref
            && r.name == owner
            && r.cluster_scope.unwrap_or(false) == cluster
        {
            return Some(format!("{at}.templateRef.name"));
        }
        if let Some(found) = task.step.inline.as_deref().and_then(|t| find(t, cluster, owner, &format!("{at}.inline")))
        {
            return Some(found);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::templates::{Documents, resolve};

    fn project(spec: serde_json::Value) -> WorkflowProject {
        crate::load::workflow_project(&json!({"apiVersion": "argoproj.io/v1alpha1", "kind": "WorkflowProject",
            "metadata": {"name": "p"}, "spec": spec}))
        .expect("a project")
    }

    #[test]
    fn every_template_pulled_in_is_checked_also_through_another() {
        let docs = Documents(vec![
            json!({"apiVersion": "argoproj.io/v1alpha1", "kind": "WorkflowTemplate", "metadata": {"name": "lib-a"},
                "spec": {"templates": [{"name": "x", "steps": [[{"name": "s", "templateRef": {"name": "platform", "template": "y", "clusterScope": true}}]]}]}}),
            json!({"apiVersion": "argoproj.io/v1alpha1", "kind": "ClusterWorkflowTemplate", "metadata": {"name": "platform"},
                "spec": {"templates": [{"name": "y", "container": {"image": "alpine"}}]}}),
        ]);
        let wf = crate::load::workflow(&json!({"apiVersion": "argoproj.io/v1alpha1", "kind": "Workflow",
            "metadata": {"name": "w", "namespace": "ns"}, "spec": {"entrypoint": "main", "templates": [{"name": "main",
                "dag": {"tasks": [{"name": "t", "templateRef": {"name": "lib-a", "template": "x"}}]}}]}}))
        .expect("a workflow");
        let resolved = resolve(&wf, &docs).expect("resolves");
        let messages = |spec| -> Vec<String> {
            check_templates(&wf, &resolved, &project(spec)).iter().map(ToString::to_string).collect()
        };
        assert_eq!(
            messages(json!({"namespaces": ["*"]})),
            [
                "spec (template \"y\", referenced through another template): ClusterWorkflowTemplate \"platform\" is not allowed by project \"p\" (its spec.clusterWorkflowTemplates: none)"
            ],
            "cluster templates are denied unless named"
        );
        assert!(messages(json!({"namespaces": ["*"], "clusterWorkflowTemplates": ["plat*"]})).is_empty());
        assert_eq!(
            messages(
                json!({"namespaces": ["*"], "clusterWorkflowTemplates": ["*"], "workflowTemplates": ["*", "!lib-*"]})
            ),
            [
                "spec.templates[0].dag.tasks[0].templateRef.name: WorkflowTemplate \"lib-a\" is not allowed by project \"p\" (its spec.workflowTemplates: *, !lib-*)"
            ]
        );
    }
}
