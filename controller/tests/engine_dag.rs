//! DAG templates: ordering, depends expressions, failFast, targets.

mod common;

use argo_api::workflow::Phase;
use common::*;

const DIAMOND: &str = r#"
apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {name: diamond}
spec:
  entrypoint: d
  templates:
  - name: d
    dag:
      tasks:
      - {name: A, template: echo}
      - {name: B, depends: A, template: echo}
      - {name: C, depends: A, template: echo}
      - {name: D, depends: B && C, template: echo}
  - name: echo
    container: {image: alpine}
"#;

#[test]
fn diamond_runs_in_dependency_order_and_links_nodes_like_upstream() {
    let (s, phase) = run(DIAMOND);
    assert_eq!(phase, Phase::Succeeded);
    let (a, b, c, d) = (node(&s, "A"), node(&s, "B"), node(&s, "C"), node(&s, "D"));
    assert!(started(b) >= finished(a) && started(c) >= finished(a));
    assert!(started(d) >= finished(b) && started(d) >= finished(c));
    let root = node(&s, "diamond");
    assert_eq!(root.id, "diamond");
    assert_eq!(root.children, vec![a.id.clone()]);
    let mut ac = a.children.clone();
    ac.sort();
    let mut bc = vec![b.id.clone(), c.id.clone()];
    bc.sort();
    assert_eq!(ac, bc);
    assert_eq!(b.children, vec![d.id.clone()]);
    assert_eq!(c.children, vec![d.id.clone()]);
    assert_eq!(root.outbound_nodes, vec![d.id.clone()]);
    assert_eq!(a.name, "diamond.A");
    assert_eq!(a.id, format!("diamond-{}", argo_api::names::fnv32a("diamond.A")));
    assert_eq!(a.boundary_id.as_deref(), Some("diamond"));
    assert_eq!(s.workflow.status.as_ref().unwrap().progress.as_deref(), Some("4/4"));
    assert_no_duplicate_pods(&s);
}

#[test]
fn enhanced_depends_handles_expected_failures_and_succeeds() {
    let (s, phase) = run(r#"
apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {name: enhanced}
spec:
  entrypoint: d
  templates:
  - name: d
    dag:
      tasks:
      - {name: A, template: pass}
      - {name: B, depends: A, template: pass}
      - {name: C, depends: A, template: fail}
      - {name: should-execute-1, depends: "A && (C.Succeeded || C.Failed)", template: pass}
      - {name: should-execute-2, depends: B || C, template: pass}
      - {name: should-not-execute, depends: B && C, template: pass}
      - {name: should-execute-3, depends: should-execute-2.Succeeded || should-not-execute, template: pass}
  - name: pass
    container: {image: alpine}
  - name: fail
    metadata: {annotations: {kwok.test/exit-code: "1"}}
    container: {image: alpine}
"#);
    assert_eq!(phase, Phase::Succeeded, "{:?}", s.workflow.status);
    assert_eq!(phase_of(&s, "C"), Phase::Failed);
    assert_eq!(phase_of(&s, "should-execute-1"), Phase::Succeeded);
    assert_eq!(phase_of(&s, "should-execute-2"), Phase::Succeeded);
    assert_eq!(phase_of(&s, "should-not-execute"), Phase::Omitted);
    assert_eq!(phase_of(&s, "should-execute-3"), Phase::Succeeded);
}

#[test]
fn failures_flow_through_omitted_tasks_to_fail_the_dag() {
    let (s, phase) = run(r#"
apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {name: cof}
spec:
  entrypoint: d
  templates:
  - name: d
    dag:
      tasks:
      - {name: A, template: ok}
      - {name: B, depends: A, template: bad}
      - {name: C, depends: A, template: ok}
      - {name: D, depends: B.Failed && C, template: ok}
      - {name: E, depends: A, template: bad}
      - {name: F, depends: A, template: ok}
      - {name: G, depends: E && F, template: ok}
  - name: ok
    container: {image: alpine}
  - name: bad
    metadata: {annotations: {kwok.test/exit-code: "1"}}
    container: {image: alpine}
"#);
    assert_eq!(phase, Phase::Failed);
    assert_eq!(phase_of(&s, "D"), Phase::Succeeded);
    assert_eq!(phase_of(&s, "G"), Phase::Omitted);
    let msg = s.workflow.status.as_ref().unwrap().message.clone().unwrap_or_default();
    assert!(msg.contains("task 'cof.G' failed") || msg.contains("cof.E"), "{msg}");
}

fn fail_fast(enabled: bool) -> String {
    format!(
        r#"
apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {{name: ff}}
spec:
  entrypoint: d
  templates:
  - name: d
    dag:
      failFast: {enabled}
      tasks:
      - {{name: A, template: quick}}
      - {{name: B, depends: A, template: slow}}
      - {{name: C, depends: A, template: bad}}
      - {{name: D, depends: B, template: quick}}
      - {{name: E, depends: D, template: quick}}
  - name: quick
    container: {{image: alpine}}
  - name: slow
    metadata: {{annotations: {{kwok.test/duration: 10s}}}}
    container: {{image: alpine}}
  - name: bad
    metadata: {{annotations: {{kwok.test/exit-code: "2"}}}}
    container: {{image: alpine}}
"#
    )
}

#[test]
fn fail_fast_stops_new_tasks_after_an_unexpected_failure() {
    let (s, phase) = run(&fail_fast(true));
    assert_eq!(phase, Phase::Failed);
    assert_eq!(phase_of(&s, "B"), Phase::Succeeded, "running tasks finish");
    assert!(s.node("D").is_none(), "D must not start after C failed");
    assert!(s.node("E").is_none());
}

#[test]
fn without_fail_fast_every_branch_runs_to_completion() {
    let (s, phase) = run(&fail_fast(false));
    assert_eq!(phase, Phase::Failed);
    assert_eq!(phase_of(&s, "D"), Phase::Succeeded);
    assert_eq!(phase_of(&s, "E"), Phase::Succeeded);
}

#[test]
fn target_runs_only_the_named_tasks_and_their_dependencies() {
    let (s, phase) = run(r#"
apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {name: tg}
spec:
  entrypoint: d
  templates:
  - name: d
    dag:
      target: C
      tasks:
      - {name: A, template: ok}
      - {name: B, depends: A, template: ok}
      - {name: C, dependencies: [A], template: ok}
  - name: ok
    container: {image: alpine}
"#);
    assert_eq!(phase, Phase::Succeeded);
    assert!(s.node("B").is_none());
    assert_eq!(phase_of(&s, "C"), Phase::Succeeded);
}

#[test]
fn continue_on_failed_lets_dependents_of_dependencies_run() {
    let (s, phase) = run(r#"
apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {name: co}
spec:
  entrypoint: d
  templates:
  - name: d
    dag:
      tasks:
      - {name: A, template: bad, continueOn: {failed: true}}
      - {name: B, dependencies: [A], template: ok}
  - name: ok
    container: {image: alpine}
  - name: bad
    metadata: {annotations: {kwok.test/exit-code: "1"}}
    container: {image: alpine}
"#);
    assert_eq!(phase, Phase::Succeeded, "{:?}", s.workflow.status.as_ref().unwrap().message);
    assert_eq!(phase_of(&s, "A"), Phase::Failed);
    assert_eq!(phase_of(&s, "B"), Phase::Succeeded);
}

#[test]
fn nested_dags_and_task_loops() {
    let (s, phase) = run(r#"
apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {name: nest}
spec:
  entrypoint: outer
  templates:
  - name: outer
    dag:
      tasks:
      - {name: A, template: inner}
      - name: B
        depends: A
        template: echo
        arguments: {parameters: [{name: msg, value: "{{item}}"}]}
        withItems: [x, y, z]
  - name: inner
    dag:
      tasks:
      - {name: I1, template: echo, arguments: {parameters: [{name: msg, value: one}]}}
      - {name: I2, depends: I1, template: echo, arguments: {parameters: [{name: msg, value: two}]}}
  - name: echo
    inputs: {parameters: [{name: msg}]}
    container: {image: alpine, args: ["{{inputs.parameters.msg}}"]}
"#);
    assert_eq!(phase, Phase::Succeeded);
    let group = node(&s, "B");
    assert_eq!(group.type_, argo_api::workflow::NodeType::TaskGroup);
    assert_eq!(group.children.len(), 3);
    let item = node(&s, "B(1:y)");
    assert_eq!(item.name, "nest.B(1:y)");
    let i2 = node(&s, "I2");
    assert!(i2.children.contains(&group.id), "B hangs off the inner DAG's outbound node");
    assert!(started(item) >= finished(i2));
    let pod = &s.pods[item.pod_name.as_deref().unwrap()];
    assert_eq!(pod.spec.as_ref().unwrap().containers[0].args.as_deref(), Some(&["y".to_string()][..]));
}

#[test]
fn when_false_skips_and_with_param_expands_a_json_list() {
    let (s, phase) = run(r#"
apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {name: wp}
spec:
  entrypoint: d
  arguments: {parameters: [{name: list, value: '[{"n": 1}, {"n": 2}]'}, {name: go, value: "no"}]}
  templates:
  - name: d
    dag:
      tasks:
      - {name: A, template: ok, when: "{{workflow.parameters.go}} == yes"}
      - {name: B, template: ok, withParam: "{{workflow.parameters.list}}", when: "{{item.n}} > 1"}
  - name: ok
    container: {image: alpine}
"#);
    assert_eq!(phase, Phase::Succeeded);
    assert_eq!(phase_of(&s, "A"), Phase::Skipped);
    assert_eq!(phase_of(&s, "B(0:n:1)"), Phase::Skipped);
    assert_eq!(phase_of(&s, "B(1:n:2)"), Phase::Succeeded);
}
