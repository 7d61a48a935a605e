//! A pod that cannot start says why in its node's message, and one whose
//! image cannot be pulled fails its node after the image pull timeout
//! rather than waiting for the workflow's deadline.

mod common;

use std::time::Duration;

use argo_api::workflow::Phase;
use argo_controller::engine::DEFAULT_IMAGE_PULL_TIMEOUT;
use common::*;

const WF: &str = r#"
apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {name: pull}
spec:
  entrypoint: main
  templates:
  - name: main
    steps:
    - - {name: hello, template: hello}
  - name: hello
    container: {image: "registry.example/missing:v1", command: [echo, hi]}
"#;

const EXEC: &str = "ghcr.io/argo-rs/argo-exec:v0.1.0";

fn message(s: &argo_controller::engine::sim::Sim, display: &str) -> String {
    node(s, display).message.clone().unwrap_or_default()
}

#[test]
fn an_executor_image_that_cannot_be_pulled_is_named_while_the_node_waits() {
    let mut s = sim(WF);
    s.unpullable.insert(EXEC.into());
    s.reconcile();
    s.advance(Duration::from_secs(1));
    s.reconcile();
    assert_eq!(phase_of(&s, "hello"), Phase::Pending);
    let m = message(&s, "hello");
    assert!(m.starts_with("ImagePullBackOff: Back-off pulling image"), "{m}");
    assert!(m.contains(EXEC) && m.ends_with("(container argo-init)"), "{m}");
}

#[test]
fn after_the_timeout_the_node_fails_with_the_reason_and_the_pod_goes() {
    let mut s = sim(WF);
    s.unpullable.insert("registry.example/missing:v1".into());
    let phase = s.run(1000);
    assert_eq!(phase, Some(Phase::Failed), "the steps fail with their child: {:?}", s.workflow.status);
    let n = node(&s, "hello");
    assert_eq!(n.phase, Phase::Error);
    let m = n.message.clone().unwrap_or_default();
    assert!(m.starts_with("ImagePullBackOff: Back-off pulling image \"registry.example/missing:v1\""), "{m}");
    assert!(m.ends_with("not pulled within the image pull timeout of 3m0s"), "{m}");
    let waited = finished(n).duration_since(started(n));
    assert_eq!(waited.as_secs(), DEFAULT_IMAGE_PULL_TIMEOUT.as_secs() as i64, "failed at the timeout, not later");
    assert_eq!(s.deleted_pods.len(), 1, "the kubelet stops pulling: the pod is deleted");
}

#[test]
fn the_timeout_is_configurable_and_can_be_turned_off() {
    let mut s = sim(WF);
    s.image_pull_timeout = Some(Duration::from_secs(20));
    s.unpullable.insert("registry.example/missing:v1".into());
    assert_eq!(s.run(1000), Some(Phase::Failed));
    let n = node(&s, "hello");
    assert_eq!(finished(n).duration_since(started(n)).as_secs(), 20);

    let mut s = sim(WF);
    s.image_pull_timeout = None;
    s.unpullable.insert("registry.example/missing:v1".into());
    s.reconcile();
    s.advance(Duration::from_secs(3600));
    s.reconcile();
    assert_eq!(phase_of(&s, "hello"), Phase::Pending, "no timeout: it waits, saying why");
    assert!(message(&s, "hello").starts_with("ImagePullBackOff"));
}

#[test]
fn a_pull_that_recovers_in_time_runs_on_and_the_message_clears() {
    let mut s = sim(WF);
    s.unpullable.insert("registry.example/missing:v1".into());
    s.reconcile();
    s.advance(Duration::from_secs(60));
    s.reconcile();
    assert!(message(&s, "hello").starts_with("ImagePullBackOff"));
    s.unpullable.clear();
    assert_eq!(s.run(1000), Some(Phase::Succeeded));
    assert_eq!(node(&s, "hello").message, None, "the waiting reason no longer holds");
}

#[test]
fn a_retry_strategy_retries_a_pull_that_gave_up() {
    let yaml = WF.replace("  - name: hello\n", "  - name: hello\n    retryStrategy: {limit: 1, retryPolicy: Always}\n");
    let mut s = sim(&yaml);
    s.image_pull_timeout = Some(Duration::from_secs(30));
    s.unpullable.insert("registry.example/missing:v1".into());
    assert_eq!(s.run(1000), Some(Phase::Failed));
    assert_eq!(pod_nodes(&s).len(), 2, "the first attempt and its retry");
    assert_no_duplicate_pods(&s);
}
