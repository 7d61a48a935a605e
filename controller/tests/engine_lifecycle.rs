//! Deadlines, parallelism, exit handlers, suspend/resume, shutdown, pod GC
//! and TTL.

mod common;

use std::time::Duration;

use argo_api::workflow::{NodeType, Phase};
use argo_controller::engine::Action;
use common::*;

#[test]
fn workflow_deadline_stops_running_pods_and_fails_the_workflow() {
    let (s, phase) = run(r#"
apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {name: dl}
spec:
  entrypoint: sleep
  activeDeadlineSeconds: 5
  templates:
  - name: sleep
    metadata: {annotations: {kwok.test/duration: 1h}}
    container: {image: alpine}
"#);
    assert_eq!(phase, Phase::Failed);
    let n = node(&s, "dl");
    assert_eq!(n.message.as_deref(), Some("Step exceeded its deadline"));
    assert_eq!(s.deleted_pods.len(), 1, "the running pod is stopped");
    let st = s.workflow.status.as_ref().unwrap();
    let took = st.finished_at.as_ref().unwrap().0.duration_since(st.started_at.as_ref().unwrap().0);
    assert!((took.as_secs_f64() - 5.0).abs() < 0.5, "{took}");
}

#[test]
fn template_deadline_and_timeout_fail_only_their_node() {
    let (s, phase) = run(r#"
apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {name: td}
spec:
  entrypoint: main
  templates:
  - name: main
    steps:
    - - {name: ads, template: ads, continueOn: {failed: true}}
      - {name: to, template: to, continueOn: {failed: true}}
      - {name: quick, template: to}
  - name: ads
    activeDeadlineSeconds: 3
    metadata: {annotations: {kwok.test/duration: 1h}}
    container: {image: alpine}
  - name: to
    timeout: "{{inputs.parameters.t}}"
    inputs: {parameters: [{name: t, default: 4s}]}
    metadata: {annotations: {kwok.test/duration: 2s}}
    container: {image: alpine}
"#);
    assert_eq!(phase, Phase::Succeeded);
    let ads = node(&s, "ads");
    assert_eq!(ads.message.as_deref(), Some("Pod was active on the node longer than the specified deadline"));
    assert_eq!(phase_of(&s, "quick"), Phase::Succeeded, "2s fits in a 4s timeout");
    let pod = &s.pods.values().find(|p| p.metadata.name.as_deref() == node(&s, "quick").pod_name.as_deref());
    assert!(pod.is_none() || pod.unwrap().spec.as_ref().unwrap().active_deadline_seconds == Some(4));
}

const TEMPLATE_DEADLINE: &str = r#"
apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {name: tdl}
spec:
  entrypoint: sleep
  templates:
  - name: sleep
    activeDeadlineSeconds: 3
    metadata: {annotations: {kwok.test/duration: 1h}}
    container: {image: alpine}
"#;

#[test]
fn a_template_deadline_the_kubelet_enforces_keeps_the_pod_and_its_logs() {
    let mut s = sim(TEMPLATE_DEADLINE);
    s.kubelet_deadlines = true;
    assert_eq!(s.run(100), Some(Phase::Failed));
    let n = node(&s, "tdl");
    assert_eq!(n.message.as_deref(), Some("Pod was active on the node longer than the specified deadline"));
    assert!(s.deleted_pods.is_empty(), "the failed pod stays for its logs: {:?}", s.deleted_pods);
    let took = finished(n).duration_since(started(n)).as_secs_f64();
    assert!((took - 5.0).abs() < 0.5, "when the kubelet failed it: {took}");
}

#[test]
fn a_template_deadline_no_kubelet_enforces_is_enforced_by_deleting_the_pod() {
    let mut s = sim(TEMPLATE_DEADLINE);
    assert_eq!(s.run(100), Some(Phase::Failed));
    let n = node(&s, "tdl");
    assert_eq!(n.message.as_deref(), Some("Pod was active on the node longer than the specified deadline"));
    assert_eq!(s.deleted_pods, ["tdl"], "a pod still running past its deadline is stopped");
    let took = finished(n).duration_since(started(n)).as_secs_f64();
    assert!(took > 3.0 && took < 70.0, "the kubelet is given a grace first: {took}");
}

#[test]
fn parallelism_never_lets_more_pods_run_than_the_limit() {
    for (wf_limit, tmpl_limit, expect) in [(Some(2), None, 2), (None, Some(3), 3), (Some(1), Some(3), 1)] {
        let yaml = format!(
            r#"
apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {{name: par}}
spec:
  entrypoint: main
  {}
  templates:
  - name: main
    {}
    steps:
    - - {{name: s, template: sleep, withSequence: {{count: "8"}}}}
  - name: sleep
    metadata: {{annotations: {{kwok.test/duration: 3s}}}}
    container: {{image: alpine}}
"#,
            wf_limit.map(|l| format!("parallelism: {l}")).unwrap_or_default(),
            tmpl_limit.map(|l| format!("parallelism: {l}")).unwrap_or_default(),
        );
        let mut s = sim(&yaml);
        let mut max_running = 0;
        for _ in 0..500 {
            s.reconcile();
            let running = s
                .pods
                .values()
                .filter(|p| matches!(p.status.as_ref().and_then(|st| st.phase.as_deref()), Some("Pending" | "Running")))
                .count();
            max_running = max_running.max(running);
            if s.phase().is_some_and(Phase::is_completed) {
                break;
            }
            s.advance(Duration::from_millis(500));
        }
        assert_eq!(s.phase(), Some(Phase::Succeeded));
        assert_eq!(max_running, expect, "wf {wf_limit:?} template {tmpl_limit:?}");
        assert_eq!(s.created.len(), 8);
    }
}

const EXIT: &str = r#"
apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {name: ex}
spec:
  entrypoint: main
  onExit: exit-handler
  templates:
  - name: main
    steps:
    - - {name: work, template: work, onExit: step-exit}
  - name: work
    metadata: {annotations: {kwok.test/exit-code: "CODE", kwok.test/duration: 2s}}
    container: {image: alpine}
  - name: step-exit
    container: {image: alpine, args: ["{{steps.name}}"]}
  - name: exit-handler
    container: {image: alpine, args: ["{{workflow.status}}", "{{workflow.failures}}"]}
"#;

#[test]
fn exit_handlers_run_after_failure_and_see_the_status_and_failures() {
    let (s, phase) = run(&EXIT.replace("CODE", "3"));
    assert_eq!(phase, Phase::Failed);
    let exit = node(&s, "ex.onExit");
    assert_eq!(exit.phase, Phase::Succeeded);
    assert_eq!(exit.node_flag.as_ref().and_then(|f| f.hooked), Some(true));
    let args = s.pods[exit.pod_name.as_deref().unwrap()].spec.as_ref().unwrap().containers[0].args.clone().unwrap();
    assert_eq!(args[0], "Failed");
    let failures: serde_json::Value = serde_json::from_str(&args[1]).unwrap();
    assert_eq!(failures[0]["displayName"], "work");
    assert_eq!(failures[0]["message"], "main: Error (exit code 3)");
    let step_exit = node(&s, "work.onExit");
    assert_eq!(step_exit.phase, Phase::Succeeded);
    assert!(node(&s, "work").children.contains(&step_exit.id));
    assert!(started(exit) >= finished(step_exit));
}

#[test]
fn a_failing_exit_handler_fails_a_successful_workflow() {
    let yaml = EXIT.replace("CODE", "0").replace(
        "  - name: exit-handler\n    container:",
        "  - name: exit-handler\n    metadata: {annotations: {kwok.test/exit-code: \"1\"}}\n    container:",
    );
    let (_, phase) = run(&yaml);
    assert_eq!(phase, Phase::Failed);
}

#[test]
fn suspend_nodes_wait_for_resume_or_their_duration() {
    let yaml = r#"
apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {name: sp}
spec:
  entrypoint: main
  templates:
  - name: main
    steps:
    - - {name: approve, template: approve}
      - {name: wait, template: wait}
    - - {name: after, template: ok}
  - name: approve
    suspend: {}
  - name: wait
    suspend: {duration: "20"}
  - name: ok
    container: {image: alpine}
"#;
    let mut s = sim(yaml);
    for _ in 0..10 {
        s.reconcile();
        s.advance(Duration::from_secs(10));
    }
    assert_eq!(phase_of(&s, "wait"), Phase::Succeeded);
    assert_eq!(phase_of(&s, "approve"), Phase::Running);
    assert!(s.node("after").is_none());
    let now = s.now;
    s.workflow
        .metadata
        .annotations
        .get_or_insert_with(Default::default)
        .insert("workflows.argoproj.io/resume".into(), now.to_string());
    assert_eq!(s.run(100), Some(Phase::Succeeded));
    assert_eq!(node(&s, "approve").message.as_deref(), Some("Resumed"));
}

#[test]
fn spec_suspend_holds_new_pods_until_unsuspended() {
    let yaml = r#"
apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {name: ss}
spec:
  entrypoint: main
  templates:
  - name: main
    steps:
    - - {name: a, template: ok}
    - - {name: b, template: ok}
  - name: ok
    container: {image: alpine}
"#;
    let mut s = sim(yaml);
    s.reconcile();
    assert_eq!(s.created.len(), 1);
    s.workflow.spec.suspend = Some(true);
    for _ in 0..10 {
        s.reconcile();
        s.advance(Duration::from_secs(5));
    }
    assert_eq!(phase_of(&s, "a"), Phase::Succeeded, "running pods carry on");
    assert_eq!(s.created.len(), 1, "nothing new starts");
    assert_eq!(s.phase(), Some(Phase::Running));
    s.workflow.spec.suspend = Some(false);
    assert_eq!(s.run(100), Some(Phase::Succeeded));
    assert_eq!(s.created.len(), 2);
}

fn shutdown(strategy: &str) -> (argo_controller::engine::sim::Sim, Phase) {
    let mut s = sim(r#"
apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {name: sd}
spec:
  entrypoint: main
  onExit: bye
  templates:
  - name: main
    steps:
    - - {name: long, template: long}
    - - {name: never, template: bye}
  - name: long
    metadata: {annotations: {kwok.test/duration: 1h}}
    container: {image: alpine}
  - name: bye
    container: {image: alpine}
"#);
    s.reconcile();
    s.advance(Duration::from_secs(2));
    s.reconcile();
    s.workflow.spec.shutdown = Some(strategy.into());
    let phase = s.run(100).expect("the workflow finishes");
    (s, phase)
}

#[test]
fn stop_stops_pods_and_still_runs_the_exit_handler() {
    let (s, phase) = shutdown("Stop");
    assert_eq!(phase, Phase::Failed);
    assert_eq!(s.workflow.status.as_ref().unwrap().message.as_deref(), Some("Stopped with strategy 'Stop'"));
    assert_eq!(node(&s, "long").message.as_deref(), Some("workflow shutdown with strategy: Stop"));
    assert_eq!(phase_of(&s, "sd.onExit"), Phase::Succeeded);
    assert!(s.node("never").is_none());
    assert_eq!(s.deleted_pods.len(), 1);
}

#[test]
fn terminate_stops_pods_and_skips_the_exit_handler() {
    let (s, phase) = shutdown("Terminate");
    assert_eq!(phase, Phase::Failed);
    assert_eq!(s.workflow.status.as_ref().unwrap().message.as_deref(), Some("Stopped with strategy 'Terminate'"));
    assert!(s.node("sd.onExit").is_none());
}

fn gc(strategy: &str, exit: &str) -> argo_controller::engine::sim::Sim {
    let (s, _) = run(&format!(
        r#"
apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {{name: gc}}
spec:
  entrypoint: main
  podGC: {{strategy: {strategy}}}
  templates:
  - name: main
    steps:
    - - {{name: a, template: ok}}
      - {{name: b, template: ok, continueOn: {{failed: true}}, arguments: {{parameters: [{{name: code, value: "{exit}"}}]}}}}
  - name: ok
    inputs: {{parameters: [{{name: code, default: "0"}}]}}
    metadata: {{annotations: {{kwok.test/exit-code: "{{{{inputs.parameters.code}}}}"}}}}
    container: {{image: alpine}}
"#
    ));
    s
}

#[test]
fn pod_gc_strategies_delete_the_right_pods() {
    assert_eq!(gc("OnPodCompletion", "1").pods.len(), 0);
    assert_eq!(gc("OnPodSuccess", "1").pods.len(), 1, "the failed pod stays");
    assert_eq!(gc("OnWorkflowCompletion", "1").pods.len(), 0);
    assert_eq!(gc("OnWorkflowSuccess", "1").pods.len(), 0, "continueOn: the workflow succeeded");
    let kept = gc("OnWorkflowSuccess", "0");
    assert_eq!(kept.pods.len(), 0);
    let none = gc("\"\"", "0");
    assert_eq!(none.pods.len(), 2);
    assert!(
        none.pods
            .values()
            .all(|p| p.metadata.labels.as_ref().unwrap()["workflows.argoproj.io/completed"] == "true")
    );
}

#[test]
fn pod_gc_delay_and_ttl_wait_their_time() {
    let mut s = sim(r#"
apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {name: ttl}
spec:
  entrypoint: ok
  podGC: {strategy: OnWorkflowCompletion, deleteDelayDuration: 30s}
  ttlStrategy: {secondsAfterSuccess: 60, secondsAfterFailure: 5}
  templates:
  - name: ok
    container: {image: alpine}
"#);
    assert_eq!(s.run(100), Some(Phase::Succeeded));
    let done = s.now;
    let out = s.reconcile();
    assert_eq!(s.pods.len(), 1);
    assert_eq!(out.requeue_after, Some(Duration::from_secs(30)));
    s.advance(Duration::from_secs(30));
    s.reconcile();
    assert_eq!(s.pods.len(), 0);
    assert!(!s.workflow_deleted);
    s.now = done.checked_add(Duration::from_secs(60)).unwrap();
    let out = s.reconcile();
    assert!(out.actions.contains(&Action::DeleteWorkflow));
}

#[test]
fn nodes_and_pods_are_never_made_twice_when_reconciling_repeatedly() {
    let mut s = sim(&EXIT.replace("CODE", "0"));
    for _ in 0..200 {
        for _ in 0..3 {
            s.reconcile();
        }
        s.advance(Duration::from_millis(700));
    }
    assert_eq!(s.phase(), Some(Phase::Succeeded));
    assert_no_duplicate_pods(&s);
    assert_eq!(pod_nodes(&s).len(), s.created.len());
    assert!(nodes(&s).iter().all(|n| n.type_ != NodeType::Skipped));
}

/// `valueFrom.supplied`: the values `kubectl argo resume -p` gives, else
/// the suspend template's input of the same name, checked against its enum;
/// a missing one fails the node saying how to give it.
#[test]
fn resuming_supplies_a_suspend_nodes_outputs() {
    let yaml = |with_default: bool| {
        format!(
            r#"
apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {{name: gate}}
spec:
  entrypoint: main
  templates:
  - name: main
    steps:
    - - {{name: approval, template: approval}}
    - - {{name: deploy, template: echo, when: "{{{{steps.approval.outputs.parameters.approve}}}} == YES",
          arguments: {{parameters: [{{name: msg, value: "{{{{steps.approval.outputs.parameters.note}}}}"}}]}}}}
  - name: approval
    suspend: {{}}
    {}
    outputs:
      parameters:
      - {{name: approve, valueFrom: {{supplied: {{}}}}}}
      - {{name: note, valueFrom: {{supplied: {{}}, default: "no note"}}}}
  - name: echo
    inputs: {{parameters: [{{name: msg}}]}}
    container: {{image: alpine, command: [echo], args: ["{{{{inputs.parameters.msg}}}}"]}}
"#,
            if with_default {
                r#"inputs: {parameters: [{name: approve, default: "NO", enum: ["YES", "NO"]}]}"#
            } else {
                ""
            }
        )
    };
    let resume = |s: &mut argo_controller::engine::sim::Sim, supplied: Option<&str>| {
        for _ in 0..3 {
            s.reconcile();
        }
        assert_eq!(phase_of(s, "approval"), Phase::Running);
        let at = s.now.to_string();
        let a = s.workflow.metadata.annotations.get_or_insert_with(Default::default);
        a.insert("workflows.argoproj.io/resume".into(), at);
        if let Some(v) = supplied {
            a.insert("workflows.argoproj.io/resume-parameters".into(), v.into());
        }
        s.run(100)
    };
    let param = |s: &argo_controller::engine::sim::Sim, name: &str| {
        let n = node(s, "approval");
        n.outputs
            .as_ref()
            .and_then(|o| o.parameters.iter().find(|p| p.name == name)?.value.clone())
            .map(|v| v.0)
    };

    let mut s = sim(&yaml(true));
    assert_eq!(resume(&mut s, Some(r#"{"approve": "YES", "note": "ship it"}"#)), Some(Phase::Succeeded));
    assert_eq!((param(&s, "approve").as_deref(), param(&s, "note").as_deref()), (Some("YES"), Some("ship it")));
    assert_eq!(phase_of(&s, "deploy"), Phase::Succeeded);

    // Not given: the input's default, and valueFrom.default.
    let mut s = sim(&yaml(true));
    assert_eq!(resume(&mut s, None), Some(Phase::Succeeded));
    assert_eq!((param(&s, "approve").as_deref(), param(&s, "note").as_deref()), (Some("NO"), Some("no note")));
    assert_eq!(phase_of(&s, "deploy"), Phase::Skipped);

    // Outside the input's enum, or given nowhere: the node fails, saying why.
    let mut s = sim(&yaml(true));
    assert_eq!(resume(&mut s, Some(r#"{"approve": "MAYBE"}"#)), Some(Phase::Failed));
    assert_eq!(phase_of(&s, "approval"), Phase::Error);
    let msg = node(&s, "approval").message.clone().unwrap_or_default();
    assert_eq!(msg, r#"output parameter "approve": "MAYBE" is not one of YES, NO"#);
    let mut s = sim(&yaml(false));
    assert_eq!(resume(&mut s, Some("not json")), Some(Phase::Failed));
    assert_eq!(phase_of(&s, "approval"), Phase::Error);
    assert!(node(&s, "approval").message.as_deref().unwrap_or_default().contains("not a JSON object of strings"));
    let mut s = sim(&yaml(false));
    assert_eq!(resume(&mut s, None), Some(Phase::Failed));
    assert_eq!(phase_of(&s, "approval"), Phase::Error);
    assert_eq!(
        node(&s, "approval").message.as_deref(),
        Some(r#"output parameter "approve" was not supplied: resume with kubectl argo resume -p approve=VALUE"#)
    );
}
