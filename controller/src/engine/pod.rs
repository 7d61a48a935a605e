//! Rendering the pod of a Pod node, as upstream lays it out: a `main`
//! container, the template's sidecars and init containers, pod-level
//! fields from the template or else the workflow, upstream's labels and
//! annotations, and an owner reference to the workflow.

use std::collections::BTreeMap;

use argo_api::labels;
use argo_api::vars::{self, Mode};
use argo_api::workflow::{Template, UserContainer};
use k8s_openapi::api::core::v1::{
    Container, DownwardAPIVolumeFile, DownwardAPIVolumeSource, ObjectFieldSelector, Pod, PodSpec, Volume, VolumeMount,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, OwnerReference};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

use super::Ctx;
use super::patch::strategic_merge;

/// Where a script's source is mounted, as upstream's executor puts it.
const SCRIPT_DIR: &str = "/argo/staging";
const SCRIPT_ANNOTATION: &str = "workflows.argoproj.io/script";

impl Ctx<'_> {
    pub fn render_pod(
        &self,
        node_name: &str,
        node_id: &str,
        pod_name: &str,
        tmpl: &Template,
        tname: Option<&str>,
        boundary: &Option<String>,
    ) -> Result<Pod, String> {
        let spec = self.spec;
        let mut annotations = BTreeMap::from([
            (labels::NODE_NAME.to_owned(), node_name.to_owned()),
            (labels::NODE_ID.to_owned(), node_id.to_owned()),
        ]);
        let mut pod_labels = BTreeMap::from([
            (labels::WORKFLOW.to_owned(), self.name.to_owned()),
            (labels::COMPLETED.to_owned(), "false".to_owned()),
        ]);
        if let Some(t) = tname {
            annotations.insert("workflows.argoproj.io/template".into(), t.to_owned());
        }
        if let Some(b) = boundary {
            annotations.insert("workflows.argoproj.io/boundary-id".into(), b.clone());
        }
        for md in [spec.pod_metadata.as_ref(), tmpl.metadata.as_ref()].into_iter().flatten() {
            pod_labels.extend(md.labels.iter().map(|(k, v)| (k.clone(), v.clone())));
            annotations.extend(md.annotations.iter().map(|(k, v)| (k.clone(), v.clone())));
        }

        let mut volumes: Vec<Volume> = spec.volumes.iter().chain(&tmpl.volumes).cloned().collect();
        let (mut main, source) = match (&tmpl.container, &tmpl.script) {
            (Some(c), _) => (c.clone(), None),
            (None, Some(s)) => (s.container.clone(), Some(s.source.clone())),
            (None, None) => return Err("a pod template needs a container or a script".into()),
        };
        main.name = "main".into();
        if let Some(source) = source {
            annotations.insert(SCRIPT_ANNOTATION.into(), source);
            volumes.push(Volume {
                name: "argo-staging".into(),
                downward_api: Some(DownwardAPIVolumeSource {
                    items: Some(vec![DownwardAPIVolumeFile {
                        path: "script".into(),
                        field_ref: Some(ObjectFieldSelector {
                            field_path: format!("metadata.annotations['{SCRIPT_ANNOTATION}']"),
                            ..Default::default()
                        }),
                        ..Default::default()
                    }]),
                    ..Default::default()
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
        let main_mounts = main.volume_mounts.clone().unwrap_or_default();
        let with_mirror = |u: &UserContainer| -> Container {
            let mut c = u.container.clone();
            if u.mirror_volume_mounts == Some(true) {
                c.volume_mounts.get_or_insert_with(Vec::new).extend(main_mounts.iter().cloned());
            }
            c
        };
        let mut containers = vec![main.clone()];
        containers.extend(tmpl.sidecars.iter().map(with_mirror));
        let init: Vec<Container> = tmpl.init_containers.iter().map(with_mirror).collect();

        let mut node_selector = spec.node_selector.clone();
        node_selector.extend(tmpl.node_selector.iter().map(|(k, v)| (k.clone(), v.clone())));
        let deadline = [
            tmpl.active_deadline_seconds.as_ref().and_then(int_seconds),
            tmpl.timeout
                .as_deref()
                .and_then(|t| argo_api::duration::parse(t).ok())
                .map(|d| d.as_secs().max(1) as i64),
        ]
        .into_iter()
        .flatten()
        .min();

        let pod_spec = PodSpec {
            restart_policy: Some("Never".into()),
            containers,
            init_containers: (!init.is_empty()).then_some(init),
            volumes: (!volumes.is_empty()).then_some(volumes),
            service_account_name: tmpl.service_account_name.clone().or_else(|| spec.service_account_name.clone()),
            automount_service_account_token: tmpl
                .automount_service_account_token
                .or(spec.automount_service_account_token),
            node_selector: (!node_selector.is_empty()).then_some(node_selector),
            tolerations: non_empty(if tmpl.tolerations.is_empty() {
                &spec.tolerations
            } else {
                &tmpl.tolerations
            }),
            affinity: tmpl.affinity.clone().or_else(|| spec.affinity.clone()),
            security_context: tmpl.security_context.clone().or_else(|| spec.security_context.clone()),
            image_pull_secrets: non_empty(&spec.image_pull_secrets),
            host_network: spec.host_network,
            dns_policy: spec.dns_policy.clone(),
            dns_config: spec.dns_config.clone(),
            priority_class_name: tmpl.priority_class_name.clone().or_else(|| spec.pod_priority_class_name.clone()),
            scheduler_name: tmpl.scheduler_name.clone().or_else(|| spec.scheduler_name.clone()),
            host_aliases: non_empty(&spec.host_aliases.iter().chain(&tmpl.host_aliases).cloned().collect::<Vec<_>>()),
            active_deadline_seconds: deadline,
            ..Default::default()
        };
        let pod_spec = self.patch_spec(pod_spec, tmpl)?;
        Ok(Pod {
            metadata: ObjectMeta {
                name: Some(pod_name.to_owned()),
                namespace: self.wf.metadata.namespace.clone(),
                labels: Some(pod_labels),
                annotations: Some(annotations),
                owner_references: Some(vec![self.owner()]),
                ..Default::default()
            },
            spec: Some(pod_spec),
            status: None,
        })
    }

    fn owner(&self) -> OwnerReference {
        OwnerReference {
            api_version: argo_api::API_VERSION.into(),
            kind: "Workflow".into(),
            name: self.name.to_owned(),
            uid: self.wf.metadata.uid.clone().unwrap_or_default(),
            controller: Some(true),
            block_owner_deletion: Some(true),
        }
    }

    /// Applies the workflow's, then the template's `podSpecPatch`.
    fn patch_spec(&self, spec: PodSpec, tmpl: &Template) -> Result<PodSpec, String> {
        let patches = [self.spec.pod_spec_patch.as_deref(), tmpl.pod_spec_patch.as_deref()];
        if patches.iter().all(Option::is_none) {
            return Ok(spec);
        }
        let mut value = serde_json::to_value(&spec).map_err(|e| e.to_string())?;
        for (field, patch) in ["spec.podSpecPatch", "podSpecPatch"].into_iter().zip(patches) {
            let Some(patch) = patch else { continue };
            let patch = vars::replace(patch, &self.globals, Mode::Strict).map_err(|e| format!("{field}: {e}"))?;
            let patch: serde_json::Value =
                serde_yaml::from_str(&patch).map_err(|e| format!("{field} is not valid JSON or YAML: {e}"))?;
            strategic_merge(&mut value, &patch);
        }
        serde_json::from_value(value).map_err(|e| format!("podSpecPatch makes an invalid pod spec: {e}"))
    }
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
