//! A Workflow against its project: who may submit it, its parallelism and
//! deadline, its template kinds, and the pod every pod template renders to
//! (checked by the same rules as the controller's, values with `{{...}}`
//! left for the controller).

use k8s_openapi::api::authentication::v1::UserInfo;

use super::globs::Globs;
use super::pods::{Tags, check_pod};
use crate::pod::{self, Node, Owner, Patches};
use crate::project::Submitters;
use crate::workflow::{Template, WorkflowSpec};
use crate::{Problem, Workflow, WorkflowProject};

/// Every rule of `project` that `wf` breaks (`user`: who submits it, when
/// known).
pub(crate) fn check_workflow(wf: &Workflow, project: &WorkflowProject, user: Option<&UserInfo>) -> Vec<Problem> {
    let name = project.metadata.name.as_deref().unwrap_or_default();
    let mut out = Vec::new();
    if let Some(user) = user
        && let Some(p) = refuse_submitter(user, project)
    {
        out.push(p);
    }
    let ws = &wf.spec;
    if let Some(p) = parallelism_rule(project, ws.parallelism) {
        out.push(p);
    }
    if let Some(p) = deadline_rule(project, ws.active_deadline_seconds) {
        out.push(p);
    }
    for (path, t) in templates(ws) {
        check_template(&path, t, wf, project, name, &mut out);
    }
    // Workflow-level fields show up in every template's pod: once is enough.
    let mut seen = std::collections::HashSet::new();
    out.retain(|p| seen.insert((p.path.clone(), p.message.clone())));
    out
}

/// Why `user` may not submit to or steer the project's workflows, if so.
pub(crate) fn refuse_submitter(user: &UserInfo, project: &WorkflowProject) -> Option<Problem> {
    let who = project.spec.submitters.as_ref()?;
    if may_submit(user, who) {
        return None;
    }
    Some(Problem::new(
        "",
        format!(
            "user {:?} (groups: {}) may not submit or steer workflows of project {:?}",
            user.username.as_deref().unwrap_or_default(),
            user.groups.clone().unwrap_or_default().join(", "),
            project.metadata.name.as_deref().unwrap_or_default()
        ),
    ))
}

fn may_submit(user: &UserInfo, who: &Submitters) -> bool {
    let username = user.username.as_deref().unwrap_or_default();
    if !who.users.is_empty() && Globs::new(&who.users).allows(username) {
        return true;
    }
    if !who.groups.is_empty() && user.groups.iter().flatten().any(|g| Globs::new(&who.groups).allows(g)) {
        return true;
    }
    if let Some(sa) = username.strip_prefix("system:serviceaccount:")
        && !who.service_accounts.is_empty()
        && Globs::new(&who.service_accounts).allows(sa)
    {
        return true;
    }
    who.users.is_empty() && who.groups.is_empty() && who.service_accounts.is_empty()
}

pub(crate) fn parallelism_rule(project: &WorkflowProject, value: Option<i64>) -> Option<Problem> {
    limit_rule(project, "spec.parallelism", project.spec.max_parallelism, value)
}

pub(crate) fn deadline_rule(project: &WorkflowProject, value: Option<i64>) -> Option<Problem> {
    limit_rule(project, "spec.activeDeadlineSeconds", project.spec.max_active_deadline_seconds, value)
}

/// A value the project caps: required (removing it is refused too) and at
/// most `max`.
fn limit_rule(project: &WorkflowProject, path: &str, max: Option<i64>, value: Option<i64>) -> Option<Problem> {
    let max = max?;
    let name = project.metadata.name.as_deref().unwrap_or_default();
    match value {
        None => Some(Problem::new(path, format!("required by project {name:?}: at most {max}"))),
        Some(v) if v > max => Some(Problem::new(path, format!("{v} is more than project {name:?} allows ({max})"))),
        _ => None,
    }
}

/// Every template with its path: the named ones and those inline in steps
/// and tasks.
pub(crate) fn templates(spec: &WorkflowSpec) -> Vec<(String, &Template)> {
    let mut out = Vec::new();
    for (i, t) in spec.templates.iter().enumerate() {
        collect(format!("spec.templates[{i}]"), t, &mut out);
    }
    out
}

fn collect<'a>(path: String, t: &'a Template, out: &mut Vec<(String, &'a Template)>) {
    out.push((path.clone(), t));
    for (g, group) in t.steps.iter().flatten().enumerate() {
        for (s, step) in group.iter().enumerate() {
            if let Some(inline) = &step.inline {
                collect(format!("{path}.steps[{g}][{s}].inline"), inline, out);
            }
        }
    }
    for (i, task) in t.dag.iter().flat_map(|d| &d.tasks).enumerate() {
        if let Some(inline) = &task.step.inline {
            collect(format!("{path}.dag.tasks[{i}].inline"), inline, out);
        }
    }
}

fn check_template(
    path: &str,
    t: &Template,
    wf: &Workflow,
    project: &WorkflowProject,
    name: &str,
    out: &mut Vec<Problem>,
) {
    let spec = &project.spec;
    let Some(kind) = t.kind() else { return };
    if !spec.template_types.is_empty() && !spec.template_types.iter().any(|k| k == kind.as_str()) {
        out.push(Problem::new(
            format!("{path}.{}", kind.as_str()),
            format!(
                "{} templates are not allowed by project {name:?} (allowed: {})",
                kind.as_str(),
                spec.template_types.join(", ")
            ),
        ));
    }
    if let (Some(max), Some(p)) = (spec.max_parallelism, t.parallelism)
        && p > max
    {
        out.push(Problem::new(
            format!("{path}.parallelism"),
            format!("{p} is more than project {name:?} allows ({max})"),
        ));
    }
    if kind.is_pod() {
        check_template_pod(path, t, wf, project, out);
    }
}

/// Renders the template's pod as the controller would (without the values
/// only known at run time) and checks it, naming the template's fields.
fn check_template_pod(path: &str, t: &Template, wf: &Workflow, project: &WorkflowProject, out: &mut Vec<Problem>) {
    let ws = &wf.spec;
    let t = pod::with_defaults(t, ws);
    let owner = Owner {
        name: wf.metadata.name.as_deref().unwrap_or("workflow"),
        namespace: wf.metadata.namespace.as_deref(),
        uid: "",
    };
    let node = Node {
        name: "node",
        id: "node",
        pod_name: "pod",
        template_name: None,
        boundary: None,
    };
    let plain = match pod::render(owner, node, ws, &t, Patches::Ignore) {
        Ok(p) => check_pod(&p, project, Tags::Skip),
        Err(_) => return,
    };
    let patched = match pod::render(owner, node, ws, &t, Patches::SkipTagged) {
        Ok(p) => check_pod(&p, project, Tags::Skip),
        Err(e) => {
            out.push(Problem::new(format!("{path}.podSpecPatch"), e));
            plain.clone()
        }
    };
    // The pod is what counts, patched: a patch may also make it comply
    // (set runAsNonRoot, say). A problem the template's own fields have
    // is named at them, one only the patch brings at the patch.
    for p in patched.iter().filter(|p| plain.contains(p)) {
        out.push(Problem::new(locate(&p.path, path, &t, ws), p.message.clone()));
    }
    for p in patched.iter().filter(|p| !plain.contains(p)) {
        let field = if t.pod.pod_spec_patch.as_deref().is_some_and(|x| !x.contains("{{")) {
            format!("{path}.podSpecPatch")
        } else {
            "spec.podSpecPatch".to_owned()
        };
        out.push(Problem::new(field, format!("{}: {}", p.path, p.message)));
    }
}

/// The workflow field a problem found in the rendered pod comes from.
fn locate(pod_path: &str, tpath: &str, t: &Template, ws: &WorkflowSpec) -> String {
    let (head, rest) = split_path(pod_path);
    let main = if t.container.is_some() { "container" } else { "script" };
    if index_of(head, "spec.containers").is_some() {
        return format!("{tpath}.{main}{rest}");
    }
    if let Some(i) = index_of(head, "spec.initContainers") {
        let n = t.init_containers.len();
        return match i {
            i if i < n => format!("{tpath}.initContainers[{i}]{rest}"),
            i => format!("{tpath}.sidecars[{}]{rest}", i - n),
        };
    }
    if let Some(i) = index_of(head, "spec.volumes") {
        let n = ws.pod.volumes.len();
        return match i {
            i if i < n => format!("spec.volumes[{i}]{rest}"),
            i if i - n < t.pod.volumes.len() => format!("{tpath}.volumes[{}]{rest}", i - n),
            _ => tpath.to_owned(),
        };
    }
    let template_sets = match head {
        "spec.serviceAccountName" => t.pod.service_account_name.is_some(),
        "spec.securityContext" => t.pod.security_context.is_some(),
        "metadata.annotations" => t.metadata.as_ref().is_some_and(|m| !m.annotations.is_empty()),
        _ => false,
    };
    match head {
        "metadata.annotations" if template_sets => format!("{tpath}.metadata.annotations{rest}"),
        "metadata.annotations" => format!("spec.podMetadata.annotations{rest}"),
        _ if template_sets => format!("{tpath}.{}{rest}", &head["spec.".len()..]),
        "spec.serviceAccountName" | "spec.securityContext" | "spec.hostNetwork" => format!("{head}{rest}"),
        _ => format!("{tpath} (its pod's {pod_path})"),
    }
}

/// `spec.containers[0].image` -> (`spec.containers[0]`, `.image`);
/// `spec.hostNetwork` -> (`spec.hostNetwork`, ``).
fn split_path(p: &str) -> (&str, &str) {
    let second_dot = p.char_indices().filter(|(_, c)| *c == '.').nth(1).map(|(i, _)| i);
    match (p.find('['), second_dot) {
        (Some(b), _) if p[..b].matches('.').count() == 1 => {
            let end = p[b..].find(']').map_or(p.len(), |e| b + e + 1);
            match p.strip_prefix("metadata.annotations") {
                Some(rest) => ("metadata.annotations", rest),
                None => (&p[..end], &p[end..]),
            }
        }
        (_, Some(d)) => (&p[..d], &p[d..]),
        _ => (p, ""),
    }
}

fn index_of(head: &str, list: &str) -> Option<usize> {
    head.strip_prefix(list)?.strip_prefix('[')?.strip_suffix(']')?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pod_paths_split_at_the_field() {
        assert_eq!(split_path("spec.containers[1].image"), ("spec.containers[1]", ".image"));
        assert_eq!(split_path("spec.hostNetwork"), ("spec.hostNetwork", ""));
        assert_eq!(split_path("spec.securityContext.sysctls[0].name"), ("spec.securityContext", ".sysctls[0].name"));
        assert_eq!(split_path("metadata.annotations[\"a/b\"]"), ("metadata.annotations", "[\"a/b\"]"));
    }
}
