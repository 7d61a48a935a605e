//! Validation of WorkflowProject objects themselves: patterns that are
//! malformed, lists that can allow nothing, limits that contradict each
//! other, and defaults that break the project's own rules.

use serde_json::Value;

use super::TEMPLATE_TYPES;
use crate::{Problem, WorkflowProject, strict};

pub fn validate_project(p: &WorkflowProject) -> Vec<Problem> {
    let s = &p.spec;
    let mut out = Vec::new();
    let lists: [(&str, &[String]); 7] = [
        ("spec.namespaces", &s.namespaces),
        ("spec.serviceAccounts", &s.service_accounts),
        ("spec.images", &s.images),
        ("spec.lookupRegistries", &s.lookup_registries),
        ("spec.submitters.users", s.submitters.as_ref().map_or(&[][..], |x| &x.users)),
        ("spec.submitters.groups", s.submitters.as_ref().map_or(&[][..], |x| &x.groups)),
        ("spec.submitters.serviceAccounts", s.submitters.as_ref().map_or(&[][..], |x| &x.service_accounts)),
    ];
    for (path, list) in lists {
        check_globs(path, list, &mut out);
    }
    check_patterns(s, &mut out);
    for (name, v) in [
        ("maxParallelism", s.max_parallelism),
        ("maxActiveDeadlineSeconds", s.max_active_deadline_seconds),
    ] {
        if v.is_some_and(|v| v < 1) {
            out.push(Problem::new(format!("spec.{name}"), "must be at least 1"));
        }
    }
    if let Some(d) = &s.workflow_defaults {
        check_workflow_defaults(d, p, &mut out);
    }
    if let Some(d) = &s.template_defaults {
        check_template_defaults(d, &mut out);
    }
    out
}

/// What each pattern and value must look like to mean anything.
fn check_patterns(s: &crate::WorkflowProjectSpec, out: &mut Vec<Problem>) {
    for (i, ns) in s.namespaces.iter().enumerate() {
        let bare = ns.trim_start_matches('!');
        if !bare.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '-' | '*' | '?')) {
            out.push(Problem::new(
                format!("spec.namespaces[{i}]"),
                format!(
                    "{ns:?} can never match a namespace: use lowercase letters, digits, '-' and the wildcards * and ?"
                ),
            ));
        }
    }
    for (i, sa) in s.submitters.iter().flat_map(|x| &x.service_accounts).enumerate() {
        if !sa.trim_start_matches('!').contains(':') {
            out.push(Problem::new(
                format!("spec.submitters.serviceAccounts[{i}]"),
                format!("{sa:?} must be namespace:name (globs allowed, e.g. \"ci:*\")"),
            ));
        }
    }
    for (i, pattern) in s.images.iter().enumerate().filter(|(_, p)| !p.contains(char::is_whitespace)) {
        if let Err(why) = crate::image::Pattern::parse(pattern.strip_prefix('!').unwrap_or(pattern)) {
            out.push(Problem::new(format!("spec.images[{i}]"), format!("{pattern:?}: {why}")));
        }
    }
    for (resource, max) in &s.max_limits {
        if let Err(why) = crate::quantity::parse(&max.0) {
            out.push(Problem::new(format!("spec.maxLimits.{resource}"), why));
        }
    }
    for (i, t) in s.template_types.iter().enumerate() {
        if !TEMPLATE_TYPES.contains(&t.as_str()) {
            out.push(Problem::new(
                format!("spec.templateTypes[{i}]"),
                format!("{t:?} is not a template type ({})", TEMPLATE_TYPES.join(", ")),
            ));
        }
    }
}

fn check_template_defaults(d: &serde_json::Map<String, Value>, out: &mut Vec<Problem>) {
    let t: Result<crate::workflow::Template, _> =
        strict::from_value(&Value::Object(d.clone()), "spec.templateDefaults");
    match t {
        Ok(t) => {
            let kinds: Vec<&str> = t.kinds().iter().map(|k| k.as_str()).filter(|k| *k != "container").collect();
            if !kinds.is_empty() {
                out.push(Problem::new(
                    "spec.templateDefaults",
                    format!(
                        "template defaults may set container fields but not a template type ({})",
                        kinds.join(", ")
                    ),
                ));
            }
        }
        Err(e) => out.extend(e.problems().iter().cloned()),
    }
}

fn check_globs(path: &str, list: &[String], out: &mut Vec<Problem>) {
    for (i, g) in list.iter().enumerate() {
        let bare = g.strip_prefix('!').unwrap_or(g);
        if bare.trim().is_empty() || bare.contains(char::is_whitespace) {
            out.push(Problem::new(
                format!("{path}[{i}]"),
                format!("{g:?} is not a pattern: it is empty or has spaces"),
            ));
        }
        if !g.starts_with('!') && list.iter().any(|d| d.strip_prefix('!') == Some(g.as_str())) {
            out.push(Problem::new(format!("{path}[{i}]"), format!("{g:?} is both allowed and denied")));
        }
    }
    if !list.is_empty() && list.iter().all(|g| g.starts_with('!')) {
        out.push(Problem::new(
            path,
            "only deny patterns: the list allows nothing (add an allow pattern such as \"*\")",
        ));
    }
}

fn check_workflow_defaults(d: &serde_json::Map<String, Value>, p: &WorkflowProject, out: &mut Vec<Problem>) {
    for key in d.keys().filter(|k| !matches!(k.as_str(), "metadata" | "spec")) {
        out.push(Problem::new(
            format!("spec.workflowDefaults.{key}"),
            "workflow defaults have only metadata and spec",
        ));
    }
    if let Some(meta) = d.get("metadata").and_then(Value::as_object) {
        for key in meta.keys().filter(|k| !matches!(k.as_str(), "labels" | "annotations")) {
            out.push(Problem::new(
                format!("spec.workflowDefaults.metadata.{key}"),
                "only labels and annotations can be defaulted",
            ));
        }
    }
    let Some(spec) = d.get("spec") else { return };
    let spec: crate::WorkflowSpec = match strict::from_value(spec, "spec.workflowDefaults.spec") {
        Ok(s) => s,
        Err(e) => {
            out.extend(e.problems().iter().cloned());
            return;
        }
    };
    let s = &p.spec;
    if let (Some(max), Some(v)) = (s.max_parallelism, spec.parallelism)
        && v > max
    {
        out.push(Problem::new(
            "spec.workflowDefaults.spec.parallelism",
            format!("{v} is more than maxParallelism ({max})"),
        ));
    }
    if let (Some(max), Some(v)) = (s.max_active_deadline_seconds, spec.active_deadline_seconds)
        && v > max
    {
        out.push(Problem::new(
            "spec.workflowDefaults.spec.activeDeadlineSeconds",
            format!("{v} is more than maxActiveDeadlineSeconds ({max})"),
        ));
    }
    if let Some(sa) = &spec.pod.service_account_name
        && !s.service_accounts.is_empty()
        && !super::Globs::new(&s.service_accounts).allows(sa)
    {
        out.push(Problem::new(
            "spec.workflowDefaults.spec.serviceAccountName",
            format!("{sa:?} is not allowed by this project's serviceAccounts"),
        ));
    }
}
