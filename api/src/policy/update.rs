//! What may change once a workflow exists: its project never; its spec
//! only in the fields upstream lets users change while it runs.

use serde_json::Value;

use crate::Problem;
use crate::project::PROJECT_LABEL;

/// Spec fields a user may change on a running workflow.
pub const MUTABLE_SPEC_FIELDS: [&str; 6] = [
    "suspend",
    "shutdown",
    "activeDeadlineSeconds",
    "ttlStrategy",
    "podGC",
    "priority",
];

pub fn check_update(old: &Value, new: &Value) -> Vec<Problem> {
    let mut out = Vec::new();
    let label = |v: &Value| v.pointer("/metadata/labels").and_then(|l| l.get(PROJECT_LABEL)).cloned();
    let (before, after) = (label(old), label(new));
    if before != after {
        out.push(Problem::new(
            format!("metadata.labels[{PROJECT_LABEL:?}]"),
            format!(
                "the project label cannot change after the workflow is created (it was {}, the update makes it {})",
                describe(before.as_ref()),
                describe(after.as_ref())
            ),
        ));
    }
    let empty = serde_json::Map::new();
    let spec = |v: &Value| v.get("spec").and_then(Value::as_object).cloned().unwrap_or_else(|| empty.clone());
    let (old_spec, new_spec) = (spec(old), spec(new));
    let mut keys: Vec<&String> = old_spec.keys().chain(new_spec.keys()).collect();
    keys.sort();
    keys.dedup();
    for key in keys {
        if MUTABLE_SPEC_FIELDS.contains(&key.as_str()) || old_spec.get(key) == new_spec.get(key) {
            continue;
        }
        out.push(Problem::new(
            format!("spec.{key}"),
            format!("cannot change after the workflow is created (only {} can)", MUTABLE_SPEC_FIELDS.join(", ")),
        ));
    }
    out
}

fn describe(v: Option<&Value>) -> String {
    match v {
        Some(Value::String(s)) => format!("{s:?}"),
        Some(other) => other.to_string(),
        None => "unset".into(),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn only_mutable_fields_and_other_labels_may_change() {
        let old = json!({"metadata": {"labels": {"workflows.argoproj.io/project": "a"}}, "spec": {"entrypoint": "x", "suspend": false}});
        let ok = json!({"metadata": {"labels": {"workflows.argoproj.io/project": "a", "other": "1"}}, "spec": {"entrypoint": "x", "suspend": true, "shutdown": "Stop"}});
        assert!(check_update(&old, &ok).is_empty());
        let bad = json!({"metadata": {"labels": {"workflows.argoproj.io/project": "b"}}, "spec": {"entrypoint": "y"}});
        let p: Vec<String> = check_update(&old, &bad).iter().map(|p| p.path.clone()).collect();
        assert_eq!(
            p,
            ["metadata.labels[\"workflows.argoproj.io/project\"]", "spec.entrypoint"],
            "suspend may be removed"
        );
    }
}
