//! `kubectl argo retry`: what runs again, what is kept, and that the
//! second run completes like a first one would.

mod common;

use argo_api::retry::RetryRequest;
use argo_api::workflow::{AnyString, NodeType, Phase};
use common::*;

const DIAMOND: &str = r#"
apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {name: dia}
spec:
  entrypoint: main
  onExit: report
  arguments:
    parameters: [{name: code, value: "1"}]
  templates:
  - name: main
    dag:
      tasks:
      - {name: A, template: ok}
      - {name: B, template: flaky, depends: A}
      - {name: C, template: ok, depends: A}
      - {name: D, template: ok, depends: B && C}
  - name: ok
    container: {image: alpine}
  - name: flaky
    metadata:
      annotations: {kwok.test/exit-code: "{{workflow.parameters.code}}"}
    container: {image: alpine}
  - name: report
    container: {image: alpine}
"#;

fn request() -> RetryRequest {
    RetryRequest {
        requested_at: "2026-01-01T01:00:00Z".into(),
        ..Default::default()
    }
}

fn set_code(s: &mut argo_controller::engine::sim::Sim, code: &str) {
    let args = s.workflow.spec.arguments.as_mut().expect("arguments");
    args.parameters[0].value = Some(AnyString(code.into()));
}

fn created(s: &argo_controller::engine::sim::Sim, display: &str) -> usize {
    let pod = node(s, display).pod_name.clone().expect("pod name");
    s.created.iter().filter(|c| **c == pod).count()
}

#[test]
fn a_failed_dag_reruns_only_what_failed_and_what_followed() {
    let mut s = sim(DIAMOND);
    assert_eq!(s.run(10_000), Some(Phase::Failed));
    assert_eq!(phase_of(&s, "B"), Phase::Failed);
    assert!(s.node("D").is_none_or(|d| d.phase == Phase::Omitted));
    let a_pod = node(&s, "A").pod_name.clone();

    set_code(&mut s, "0");
    let rerun = s.retry(&request()).expect("a failed workflow can be retried");
    let status = s.workflow.status.as_ref().expect("status");
    assert_eq!(status.phase, Some(Phase::Running));
    assert!(status.finished_at.is_none() && status.message.is_none());
    assert!(s.node("B").is_none(), "the failed node is gone");
    assert!(s.node("dia.onExit").is_none(), "the exit handler runs again");
    assert_eq!(phase_of(&s, "A"), Phase::Succeeded, "what succeeded is kept");
    assert_eq!(phase_of(&s, "dia"), Phase::Running, "the DAG runs again");
    assert!(rerun.delete_pods.iter().any(|p| p.starts_with("dia-flaky-")), "{:?}", rerun.delete_pods);
    assert!(!rerun.delete_pods.contains(a_pod.as_ref().expect("A's pod")));

    assert_eq!(s.run(10_000), Some(Phase::Succeeded));
    assert_eq!(created(&s, "A"), 1, "A did not run again");
    assert_eq!(created(&s, "B"), 2, "B ran again, under the same pod name, after its old pod went");
    assert_eq!(created(&s, "D"), 1);
    assert_eq!(phase_of(&s, "dia.onExit"), Phase::Succeeded);
}

#[test]
fn exhausted_retries_start_over_with_fresh_attempts() {
    let yaml = DIAMOND.replace("  - name: flaky\n", "  - name: flaky\n    retryStrategy: {limit: 1}\n");
    let mut s = sim(&yaml);
    assert_eq!(s.run(10_000), Some(Phase::Failed));
    assert_eq!(node(&s, "B").children.len(), 2);
    set_code(&mut s, "0");
    s.retry(&request()).expect("retry");
    let b = node(&s, "B");
    assert_eq!((b.type_, b.phase, b.children.len()), (NodeType::Retry, Phase::Running, 0));
    assert_eq!(s.run(10_000), Some(Phase::Succeeded));
    assert_eq!(phase_of(&s, "B(0)"), Phase::Succeeded, "the first attempt of the new run succeeds");
}

#[test]
fn restart_successful_reruns_selected_nodes_and_their_dependents() {
    let mut s = sim(DIAMOND);
    assert_eq!(s.run(10_000), Some(Phase::Failed));
    set_code(&mut s, "0");
    let req = RetryRequest {
        restart_successful: true,
        node_field_selector: Some("displayName=C".into()),
        ..request()
    };
    s.retry(&req).expect("retry");
    assert!(s.node("C").is_none() && s.node("B").is_none());
    assert_eq!(phase_of(&s, "A"), Phase::Succeeded);
    assert_eq!(s.run(10_000), Some(Phase::Succeeded));
    assert_eq!((created(&s, "A"), created(&s, "C")), (1, 2));
}

#[test]
fn only_failed_workflows_can_be_retried() {
    let mut s = sim(&DIAMOND.replace(r#"value: "1""#, r#"value: "0""#));
    assert_eq!(s.run(10_000), Some(Phase::Succeeded));
    let e = s.retry(&request()).expect_err("a succeeded workflow");
    assert!(e.contains("Succeeded"), "{e}");
    let bad = RetryRequest {
        restart_successful: true,
        node_field_selector: Some("phase".into()),
        ..request()
    };
    let mut f = sim(DIAMOND);
    f.run(10_000);
    assert!(f.retry(&bad).expect_err("bad selector").contains("nodeFieldSelector"));
}

#[test]
fn a_failed_step_reruns_after_the_kept_earlier_steps() {
    let yaml = r#"
apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {name: st}
spec:
  entrypoint: main
  arguments:
    parameters: [{name: code, value: "2"}]
  templates:
  - name: main
    steps:
    - - {name: first, template: ok}
    - - {name: second, template: flaky}
      - {name: beside, template: ok}
    - - {name: third, template: ok}
  - name: ok
    container: {image: alpine}
  - name: flaky
    metadata:
      annotations: {kwok.test/exit-code: "{{workflow.parameters.code}}"}
    container: {image: alpine}
"#;
    let mut s = sim(yaml);
    assert_eq!(s.run(10_000), Some(Phase::Failed));
    set_code(&mut s, "0");
    s.retry(&request()).expect("retry");
    assert_eq!(phase_of(&s, "first"), Phase::Succeeded);
    assert_eq!(phase_of(&s, "beside"), Phase::Succeeded);
    assert_eq!(s.run(10_000), Some(Phase::Succeeded));
    assert_eq!((created(&s, "first"), created(&s, "second"), created(&s, "third")), (1, 2, 1));
}

#[test]
fn a_retry_with_new_parameters_is_decided_again_on_the_rendered_pod() {
    let yaml = r#"
apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {name: img}
spec:
  entrypoint: main
  arguments:
    parameters: [{name: image, value: "alpine:3.19"}, {name: code, value: "1"}]
  templates:
  - name: main
    metadata:
      annotations: {kwok.test/exit-code: "{{workflow.parameters.code}}"}
    container: {image: "{{workflow.parameters.image}}"}
"#;
    let mut s = sim(yaml);
    let project = serde_json::json!({"apiVersion": "argoproj.io/v1alpha1", "kind": "WorkflowProject",
        "metadata": {"name": "strict"}, "spec": {"namespaces": ["*"], "images": ["alpine:*"]}});
    s.projects = argo_api::policy::Projects::new(vec![argo_api::load::workflow_project(&project).expect("project")]);
    assert_eq!(s.run(10_000), Some(Phase::Failed));
    // `kubectl argo retry -p image=... -p code=0` changes the arguments
    // and asks for a retry: the new image never reaches a pod.
    let args = s.workflow.spec.arguments.as_mut().expect("arguments");
    args.parameters[0].value = Some(AnyString("evil.example/miner:1".into()));
    args.parameters[1].value = Some(AnyString("0".into()));
    s.retry(&request()).expect("retry");
    assert_eq!(s.run(10_000), Some(Phase::Error));
    let msg = node(&s, "img").message.clone().unwrap_or_default();
    assert!(msg.contains("pod refused by project \"strict\"") && msg.contains("evil.example/miner:1"), "{msg}");
    assert_eq!(s.created.len(), 1, "only the first run's pod: {:?}", s.created);
}
