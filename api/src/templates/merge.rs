//! A Workflow's own spec over its WorkflowTemplate's, as upstream joins
//! them: the workflow's fields win; templates and arguments merge by name.

use serde_json::Value;

use crate::workflow::WorkflowSpec;

/// Lists merged item by item on their `name` (the rest are replaced).
const BY_NAME: &[&str] = &["templates", "parameters", "artifacts"];

pub(super) fn join(own: &WorkflowSpec, base: &WorkflowSpec) -> Result<WorkflowSpec, String> {
    let mut merged = serde_json::to_value(base).map_err(|e| e.to_string())?;
    let own = serde_json::to_value(own).map_err(|e| e.to_string())?;
    over(&mut merged, &own, "");
    serde_json::from_value(merged).map_err(|e| format!("the joined spec is invalid: {e}"))
}

fn over(base: &mut Value, own: &Value, key: &str) {
    match (base, own) {
        (Value::Object(b), Value::Object(o)) => {
            for (k, v) in o {
                match b.get_mut(k) {
                    Some(existing) if !v.is_null() => over(existing, v, k),
                    _ => {
                        b.insert(k.clone(), v.clone());
                    }
                }
            }
        }
        (Value::Array(b), Value::Array(o)) if BY_NAME.contains(&key) => {
            for item in o {
                let name = item.get("name");
                match b.iter_mut().find(|x| name.is_some() && x.get("name") == name) {
                    Some(existing) => *existing = item.clone(),
                    None => b.push(item.clone()),
                }
            }
        }
        (b, o) => *b = o.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn spec(v: Value) -> WorkflowSpec {
        serde_json::from_value(v).expect("a spec")
    }

    #[test]
    fn the_workflow_wins_and_arguments_merge_by_name() {
        let base = spec(json!({"entrypoint": "main", "parallelism": 2,
            "arguments": {"parameters": [{"name": "a", "value": "1"}, {"name": "b", "value": "2"}]},
            "templates": [{"name": "main", "container": {"image": "alpine"}}]}));
        let own = spec(json!({"entrypoint": "other", "workflowTemplateRef": {"name": "t"},
            "arguments": {"parameters": [{"name": "b", "value": "own"}, {"name": "c", "value": "3"}]}}));
        let j = join(&own, &base).expect("joins");
        assert_eq!(j.entrypoint.as_deref(), Some("other"));
        assert_eq!(j.parallelism, Some(2));
        let params: Vec<_> = j.arguments.expect("args").parameters.into_iter().map(|p| (p.name, p.value)).collect();
        let value = |s: &str| Some(crate::workflow::AnyString(s.into()));
        assert_eq!(
            params,
            [
                ("a".into(), value("1")),
                ("b".into(), value("own")),
                ("c".into(), value("3"))
            ]
        );
        assert_eq!(j.templates.len(), 1);
    }

    #[test]
    fn templates_of_the_same_name_are_replaced_not_merged() {
        let base = spec(json!({"templates": [{"name": "main", "container": {"image": "alpine", "command": ["a"]}}]}));
        let own = spec(json!({"templates": [{"name": "main", "script": {"image": "python", "source": "x"}}]}));
        let j = join(&own, &base).expect("joins");
        assert!(j.templates[0].container.is_none() && j.templates[0].script.is_some());
    }
}
