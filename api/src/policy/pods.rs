//! The rules a project sets for pods: images, service accounts, security
//! and resource limits. The webhook applies them to the pods a workflow
//! describes; the controller to every pod it renders (parameters can
//! change an image or a service account at run time).

use k8s_openapi::api::core::v1::{Container, PodSpec, Volume};

use super::globs::Globs;
use crate::{Problem, WorkflowProject};

/// What a pod is made of, each part with the field path to report.
#[derive(Default)]
pub struct PodView<'a> {
    pub service_account: Option<(String, &'a str)>,
    pub containers: Vec<(String, &'a Container)>,
    pub volumes: Vec<(String, &'a Volume)>,
    /// Host namespaces the pod asks for (`hostNetwork`...), with paths.
    pub host_namespaces: Vec<(String, &'static str)>,
}

fn is_tag(s: &str) -> bool {
    s.contains("{{")
}

/// Appends every rule `pod` breaks. Values still holding `{{...}}` are
/// left for the controller, which checks the rendered pod.
pub fn check_pod(pod: &PodView, project: &WorkflowProject, out: &mut Vec<Problem>) {
    let spec = &project.spec;
    let name = project.metadata.name.as_deref().unwrap_or_default();
    if !spec.service_accounts.is_empty()
        && let Some((path, sa)) = &pod.service_account
        && !is_tag(sa)
        && !Globs::new(&spec.service_accounts).allows(sa)
    {
        out.push(Problem::new(
            path.clone(),
            format!(
                "service account {sa:?} is not allowed by project {name:?} (allowed: {})",
                spec.service_accounts.join(", ")
            ),
        ));
    }
    let security = spec.security.clone().unwrap_or_default();
    let images = (!spec.images.is_empty()).then(|| Globs::new(&spec.images));
    for (path, c) in &pod.containers {
        let image = c.image.as_deref().unwrap_or_default();
        if let Some(globs) = &images
            && !is_tag(image)
            && !globs.allows(image)
        {
            out.push(Problem::new(
                format!("{path}.image"),
                format!("image {image:?} is not allowed by project {name:?} (allowed: {})", spec.images.join(", ")),
            ));
        }
        let privileged = c.security_context.as_ref().and_then(|s| s.privileged).unwrap_or(false);
        if privileged && security.allow_privileged != Some(true) {
            out.push(Problem::new(
                format!("{path}.securityContext.privileged"),
                format!("privileged containers are not allowed by project {name:?}"),
            ));
        }
        let limits = c.resources.as_ref().and_then(|r| r.limits.as_ref());
        for resource in &spec.required_limits {
            if !limits.is_some_and(|l| l.contains_key(resource)) {
                out.push(Problem::new(
                    format!("{path}.resources.limits"),
                    format!("a {resource} limit is required by project {name:?}"),
                ));
            }
        }
    }
    if security.allow_host_namespaces != Some(true) {
        for (path, field) in &pod.host_namespaces {
            out.push(Problem::new(path.clone(), format!("{field} is not allowed by project {name:?}")));
        }
    }
    if security.allow_host_path != Some(true) {
        for (path, v) in &pod.volumes {
            if v.host_path.is_some() {
                out.push(Problem::new(
                    format!("{path}.hostPath"),
                    format!("hostPath volume {:?} is not allowed by project {name:?}", v.name),
                ));
            }
        }
    }
}

/// The rules applied to a rendered pod (by the controller).
pub fn check_pod_spec(spec: &PodSpec, project: &WorkflowProject) -> Vec<Problem> {
    let mut view = PodView {
        service_account: Some((
            "spec.serviceAccountName".into(),
            spec.service_account_name.as_deref().unwrap_or("default"),
        )),
        ..Default::default()
    };
    for (i, c) in spec.init_containers.iter().flatten().enumerate() {
        view.containers.push((format!("spec.initContainers[{i}]"), c));
    }
    for (i, c) in spec.containers.iter().enumerate() {
        view.containers.push((format!("spec.containers[{i}]"), c));
    }
    for (i, v) in spec.volumes.iter().flatten().enumerate() {
        view.volumes.push((format!("spec.volumes[{i}]"), v));
    }
    for (field, on) in [
        ("hostNetwork", spec.host_network),
        ("hostPID", spec.host_pid),
        ("hostIPC", spec.host_ipc),
    ] {
        if on == Some(true) {
            view.host_namespaces.push((format!("spec.{field}"), field));
        }
    }
    let mut out = Vec::new();
    check_pod(&view, project, &mut out);
    out
}
