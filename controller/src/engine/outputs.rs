//! A finished main container's outputs, from the record `argo-exec` left in
//! its termination message (untrusted: the user's command ran beside it).

use std::collections::BTreeMap;

use argo_api::limits::{self, MAX_PARAMETER_BYTES};
use argo_api::vars::{self, Mode, Scope};
use argo_api::workflow::{AnyString, NodeStatus, Outputs, Parameter, WorkflowStep};
use argo_exec::{Record, TERMINATION_MESSAGE_BYTES};
use serde_json::{Map, Value};

/// What a node learns when its main container ends.
#[derive(Debug, Default, PartialEq)]
pub(super) struct Reported {
    pub outputs: Outputs,
    /// Why the outputs are incomplete: the node cannot succeed.
    pub problem: Option<String>,
    /// Worth saying, not failing for (a result too large to keep).
    pub note: Option<String>,
}

/// The outputs the template declares, filled from `message` (None when
/// the pod did not run under `argo-exec`: only the exit code is known).
pub(super) fn reported(message: Option<&str>, declared: &[Parameter], exit_code: Option<String>) -> Reported {
    // serde reads a struct from a JSON array too: only an object is a record.
    // The kubelet cuts messages at 4 KiB; anything much longer was not
    // written by argo-exec through it.
    let record: Option<Record> = message
        .filter(|m| m.len() <= 4 * TERMINATION_MESSAGE_BYTES)
        .and_then(|m| serde_json::from_str::<Value>(m).ok())
        .filter(Value::is_object)
        .and_then(|v| serde_json::from_value(v).ok());
    let mut out = Reported {
        outputs: Outputs {
            exit_code,
            ..Default::default()
        },
        ..Default::default()
    };
    let budget = limits::bytes(TERMINATION_MESSAGE_BYTES);
    let mut problems = Vec::new();
    if let Some(r) = &record {
        out.outputs.result = r.result.clone();
        if let Some(size) = r.too_large.get("") {
            out.note = Some(format!(
                "outputs.result not kept: {size} bytes of standard output, over the {budget} a pod's termination message holds"
            ));
        }
    }
    for p in declared {
        let Some(from) = &p.value_from else { continue };
        if from.path.is_none() {
            continue;
        }
        let found = record.as_ref().and_then(|r| r.parameters.get(&p.name));
        let value = match (found, &from.default) {
            (Some(v), _) => Some(v.clone()),
            (None, Some(d)) => Some(d.0.clone()),
            (None, None) => {
                let why = match record.as_ref() {
                    None => "the pod reported no outputs (its command did not end under argo-exec)".to_owned(),
                    Some(r) => match (r.too_large.get(&p.name), r.unreadable.get(&p.name)) {
                        (Some(size), _) => format!(
                            "{size} bytes, over the {budget} a pod's termination message holds (large values are artifacts)"
                        ),
                        (_, Some(why)) => format!("{why}, and no default"),
                        _ => "not reported".to_owned(),
                    },
                };
                problems.push(format!("output parameter {:?}: {why}", p.name));
                None
            }
        };
        if let Some(v) = value {
            out.outputs.parameters.push(Parameter {
                value: Some(AnyString(v)),
                default: None,
                ..p.clone()
            });
        }
    }
    if !problems.is_empty() {
        out.problem = Some(problems.join("; "));
    }
    out
}

/// The outputs of a loop's nodes as upstream aggregates them, in item
/// order: `outputs.result` a JSON list (results that are JSON objects stay
/// objects), `outputs.parameters` a JSON list of name-to-value maps, and
/// `outputs.parameters.NAME` a JSON list of that parameter's values.
pub(super) fn aggregate(prefix: &str, nodes: &mut [&NodeStatus]) -> Scope {
    nodes.sort_by_key(|n| loop_index(&n.name));
    let mut results = Vec::new();
    let mut maps = Vec::new();
    let mut by_name: BTreeMap<&str, Vec<Value>> = BTreeMap::new();
    for o in nodes.iter().filter_map(|n| n.outputs.as_ref()) {
        if let Some(r) = &o.result {
            results.push(match serde_json::from_str::<Value>(r) {
                Ok(v @ Value::Object(_)) => v,
                _ => Value::String(r.clone()),
            });
        }
        let mut map = Map::new();
        for p in &o.parameters {
            let v = Value::String(p.value.as_ref().map(|v| v.0.clone()).unwrap_or_default());
            by_name.entry(p.name.as_str()).or_default().push(v.clone());
            map.insert(p.name.clone(), v);
        }
        if !map.is_empty() {
            maps.push(Value::Object(map));
        }
    }
    // Ten thousand items of 4 KiB each would be 40 MiB: a list larger than
    // a parameter may be is left out, and referring to it fails.
    let mut s = Scope::new();
    let mut set = |key: String, list: Vec<Value>| {
        let text = Value::Array(list).to_string();
        if text.len() <= MAX_PARAMETER_BYTES {
            s.set(key, text);
        }
    };
    set(format!("{prefix}.outputs.result"), results);
    set(format!("{prefix}.outputs.parameters"), maps);
    for (name, values) in by_name {
        set(format!("{prefix}.outputs.parameters.{name}"), values);
    }
    s
}

/// Marks a reference to an output a skipped or omitted node never made:
/// an argument made only of it leaves the input to its default.
pub(super) const ABSENT: &str = "\0absent.";

/// What a skipped or omitted node's declared outputs resolve to, as
/// upstream back-fills them: their `valueFrom.default`, else absent.
pub(super) fn skipped(prefix: &str, declared: &[Parameter]) -> Scope {
    let mut s = Scope::new();
    for p in declared {
        let key = format!("{prefix}.outputs.parameters.{}", p.name);
        match p.value_from.as_ref().and_then(|f| f.default.as_ref()) {
            Some(d) => s.set(key, d.0.as_str()),
            None => s.set(format!("{ABSENT}{key}"), ""),
        };
    }
    s
}

/// Arguments of `step` that name an output a skipped node never made are
/// not passed: the input's own value or default applies, as upstream.
pub(super) fn drop_absent(step: &mut WorkflowStep, scope: &Scope) {
    let Some(args) = step.arguments.as_mut() else { return };
    for p in &mut args.parameters {
        let absent = p.value.as_ref().is_some_and(|v| {
            vars::tags(v.as_str()).is_ok_and(|tags| tags.iter().any(|t| scope.get(&format!("{ABSENT}{t}")).is_some()))
        });
        if absent {
            p.value = None;
        }
    }
}

/// `workflow.outputs.parameters.G` for each parameter with `globalName: G`.
pub(super) fn exported(params: &[Parameter]) -> Scope {
    let mut s = Scope::new();
    for p in params {
        if let (Some(g), Some(v)) = (&p.global_name, &p.value) {
            s.set(format!("{GLOBAL_PREFIX}{g}"), v.as_str());
        }
    }
    s
}

pub(super) const GLOBAL_PREFIX: &str = "workflow.outputs.parameters.";

/// What earlier passes exported, in the order the nodes finished (the
/// last one to finish wins, as upstream overwrites).
pub(super) fn exported_by<'a>(nodes: impl Iterator<Item = &'a NodeStatus>) -> Scope {
    let mut finished: Vec<&NodeStatus> = nodes.filter(|n| n.outputs.is_some()).collect();
    finished.sort_by(|a, b| (&a.finished_at, &a.id).cmp(&(&b.finished_at, &b.id)));
    let mut s = Scope::new();
    for n in finished {
        s.extend(&exported(n.outputs.as_ref().map(|o| o.parameters.as_slice()).unwrap_or_default()));
    }
    s
}

/// The workflow's `status.outputs` from what was exported.
pub(super) fn workflow_outputs(exported: &Scope) -> Option<Outputs> {
    let parameters: Vec<Parameter> = exported
        .entries()
        .filter_map(|(k, v)| {
            Some(Parameter {
                name: k.strip_prefix(GLOBAL_PREFIX)?.to_owned(),
                value: Some(AnyString(v.to_owned())),
                ..Default::default()
            })
        })
        .collect();
    (!parameters.is_empty()).then(|| Outputs {
        parameters,
        ..Default::default()
    })
}

/// `i` of a loop node named `...(i:item)`.
fn loop_index(name: &str) -> usize {
    name.rfind('(')
        .and_then(|at| name[at + 1..].split(':').next())
        .and_then(|i| i.parse().ok())
        .unwrap_or(usize::MAX)
}

/// A steps or DAG template's output parameters, each `valueFrom.parameter`
/// or `valueFrom.expression` resolved in the scope of its finished steps or
/// tasks.
pub(super) fn nested(declared: &[Parameter], scope: &Scope) -> Result<Vec<Parameter>, String> {
    declared
        .iter()
        .filter_map(|p| {
            let from = p.value_from.as_ref()?;
            match (&from.parameter, &from.expression) {
                (Some(source), _) => Some((p, vars::replace(source, scope, Mode::Strict).map_err(|e| e.to_string()))),
                (None, Some(e)) => {
                    Some((p, argo_api::expr::evaluate(e, scope).map_err(|e| format!("valueFrom.expression: {e}"))))
                }
                (None, None) => None,
            }
        })
        .map(|(p, value)| {
            let value = match value {
                Ok(v) => v,
                Err(e) => match p.value_from.as_ref().and_then(|f| f.default.as_ref()) {
                    Some(d) => d.0.clone(),
                    None => return Err(format!("output parameter {:?}: {e}", p.name)),
                },
            };
            Ok(Parameter {
                value: Some(AnyString(value)),
                ..p.clone()
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use argo_api::workflow::ValueFrom;

    fn param(name: &str, path: &str, default: Option<&str>) -> Parameter {
        Parameter {
            name: name.into(),
            value_from: Some(ValueFrom {
                path: Some(path.into()),
                default: default.map(|d| AnyString(d.into())),
                ..Default::default()
            }),
            ..Default::default()
        }
    }

    #[test]
    fn values_defaults_and_missing_files() {
        let msg = r#"{"result":"hi","parameters":{"a":"1"},"unreadable":{"b":"/tmp/b: no such file","c":"/tmp/c: no such file"}}"#;
        let declared = [
            param("a", "/tmp/a", None),
            param("b", "/tmp/b", Some("dflt")),
            param("c", "/tmp/c", None),
        ];
        let r = reported(Some(msg), &declared, Some("0".into()));
        assert_eq!(r.outputs.result.as_deref(), Some("hi"));
        let values: Vec<_> = r
            .outputs
            .parameters
            .iter()
            .map(|p| (p.name.as_str(), p.value.as_ref().map(|v| v.0.as_str())))
            .collect();
        assert_eq!(values, [("a", Some("1")), ("b", Some("dflt"))]);
        assert_eq!(r.problem.as_deref(), Some(r#"output parameter "c": /tmp/c: no such file, and no default"#));
    }

    #[test]
    fn loops_aggregate_in_item_order() {
        let node = |name: &str, outputs: serde_json::Value| -> NodeStatus {
            let n =
                serde_json::json!({"id": name, "name": name, "type": "Pod", "phase": "Succeeded", "outputs": outputs});
            serde_json::from_value(n).expect("a node")
        };
        let (a, b, c) = (
            node("x(10:k)", serde_json::json!({"result": "{\"a\":1}", "parameters": [{"name": "p", "value": "ten"}]})),
            node("x(2:k)", serde_json::json!({"result": "two", "parameters": [{"name": "p", "value": "2"}]})),
            node("x(3:k)", serde_json::json!({})),
        );
        let s = aggregate("steps.x", &mut [&a, &b, &c]);
        assert_eq!(s.get("steps.x.outputs.result"), Some(r#"["two",{"a":1}]"#));
        assert_eq!(s.get("steps.x.outputs.parameters"), Some(r#"[{"p":"2"},{"p":"ten"}]"#));
        assert_eq!(s.get("steps.x.outputs.parameters.p"), Some(r#"["2","ten"]"#));
    }

    #[test]
    fn nested_outputs_resolve_or_fall_back_to_their_default() {
        let mut scope = Scope::new();
        scope.set("steps.a.outputs.result", "r");
        let from = |src: &str, default: Option<&str>| Parameter {
            name: "o".into(),
            value_from: Some(ValueFrom {
                parameter: Some(src.into()),
                default: default.map(|d| AnyString(d.into())),
                ..Default::default()
            }),
            ..Default::default()
        };
        let got = nested(&[from("<{{steps.a.outputs.result}}>", None)], &scope).expect("resolves");
        assert_eq!(got[0].value.as_ref().map(|v| v.0.as_str()), Some("<r>"));
        let got = nested(&[from("{{steps.b.outputs.result}}", Some("d"))], &scope).expect("default");
        assert_eq!(got[0].value.as_ref().map(|v| v.0.as_str()), Some("d"));
        let err = nested(&[from("{{steps.b.outputs.result}}", None)], &scope).expect_err("unresolved");
        assert!(err.contains("steps.b.outputs.result"), "{err}");
    }

    #[test]
    fn too_large_and_unparsable_records_say_so() {
        let msg = r#"{"tooLarge":{"":10000,"big":9000}}"#;
        let r = reported(Some(msg), &[param("big", "/tmp/big", None)], None);
        assert!(r.note.as_deref().is_some_and(|n| n.contains("10000 bytes") && n.contains("4 KiB")), "{r:?}");
        assert!(r.problem.as_deref().is_some_and(|p| p.contains("\"big\": 9000 bytes")), "{r:?}");

        for garbage in [None, Some("not json"), Some("[1,2]"), Some("{\"result\": 5}")] {
            let r = reported(garbage, &[param("p", "/tmp/p", None)], Some("137".into()));
            assert_eq!(r.outputs.exit_code.as_deref(), Some("137"));
            assert!(r.problem.as_deref().is_some_and(|p| p.contains("reported no outputs")), "{garbage:?}: {r:?}");
        }
    }
}
