//! Structural validation of a parsed Workflow: what upstream's validator
//! checks, plus every feature this project does not run yet. Shared by the
//! controller (which refuses to run an invalid workflow), the webhook and
//! `kubectl argo lint`. Every problem carries its field path.

mod names;
mod outputs;
mod template;
mod variables;

use std::collections::BTreeMap;

use crate::Problem;
use crate::workflow::{Template, Workflow, WorkflowSpec};

pub use names::is_valid_name;

/// Everything wrong with `wf`, or nothing.
pub fn workflow(wf: &Workflow) -> Vec<Problem> {
    spec(&wf.spec)
}

/// The templates of a spec by name, with their index.
pub(crate) type Templates<'a> = BTreeMap<&'a str, (usize, &'a Template)>;

pub fn spec(spec: &WorkflowSpec) -> Vec<Problem> {
    if let Some(p) = too_many_templates(spec) {
        return vec![p];
    }
    let mut p = Vec::new();
    let mut templates: Templates = BTreeMap::new();
    for (i, t) in spec.templates.iter().enumerate() {
        let path = format!("spec.templates[{i}].name");
        if t.name.is_empty() {
            p.push(Problem::new(path, "a template needs a name"));
        } else if let Err(e) = names::check_name(&t.name) {
            p.push(Problem::new(path, e));
        } else if let Some((j, _)) = templates.insert(&t.name, (i, t)) {
            p.push(Problem::new(path, format!("template name {:?} is already used by spec.templates[{j}]", t.name)));
        }
    }
    if spec.templates.is_empty() {
        p.push(Problem::new("spec.templates", "a workflow needs at least one template"));
    }
    outputs::check_volumes("spec", &spec.pod.volumes, &mut p);
    match spec.entrypoint.as_deref() {
        None | Some("") => p.push(Problem::new("spec.entrypoint", "required: the template to run")),
        Some(e) if !templates.contains_key(e) => {
            p.push(Problem::new("spec.entrypoint", format!("template {e:?} does not exist")))
        }
        Some(_) => {}
    }
    if let Some(on_exit) = spec.on_exit.as_deref()
        && !templates.contains_key(on_exit)
    {
        p.push(Problem::new("spec.onExit", format!("template {on_exit:?} does not exist")));
    }
    if let Some(args) = &spec.arguments {
        for (i, param) in args.parameters.iter().enumerate() {
            let path = format!("spec.arguments.parameters[{i}]");
            template::check_parameter(&path, param, &mut p);
            if param.value.is_none() {
                p.push(Problem::new(
                    format!("{path}.value"),
                    format!("workflow parameter {:?} needs a value", param.name),
                ));
            }
        }
    }
    workflow_fields(spec, &mut p);
    let globals = variables::Globals::of(spec);
    let ctx = template::Ctx {
        spec,
        templates: &templates,
        globals: &globals,
    };
    for (i, t) in spec.templates.iter().enumerate() {
        template::check(&format!("spec.templates[{i}]"), t, &ctx, &mut p);
    }
    if let Some(defaults) = &spec.template_defaults
        && !defaults.kinds().is_empty()
    {
        p.push(Problem::new(
            "spec.templateDefaults",
            "template defaults cannot set a template type (container, script, steps, dag or suspend)",
        ));
    }
    p
}

fn workflow_fields(spec: &WorkflowSpec, p: &mut Vec<Problem>) {
    if let Some(s) = spec.shutdown.as_deref()
        && !matches!(s, "" | "Stop" | "Terminate")
    {
        p.push(Problem::new("spec.shutdown", format!("must be Stop or Terminate, not {s:?}")));
    }
    if let Some(n) = spec.parallelism
        && n < 1
    {
        p.push(Problem::new("spec.parallelism", format!("must be at least 1, not {n}")));
    }
    if let Some(n) = spec.active_deadline_seconds
        && n < 1
    {
        p.push(Problem::new("spec.activeDeadlineSeconds", format!("must be at least 1, not {n}")));
    }
    if let Some(r) = &spec.retry_strategy {
        template::check_retry("spec.retryStrategy", r, p);
    }
    if let Some(gc) = &spec.pod_gc {
        if let Some(s) = gc.strategy.as_deref()
            && !matches!(s, "" | "OnPodCompletion" | "OnPodSuccess" | "OnWorkflowCompletion" | "OnWorkflowSuccess")
        {
            p.push(Problem::new(
                "spec.podGC.strategy",
                format!("must be OnPodCompletion, OnPodSuccess, OnWorkflowCompletion or OnWorkflowSuccess, not {s:?}"),
            ));
        }
        if let Some(d) = gc.delete_delay_duration.as_deref()
            && let Err(e) = crate::duration::parse(d)
        {
            p.push(Problem::new("spec.podGC.deleteDelayDuration", e));
        }
    }
    if let Some(ttl) = &spec.ttl_strategy {
        for (name, v) in [
            ("secondsAfterCompletion", ttl.seconds_after_completion),
            ("secondsAfterSuccess", ttl.seconds_after_success),
            ("secondsAfterFailure", ttl.seconds_after_failure),
        ] {
            if v.is_some_and(|v| v < 0) {
                p.push(Problem::new(format!("spec.ttlStrategy.{name}"), "must not be negative"));
            }
        }
    }
}

/// More templates than `MAX_TEMPLATES` (inline ones counted): refused
/// before anything that costs per template is done.
pub fn too_many_templates(spec: &WorkflowSpec) -> Option<Problem> {
    use crate::limits::MAX_TEMPLATES;
    fn count(t: &Template) -> usize {
        let steps = t.steps.iter().flatten().flatten().filter_map(|s| s.inline.as_deref());
        let tasks = t.dag.iter().flat_map(|d| &d.tasks).filter_map(|task| task.step.inline.as_deref());
        1 + steps.chain(tasks).map(count).sum::<usize>()
    }
    let n: usize = spec.templates.iter().map(count).sum();
    (n > MAX_TEMPLATES).then(|| {
        Problem::new(
            "spec.templates",
            format!("{n} templates (inline ones and referenced ones included): more than the {MAX_TEMPLATES} a workflow may have; split it into workflows of its own"),
        )
    })
}

#[cfg(test)]
mod tests;
