//! The pods the engine renders: names, labels, annotations, owner, and
//! everything templates pass through.

mod common;

use argo_api::names;
use argo_api::workflow::Phase;
use argo_controller::engine::Action;
use common::*;

const WF: &str = r#"
apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {name: pods, namespace: ns1, uid: uid-1}
spec:
  entrypoint: main
  serviceAccountName: wf-sa
  nodeSelector: {disk: ssd}
  imagePullSecrets: [{name: regcred}]
  podMetadata: {labels: {team: a}, annotations: {note: wf}}
  volumes: [{name: shared, emptyDir: {}}]
  podSpecPatch: '{"containers":[{"name":"main","env":[{"name":"FROM_WF","value":"{{workflow.name}}"}]}]}'
  templates:
  - name: main
    metadata: {labels: {role: worker}, annotations: {kwok.test/duration: 2s}}
    serviceAccountName: tmpl-sa
    nodeSelector: {zone: z1}
    tolerations: [{key: dedicated, operator: Exists}]
    securityContext: {runAsNonRoot: true}
    activeDeadlineSeconds: 30
    podSpecPatch: |
      containers:
      - name: main
        resources: {limits: {cpu: "2"}}
    initContainers: [{name: init, image: busybox, mirrorVolumeMounts: true}]
    sidecars: [{name: proxy, image: envoy}]
    container:
      name: ignored
      image: alpine
      resources: {limits: {memory: 64Mi}}
      volumeMounts: [{name: shared, mountPath: /shared}]
"#;

#[test]
fn pods_carry_upstream_names_labels_annotations_and_owner() {
    let mut s = sim(WF);
    let out = s.reconcile();
    let pod = out
        .actions
        .iter()
        .find_map(|a| match a {
            Action::CreatePod(p) => Some(p),
            _ => None,
        })
        .unwrap();
    let meta = &pod.metadata;
    assert_eq!(meta.name.as_deref(), Some("pods"), "the root node's pod is named after the workflow");
    assert_eq!(meta.namespace.as_deref(), Some("ns1"));
    let labels = meta.labels.as_ref().unwrap();
    assert_eq!(labels["workflows.argoproj.io/workflow"], "pods");
    assert_eq!(labels["workflows.argoproj.io/completed"], "false");
    assert_eq!(labels["team"], "a");
    assert_eq!(labels["role"], "worker");
    let ann = meta.annotations.as_ref().unwrap();
    assert_eq!(ann["workflows.argoproj.io/node-name"], "pods");
    assert_eq!(ann["workflows.argoproj.io/node-id"], "pods");
    assert_eq!(ann["note"], "wf");
    let owner = &meta.owner_references.as_ref().unwrap()[0];
    assert_eq!((owner.kind.as_str(), owner.name.as_str(), owner.uid.as_str()), ("Workflow", "pods", "uid-1"));
    assert_eq!(owner.controller, Some(true));

    let spec = pod.spec.as_ref().unwrap();
    assert_eq!(spec.restart_policy.as_deref(), Some("Never"));
    assert_eq!(spec.service_account_name.as_deref(), Some("tmpl-sa"));
    let sel = spec.node_selector.as_ref().unwrap();
    assert_eq!((sel["disk"].as_str(), sel["zone"].as_str()), ("ssd", "z1"));
    assert_eq!(spec.image_pull_secrets.as_ref().unwrap()[0].name, "regcred");
    assert_eq!(spec.tolerations.as_ref().unwrap()[0].key.as_deref(), Some("dedicated"));
    assert_eq!(spec.security_context.as_ref().unwrap().run_as_non_root, Some(true));
    assert_eq!(spec.active_deadline_seconds, Some(30));
    assert_eq!(spec.volumes.as_ref().unwrap()[0].name, "shared");
    let names: Vec<_> = spec.containers.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names, ["main"]);
    let init: Vec<_> = spec
        .init_containers
        .iter()
        .flatten()
        .map(|c| (c.name.as_str(), c.restart_policy.as_deref()))
        .collect();
    assert_eq!(
        init,
        [("init", None), ("proxy", Some("Always"))],
        "sidecars are native sidecars, after init containers"
    );
    let main = &spec.containers[0];
    let limits = main.resources.as_ref().unwrap().limits.as_ref().unwrap();
    assert_eq!(limits["memory"].0, "64Mi");
    assert_eq!(limits["cpu"].0, "2", "template podSpecPatch merged into main");
    assert_eq!(main.env.as_ref().unwrap()[0].value.as_deref(), Some("pods"), "workflow podSpecPatch, substituted");
    let init = &spec.init_containers.as_ref().unwrap()[0];
    assert_eq!(init.volume_mounts.as_ref().unwrap()[0].mount_path, "/shared", "mirrorVolumeMounts");
}

#[test]
fn child_pods_are_named_workflow_template_hash() {
    let s = run(r#"
apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {name: names}
spec:
  entrypoint: main
  templates:
  - name: main
    steps: [[{name: a, template: echo-it}]]
  - name: echo-it
    container: {image: alpine}
"#)
    .0;
    let n = node(&s, "a");
    assert_eq!(n.pod_name.as_deref(), Some(format!("names-echo-it-{}", names::fnv32a("names[0].a")).as_str()));
    let pod = &s.pods[n.pod_name.as_deref().unwrap()];
    assert_eq!(pod.metadata.annotations.as_ref().unwrap()["workflows.argoproj.io/node-id"], n.id);
}

#[test]
fn a_pod_the_project_refuses_as_rendered_is_not_created() {
    // Admission saw `{{inputs.parameters.image}}`; the controller sees the image.
    let yaml = r#"
apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {name: param-image}
spec:
  entrypoint: main
  templates:
  - name: main
    steps:
    - - {name: ok, template: run, arguments: {parameters: [{name: image, value: "alpine:3.19"}]}}
    - - {name: sneaky, template: run, arguments: {parameters: [{name: image, value: "evil/miner:latest"}]}}
  - name: run
    inputs: {parameters: [{name: image}]}
    container: {image: "{{inputs.parameters.image}}", command: [echo]}
"#;
    let mut s = sim(yaml);
    let project: serde_json::Value = serde_json::json!({"apiVersion": "argoproj.io/v1alpha1", "kind": "WorkflowProject",
        "metadata": {"name": "strict"}, "spec": {"namespaces": ["*"], "images": ["alpine:*"]}});
    s.projects = argo_api::policy::Projects::new(vec![argo_api::load::workflow_project(&project).expect("project")]);
    assert_eq!(s.run(10_000), Some(Phase::Failed));
    assert_eq!(phase_of(&s, "ok"), Phase::Succeeded);
    let sneaky = node(&s, "sneaky");
    assert_eq!(sneaky.phase, Phase::Error);
    let msg = sneaky.message.clone().unwrap_or_default();
    assert!(msg.contains("pod refused by project \"strict\"") && msg.contains("evil/miner:latest"), "{msg}");
    assert_eq!(s.created.len(), 1, "the refused pod was never created: {:?}", s.created);
}

#[test]
fn a_pending_reason_is_shown_while_pending_and_gone_once_the_pod_runs() {
    let mut s = sim(r#"
apiVersion: argoproj.io/v1alpha1
kind: Workflow
spec:
  entrypoint: main
  templates:
  - name: main
    metadata: {annotations: {kwok.test/duration: 5s}}
    container: {image: alpine}
"#);
    s.reconcile();
    s.reconcile();
    assert_eq!(node(&s, "wf").message.as_deref(), Some("ContainerCreating"));
    assert_eq!(s.run(50), Some(Phase::Succeeded));
    assert_eq!(node(&s, "wf").message, None, "a pod that ran keeps no pending reason");
}

/// Issue 19, finding 4: a template's metadata cannot make its pod claim
/// another workflow or node (logs and status follow these keys).
#[test]
fn template_metadata_cannot_override_the_controllers_keys() {
    let mut s = sim(r#"
apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {name: mine, namespace: ns1, uid: uid-1}
spec:
  entrypoint: main
  podMetadata:
    labels: {workflows.argoproj.io/workflow: victim, team: a}
  templates:
  - name: main
    metadata:
      labels: {workflows.argoproj.io/completed: "true"}
      annotations: {workflows.argoproj.io/node-name: "victim.step", workflows.argoproj.io/node-id: victim-1, note: kept}
    container: {image: alpine}
"#);
    let out = s.reconcile();
    let pod = out
        .actions
        .iter()
        .find_map(|a| match a {
            Action::CreatePod(p) => Some(p),
            _ => None,
        })
        .expect("a pod");
    let labels = pod.metadata.labels.as_ref().expect("labels");
    let annotations = pod.metadata.annotations.as_ref().expect("annotations");
    assert_eq!(labels["workflows.argoproj.io/workflow"], "mine");
    assert_eq!(labels["workflows.argoproj.io/completed"], "false");
    assert_eq!(labels["team"], "a", "other labels pass through");
    assert_eq!(annotations["workflows.argoproj.io/node-name"], "mine");
    assert_eq!(annotations["workflows.argoproj.io/node-id"], "mine");
    assert_eq!(annotations["note"], "kept");
}
