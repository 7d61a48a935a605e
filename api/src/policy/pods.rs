//! The rules a project sets for a pod, checked on the pod as rendered: the
//! service account (both fields the apiserver reads), images, resource
//! limits, `nodeName`, and the Pod Security Standards level. Admission
//! renders each template's pod to check it; the controller checks every
//! pod it is about to create, because parameters change values at run time.

use k8s_openapi::api::core::v1::{Pod, PodSpec};

use super::globs::Globs;
use super::security;
use crate::image::{self, Patterns};
use crate::project::SecurityLevel;
use crate::{Problem, WorkflowProject, quantity};

/// What to do with values that still hold `{{...}}`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Tags {
    /// Admission: the value is not known yet; the controller checks it.
    Skip,
    /// A rendered pod: every value is final, a `{{` in it is literal text.
    Check,
}

impl Tags {
    pub(crate) fn skips(self, value: &str) -> bool {
        self == Tags::Skip && value.contains("{{")
    }
}

/// One container of any kind, with its path in the pod.
pub(crate) struct ContainerView<'a> {
    pub path: String,
    pub image: Option<&'a str>,
    pub security: Option<&'a k8s_openapi::api::core::v1::SecurityContext>,
    pub resources: Option<&'a k8s_openapi::api::core::v1::ResourceRequirements>,
    pub ports: &'a [k8s_openapi::api::core::v1::ContainerPort],
    /// Liveness, readiness and startup, by name.
    pub probes: [(&'static str, Option<&'a k8s_openapi::api::core::v1::Probe>); 3],
    pub lifecycle: Option<&'a k8s_openapi::api::core::v1::Lifecycle>,
}

/// The view of any container kind (they share these fields by name, not
/// by type).
macro_rules! view {
    ($path:expr, $c:expr) => {
        ContainerView {
            path: $path,
            image: $c.image.as_deref(),
            security: $c.security_context.as_ref(),
            resources: $c.resources.as_ref(),
            ports: $c.ports.as_deref().unwrap_or_default(),
            probes: [
                ("livenessProbe", $c.liveness_probe.as_ref()),
                ("readinessProbe", $c.readiness_probe.as_ref()),
                ("startupProbe", $c.startup_probe.as_ref()),
            ],
            lifecycle: $c.lifecycle.as_ref(),
        }
    };
}

pub(crate) fn containers(spec: &PodSpec) -> Vec<ContainerView<'_>> {
    let mut out = Vec::new();
    for (i, c) in spec.init_containers.iter().flatten().enumerate() {
        out.push(view!(format!("spec.initContainers[{i}]"), c));
    }
    for (i, c) in spec.containers.iter().enumerate() {
        out.push(view!(format!("spec.containers[{i}]"), c));
    }
    for (i, c) in spec.ephemeral_containers.iter().flatten().enumerate() {
        out.push(view!(format!("spec.ephemeralContainers[{i}]"), c));
    }
    out
}

/// Every rule of `project` the pod breaks, each with its path in the pod.
pub fn check_pod(pod: &Pod, project: &WorkflowProject, tags: Tags) -> Vec<Problem> {
    let mut out = Vec::new();
    let Some(spec) = &pod.spec else {
        return out;
    };
    let rules = Rules {
        project,
        name: project.metadata.name.as_deref().unwrap_or_default(),
        tags,
    };
    let containers = containers(spec);
    rules.service_accounts(spec, &mut out);
    rules.images(&containers, &mut out);
    rules.image_volumes(spec, &mut out);
    rules.resources(&containers, &mut out);
    if rules.level() != SecurityLevel::Privileged
        && let Some(node) = spec.node_name.as_deref()
    {
        out.push(Problem::new(
            "spec.nodeName",
            format!(
                "pods may not pick their node ({node:?}) in project {:?}: it bypasses the scheduler, taints and node selectors (security level {})",
                rules.name,
                rules.level().as_str()
            ),
        ));
    }
    security::check(pod, spec, &containers, &rules, &mut out);
    out
}

pub(crate) struct Rules<'a> {
    pub project: &'a WorkflowProject,
    pub name: &'a str,
    pub tags: Tags,
}

impl Rules<'_> {
    pub fn level(&self) -> SecurityLevel {
        self.project.spec.security.as_ref().and_then(|s| s.level).unwrap_or_default()
    }

    fn service_accounts(&self, spec: &PodSpec, out: &mut Vec<Problem>) {
        let allowed = &self.project.spec.service_accounts;
        if allowed.is_empty() {
            return;
        }
        // The apiserver copies the legacy `serviceAccount` into
        // `serviceAccountName` when only it is set: both are checked.
        let named = [
            ("spec.serviceAccountName", spec.service_account_name.as_deref()),
            ("spec.serviceAccount", spec.service_account.as_deref()),
        ];
        let mut any = false;
        for (path, sa) in named {
            let Some(sa) = sa.filter(|s| !s.is_empty()) else {
                continue;
            };
            any = true;
            if !self.tags.skips(sa) && !Globs::new(allowed).allows(sa) {
                out.push(Problem::new(path, self.not_allowed_sa(sa)));
            }
        }
        if !any && !Globs::new(allowed).allows("default") {
            out.push(Problem::new("spec.serviceAccountName", self.not_allowed_sa("default")));
        }
    }

    fn not_allowed_sa(&self, sa: &str) -> String {
        format!(
            "service account {sa:?} is not allowed by project {:?} (allowed: {})",
            self.name,
            self.project.spec.service_accounts.join(", ")
        )
    }

    fn images(&self, containers: &[ContainerView], out: &mut Vec<Problem>) {
        for c in containers {
            self.image(c.image.unwrap_or_default(), format!("{}.image", c.path), out);
        }
    }

    /// Image volumes mount an image's files into the pod: the same rule
    /// as a container's image (else an allowed container runs what the
    /// volume holds).
    fn image_volumes(&self, spec: &PodSpec, out: &mut Vec<Problem>) {
        for (i, v) in spec.volumes.iter().flatten().enumerate() {
            if let Some(source) = &v.image {
                let raw = source.reference.as_deref().unwrap_or_default();
                self.image(raw, format!("spec.volumes[{i}].image.reference"), out);
            }
        }
    }

    fn image(&self, raw: &str, path: String, out: &mut Vec<Problem>) {
        let list = &self.project.spec.images;
        if list.is_empty() || self.tags.skips(raw) {
            return;
        }
        let patterns = Patterns::new(list);
        match image::parse(raw) {
            Ok(img) if patterns.allows(&img) => {}
            Ok(img) => {
                let full = img.to_string();
                let read_as = if full == raw {
                    String::new()
                } else {
                    format!("; read as {full}")
                };
                out.push(Problem::new(
                    path,
                    format!(
                        "image {raw:?} is not allowed by project {:?} (allowed: {}{read_as})",
                        self.name,
                        list.join(", ")
                    ),
                ))
            }
            Err(why) => out.push(Problem::new(
                path,
                format!(
                    "image {raw:?} is not a valid image reference ({why}), so project {:?} cannot allow it",
                    self.name
                ),
            )),
        }
    }

    fn resources(&self, containers: &[ContainerView], out: &mut Vec<Problem>) {
        let spec = &self.project.spec;
        for c in containers {
            let limits = c.resources.and_then(|r| r.limits.as_ref());
            for resource in &spec.required_limits {
                if !limits.is_some_and(|l| l.contains_key(resource)) {
                    out.push(Problem::new(
                        format!("{}.resources.limits", c.path),
                        format!("a {resource} limit is required by project {:?}", self.name),
                    ));
                }
            }
            for (resource, max) in &spec.max_limits {
                let Ok(ceiling) = quantity::parse(&max.0) else { continue };
                let asked = [
                    ("limits", limits.and_then(|l| l.get(resource))),
                    ("requests", c.resources.and_then(|r| r.requests.as_ref()).and_then(|r| r.get(resource))),
                ];
                for (kind, value) in asked {
                    let Some(value) = value.filter(|v| !self.tags.skips(&v.0)) else {
                        continue;
                    };
                    let path = format!("{}.resources.{kind}.{resource}", c.path);
                    match quantity::parse(&value.0) {
                        Ok(v) if v <= ceiling => {}
                        Ok(_) => out.push(Problem::new(
                            path,
                            format!("{} is more than project {:?} allows ({})", value.0, self.name, max.0),
                        )),
                        Err(why) => out.push(Problem::new(path, why)),
                    }
                }
            }
        }
    }
}
