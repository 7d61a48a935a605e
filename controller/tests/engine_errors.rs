//! Workflows that cannot run end in Error with a message naming the
//! problem; nothing is run wrongly.

mod common;

use argo_api::workflow::Phase;
use argo_controller::engine::{self, Action, Input, PodIndex};
use common::*;

#[test]
fn an_invalid_workflow_errors_with_every_problem_named() {
    let (s, phase) = run(r#"
apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {name: bad}
spec:
  entrypoint: main
  templates:
  - name: main
    dag:
      tasks:
      - {name: A, depends: B, template: echo}
      - {name: B, depends: A, template: missing}
  - name: echo
    container: {image: alpine, args: ["{{steps.x.outputs.result}}"]}
"#);
    assert_eq!(phase, Phase::Error);
    let msg = s.workflow.status.as_ref().unwrap().message.clone().unwrap();
    assert!(msg.starts_with("invalid workflow: "), "{msg}");
    assert!(
        msg.contains("spec.templates[0].dag.tasks[1].template: template \"missing\" does not exist"),
        "{msg}"
    );
    assert!(msg.contains("dependency cycle: A -> B -> A"), "{msg}");
    assert!(msg.contains("spec.templates[1].container.args[0]"), "{msg}");
    assert!(s.created.is_empty());
    assert!(s.events.iter().any(|(w, r, _)| *w && *r == "WorkflowFailed"));
}

#[test]
fn outputs_in_the_wrong_kind_of_template_are_refused_by_name() {
    let (s, phase) = run(r#"
apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {name: out}
spec:
  entrypoint: main
  templates:
  - name: main
    outputs:
      parameters:
      - {name: x, valueFrom: {supplied: {}}}
      - {name: y, valueFrom: {parameter: "{{steps.a.outputs.result}}"}}
    container: {image: alpine, command: ["true"]}
"#);
    assert_eq!(phase, Phase::Error);
    let msg = s.workflow.status.as_ref().unwrap().message.clone().unwrap();
    for expected in [
        "spec.templates[0].outputs.parameters[0]: valueFrom.supplied is an output of a suspend template, given when it is resumed",
        "spec.templates[0].outputs.parameters[1]: valueFrom.parameter names a step's or task's output in steps or a DAG",
    ] {
        assert!(msg.contains(expected), "{msg}");
    }
    assert!(s.created.is_empty());
}

#[test]
fn a_value_known_only_at_run_time_that_does_not_resolve_errors_the_node() {
    let (s, phase) = run(r#"
apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {name: rt}
spec:
  entrypoint: main
  templates:
  - name: main
    steps:
    - - name: a
        template: echo
        arguments: {parameters: [{name: m, value: "{{item.missing}}"}]}
        withItems: [{present: 1}]
  - name: echo
    inputs: {parameters: [{name: m}]}
    container: {image: alpine, args: ["{{inputs.parameters.m}}"]}
"#);
    assert_eq!(phase, Phase::Failed);
    let n = node(&s, "a(0:present:1)");
    assert_eq!(n.phase, Phase::Error);
    assert_eq!(
        n.message.as_deref(),
        Some("failed to resolve {{item.missing}}: no such variable in this template's scope")
    );
    assert!(s.created.is_empty(), "no pod gets a literal {{...}}");
}

#[test]
fn a_pod_the_apiserver_refuses_errors_its_node() {
    let mut s = sim(r#"
apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {name: rf}
spec:
  entrypoint: main
  templates:
  - name: main
    container: {image: alpine}
"#);
    s.refuse_pod("rf", "pods \"rf\" is forbidden: exceeded quota");
    assert_eq!(s.run(100), Some(Phase::Error));
    assert_eq!(
        node(&s, "rf").message.as_deref(),
        Some("failed to create pod rf: pods \"rf\" is forbidden: exceeded quota")
    );
}

#[test]
fn a_pod_deleted_under_a_running_node_is_an_error_not_a_rerun() {
    let mut s = sim(r#"
apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {name: del}
spec:
  entrypoint: main
  templates:
  - name: main
    metadata: {annotations: {kwok.test/duration: 1h}}
    container: {image: alpine}
"#);
    s.reconcile();
    s.advance(std::time::Duration::from_secs(1));
    s.reconcile();
    assert_eq!(phase_of(&s, "del"), Phase::Running);
    s.pods.clear();
    assert_eq!(s.run(100), Some(Phase::Error));
    assert_eq!(s.created.len(), 1);
    assert!(node(&s, "del").message.as_deref().unwrap().contains("was deleted"));
}

#[test]
fn a_pod_never_seen_is_created_again_however_late_the_controller_looks() {
    let mut s = sim(r#"
apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {name: late}
spec:
  entrypoint: main
  templates:
  - name: main
    container: {image: alpine}
"#);
    s.reconcile();
    assert_eq!(s.created.len(), 1);
    // The create was lost (it timed out on a busy apiserver) and the next
    // look comes five minutes later.
    s.pods.clear();
    s.advance(std::time::Duration::from_secs(300));
    assert_eq!(s.run(100), Some(Phase::Succeeded));
    assert_eq!(s.created.len(), 2, "created again, not failed as deleted");
}

#[test]
fn refuse_keeps_the_status_and_names_the_problem() {
    let now = "2026-01-01T00:00:00Z".parse().unwrap();
    let out = engine::refuse(None, "spec.templates[0].synchronization: not supported".into(), now);
    assert_eq!(out.status.phase, Some(Phase::Error));
    assert_eq!(out.status.message.as_deref(), Some("spec.templates[0].synchronization: not supported"));
    assert!(matches!(out.actions[0], Action::Event { warning: true, .. }));
    assert_eq!(out.labels["workflows.argoproj.io/completed"], "true");
}

#[test]
fn a_finished_workflow_is_left_alone() {
    let (mut s, _) = run(r#"
apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {name: done}
spec:
  entrypoint: main
  templates:
  - name: main
    container: {image: alpine}
"#);
    let before = s.workflow.status.clone();
    let pods = PodIndex::new();
    let out = engine::reconcile(&Input {
        workflow: &s.workflow,
        pods: &pods,
        now: s.now,
        create_errors: &Default::default(),
        projects: &engine::sim::default_projects(),
        limits: Default::default(),
        executor: &Default::default(),
        image_pull_timeout: None,
    });
    assert_eq!(Some(out.status), before);
    assert!(out.actions.is_empty());
    s.reconcile();
}
