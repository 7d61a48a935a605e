//! What may change once a workflow exists: its project never; its spec
//! only in the fields upstream lets users change while it runs.

use serde_json::Value;

use crate::Problem;
use crate::keys;

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
    let label = |v: &Value| v.pointer("/metadata/labels").and_then(|l| l.get(keys::PROJECT)).cloned();
    let (before, after) = (label(old), label(new));
    if before != after {
        out.push(Problem::new(
            format!("metadata.labels[{:?}]", keys::PROJECT),
            format!(
                "the project label cannot change after the workflow is created (it was {}, the update makes it {})",
                describe(before.as_ref()),
                describe(after.as_ref())
            ),
        ));
    }
    out.extend(ownership_changes(old, new));
    let empty = serde_json::Map::new();
    let spec = |v: &Value| v.get("spec").and_then(Value::as_object).cloned().unwrap_or_else(|| empty.clone());
    let (old_spec, new_spec) = (spec(old), spec(new));
    let mut keys: Vec<&String> = old_spec.keys().chain(new_spec.keys()).collect();
    keys.sort();
    keys.dedup();
    let retrying = retrying(old, new);
    for key in keys {
        if MUTABLE_SPEC_FIELDS.contains(&key.as_str()) || old_spec.get(key) == new_spec.get(key) {
            continue;
        }
        if key == "arguments" && retrying {
            continue;
        }
        out.push(Problem::new(
            format!("spec.{key}"),
            format!("cannot change after the workflow is created (only {} can)", MUTABLE_SPEC_FIELDS.join(", ")),
        ));
    }
    out
}

/// Which CronWorkflow a workflow belongs to decides which workflows its
/// history limits delete: nobody may claim one for a CronWorkflow after it
/// is created (the controller never does). Letting go (removing an owner,
/// as the garbage collector does when orphaning) is allowed.
fn ownership_changes(old: &Value, new: &Value) -> Vec<Problem> {
    let mut out = Vec::new();
    let cron = |v: &Value| v.pointer("/metadata/labels").and_then(|l| l.get(keys::CRON_WORKFLOW)).cloned();
    if let Some(after) = cron(new)
        && cron(old).as_ref() != Some(&after)
    {
        out.push(Problem::new(
            format!("metadata.labels[{:?}]", keys::CRON_WORKFLOW),
            format!("cannot be set or changed after the workflow is created (to {}): only the controller sets it, on the runs it creates", describe(Some(&after))),
        ));
    }
    let owners =
        |v: &Value| v.pointer("/metadata/ownerReferences").and_then(Value::as_array).cloned().unwrap_or_default();
    let before = owners(old);
    for (i, o) in owners(new).iter().enumerate() {
        if !before.contains(o) {
            out.push(Problem::new(
                format!("metadata.ownerReferences[{i}]"),
                "owner references cannot be added or changed after the workflow is created (only removed)",
            ));
        }
    }
    out
}

/// A failed workflow being retried (`kubectl argo retry` sets a new retry
/// request) may get new parameter values in the same update.
fn retrying(old: &Value, new: &Value) -> bool {
    let failed = matches!(old.pointer("/status/phase").and_then(Value::as_str), Some("Failed" | "Error"));
    let (before, after) = (annotation(old, crate::keys::RETRY), annotation(new, crate::keys::RETRY));
    failed && after.is_some() && after != before
}

fn annotation<'a>(v: &'a Value, key: &str) -> Option<&'a Value> {
    v.pointer("/metadata/annotations").and_then(|a| a.get(key))
}

/// What an update does that makes the workflow run more or differently:
/// only a project's submitters may do these. Suspending, stopping,
/// terminating and shortening the deadline only ever run less. A TTL or
/// pod GC change decides when a colleague's run and its pods (their logs)
/// are deleted: steering too.
pub fn escalations(old: &Value, new: &Value) -> Vec<&'static str> {
    let mut out = Vec::new();
    let spec = |v: &Value, k: &str| v.get("spec").and_then(|s| s.get(k)).filter(|x| !x.is_null()).cloned();
    if spec(old, "suspend") == Some(Value::Bool(true)) && spec(new, "suspend") != Some(Value::Bool(true)) {
        out.push("resuming it (spec.suspend)");
    }
    for (key, what) in [
        (crate::keys::RESUME, "resuming it"),
        (crate::keys::RESUME_PARAMETERS, "supplying its suspend nodes' outputs"),
        (crate::keys::RETRY, "retrying it"),
    ] {
        let after = annotation(new, key);
        if after.is_some() && after != annotation(old, key) {
            out.push(what);
        }
    }
    if spec(old, "arguments") != spec(new, "arguments") {
        out.push("changing its parameters");
    }
    if spec(old, "ttlStrategy") != spec(new, "ttlStrategy") {
        out.push("changing spec.ttlStrategy");
    }
    if spec(old, "podGC") != spec(new, "podGC") {
        out.push("changing spec.podGC");
    }
    if spec(old, "shutdown").is_some() && spec(new, "shutdown").is_none() {
        out.push("removing spec.shutdown");
    }
    let ads = |v: &Value| spec(v, "activeDeadlineSeconds").and_then(|d| d.as_i64());
    match (ads(old), ads(new)) {
        (Some(_), None) => out.push("removing spec.activeDeadlineSeconds"),
        (Some(a), Some(b)) if b > a => out.push("raising spec.activeDeadlineSeconds"),
        (None, Some(_)) | (None, None) | (Some(_), Some(_)) => {}
    }
    out
}

/// Spec fields the project sets by default that the update removes: the
/// default would silently stop applying (a TTL, say), so it is refused.
pub fn removed_defaults(old: &Value, new: &Value, project: &crate::WorkflowProject) -> Vec<Problem> {
    let name = project.metadata.name.as_deref().unwrap_or_default();
    let Some(defaults) = project.spec.workflow_defaults.as_ref().and_then(|d| d.get("spec")).and_then(Value::as_object)
    else {
        return vec![];
    };
    let present = |v: &Value, k: &str| v.get("spec").and_then(|s| s.get(k)).is_some_and(|x| !x.is_null());
    defaults
        .keys()
        .filter(|k| present(old, k) && !present(new, k))
        .map(|k| {
            Problem::new(
                format!("spec.{k}"),
                format!("cannot be removed: project {name:?} gives every workflow one (change it instead)"),
            )
        })
        .collect()
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

    #[test]
    fn escalations_are_what_runs_more() {
        let old = json!({"metadata": {}, "spec": {"suspend": true, "activeDeadlineSeconds": 60, "shutdown": "Stop"}});
        let new = json!({"metadata": {"annotations": {"workflows.argoproj.io/resume": "t", "workflows.argoproj.io/retry": "{}",
                "workflows.argoproj.io/resume-parameters": "{\"approve\": \"YES\"}"}},
            "spec": {"suspend": false, "activeDeadlineSeconds": 120, "arguments": {"parameters": []}}});
        assert_eq!(
            escalations(&old, &new),
            [
                "resuming it (spec.suspend)",
                "resuming it",
                "supplying its suspend nodes' outputs",
                "retrying it",
                "changing its parameters",
                "removing spec.shutdown",
                "raising spec.activeDeadlineSeconds"
            ]
        );
        let calmer =
            json!({"metadata": {}, "spec": {"suspend": true, "activeDeadlineSeconds": 30, "shutdown": "Terminate"}});
        assert!(escalations(&old, &calmer).is_empty(), "{:?}", escalations(&old, &calmer));
        let removed =
            json!({"metadata": {}, "spec": {"suspend": true, "activeDeadlineSeconds": null, "shutdown": "Stop"}});
        assert_eq!(escalations(&old, &removed), ["removing spec.activeDeadlineSeconds"]);
    }

    #[test]
    fn parameters_may_change_only_with_a_retry_of_a_failed_workflow() {
        let args = |v: &str| json!({"parameters": [{"name": "code", "value": v}]});
        let old = json!({"metadata": {}, "spec": {"arguments": args("1")}, "status": {"phase": "Failed"}});
        let retry = json!({"metadata": {"annotations": {"workflows.argoproj.io/retry": "{\"requestedAt\":\"t1\"}"}},
            "spec": {"arguments": args("0")}, "status": {"phase": "Failed"}});
        assert!(check_update(&old, &retry).is_empty());
        let plain = json!({"metadata": {}, "spec": {"arguments": args("0")}, "status": {"phase": "Failed"}});
        assert_eq!(check_update(&old, &plain).len(), 1, "no retry request, no parameter change");
        let mut running = old.clone();
        running["status"]["phase"] = json!("Running");
        assert_eq!(check_update(&running, &retry).len(), 1, "a running workflow is not being retried");
        assert_eq!(check_update(&retry, &retry.clone()).len(), 0);
        let mut again = retry.clone();
        again["spec"]["arguments"] = args("5");
        assert_eq!(check_update(&retry, &again).len(), 1, "the same request does not allow another change");
    }
}
