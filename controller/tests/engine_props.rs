//! Properties over random DAGs: no task starts before its dependencies
//! have resolved, the engine is idempotent on its own output, every
//! workflow finishes, no pod is ever created twice, and each task's result
//! is built from its first dependency's, so outputs flow along every edge.

mod common;

use std::time::Duration;

use argo_api::workflow::Phase;
use argo_controller::engine::{self, Action, Input};
use common::*;
use proptest::prelude::*;

#[derive(Clone, Debug)]
struct Task {
    deps: Vec<usize>,
    exit: u8,
    secs: u8,
}

fn dag() -> impl Strategy<Value = (Vec<Task>, bool)> {
    (2usize..14, any::<bool>()).prop_flat_map(|(n, fail_fast)| {
        let tasks: Vec<_> = (0..n)
            .map(|i| {
                (
                    proptest::collection::vec(0..i.max(1), 0..=i.min(3)),
                    prop_oneof![4 => Just(0u8), 1 => Just(1u8)],
                    1u8..5,
                )
                    .prop_map(move |(mut deps, exit, secs)| {
                        deps.retain(|d| *d < i);
                        deps.sort();
                        deps.dedup();
                        Task { deps, exit, secs }
                    })
            })
            .collect();
        (tasks, Just(fail_fast))
    })
}

fn yaml(tasks: &[Task], fail_fast: bool) -> String {
    let mut out = format!(
        "apiVersion: argoproj.io/v1alpha1\nkind: Workflow\nmetadata: {{name: prop}}\nspec:\n  entrypoint: d\n  templates:\n  - name: d\n    dag:\n      failFast: {fail_fast}\n      tasks:\n"
    );
    for (i, t) in tasks.iter().enumerate() {
        let depends = t.deps.iter().map(|d| format!("t{d}")).collect::<Vec<_>>().join(" && ");
        out.push_str(&format!("      - name: t{i}\n        template: run\n"));
        if !depends.is_empty() {
            out.push_str(&format!("        depends: \"{depends}\"\n"));
        }
        let acc = match t.deps.first() {
            Some(d) => format!("{{{{tasks.t{d}.outputs.result}}}}-{i}"),
            None => i.to_string(),
        };
        out.push_str(&format!(
            "        arguments: {{parameters: [{{name: exit, value: \"{}\"}}, {{name: secs, value: \"{}s\"}}, {{name: acc, value: \"{acc}\"}}]}}\n",
            t.exit, t.secs
        ));
    }
    out.push_str(
        "  - name: run\n    inputs: {parameters: [{name: exit}, {name: secs}, {name: acc}]}\n    metadata:\n      annotations: {kwok.test/exit-code: \"{{inputs.parameters.exit}}\", kwok.test/duration: \"{{inputs.parameters.secs}}\", kwok.test/message: '{\"result\": \"{{inputs.parameters.acc}}\"}'}\n    container: {image: alpine, command: [\"true\"]}\n",
    );
    out
}

/// t0's result is "0"; a task's is its first dependency's, then "-i".
fn expected_result(tasks: &[Task], i: usize) -> String {
    match tasks[i].deps.first() {
        Some(d) => format!("{}-{i}", expected_result(tasks, *d)),
        None => i.to_string(),
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, ..ProptestConfig::default() })]

    #[test]
    fn random_dags_respect_dependencies_and_reconcile_idempotently((tasks, fail_fast) in dag()) {
        let mut s = sim(&yaml(&tasks, fail_fast));
        let mut steps = 0;
        while !s.phase().is_some_and(Phase::is_completed) && steps < 400 {
            // Pods the engine creates appear with a status of their own
            // (ContainerCreating): a pass later it has seen them.
            s.reconcile();
            s.reconcile();
            // Running the engine again on its own output changes nothing.
            let pods = s.visible_pods();
            let again = engine::reconcile(&Input { workflow: &s.workflow, pods: &pods, now: s.now, create_errors: &Default::default(), projects: &engine::sim::default_projects(), limits: Default::default(), executor: &Default::default(), image_pull_timeout: s.image_pull_timeout });
            prop_assert_eq!(Some(&again.status), s.workflow.status.as_ref());
            prop_assert!(!again.actions.iter().any(|a| matches!(a, Action::CreatePod(_))));
            s.advance(Duration::from_millis(700));
            steps += 1;
        }
        prop_assert!(s.phase().is_some_and(Phase::is_completed), "did not finish: {:?}", s.workflow.status);
        assert_no_duplicate_pods(&s);
        for (i, t) in tasks.iter().enumerate() {
            let Some(n) = s.node(&format!("t{i}")) else { continue };
            prop_assert_eq!(&n.id, &argo_api::names::node_id("prop", &n.name));
            if n.phase == Phase::Omitted {
                continue;
            }
            for d in &t.deps {
                let dep = node(&s, &format!("t{d}"));
                prop_assert!(dep.phase.is_completed());
                prop_assert!(started(n) >= finished(dep), "t{} started before t{} finished", i, d);
            }
            let result = n.outputs.as_ref().and_then(|o| o.result.clone());
            prop_assert_eq!(result, Some(expected_result(&tasks, i)));
        }
        let any_failed = tasks.iter().enumerate().any(|(i, _)| s.node(&format!("t{i}")).is_some_and(|n| n.phase == Phase::Failed));
        prop_assert_eq!(s.phase() == Some(Phase::Succeeded), !any_failed);
    }
}
