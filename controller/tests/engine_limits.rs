//! What a tenant writes cannot crash or exhaust the engine: each limit
//! fails the workflow (or the node) with a message naming it. The findings
//! of issue 9 (a `when` nested 2,000 deep, `withSequence.count` of 2^50,
//! 100k `withItems`) are here as regression tests; they ran in the default
//! 2 MiB test thread stack, so a controller thread has room to spare.

mod common;

use std::time::Duration;

use argo_api::workflow::Phase;
use argo_controller::engine::{self, Input, PodIndex};
use common::*;

fn message(s: &argo_controller::engine::sim::Sim) -> String {
    s.workflow.status.as_ref().and_then(|st| st.message.clone()).unwrap_or_default()
}

#[test]
fn a_when_nested_2000_deep_is_an_error_not_a_stack_overflow() {
    let deep = format!("{}true{}", "(".repeat(2000), ")".repeat(2000));
    let yaml = format!(
        r#"
apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {{name: deep-when}}
spec:
  entrypoint: main
  arguments: {{parameters: [{{name: cond, value: "{deep}"}}]}}
  templates:
  - name: main
    steps:
    - - {{name: a, template: c, when: "{{{{workflow.parameters.cond}}}}"}}
  - name: c
    container: {{image: alpine}}
"#
    );
    let (s, phase) = run(&yaml);
    assert_eq!(phase, Phase::Failed);
    let a = node(&s, "a");
    assert!(a.message.as_deref().unwrap_or_default().contains("nested more than 64 levels"), "{a:?}");
    assert!(s.created.is_empty());
}

#[test]
fn a_sequence_of_2_to_the_50_fails_the_step_without_allocating() {
    let yaml = r#"
apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {name: huge-seq}
spec:
  entrypoint: main
  arguments: {parameters: [{name: n, value: "1125899906842624"}, {name: max, value: "9223372036854775807"}]}
  templates:
  - name: main
    steps:
    - - {name: fan, template: c, withSequence: {count: "{{workflow.parameters.n}}"}}
      - {name: edge, template: c, withSequence: {count: "2", start: "{{workflow.parameters.max}}"}}
  - name: c
    container: {image: alpine}
"#;
    let (s, phase) = run(yaml);
    assert_eq!(phase, Phase::Failed);
    assert!(node(&s, "fan").message.as_deref().unwrap().contains("more than the limit of 10000 per loop"));
    assert!(node(&s, "edge").message.as_deref().unwrap().contains("past the largest whole number"));
    assert!(s.created.is_empty());
}

#[test]
fn withitems_over_the_limit_are_refused_and_at_the_limit_stay_linear() {
    let items = |n: usize| (0..n).map(|i| format!("\"item-{i:06}\"")).collect::<Vec<_>>().join(",");
    let yaml = |n: usize| {
        format!(
            "apiVersion: argoproj.io/v1alpha1\nkind: Workflow\nmetadata: {{name: items}}\nspec:\n  entrypoint: main\n  templates:\n  - name: main\n    steps:\n    - - {{name: fan, template: c, withItems: [{}]}}\n  - name: c\n    metadata: {{annotations: {{kwok.test/duration: 1s}}}}\n    container: {{image: alpine}}\n",
            items(n)
        )
    };
    let (s, phase) = run(&yaml(100_000));
    assert_eq!(phase, Phase::Error, "refused before it starts");
    assert!(message(&s).contains("withItems: 100000 items, more than the limit of 10000"), "{}", message(&s));
    // At the limit every item runs. Quadratic copying would take minutes
    // and gigabytes here; linear work takes well under that in a debug build.
    let started = std::time::Instant::now();
    let mut s = sim(&yaml(10_000));
    // Ten thousand nodes do not fit the default status budget; the copying
    // is what is measured here.
    s.limits.object_bytes = 64 * 1024 * 1024;
    s.reconcile();
    assert_eq!(s.created.len(), 10_000);
    assert!(started.elapsed() < Duration::from_secs(60), "{:?}", started.elapsed());
}

#[test]
fn recursion_stops_at_the_depth_limit() {
    let yaml = r#"
apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {name: forever}
spec:
  entrypoint: loop
  templates:
  - name: loop
    steps:
    - - {name: again, template: loop}
"#;
    let (s, phase) = run(yaml);
    assert_eq!(phase, Phase::Failed);
    let deepest = nodes(&s).into_iter().find(|n| n.message.as_deref().is_some_and(|m| m.contains("nested more than")));
    assert!(deepest.is_some(), "{}", message(&s));
    assert!(nodes(&s).len() < 400, "{} nodes", nodes(&s).len());
}

#[test]
fn a_long_chain_of_tasks_runs_without_deep_recursion() {
    let mut yaml = String::from(
        "apiVersion: argoproj.io/v1alpha1\nkind: Workflow\nmetadata: {name: chain}\nspec:\n  entrypoint: d\n  templates:\n  - name: d\n    dag:\n      tasks:\n      - {name: t0, template: c}\n",
    );
    for i in 1..3000 {
        yaml.push_str(&format!("      - {{name: t{i}, template: c, depends: t{}}}\n", i - 1));
    }
    yaml.push_str(
        "  - name: c\n    metadata: {annotations: {kwok.test/duration: 1s}}\n    container: {image: alpine}\n",
    );
    let mut s = sim(&yaml);
    for _ in 0..5 {
        s.reconcile();
        s.advance(Duration::from_secs(2));
    }
    assert!(s.created.len() >= 2, "the chain advances: {}", s.created.len());
    assert!(s.phase() == Some(Phase::Running));
}

#[test]
fn too_many_nodes_fail_the_workflow_naming_the_limit() {
    let yaml = r#"
apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {name: wide}
spec:
  entrypoint: main
  templates:
  - name: main
    steps:
    - - {name: outer, template: inner, withSequence: {count: "100"}}
  - name: inner
    steps:
    - - {name: leaf, template: c, withSequence: {count: "300"}, when: "1 == 2"}
  - name: c
    container: {image: alpine}
"#;
    let mut s = sim(yaml);
    // Nodes, not bytes, are what this test runs out of.
    s.limits.object_bytes = 64 * 1024 * 1024;
    assert_eq!(s.run(1000), Some(Phase::Error));
    assert!(message(&s).contains("more than 20000 nodes"), "{}", message(&s));
    assert!(nodes(&s).len() <= 20_100, "{} nodes", nodes(&s).len());
}

#[test]
fn a_status_too_large_to_store_fails_the_workflow_and_keeps_the_last_one() {
    // Text that does not compress: packing the nodes cannot save it.
    let big = incompressible(200 * 1024, 1);
    let yaml = format!(
        r#"
apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {{name: fat}}
spec:
  entrypoint: main
  arguments: {{parameters: [{{name: big, value: "{big}"}}]}}
  templates:
  - name: main
    steps:
    - - {{name: fan, template: c, withSequence: {{count: "8"}}, arguments: {{parameters: [{{name: p, value: "{{{{workflow.parameters.big}}}}"}}]}}}}
  - name: c
    inputs: {{parameters: [{{name: p}}]}}
    container: {{image: alpine}}
"#
    );
    let (s, phase) = run(&yaml);
    assert_eq!(phase, Phase::Error);
    assert!(
        message(&s).contains("status grew past") && message(&s).contains("1472 KiB a stored workflow may take"),
        "{}",
        message(&s)
    );
    assert!(s.created.is_empty(), "no pod of the oversized pass was created: {:?}", s.created);
}

#[test]
fn a_parameter_over_the_limit_fails_its_node() {
    let big = "y".repeat(300 * 1024);
    let yaml = format!(
        "apiVersion: argoproj.io/v1alpha1\nkind: Workflow\nmetadata: {{name: p}}\nspec:\n  entrypoint: c\n  arguments: {{parameters: [{{name: p, value: \"{big}\"}}]}}\n  templates:\n  - name: c\n    inputs: {{parameters: [{{name: p, value: \"{{{{workflow.parameters.p}}}}\"}}]}}\n    container: {{image: alpine}}\n"
    );
    let (s, phase) = run(&yaml);
    assert_eq!(phase, Phase::Error);
    let msg = message(&s);
    assert!(msg.contains("more than the limit of 256 KiB per parameter"), "{msg}");
}

#[test]
fn a_status_whose_links_loop_is_read_without_hanging() {
    let yaml = r#"
apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {name: loops}
spec:
  entrypoint: d
  templates:
  - name: d
    dag:
      tasks:
      - {name: a, template: s}
      - {name: b, depends: a, template: c}
  - name: s
    steps: [[{name: x, template: c}]]
  - name: c
    container: {image: alpine}
"#;
    let mut s = sim(yaml);
    s.reconcile();
    // A hostile status: every node's children and outbound nodes point at
    // every node, itself included.
    let status = s.workflow.status.as_mut().expect("status");
    let ids: Vec<String> = status.nodes.keys().cloned().collect();
    for n in status.nodes.values_mut() {
        n.children = ids.clone();
        n.outbound_nodes = ids.clone();
        n.phase = Phase::Succeeded;
    }
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
    assert!(out.status.phase.is_some());
}

/// Issue 19, finding 6: what a workflow references is stored in its status
/// on the first write; when that cannot fit, the workflow ends in Error
/// with a status that does (without the references), never a write the
/// apiserver refuses again and again.
#[test]
fn references_too_large_to_store_end_the_workflow_with_a_status_that_fits() {
    let big = incompressible(300 * 1024, 7);
    let referenced = serde_json::json!({"name": "namespaced/lib/t", "container": {"image": "alpine", "args": [big]}});
    let wf = serde_json::json!({"apiVersion": "argoproj.io/v1alpha1", "kind": "Workflow", "metadata": {"name": "amp"},
        "spec": {"entrypoint": "main", "templates": [
            {"name": "main", "steps": [[{"name": "s", "template": "namespaced/lib/t"}]]}, referenced]},
        "status": {"storedTemplates": {"namespaced/lib/t": referenced}}});
    let mut s = argo_controller::engine::sim::Sim::new(argo_api::load::workflow(&wf).expect("workflow"));
    s.limits.object_bytes = 256 * 1024;
    assert_eq!(s.run(100), Some(Phase::Error));
    let status = s.workflow.status.as_ref().expect("status");
    assert!(message(&s).contains("status grew past"), "{}", message(&s));
    assert!(status.stored_templates.is_empty(), "the references are dropped from a status that must fit");
    let size = serde_json::to_vec(status).expect("json").len();
    assert!(size < 256 * 1024, "the status written fits: {size} bytes");
    assert!(s.created.is_empty(), "{:?}", s.created);
}

/// `len` letters from a linear congruential generator: text gzip cannot
/// shrink much.
fn incompressible(len: usize, mut seed: u64) -> String {
    (0..len)
        .map(|_| {
            seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            char::from(b'a' + (seed >> 59) as u8 % 26)
        })
        .collect()
}
