//! The mutation a project makes: its label, its workflow defaults under
//! the workflow's own values, and its template defaults under every
//! container and script template. Applying it twice changes nothing.

use serde_json::{Map, Value};

use crate::WorkflowProject;
use crate::json;
use crate::keys;

/// Mutates a Workflow object (as JSON, so unknown fields are kept).
pub fn apply_defaults(wf: &mut Value, project: &WorkflowProject) {
    let Some(obj) = wf.as_object_mut() else { return };
    let name = project.metadata.name.clone().unwrap_or_default();
    let labels = obj
        .entry("metadata")
        .or_insert_with(|| Value::Object(Map::new()))
        .as_object_mut()
        .map(|m| m.entry("labels").or_insert_with(|| Value::Object(Map::new())));
    if let Some(Value::Object(labels)) = labels {
        labels.entry(keys::PROJECT).or_insert(Value::String(name));
    }
    if let Some(defaults) = &project.spec.workflow_defaults {
        for part in ["metadata", "spec"] {
            if let Some(d) = defaults.get(part) {
                let current = obj.get(part).cloned().unwrap_or(Value::Object(Map::new()));
                obj.insert(part.into(), json::under(d, &current));
            }
        }
    }
    if let Some(defaults) = &project.spec.template_defaults {
        let defaults = Value::Object(defaults.clone());
        if let Some(Value::Array(templates)) = obj.get_mut("spec").and_then(|s| s.get_mut("templates")) {
            for t in templates {
                default_template(t, &defaults);
            }
        }
    }
}

/// The project's template defaults under every template of a resolved
/// workflow: referenced templates were not in the object the mutating
/// webhook defaulted (for the workflow's own, this changes nothing).
pub fn resolved_with_defaults(resolved: &mut crate::Workflow, project: &WorkflowProject) {
    let Some(defaults) = &project.spec.template_defaults else {
        return;
    };
    let defaults = Value::Object(defaults.clone());
    for t in &mut resolved.spec.templates {
        let Ok(mut v) = serde_json::to_value(&*t) else { continue };
        default_template(&mut v, &defaults);
        if let Ok(with) = serde_json::from_value(v) {
            *t = with;
        }
    }
}

/// Merges defaults under a container or script template, and into the
/// inline templates of a steps or DAG template.
fn default_template(t: &mut Value, defaults: &Value) {
    let Some(obj) = t.as_object() else { return };
    let leaf = if obj.contains_key("container") {
        Some("container")
    } else if obj.contains_key("script") {
        Some("script")
    } else {
        None
    };
    if let Some(kind) = leaf {
        // `container` defaults (resources, env...) apply to a script's
        // container too; a template never gains a second type.
        let mut d = defaults.clone();
        if let Some(m) = d.as_object_mut() {
            let container = m.remove("container");
            m.remove("script");
            if let Some(c) = container {
                m.insert(kind.into(), c);
            }
        }
        *t = json::under(&d, t);
        return;
    }
    for inline in inline_templates(t) {
        default_template(inline, defaults);
    }
}

fn inline_templates(t: &mut Value) -> Vec<&mut Value> {
    if t.get("steps").is_some() {
        let Some(Value::Array(groups)) = t.get_mut("steps") else {
            return vec![];
        };
        return groups
            .iter_mut()
            .filter_map(|g| g.as_array_mut())
            .flatten()
            .filter_map(|step| step.get_mut("inline"))
            .collect();
    }
    match t.get_mut("dag").and_then(|d| d.get_mut("tasks")) {
        Some(Value::Array(tasks)) => tasks.iter_mut().filter_map(|task| task.get_mut("inline")).collect(),
        _ => vec![],
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::WorkflowProjectSpec;

    fn project() -> WorkflowProject {
        let spec: WorkflowProjectSpec = serde_json::from_value(json!({
            "namespaces": ["*"],
            "workflowDefaults": {
                "metadata": {"labels": {"team": "a"}},
                "spec": {"activeDeadlineSeconds": 600, "ttlStrategy": {"secondsAfterCompletion": 3600}, "serviceAccountName": "runner"}
            },
            "templateDefaults": {
                "retryStrategy": {"limit": 2},
                "container": {"resources": {"limits": {"cpu": "1", "memory": "1Gi"}}}
            }
        }))
        .unwrap();
        WorkflowProject::new("team-a", spec)
    }

    fn workflow() -> Value {
        json!({"apiVersion": "argoproj.io/v1alpha1", "kind": "Workflow", "metadata": {"name": "w"},
        "spec": {"entrypoint": "main", "activeDeadlineSeconds": 60, "templates": [
            {"name": "main", "steps": [[{"name": "a", "template": "c"}, {"name": "b", "inline": {"script": {"image": "python", "source": "print(1)"}}}]]},
            {"name": "c", "retryStrategy": {"limit": 5}, "container": {"image": "alpine", "resources": {"limits": {"cpu": "2"}}}}
        ]}})
    }

    #[test]
    fn defaults_go_under_the_workflow_and_its_leaf_templates() {
        let mut wf = workflow();
        apply_defaults(&mut wf, &project());
        assert_eq!(wf["metadata"]["labels"], json!({"workflows.argoproj.io/project": "team-a", "team": "a"}));
        assert_eq!(wf["spec"]["activeDeadlineSeconds"], 60, "the workflow's own value wins");
        assert_eq!(wf["spec"]["serviceAccountName"], "runner");
        let c = &wf["spec"]["templates"][1];
        assert_eq!(c["retryStrategy"]["limit"], 5);
        assert_eq!(c["container"]["resources"]["limits"], json!({"cpu": "2", "memory": "1Gi"}));
        let inline = &wf["spec"]["templates"][0]["steps"][0][1]["inline"];
        assert_eq!(inline["retryStrategy"]["limit"], 2);
        assert_eq!(inline["script"]["resources"]["limits"]["memory"], "1Gi");
        assert!(inline.get("container").is_none(), "a script template never gains a container");
        assert!(wf["spec"]["templates"][0].get("retryStrategy").is_none(), "steps templates are not defaulted");
    }

    #[test]
    fn applying_twice_changes_nothing_and_an_existing_label_stays() {
        let mut once = workflow();
        once["metadata"]["labels"] = json!({"workflows.argoproj.io/project": "other"});
        apply_defaults(&mut once, &project());
        assert_eq!(once["metadata"]["labels"]["workflows.argoproj.io/project"], "other");
        let mut twice = once.clone();
        apply_defaults(&mut twice, &project());
        assert_eq!(once, twice);
    }
}
