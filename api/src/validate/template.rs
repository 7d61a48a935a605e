//! Checks of one template and of the steps and tasks inside it.

use std::collections::{BTreeMap, BTreeSet};

use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

use super::Templates;
use super::names::{check_name, check_parameter_name};
use super::outputs;
use super::variables::{self, Names};
use crate::Problem;
use crate::depends::Depends;
use crate::limits::{MAX_LOOP_ITEMS, MAX_PARAMETER_BYTES};
use crate::workflow::{Arguments, DagTask, Loop, Parameter, RetryStrategy, Template, WorkflowSpec, WorkflowStep};

pub(crate) struct Ctx<'a> {
    pub spec: &'a WorkflowSpec,
    pub templates: &'a Templates<'a>,
    pub globals: &'a variables::Globals,
}

pub(crate) fn check(path: &str, t: &Template, ctx: &Ctx, p: &mut Vec<Problem>) {
    let kinds = t.kinds();
    match kinds.as_slice() {
        [] => p.push(Problem::new(
            path,
            "template has no type: set exactly one of container, script, steps, dag or suspend",
        )),
        [_] => {}
        many => p.push(Problem::new(
            path,
            format!(
                "template has {} types ({}): set exactly one",
                many.len(),
                many.iter().map(|k| k.as_str()).collect::<Vec<_>>().join(", ")
            ),
        )),
    }
    if let Some(inputs) = &t.inputs {
        let mut seen = BTreeSet::new();
        for (i, param) in inputs.parameters.iter().enumerate() {
            let ppath = format!("{path}.inputs.parameters[{i}]");
            check_parameter(&ppath, param, p);
            if !seen.insert(param.name.as_str()) {
                p.push(Problem::new(ppath, format!("input parameter {:?} is declared twice", param.name)));
            }
        }
    }
    outputs::check(path, t, p);
    outputs::check_reserved(path, t, p);
    if let Some(r) = &t.retry_strategy {
        check_retry(&format!("{path}.retryStrategy"), r, p);
    }
    if let Some(ads) = &t.active_deadline_seconds {
        check_int_or_tag(&format!("{path}.activeDeadlineSeconds"), ads, 1, p);
    }
    if let Some(timeout) = t.timeout.as_deref() {
        check_duration(&format!("{path}.timeout"), timeout, p);
    }
    if let Some(n) = t.parallelism
        && n < 1
    {
        p.push(Problem::new(format!("{path}.parallelism"), format!("must be at least 1, not {n}")));
    }
    if let Some(d) = t.suspend.as_ref().and_then(|s| s.duration.as_ref()) {
        check_duration(&format!("{path}.suspend.duration"), d.as_str(), p);
    }
    if let Some(c) = &t.container {
        check_image(&format!("{path}.container"), c.image.as_deref(), ctx, p);
    }
    if let Some(s) = &t.script {
        check_image(&format!("{path}.script"), s.container.image.as_deref(), ctx, p);
        if s.source.trim().is_empty() {
            p.push(Problem::new(format!("{path}.script.source"), "a script template needs a source"));
        }
    }
    if let Some(patch) = t.pod.pod_spec_patch.as_deref() {
        check_pod_spec_patch(&format!("{path}.podSpecPatch"), patch, p);
    }

    let mut names = Names::for_template(t, ctx.globals);
    if let Some(groups) = &t.steps {
        check_steps(path, groups, ctx, &mut names, p);
    }
    if let Some(dag) = &t.dag {
        check_dag(path, dag, ctx, &mut names, p);
    }
    variables::check_template(path, t, &names, p);
}

fn check_image(path: &str, image: Option<&str>, ctx: &Ctx, p: &mut Vec<Problem>) {
    let from_defaults = ctx
        .spec
        .template_defaults
        .as_ref()
        .and_then(|d| d.container.as_ref().or(d.script.as_ref().map(|s| &s.container)))
        .and_then(|c| c.image.as_deref());
    if image.or(from_defaults).is_none_or(str::is_empty) {
        p.push(Problem::new(format!("{path}.image"), "required: the container image to run"));
    }
}

fn check_pod_spec_patch(path: &str, patch: &str, p: &mut Vec<Problem>) {
    // Tags are filled in later; check the shape of what surrounds them.
    let probe = crate::vars::blank_tags(patch, "x");
    match serde_yaml::from_str::<serde_json::Value>(&probe) {
        Ok(serde_json::Value::Object(_)) => {}
        Ok(_) => p.push(Problem::new(path, "must be a JSON or YAML object (a partial pod spec)")),
        Err(e) => p.push(Problem::new(path, format!("not valid JSON or YAML: {e}"))),
    }
}

pub(crate) fn check_parameter(path: &str, param: &Parameter, p: &mut Vec<Problem>) {
    if let Err(e) = check_parameter_name(&param.name) {
        p.push(Problem::new(format!("{path}.name"), e));
    }
    for (field, v) in [("value", &param.value), ("default", &param.default)] {
        if let Some(v) = v
            && v.as_str().len() > MAX_PARAMETER_BYTES
        {
            p.push(Problem::new(
                format!("{path}.{field}"),
                format!(
                    "{} bytes, more than the limit of {} per parameter",
                    v.as_str().len(),
                    crate::limits::bytes(MAX_PARAMETER_BYTES)
                ),
            ));
        }
    }
    if param.value_from.is_some() {
        p.push(Problem::new(
            format!("{path}.valueFrom"),
            "valueFrom is not supported yet (upstream Argo feature: parameters from outputs, files or ConfigMaps)",
        ));
    }
    if let Some(values) = &param.enum_ {
        if values.is_empty() {
            p.push(Problem::new(format!("{path}.enum"), "an enum needs at least one value"));
        }
        for (field, v) in [("value", &param.value), ("default", &param.default)] {
            if let Some(v) = v
                && !v.as_str().contains("{{")
                && !values.contains(v)
            {
                p.push(Problem::new(
                    format!("{path}.{field}"),
                    format!("{:?} is not one of the enum values {:?}", v.as_str(), enum_strs(values)),
                ));
            }
        }
    }
}

fn enum_strs(values: &[crate::workflow::AnyString]) -> Vec<&str> {
    values.iter().map(|v| v.as_str()).collect()
}

pub(crate) fn check_retry(path: &str, r: &RetryStrategy, p: &mut Vec<Problem>) {
    // Tags are substituted before it runs: any value stands in for them.
    if let Some(e) = &r.expression
        && let Err(e) = crate::expr::compile(&crate::vars::blank_tags(e, "nil"))
    {
        p.push(Problem::new(format!("{path}.expression"), format!("invalid expression: {e}")));
    }
    if let Some(limit) = &r.limit {
        check_int_or_tag(&format!("{path}.limit"), limit, 0, p);
    }
    if let Some(policy) = r.retry_policy.as_deref()
        && !matches!(policy, "" | "Always" | "OnFailure" | "OnError" | "OnTransientError")
    {
        p.push(Problem::new(
            format!("{path}.retryPolicy"),
            format!("must be Always, OnFailure, OnError or OnTransientError, not {policy:?}"),
        ));
    }
    if let Some(b) = &r.backoff {
        for (name, v) in [
            ("duration", &b.duration),
            ("maxDuration", &b.max_duration),
            ("cap", &b.cap),
        ] {
            match v {
                Some(IntOrString::String(s)) => check_duration(&format!("{path}.backoff.{name}"), s, p),
                Some(IntOrString::Int(n)) if *n < 0 => {
                    p.push(Problem::new(format!("{path}.backoff.{name}"), "must not be negative"))
                }
                _ => {}
            }
        }
        match &b.factor {
            Some(IntOrString::Int(n)) if *n < 1 => {
                p.push(Problem::new(format!("{path}.backoff.factor"), "must be at least 1"))
            }
            Some(IntOrString::String(s)) if !is_tag(s) && s.parse::<f64>().map_or(true, |f| f < 1.0) => p.push(
                Problem::new(format!("{path}.backoff.factor"), format!("must be a number of at least 1, not {s:?}")),
            ),
            _ => {}
        }
    }
}

fn is_tag(s: &str) -> bool {
    s.contains("{{")
}

fn check_int_or_tag(path: &str, v: &IntOrString, min: i64, p: &mut Vec<Problem>) {
    match v {
        IntOrString::Int(n) if i64::from(*n) < min => {
            p.push(Problem::new(path, format!("must be at least {min}, not {n}")))
        }
        IntOrString::String(s) if !is_tag(s) => match s.trim().parse::<i64>() {
            Ok(n) if n >= min => {}
            Ok(n) => p.push(Problem::new(path, format!("must be at least {min}, not {n}"))),
            Err(_) => p.push(Problem::new(path, format!("must be a whole number, not {s:?}"))),
        },
        _ => {}
    }
}

fn check_duration(path: &str, d: &str, p: &mut Vec<Problem>) {
    if !is_tag(d)
        && let Err(e) = crate::duration::parse(d)
    {
        p.push(Problem::new(path, e));
    }
}

/// What steps and tasks share: a template to call, arguments, a loop.
/// A step or, through its `step`, a DAG task at `path`.
/// Checks one step or task; returns the output parameters its template
/// declares when the template is known here.
fn check_call(path: &str, call: &WorkflowStep, ctx: &Ctx, p: &mut Vec<Problem>) -> Option<BTreeSet<String>> {
    if let Err(e) = check_name(&call.name) {
        p.push(Problem::new(format!("{path}.name"), e));
    }
    let callee = match (call.template.as_deref(), call.inline.as_deref()) {
        (Some(_), Some(_)) => {
            p.push(Problem::new(path, "set either template or inline, not both"));
            None
        }
        // Checked once resolved (`templates::resolve`).
        (None, None) if call.template_ref.is_some() => None,
        (None, None) => {
            p.push(Problem::new(path, "needs a template (or an inline template)"));
            None
        }
        (Some(name), None) if is_tag(name) => None,
        (Some(name), None) => match ctx.templates.get(name) {
            Some((_, t)) => Some(*t),
            None => {
                p.push(Problem::new(format!("{path}.template"), format!("template {name:?} does not exist")));
                None
            }
        },
        (None, Some(inline)) => {
            check(&format!("{path}.inline"), inline, ctx, p);
            Some(inline)
        }
    };
    if let Some(on_exit) = call.on_exit.as_deref()
        && !ctx.templates.contains_key(on_exit)
    {
        p.push(Problem::new(format!("{path}.onExit"), format!("template {on_exit:?} does not exist")));
    }
    check_loop(path, &call.looping, p);
    if let Some(w) = call.when.as_deref()
        && let Err(e) = crate::when::check_shape(w)
    {
        p.push(Problem::new(format!("{path}.when"), e));
    }
    if let Some(args) = &call.arguments {
        for (i, param) in args.parameters.iter().enumerate() {
            let ppath = format!("{path}.arguments.parameters[{i}]");
            check_parameter(&ppath, param, p);
        }
    }
    let callee = callee?;
    check_arguments_supplied(path, call.arguments.as_ref(), callee, p);
    Some(outputs::declared(callee.outputs.as_ref()))
}

/// Every input of the called template without a value or default must be
/// passed by the caller.
fn check_arguments_supplied(path: &str, args: Option<&Arguments>, callee: &Template, p: &mut Vec<Problem>) {
    let Some(inputs) = &callee.inputs else { return };
    let passed: BTreeSet<&str> =
        args.map(|a| a.parameters.iter().map(|x| x.name.as_str()).collect()).unwrap_or_default();
    for input in &inputs.parameters {
        if input.value.is_none() && input.default.is_none() && !passed.contains(input.name.as_str()) {
            p.push(Problem::new(
                format!("{path}.arguments"),
                format!("input parameter {:?} of template {:?} is not supplied", input.name, callee.name),
            ));
        }
    }
}

fn check_loop(path: &str, l: &Loop, p: &mut Vec<Problem>) {
    let too_many = |field: &str, n: usize| {
        Problem::new(format!("{path}.{field}"), format!("{n} items, more than the limit of {MAX_LOOP_ITEMS} per loop"))
    };
    if let Some(items) = &l.with_items
        && items.len() > MAX_LOOP_ITEMS
    {
        p.push(too_many("withItems", items.len()));
    }
    if let Some(Ok(serde_json::Value::Array(items))) =
        l.with_param.as_deref().filter(|s| !is_tag(s)).map(serde_json::from_str::<serde_json::Value>)
        && items.len() > MAX_LOOP_ITEMS
    {
        p.push(too_many("withParam", items.len()));
    }
    if let Some(seq) = &l.with_sequence {
        let literal = |v: &Option<IntOrString>| match v.as_ref()? {
            IntOrString::Int(i) => Some(i64::from(*i)),
            IntOrString::String(s) => s.trim().parse::<i64>().ok(),
        };
        let start = literal(&seq.start).unwrap_or(0);
        let n = match (literal(&seq.count), literal(&seq.end)) {
            (Some(c), _) => c.unsigned_abs(),
            (None, Some(e)) => e.abs_diff(start).saturating_add(1),
            _ => 0,
        };
        if n > MAX_LOOP_ITEMS as u64 {
            p.push(Problem::new(
                format!("{path}.withSequence"),
                format!("{n} items, more than the limit of {MAX_LOOP_ITEMS} per loop"),
            ));
        }
    }
    let set = [
        l.with_items.is_some(),
        l.with_param.is_some(),
        l.with_sequence.is_some(),
    ];
    if set.iter().filter(|s| **s).count() > 1 {
        p.push(Problem::new(path, "use only one of withItems, withParam and withSequence"));
    }
    if let Some(param) = l.with_param.as_deref()
        && !is_tag(param)
    {
        match serde_json::from_str::<serde_json::Value>(param) {
            Ok(serde_json::Value::Array(_)) => {}
            _ => p.push(Problem::new(format!("{path}.withParam"), "must be a JSON list or a {{...}} reference to one")),
        }
    }
    if let Some(seq) = &l.with_sequence {
        let spath = format!("{path}.withSequence");
        if seq.count.is_some() && seq.end.is_some() {
            p.push(Problem::new(spath.clone(), "use either count or end, not both"));
        }
        if seq.count.is_none() && seq.end.is_none() {
            p.push(Problem::new(spath.clone(), "needs count or end"));
        }
        for (name, v) in [("count", &seq.count), ("start", &seq.start), ("end", &seq.end)] {
            if let Some(v) = v {
                check_int_or_tag(&format!("{spath}.{name}"), v, i64::MIN, p);
            }
        }
    }
}

fn check_steps(path: &str, groups: &[Vec<WorkflowStep>], ctx: &Ctx, names: &mut Names, p: &mut Vec<Problem>) {
    if groups.is_empty() {
        p.push(Problem::new(format!("{path}.steps"), "a steps template needs at least one step"));
    }
    let mut seen: BTreeMap<&str, String> = BTreeMap::new();
    for (g, group) in groups.iter().enumerate() {
        for (s, step) in group.iter().enumerate() {
            let spath = format!("{path}.steps[{g}][{s}]");
            if let Some(first) = seen.insert(&step.name, spath.clone()) {
                p.push(Problem::new(
                    format!("{spath}.name"),
                    format!("step name {:?} is already used by {first}", step.name),
                ));
            }
            let declared = check_call(&spath, step, ctx, p);
            names.steps.insert(step.name.clone(), (g, declared));
        }
    }
}

fn check_dag(path: &str, dag: &crate::workflow::DagTemplate, ctx: &Ctx, names: &mut Names, p: &mut Vec<Problem>) {
    if dag.tasks.is_empty() {
        p.push(Problem::new(format!("{path}.dag.tasks"), "a DAG needs at least one task"));
    }
    let mut index: BTreeMap<&str, usize> = BTreeMap::new();
    for (i, task) in dag.tasks.iter().enumerate() {
        if let Some(j) = index.insert(&task.step.name, i) {
            p.push(Problem::new(
                format!("{path}.dag.tasks[{i}].name"),
                format!("task name {:?} is already used by {path}.dag.tasks[{j}]", task.step.name),
            ));
        }
    }
    let mut edges: BTreeMap<&str, Vec<String>> = BTreeMap::new();
    for (i, task) in dag.tasks.iter().enumerate() {
        let tpath = format!("{path}.dag.tasks[{i}]");
        let declared = check_call(&tpath, &task.step, ctx, p);
        names.tasks.insert(task.step.name.clone(), (i, declared));
        edges.insert(&task.step.name, task_dependencies(&tpath, task, &index, p));
    }
    if let Some(target) = dag.target.as_deref().filter(|t| !is_tag(t)) {
        for name in target.split_whitespace() {
            if !index.contains_key(name) {
                p.push(Problem::new(format!("{path}.dag.target"), format!("task {name:?} does not exist")));
            }
        }
    }
    if let Some(cycle) = find_cycle(&edges) {
        p.push(Problem::new(format!("{path}.dag.tasks"), format!("dependency cycle: {}", cycle.join(" -> "))));
    }
}

/// The tasks `task` depends on, reporting bad references and expressions.
fn task_dependencies(path: &str, task: &DagTask, index: &BTreeMap<&str, usize>, p: &mut Vec<Problem>) -> Vec<String> {
    let mut deps = Vec::new();
    if !task.dependencies.is_empty() && task.depends.is_some() {
        p.push(Problem::new(path, "use either dependencies or depends, not both"));
    }
    for (i, d) in task.dependencies.iter().enumerate() {
        if !index.contains_key(d.as_str()) {
            p.push(Problem::new(format!("{path}.dependencies[{i}]"), format!("task {d:?} does not exist")));
        } else {
            deps.push(d.clone());
        }
    }
    if let Some(expr) = task.depends.as_deref() {
        match Depends::parse(expr) {
            Ok(e) => {
                for name in e.tasks() {
                    if !index.contains_key(name) {
                        p.push(Problem::new(format!("{path}.depends"), format!("task {name:?} does not exist")));
                    } else {
                        deps.push(name.to_owned());
                    }
                }
            }
            Err(e) => p.push(Problem::new(format!("{path}.depends"), e.to_string())),
        }
    }
    if deps.iter().any(|d| d == &task.step.name) {
        p.push(Problem::new(path, format!("task {:?} depends on itself", task.step.name)));
    }
    deps
}

/// A dependency cycle, if there is one. A loop with an explicit stack:
/// a chain of thousands of tasks must not overflow the webhook's stack.
fn find_cycle(edges: &BTreeMap<&str, Vec<String>>) -> Option<Vec<String>> {
    #[derive(Clone, Copy, PartialEq)]
    enum Mark {
        Active,
        Done,
    }
    let mut marks: BTreeMap<&str, Mark> = BTreeMap::new();
    for start in edges.keys() {
        if marks.contains_key(start) {
            continue;
        }
        // (task, index of the next dependency to visit)
        let mut stack: Vec<(&str, usize)> = vec![(start, 0)];
        marks.insert(start, Mark::Active);
        while let Some((n, next)) = stack.last_mut() {
            let deps = edges.get(*n).map(Vec::as_slice).unwrap_or_default();
            let Some(d) = deps.get(*next) else {
                marks.insert(n, Mark::Done);
                stack.pop();
                continue;
            };
            *next += 1;
            let d = d.as_str();
            match marks.get(d) {
                Some(Mark::Done) => {}
                Some(Mark::Active) => {
                    let from = stack.iter().position(|(s, _)| *s == d).unwrap_or(0);
                    let mut cycle: Vec<String> = stack[from..].iter().map(|(s, _)| s.to_string()).collect();
                    cycle.push(d.to_owned());
                    return Some(cycle);
                }
                None => {
                    let Some((key, _)) = edges.get_key_value(d) else {
                        continue;
                    };
                    marks.insert(key, Mark::Active);
                    stack.push((key, 0));
                }
            }
        }
    }
    None
}
