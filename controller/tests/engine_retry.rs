//! retryStrategy: attempts, policies, limits and backoff.

mod common;

use std::time::Duration;

use argo_api::workflow::{NodeType, Phase};
use common::*;

fn retry(strategy: &str, codes: &str) -> String {
    format!(
        r#"
apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {{name: rt}}
spec:
  entrypoint: main
  templates:
  - name: main
    steps:
    - - {{name: flaky, template: flaky}}
  - name: flaky
    retryStrategy: {strategy}
    metadata:
      annotations: {{kwok.test/exit-code: "{codes}", kwok.test/attempt: "{{{{retries}}}}"}}
    container: {{image: alpine}}
"#
    )
}

#[test]
fn a_retry_that_recovers_succeeds_with_attempt_children() {
    let (s, phase) = run(&retry("{limit: 3}", "1,1,0"));
    assert_eq!(phase, Phase::Succeeded);
    let r = node(&s, "flaky");
    assert_eq!(r.type_, NodeType::Retry);
    assert_eq!(r.children.len(), 3);
    assert_eq!(phase_of(&s, "flaky(0)"), Phase::Failed);
    assert_eq!(phase_of(&s, "flaky(1)"), Phase::Failed);
    assert_eq!(phase_of(&s, "flaky(2)"), Phase::Succeeded);
    assert_eq!(node(&s, "flaky(2)").name, "rt[0].flaky(2)");
    assert_eq!(node(&s, "flaky(1)").node_flag.as_ref().and_then(|f| f.retried), Some(true));
    assert_eq!(s.created.len(), 3);
    assert_no_duplicate_pods(&s);
}

#[test]
fn the_limit_is_the_number_of_retries_after_the_first_attempt() {
    let (s, phase) = run(&retry("{limit: 2}", "1"));
    assert_eq!(phase, Phase::Failed);
    let r = node(&s, "flaky");
    assert_eq!(r.children.len(), 3);
    assert_eq!(r.message.as_deref(), Some("No more retries left"));
}

#[test]
fn retry_policies_choose_which_failures_to_retry() {
    // OnError does not retry a Failed pod.
    let (s, phase) = run(&retry("{limit: 2, retryPolicy: OnError}", "1"));
    assert_eq!(phase, Phase::Failed);
    assert_eq!(node(&s, "flaky").children.len(), 1);
    // Always retries it.
    let (s, phase) = run(&retry("{limit: 2, retryPolicy: Always}", "1,0"));
    assert_eq!(phase, Phase::Succeeded);
    assert_eq!(node(&s, "flaky").children.len(), 2);
}

#[test]
fn backoff_waits_duration_times_factor_to_the_retry_number() {
    let (s, phase) = run(&retry(r#"{limit: 3, backoff: {duration: "10s", factor: 2}}"#, "1,1,1,0"));
    assert_eq!(phase, Phase::Succeeded);
    let gap = |a: &str, b: &str| started(node(&s, b)).duration_since(finished(node(&s, a))).as_secs_f64();
    assert!((gap("flaky(0)", "flaky(1)") - 10.0).abs() < 0.5, "{}", gap("flaky(0)", "flaky(1)"));
    assert!((gap("flaky(1)", "flaky(2)") - 20.0).abs() < 0.5, "{}", gap("flaky(1)", "flaky(2)"));
    assert!((gap("flaky(2)", "flaky(3)") - 40.0).abs() < 0.5, "{}", gap("flaky(2)", "flaky(3)"));
}

#[test]
fn backoff_reports_the_wait_and_respects_max_duration() {
    let mut s = sim(&retry(r#"{limit: 5, backoff: {duration: "30s", maxDuration: "45s"}}"#, "1"));
    for _ in 0..20 {
        s.reconcile();
        s.advance(Duration::from_secs(1));
        if s.node("flaky").is_some_and(|n| n.message.as_deref() == Some("Backoff for 30s")) {
            break;
        }
    }
    assert_eq!(node(&s, "flaky").message.as_deref(), Some("Backoff for 30s"));
    let phase = s.run(1000).unwrap();
    assert_eq!(phase, Phase::Failed);
    let r = node(&s, "flaky");
    assert_eq!(r.message.as_deref(), Some("Backoff would exceed max duration limit"));
    assert_eq!(r.children.len(), 2);
}

#[test]
fn a_workflow_level_retry_strategy_applies_to_templates_without_one() {
    let (s, phase) = run(r#"
apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {name: wr}
spec:
  entrypoint: flaky
  retryStrategy: {limit: 1}
  templates:
  - name: flaky
    metadata: {annotations: {kwok.test/exit-code: "1,0", kwok.test/attempt: "{{retries}}"}}
    container: {image: alpine}
"#);
    assert_eq!(phase, Phase::Succeeded);
    assert_eq!(node(&s, "wr").type_, NodeType::Retry);
    assert_eq!(phase_of(&s, "wr(1)"), Phase::Succeeded);
}
