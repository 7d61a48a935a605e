//! Admission checks of a Workflow against its project.

use k8s_openapi::api::authentication::v1::UserInfo;

use super::globs::Globs;
use super::pods::{PodView, check_pod};
use crate::workflow::{Template, TemplateKind, WorkflowSpec};
use crate::{Problem, Workflow, WorkflowProject};

/// Every rule of `project` the workflow breaks. `user` is who submits it
/// (None when not known, e.g. in `kubectl argo lint`).
pub fn check_workflow(
    wf: &Workflow,
    project: &WorkflowProject,
    namespace: &str,
    user: Option<&UserInfo>,
) -> Vec<Problem> {
    let spec = &project.spec;
    let name = project.metadata.name.as_deref().unwrap_or_default();
    let mut out = Vec::new();
    if !Globs::new(&spec.namespaces).allows(namespace) {
        out.push(Problem::new(
            "metadata.namespace",
            format!(
                "namespace {namespace:?} is not one of project {name:?}'s namespaces ({})",
                spec.namespaces.join(", ")
            ),
        ));
    }
    if let (Some(user), Some(who)) = (user, &spec.submitters)
        && !may_submit(user, who)
    {
        out.push(Problem::new(
            "",
            format!(
                "user {:?} (groups: {}) may not submit workflows to project {name:?}",
                user.username.as_deref().unwrap_or_default(),
                user.groups.clone().unwrap_or_default().join(", ")
            ),
        ));
    }
    let ws = &wf.spec;
    if let Some(max) = spec.max_parallelism {
        match ws.parallelism {
            None => out.push(Problem::new("spec.parallelism", format!("required by project {name:?}: at most {max}"))),
            Some(p) if p > max => {
                out.push(Problem::new("spec.parallelism", format!("{p} is more than project {name:?} allows ({max})")))
            }
            _ => {}
        }
    }
    if let Some(max) = spec.max_active_deadline_seconds {
        match ws.active_deadline_seconds {
            None => out.push(Problem::new(
                "spec.activeDeadlineSeconds",
                format!("required by project {name:?}: at most {max}"),
            )),
            Some(s) if s > max => out.push(Problem::new(
                "spec.activeDeadlineSeconds",
                format!("{s} is more than project {name:?} allows ({max})"),
            )),
            _ => {}
        }
    }
    let mut host = Vec::new();
    if ws.host_network == Some(true) {
        host.push(("spec.hostNetwork".to_owned(), "hostNetwork"));
    }
    for (i, t) in ws.templates.iter().enumerate() {
        check_template(&format!("spec.templates[{i}]"), t, ws, project, &host, &mut out);
    }
    // Workflow-level fields are seen once per template: report them once.
    let mut seen = std::collections::HashSet::new();
    out.retain(|p| seen.insert((p.path.clone(), p.message.clone())));
    out
}

fn may_submit(user: &UserInfo, who: &crate::project::Submitters) -> bool {
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

fn check_template(
    path: &str,
    t: &Template,
    ws: &WorkflowSpec,
    project: &WorkflowProject,
    host: &[(String, &'static str)],
    out: &mut Vec<Problem>,
) {
    let spec = &project.spec;
    let name = project.metadata.name.as_deref().unwrap_or_default();
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
        let mut pod = PodView {
            service_account: Some((
                if t.service_account_name.is_some() {
                    format!("{path}.serviceAccountName")
                } else {
                    "spec.serviceAccountName".into()
                },
                t.service_account_name.as_deref().or(ws.service_account_name.as_deref()).unwrap_or("default"),
            )),
            host_namespaces: host.to_vec(),
            ..Default::default()
        };
        match kind {
            TemplateKind::Container => {
                pod.containers.extend(t.container.iter().map(|c| (format!("{path}.container"), c)))
            }
            _ => pod.containers.extend(t.script.iter().map(|s| (format!("{path}.script"), &s.container))),
        }
        for (i, c) in t.init_containers.iter().enumerate() {
            pod.containers.push((format!("{path}.initContainers[{i}]"), &c.container));
        }
        for (i, c) in t.sidecars.iter().enumerate() {
            pod.containers.push((format!("{path}.sidecars[{i}]"), &c.container));
        }
        for (i, v) in ws.volumes.iter().enumerate() {
            pod.volumes.push((format!("spec.volumes[{i}]"), v));
        }
        for (i, v) in t.volumes.iter().enumerate() {
            pod.volumes.push((format!("{path}.volumes[{i}]"), v));
        }
        check_pod(&pod, project, out);
    }
    for (g, group) in t.steps.iter().flatten().enumerate() {
        for (s, step) in group.iter().enumerate() {
            if let Some(inline) = &step.inline {
                check_template(&format!("{path}.steps[{g}][{s}].inline"), inline, ws, project, host, out);
            }
        }
    }
    for (i, task) in t.dag.iter().flat_map(|d| &d.tasks).enumerate() {
        if let Some(inline) = &task.inline {
            check_template(&format!("{path}.dag.tasks[{i}].inline"), inline, ws, project, host, out);
        }
    }
}
