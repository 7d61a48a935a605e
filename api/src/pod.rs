//! The pod of a Pod node, laid out as upstream lays it out: a `main`
//! container, the template's init containers and sidecars (as native
//! sidecars), pod-level fields
//! from the template or else the workflow, upstream's labels and
//! annotations, an owner reference to the workflow, then `podSpecPatch`.
//! Pure: the controller renders every pod with it, and admission renders
//! each template's pod with it so the project's pod rules see what will run.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{
    Container, DownwardAPIVolumeFile, DownwardAPIVolumeSource, ObjectFieldSelector, Pod, PodSpec, Volume, VolumeMount,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, OwnerReference};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

use crate::keys;
use crate::workflow::{PodFields, Template, UserContainer, WorkflowSpec};

/// Where a script's source is mounted, as upstream's executor puts it.
const SCRIPT_DIR: &str = "/argo/staging";
const SCRIPT_ANNOTATION: &str = "workflows.argoproj.io/script";

/// What to do with a `podSpecPatch`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Patches {
    /// Apply them (the controller: every tag is already substituted).
    Apply,
    /// Apply only patches without `{{...}}` (admission: values with tags
    /// are not known yet, the controller checks them once they are).
    SkipTagged,
    /// Ignore them.
    Ignore,
}

/// The workflow a pod belongs to.
#[derive(Clone, Copy, Debug)]
pub struct Owner<'a> {
    pub name: &'a str,
    pub namespace: Option<&'a str>,
    pub uid: &'a str,
}

/// Which node the pod runs.
#[derive(Clone, Copy, Debug)]
pub struct Node<'a> {
    pub name: &'a str,
    pub id: &'a str,
    pub pod_name: &'a str,
    pub template_name: Option<&'a str>,
    pub boundary: Option<&'a str>,
}

/// Renders the pod of `tmpl` (already substituted) in a workflow whose
/// pod-level fields are `spec`.
pub fn render(owner: Owner, node: Node, spec: &WorkflowSpec, tmpl: &Template, patches: Patches) -> Result<Pod, String> {
    // The template's metadata first, without the controller's own keys
    // (which pod belongs to which workflow and node: a pod must not claim
    // another workflow's, as upstream's controller does not let it).
    let (mut pod_labels, mut annotations) = (BTreeMap::new(), BTreeMap::new());
    for md in [spec.pod_metadata.as_ref(), tmpl.metadata.as_ref()].into_iter().flatten() {
        let users = |m: &BTreeMap<String, String>| {
            m.iter()
                .filter(|(k, _)| !keys::is_reserved(k))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect::<Vec<_>>()
        };
        pod_labels.extend(users(&md.labels));
        annotations.extend(users(&md.annotations));
    }
    annotations.insert(keys::NODE_NAME.to_owned(), node.name.to_owned());
    annotations.insert(keys::NODE_ID.to_owned(), node.id.to_owned());
    pod_labels.insert(keys::WORKFLOW.to_owned(), owner.name.to_owned());
    pod_labels.insert(keys::COMPLETED.to_owned(), "false".to_owned());
    if let Some(t) = node.template_name {
        annotations.insert("workflows.argoproj.io/template".into(), t.to_owned());
    }
    if let Some(b) = node.boundary {
        annotations.insert("workflows.argoproj.io/boundary-id".into(), b.to_owned());
    }
    let fields = tmpl.pod.over(&spec.pod);
    let mut volumes = fields.volumes.clone();
    let (mut main, source) = match (&tmpl.container, &tmpl.script) {
        (Some(c), _) => (c.clone(), None),
        (None, Some(s)) => (s.container.clone(), Some(s.source.clone())),
        (None, None) => return Err("a pod template needs a container or a script".into()),
    };
    main.name = "main".into();
    if let Some(source) = source {
        annotations.insert(SCRIPT_ANNOTATION.into(), source);
        stage_script(&mut main, &mut volumes);
    }
    let main_mounts = main.volume_mounts.clone().unwrap_or_default();
    let with_mirror = |u: &UserContainer| -> Container {
        let mut c = u.container.clone();
        if u.mirror_volume_mounts == Some(true) {
            c.volume_mounts.get_or_insert_with(Vec::new).extend(main_mounts.iter().cloned());
        }
        c
    };
    // Sidecars are Kubernetes' native sidecars (init containers that keep
    // running): the kubelet stops them once main ends, which upstream's
    // executor does by signalling them, so the pod completes with main.
    let mut init: Vec<Container> = tmpl.init_containers.iter().map(with_mirror).collect();
    init.extend(tmpl.sidecars.iter().map(|s| Container {
        restart_policy: Some("Always".into()),
        ..with_mirror(s)
    }));
    let pod_spec = PodSpec {
        containers: vec![main],
        init_containers: (!init.is_empty()).then_some(init),
        volumes: (!volumes.is_empty()).then_some(volumes),
        ..pod_spec(fields, spec, tmpl)
    };
    let pod_spec = patch(pod_spec, spec, tmpl, patches)?;
    Ok(Pod {
        metadata: ObjectMeta {
            name: Some(node.pod_name.to_owned()),
            namespace: owner.namespace.map(str::to_owned),
            labels: Some(pod_labels),
            annotations: Some(annotations),
            owner_references: Some(vec![OwnerReference {
                api_version: crate::API_VERSION.into(),
                kind: "Workflow".into(),
                name: owner.name.to_owned(),
                uid: owner.uid.to_owned(),
                controller: Some(true),
                block_owner_deletion: Some(true),
            }]),
            ..Default::default()
        },
        spec: Some(pod_spec),
        status: None,
    })
}

/// The script's source, mounted from the pod's own annotation and passed
/// to the command as upstream's executor does.
fn stage_script(main: &mut Container, volumes: &mut Vec<Volume>) {
    volumes.push(Volume {
        name: "argo-staging".into(),
        downward_api: Some(DownwardAPIVolumeSource {
            // Executable: `command: [sh, -c]` runs the file itself.
            default_mode: Some(0o755),
            items: Some(vec![DownwardAPIVolumeFile {
                path: "script".into(),
                field_ref: Some(ObjectFieldSelector {
                    field_path: format!("metadata.annotations['{SCRIPT_ANNOTATION}']"),
                    ..Default::default()
                }),
                ..Default::default()
            }]),
        }),
        ..Default::default()
    });
    main.volume_mounts.get_or_insert_with(Vec::new).push(VolumeMount {
        name: "argo-staging".into(),
        mount_path: SCRIPT_DIR.into(),
        ..Default::default()
    });
    let mut args = vec![format!("{SCRIPT_DIR}/script")];
    args.extend(main.args.take().unwrap_or_default());
    main.args = Some(args);
}

/// Pod-level fields: `fields` (the template's over the workflow's), the
/// workflow-only ones, and the deadline.
fn pod_spec(fields: PodFields, spec: &WorkflowSpec, tmpl: &Template) -> PodSpec {
    let deadline = [
        tmpl.active_deadline_seconds.as_ref().and_then(int_seconds),
        tmpl.timeout
            .as_deref()
            .and_then(|t| crate::duration::parse(t).ok())
            .map(|d| i64::try_from(d.as_secs().max(1)).unwrap_or(i64::MAX)),
    ]
    .into_iter()
    .flatten()
    .min();
    PodSpec {
        restart_policy: Some("Never".into()),
        service_account_name: fields.service_account_name,
        automount_service_account_token: fields.automount_service_account_token,
        node_selector: (!fields.node_selector.is_empty()).then_some(fields.node_selector),
        tolerations: non_empty(&fields.tolerations),
        affinity: fields.affinity,
        security_context: fields.security_context,
        image_pull_secrets: non_empty(&spec.image_pull_secrets),
        host_network: spec.host_network,
        dns_policy: spec.dns_policy.clone(),
        dns_config: spec.dns_config.clone(),
        priority_class_name: tmpl.priority_class_name.clone().or_else(|| spec.pod_priority_class_name.clone()),
        scheduler_name: fields.scheduler_name,
        host_aliases: non_empty(&fields.host_aliases),
        active_deadline_seconds: deadline,
        ..Default::default()
    }
}

/// Applies the workflow's, then the template's `podSpecPatch`.
fn patch(pod: PodSpec, spec: &WorkflowSpec, tmpl: &Template, how: Patches) -> Result<PodSpec, String> {
    let patches = [
        ("spec.podSpecPatch", spec.pod.pod_spec_patch.as_deref()),
        ("podSpecPatch", tmpl.pod.pod_spec_patch.as_deref()),
    ];
    let wanted: Vec<(&str, &str)> = patches
        .into_iter()
        .filter_map(|(field, p)| p.map(|p| (field, p)))
        .filter(|(_, p)| match how {
            Patches::Apply => true,
            Patches::SkipTagged => !p.contains("{{"),
            Patches::Ignore => false,
        })
        .collect();
    if wanted.is_empty() {
        return Ok(pod);
    }
    let mut value = serde_json::to_value(&pod).map_err(|e| e.to_string())?;
    for (field, patch) in wanted {
        let patch: serde_json::Value =
            serde_yaml::from_str(patch).map_err(|e| format!("{field} is not valid JSON or YAML: {e}"))?;
        if !patch.is_object() {
            return Err(format!("{field} must be a JSON or YAML object (a partial pod spec)"));
        }
        crate::json::strategic_merge(&mut value, &patch);
    }
    serde_json::from_value(value).map_err(|e| format!("podSpecPatch makes an invalid pod spec: {e}"))
}

/// A template with the workflow's `templateDefaults` merged under it.
pub fn with_defaults(tmpl: &Template, spec: &WorkflowSpec) -> Template {
    let Some(defaults) = &spec.template_defaults else {
        return tmpl.clone();
    };
    let (Ok(mut base), Ok(over)) = (serde_json::to_value(defaults.as_ref()), serde_json::to_value(tmpl)) else {
        return tmpl.clone();
    };
    crate::json::merge(&mut base, &over);
    serde_json::from_value(base).unwrap_or_else(|_| tmpl.clone())
}

fn non_empty<T: Clone>(v: &[T]) -> Option<Vec<T>> {
    (!v.is_empty()).then(|| v.to_vec())
}

fn int_seconds(v: &IntOrString) -> Option<i64> {
    match v {
        IntOrString::Int(n) => Some(i64::from(*n)),
        IntOrString::String(s) => s.trim().parse().ok(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(yaml: &str) -> WorkflowSpec {
        crate::strict::from_value(&serde_yaml::from_str(yaml).expect("yaml"), "spec").expect("spec")
    }

    fn render_first(s: &WorkflowSpec, patches: Patches) -> Result<Pod, String> {
        let owner = Owner {
            name: "wf",
            namespace: Some("ns"),
            uid: "u",
        };
        let node = Node {
            name: "wf",
            id: "wf",
            pod_name: "wf",
            template_name: Some("main"),
            boundary: None,
        };
        render(owner, node, s, &with_defaults(&s.templates[0], s), patches)
    }

    #[test]
    fn template_fields_win_and_patches_apply_last() {
        let s = spec(
            r#"
entrypoint: main
serviceAccountName: wf-sa
hostNetwork: true
podSpecPatch: '{"priorityClassName": "from-workflow"}'
templates:
- name: main
  serviceAccountName: t-sa
  podSpecPatch: '{"containers": [{"name": "main", "securityContext": {"privileged": true}}]}'
  container: {image: alpine}
"#,
        );
        let pod = render_first(&s, Patches::Apply).unwrap().spec.unwrap();
        assert_eq!(pod.service_account_name.as_deref(), Some("t-sa"));
        assert_eq!(pod.host_network, Some(true));
        assert_eq!(pod.priority_class_name.as_deref(), Some("from-workflow"));
        assert_eq!(pod.containers[0].security_context.as_ref().and_then(|c| c.privileged), Some(true));
        assert_eq!(pod.containers[0].image.as_deref(), Some("alpine"));
        let unpatched = render_first(&s, Patches::Ignore).unwrap().spec.unwrap();
        assert_eq!(unpatched.containers[0].security_context, None);
    }

    #[test]
    fn tagged_patches_wait_for_their_values() {
        let s = spec(
            r#"
entrypoint: main
templates:
- name: main
  podSpecPatch: '{"serviceAccountName": "{{inputs.parameters.sa}}"}'
  container: {image: alpine}
"#,
        );
        assert_eq!(render_first(&s, Patches::SkipTagged).unwrap().spec.unwrap().service_account_name, None);
        let bad = spec("entrypoint: main\ntemplates:\n- {name: main, podSpecPatch: '[1]', container: {image: a}}");
        assert!(render_first(&bad, Patches::Apply).unwrap_err().contains("must be a JSON or YAML object"));
    }
}
