//! Which `{{...}}` references a template may use. An unknown reference is
//! an error here rather than a literal `{{...}}` in a pod later.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

use crate::Problem;
use crate::vars;
use crate::workflow::{Template, WorkflowSpec};

/// The workflow-wide names every template may use, gathered once (per
/// template, this was quadratic in the number of templates).
pub(crate) struct Globals {
    workflow_params: BTreeSet<String>,
    /// `globalName`s: `workflow.outputs.parameters.*`.
    global_outputs: BTreeSet<String>,
}

impl Globals {
    pub fn of(spec: &WorkflowSpec) -> Globals {
        Globals {
            workflow_params: spec.arguments.iter().flat_map(|a| &a.parameters).map(|p| p.name.clone()).collect(),
            global_outputs: super::outputs::global_names(spec),
        }
    }
}

/// The names a template's references can resolve against.
pub(crate) struct Names<'a> {
    inputs: BTreeSet<String>,
    globals: &'a Globals,
    /// Steps (with their group) and tasks, with the output parameters
    /// their template declares when it is known here.
    pub steps: BTreeMap<String, (usize, Option<BTreeSet<String>>)>,
    pub tasks: BTreeMap<String, (usize, Option<BTreeSet<String>>)>,
}

impl<'a> Names<'a> {
    pub fn for_template(t: &Template, globals: &'a Globals) -> Names<'a> {
        Names {
            inputs: t.inputs.iter().flat_map(|i| &i.parameters).map(|p| p.name.clone()).collect(),
            globals,
            steps: BTreeMap::new(),
            tasks: BTreeMap::new(),
        }
    }
}

/// Where a reference appears decides what it may name.
#[derive(Clone, Copy)]
struct Place {
    item: bool,
    siblings: bool,
    /// In step group `g`: only steps of earlier groups have run.
    group: Option<usize>,
}

pub(crate) fn check_template(path: &str, t: &Template, names: &Names, p: &mut Vec<Problem>) {
    let mut own = serde_json::to_value(t).expect("templates serialize");
    let mut outputs = None;
    if let Some(obj) = own.as_object_mut() {
        obj.remove("steps");
        obj.remove("dag");
        if t.steps.is_some() || t.dag.is_some() {
            outputs = obj.remove("outputs");
        }
    }
    // A steps or DAG template's outputs name its steps or tasks.
    if let Some(o) = &outputs {
        let place = Place {
            item: false,
            siblings: true,
            group: None,
        };
        walk(o, &format!("{path}.outputs"), names, place, p);
    }
    walk(
        &own,
        path,
        names,
        Place {
            item: false,
            siblings: false,
            group: None,
        },
        p,
    );

    let mut check_call = |cpath: String, call: Value, looped: bool, group: Option<usize>| {
        let mut call = call;
        if let Some(obj) = call.as_object_mut() {
            // Inline templates are checked as templates of their own.
            obj.remove("inline");
        }
        walk(
            &call,
            &cpath,
            names,
            Place {
                item: looped,
                siblings: true,
                group,
            },
            p,
        );
    };
    for (g, group) in t.steps.iter().flatten().enumerate() {
        for (s, step) in group.iter().enumerate() {
            let v = serde_json::to_value(step).expect("steps serialize");
            check_call(format!("{path}.steps[{g}][{s}]"), v, step.looping.is_set(), Some(g));
        }
    }
    for (i, task) in t.dag.iter().flat_map(|d| &d.tasks).enumerate() {
        let v = serde_json::to_value(task).expect("tasks serialize");
        check_call(format!("{path}.dag.tasks[{i}]"), v, task.step.looping.is_set(), None);
    }
}

fn walk(v: &Value, path: &str, names: &Names, place: Place, p: &mut Vec<Problem>) {
    match v {
        Value::String(s) if s.contains("{{") => match vars::tags(s) {
            Ok(tags) => {
                for tag in tags {
                    if let Err(e) = check_tag(tag, names, place) {
                        p.push(Problem::new(path, e));
                    }
                }
            }
            Err(e) => p.push(Problem::new(path, e.to_string())),
        },
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                walk(item, &format!("{path}[{i}]"), names, place, p);
            }
        }
        Value::Object(map) => {
            for (k, item) in map {
                walk(item, &format!("{path}.{k}"), names, place, p);
            }
        }
        _ => {}
    }
}

/// Node attributes of a sibling step or task that come from pod status,
/// not from what the container wrote.
const NODE_FIELDS: [&str; 7] = [
    "status",
    "id",
    "exitCode",
    "startedAt",
    "finishedAt",
    "hostNodeName",
    "ip",
];

/// `outputs.result`, `outputs.parameters` (a loop's) or
/// `outputs.parameters.NAME` of a step or task.
fn check_output_ref(tag: &str, rest: &str, declared: Option<&BTreeSet<String>>) -> Result<(), String> {
    match rest.split_once('.').map(|(_, r)| r) {
        Some("result" | "parameters") => Ok(()),
        Some(r) => match r.strip_prefix("parameters.") {
            Some(param) if declared.is_none_or(|d| d.contains(param)) => Ok(()),
            Some(param) => Err(format!(
                "{{{{{tag}}}}}: its template declares no output parameter {param:?} ({})",
                match declared.map(|d| d.iter().cloned().collect::<Vec<_>>().join(", ")) {
                    Some(list) if !list.is_empty() => format!("it declares {list}"),
                    _ => "it declares none".into(),
                }
            )),
            None if r.starts_with("artifacts") => {
                Err(format!("{{{{{tag}}}}}: artifacts are not supported yet (upstream Argo feature: artifacts)"))
            }
            None => Err(format!("{{{{{tag}}}}} is not a known variable here")),
        },
        None => Err(format!("{{{{{tag}}}}} is not a known variable here")),
    }
}

fn check_tag(tag: &str, names: &Names, place: Place) -> Result<(), String> {
    let unknown = || Err(format!("{{{{{tag}}}}} is not a known variable here"));
    if let Some(src) = tag.strip_prefix('=') {
        return crate::expr::compile(src).map(drop).map_err(|e| format!("{{{{{tag}}}}}: invalid expression: {e}"));
    }
    let parts: Vec<&str> = tag.splitn(3, '.').collect();
    match parts.as_slice() {
        ["workflow", field] => match *field {
            "name" | "namespace" | "uid" | "serviceAccountName" | "mainEntrypoint" | "creationTimestamp"
            | "priority" | "status" | "failures" | "duration" | "parameters" | "labels" | "annotations"
            | "scheduledTime" => Ok(()),
            "outputs" => unknown(),
            _ => unknown(),
        },
        ["workflow", "parameters", name] => {
            if names.globals.workflow_params.contains(*name) {
                Ok(())
            } else {
                Err(format!("{{{{{tag}}}}}: the workflow has no parameter {name:?} in spec.arguments.parameters"))
            }
        }
        ["workflow", "creationTimestamp" | "labels" | "annotations", _] => Ok(()),
        ["workflow", "outputs", rest] => match rest.strip_prefix("parameters.") {
            Some(name) if names.globals.global_outputs.contains(name) => Ok(()),
            Some(name) => Err(format!("{{{{{tag}}}}}: no output parameter of this workflow has globalName {name:?}")),
            None if rest.starts_with("artifacts") => {
                Err(format!("{{{{{tag}}}}}: artifacts are not supported yet (upstream Argo feature: artifacts)"))
            }
            None => unknown(),
        },
        ["inputs", "parameters"] => Ok(()),
        ["inputs", "parameters", name] => {
            if names.inputs.contains(*name) {
                Ok(())
            } else {
                Err(format!("{{{{{tag}}}}}: the template has no input parameter {name:?}"))
            }
        }
        ["inputs", "artifacts", ..] => {
            Err(format!("{{{{{tag}}}}}: artifacts are not supported yet (upstream Argo feature: artifacts)"))
        }
        ["item"] | ["item", ..] if place.item => Ok(()),
        ["item"] | ["item", ..] => Err(format!(
            "{{{{{tag}}}}} is only available in a step or task with withItems, withParam or withSequence"
        )),
        ["pod", "name"] | ["retries"] | ["node", "name"] | ["steps", "name"] | ["tasks", "name"] => Ok(()),
        [kind @ ("steps" | "tasks"), name, rest] if place.siblings => {
            let known = if *kind == "steps" { &names.steps } else { &names.tasks };
            let field = rest.split('.').next().unwrap_or_default();
            let Some((group, declared)) = known.get(*name) else {
                return Err(format!(
                    "{{{{{tag}}}}}: there is no {} named {name:?} in this template",
                    &kind[..kind.len() - 1]
                ));
            };
            if place.group.is_some_and(|g| *group >= g) {
                return Err(format!(
                    "{{{{{tag}}}}}: step {name:?} runs in group {group}, not before this one: only earlier groups' steps are known"
                ));
            }
            if field == "outputs" {
                check_output_ref(tag, rest, declared.as_ref())
            } else if NODE_FIELDS.contains(&field) && !rest.contains('.') {
                Ok(())
            } else {
                unknown()
            }
        }
        [kind @ ("steps" | "tasks"), ..] => Err(format!(
            "{{{{{tag}}}}}: {kind}.* references are only available inside a {} template's {kind}",
            if *kind == "steps" { "steps" } else { "dag" }
        )),
        _ => unknown(),
    }
}
