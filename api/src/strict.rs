//! Parsing that never drops a field silently.
//!
//! serde ignores fields a type does not know. Here the typed value is
//! serialized back and compared with the input: every field of the input
//! that did not survive the round trip is reported with its path, so a
//! typo or an upstream feature we do not run is named instead of ignored.
//! This covers the embedded Kubernetes types (Container, Volume...) too.

use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::error::{Error, Problem, Result};

/// Upstream fields whose absence changes nothing about how a workflow
/// runs: they are dropped with a warning rather than refused.
const IGNORABLE: &[&str] = &["metrics", "archiveLogs", "podDisruptionBudget"];

/// Upstream Argo fields this project does not run yet, with the feature
/// name a user would look for in upstream's documentation.
const UPSTREAM_FEATURES: &[(&str, &str)] = &[
    ("artifacts", "artifacts"),
    ("archiveLocation", "artifacts"),
    ("archiveLogs", "artifacts"),
    ("artifactRepositoryRef", "artifacts"),
    ("artifactGC", "artifacts"),
    ("synchronization", "synchronization (mutexes and semaphores)"),
    ("memoize", "memoization"),
    ("metrics", "custom metrics"),
    ("hooks", "lifecycle hooks"),
    ("resource", "resource templates"),
    ("http", "HTTP templates"),
    ("plugin", "executor plugins"),
    ("executorPlugins", "executor plugins"),
    ("data", "data templates"),
    ("containerSet", "container sets"),
    ("daemon", "daemoned steps"),
    ("volumeClaimTemplates", "volume claim templates"),
    ("volumeClaimGC", "volume claim templates"),
    ("podDisruptionBudget", "pod disruption budgets"),
    ("podResources", "pod-level resources"),
    ("resourceClaims", "dynamic resource claims"),
    ("labelsFrom", "workflow metadata from expressions"),
    ("expression", "expressions"),
    ("configMapKeyRef", "parameters from ConfigMaps"),
    ("jsonPath", "output parameters from JSON paths"),
    ("jqFilter", "output parameters from jq filters"),
    ("executor", "executor settings"),
];

/// Parses `value` into `T`, failing with every field that `T` would drop.
/// `root` prefixes the reported paths (e.g. `spec`).
pub fn from_value<T: DeserializeOwned + Serialize>(value: &Value, root: &str) -> Result<T> {
    from_value_with_warnings(value, root).map(|(t, _)| t)
}

/// Like `from_value`, also returning the ignorable upstream fields it
/// dropped (see `IGNORABLE`), as warnings.
pub fn from_value_with_warnings<T: DeserializeOwned + Serialize>(
    value: &Value,
    root: &str,
) -> Result<(T, Vec<Problem>)> {
    let typed: T = serde_path_to_error::deserialize(value).map_err(|e| {
        let path = join_path(root, &e.path().to_string());
        Error::Invalid(vec![Problem::new(path, e.into_inner().to_string())])
    })?;
    let back = serde_json::to_value(&typed)?;
    let mut dropped = Vec::new();
    dropped_fields(value, &back, &mut root.to_owned(), &mut dropped);
    let (warnings, problems): (Vec<Problem>, Vec<Problem>) = dropped
        .into_iter()
        .partition(|p| IGNORABLE.iter().any(|f| p.path.ends_with(&format!(".{f}")) || p.path == *f));
    let warnings = warnings
        .into_iter()
        .map(|p| {
            Problem::new(
                p.path,
                "ignored: this upstream Argo feature is not supported yet, and the workflow runs the same without it",
            )
        })
        .collect();
    if problems.is_empty() {
        Ok((typed, warnings))
    } else {
        Err(Error::Invalid(problems))
    }
}

fn join_path(root: &str, rest: &str) -> String {
    match (root.is_empty(), rest.is_empty() || rest == ".") {
        (_, true) => root.to_owned(),
        (true, false) => rest.to_owned(),
        (false, false) if rest.starts_with('[') => format!("{root}{rest}"),
        (false, false) => format!("{root}.{rest}"),
    }
}

fn dropped_fields(orig: &Value, back: &Value, path: &mut String, out: &mut Vec<Problem>) {
    match (orig, back) {
        (Value::Object(o), Value::Object(b)) => {
            for (key, v) in o {
                let len = path.len();
                push_key(path, key);
                match b.get(key) {
                    Some(bv) => dropped_fields(v, bv, path, out),
                    // An empty value carries nothing that could be lost.
                    None if is_empty(v) => {}
                    None => out.push(unsupported(path, key)),
                }
                path.truncate(len);
            }
        }
        (Value::Array(o), Value::Array(b)) => {
            for (i, (v, bv)) in o.iter().zip(b).enumerate() {
                let len = path.len();
                path.push_str(&format!("[{i}]"));
                dropped_fields(v, bv, path, out);
                path.truncate(len);
            }
        }
        _ => {}
    }
}

fn push_key(path: &mut String, key: &str) {
    if key.contains(['.', '/', ' ']) || key.is_empty() {
        path.push_str(&format!("[{key:?}]"));
    } else {
        if !path.is_empty() {
            path.push('.');
        }
        path.push_str(key);
    }
}

fn is_empty(v: &Value) -> bool {
    match v {
        Value::Null => true,
        Value::Object(m) => m.is_empty(),
        Value::Array(a) => a.is_empty(),
        _ => false,
    }
}

fn unsupported(path: &str, key: &str) -> Problem {
    match UPSTREAM_FEATURES.iter().find(|(k, _)| *k == key) {
        Some((_, feature)) => {
            Problem::new(path, format!("field `{key}` is not supported yet (upstream Argo feature: {feature})"))
        }
        None => Problem::new(
            path,
            format!("unknown field `{key}`: not a field of this object (check its spelling and indentation)"),
        ),
    }
}

/// The JSON type of a value, for error messages.
pub fn kind_of(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

/// Templates in a raw object: the items of every `templates` list and
/// every `inline` template. Without recursion, like `too_deep`.
pub fn count_templates(value: &Value) -> usize {
    let mut count = 0;
    let mut stack = vec![value];
    while let Some(v) = stack.pop() {
        match v {
            Value::Object(m) => {
                for (k, x) in m {
                    match (k.as_str(), x) {
                        ("templates", Value::Array(a)) => count += a.len(),
                        ("inline", Value::Object(_)) => count += 1,
                        _ => {}
                    }
                    stack.push(x);
                }
            }
            Value::Array(a) => stack.extend(a),
            _ => {}
        }
    }
    count
}

/// The path of the first value nested deeper than `max`, if any. Walks
/// without recursion: the input may be as deep as its parser allowed.
pub fn too_deep(value: &Value, max: usize) -> Option<String> {
    let mut stack: Vec<(&Value, usize)> = vec![(value, 0)];
    let mut deep = false;
    while let Some((v, depth)) = stack.pop() {
        if depth > max {
            deep = true;
            break;
        }
        match v {
            Value::Object(m) => stack.extend(m.values().map(|x| (x, depth + 1))),
            Value::Array(a) => stack.extend(a.iter().map(|x| (x, depth + 1))),
            _ => {}
        }
    }
    if !deep {
        return None;
    }
    // Only now, on the refused object, is the path worth building.
    let mut stack: Vec<(&Value, usize, String)> = vec![(value, 0, String::new())];
    while let Some((v, depth, path)) = stack.pop() {
        if depth > max {
            return Some(path);
        }
        let join = |k: &str| {
            if path.is_empty() {
                k.to_owned()
            } else {
                format!("{path}.{k}")
            }
        };
        match v {
            Value::Object(m) => stack.extend(m.iter().map(|(k, x)| (x, depth + 1, join(k)))),
            Value::Array(a) => stack.extend(a.iter().enumerate().map(|(i, x)| (x, depth + 1, format!("{path}[{i}]")))),
            _ => {}
        }
    }
    Some(String::new())
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::WorkflowSpec;

    fn problems(spec: Value) -> Vec<String> {
        match from_value::<WorkflowSpec>(&spec, "spec") {
            Ok(_) => vec![],
            Err(e) => e.problems().iter().map(ToString::to_string).collect(),
        }
    }

    #[test]
    fn a_typo_is_named_with_its_path() {
        let p = problems(json!({
            "templates": [{"name": "a", "container": {"image": "x", "imagee": "y"}}]
        }));
        assert_eq!(p.len(), 1, "{p:?}");
        assert!(p[0].starts_with("spec.templates[0].container.imagee: unknown field `imagee`"), "{p:?}");
    }

    #[test]
    fn an_upstream_feature_is_named_as_unsupported() {
        let p = problems(json!({
            "templates": [{"name": "a", "synchronization": {"mutex": {"name": "m"}}, "container": {"image": "x"}}]
        }));
        assert_eq!(p.len(), 1, "{p:?}");
        assert!(p[0].contains("spec.templates[0].synchronization"), "{p:?}");
        assert!(p[0].contains("not supported yet"), "{p:?}");
    }

    #[test]
    fn every_dropped_field_is_reported_not_just_the_first() {
        let p = problems(json!({
            "foo": 1,
            "templates": [{"name": "a", "bar": 2, "steps": [[{"name": "s", "template": "a", "baz": 3}]]}]
        }));
        assert_eq!(
            p.iter().map(|s| s.split(':').next().unwrap_or_default()).collect::<Vec<_>>(),
            ["spec.foo", "spec.templates[0].bar", "spec.templates[0].steps[0][0].baz"]
        );
    }

    #[test]
    fn a_wrong_type_names_the_field() {
        let p = problems(json!({"templates": [{"name": "a", "parallelism": "lots"}]}));
        assert_eq!(p.len(), 1);
        assert!(p[0].starts_with("spec.templates[0].parallelism: invalid type"), "{p:?}");
    }

    #[test]
    fn empty_and_null_values_are_not_losses() {
        assert!(problems(json!({"templates": [], "arguments": null, "unknownEmpty": {}})).is_empty());
    }

    #[test]
    fn keys_with_dots_are_quoted_in_paths() {
        let mut path = "spec".to_owned();
        push_key(&mut path, "kubernetes.io/os");
        assert_eq!(path, r#"spec["kubernetes.io/os"]"#);
    }

    #[test]
    fn parameter_values_accept_numbers_and_booleans() {
        let spec: WorkflowSpec = from_value(
            &json!({"arguments": {"parameters": [
                {"name": "n", "value": 3}, {"name": "b", "value": true}, {"name": "s", "value": "x"}
            ]}}),
            "spec",
        )
        .expect("parses");
        let values: Vec<_> = spec
            .arguments
            .expect("arguments")
            .parameters
            .iter()
            .map(|p| p.value.clone().expect("value").0)
            .collect();
        assert_eq!(values, ["3", "true", "x"]);
    }

    #[test]
    fn parameter_values_refuse_objects() {
        let p = problems(json!({"arguments": {"parameters": [{"name": "n", "value": {"a": 1}}]}}));
        assert_eq!(p.len(), 1);
        assert!(
            p[0].starts_with("spec.arguments.parameters[0].value: expected a string, number or boolean"),
            "{p:?}"
        );
    }
}
