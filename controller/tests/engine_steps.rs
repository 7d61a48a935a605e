//! Steps templates, loops, parameters and `when`.

mod common;

use argo_api::workflow::{NodeType, Phase};
use common::*;

#[test]
fn steps_run_group_by_group_with_parallel_inner_steps() {
    let (s, phase) = run(r#"
apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {name: st}
spec:
  entrypoint: main
  templates:
  - name: main
    steps:
    - - {name: hello1, template: echo}
    - - {name: hello2a, template: echo}
      - {name: hello2b, template: echo}
  - name: echo
    container: {image: alpine}
"#);
    assert_eq!(phase, Phase::Succeeded);
    let g0 = node(&s, "[0]");
    let g1 = node(&s, "[1]");
    assert_eq!(g0.type_, NodeType::StepGroup);
    assert_eq!(g0.name, "st[0]");
    let h1 = node(&s, "hello1");
    assert_eq!(h1.name, "st[0].hello1");
    assert_eq!(h1.children, vec![g1.id.clone()], "the next group hangs off the previous steps");
    let (a, b) = (node(&s, "hello2a"), node(&s, "hello2b"));
    assert_eq!(started(a), started(b), "inner steps run in parallel");
    assert!(started(a) >= finished(h1));
    let root = node(&s, "st");
    assert_eq!(root.type_, NodeType::Steps);
    let mut out = root.outbound_nodes.clone();
    out.sort();
    let mut expect = vec![a.id.clone(), b.id.clone()];
    expect.sort();
    assert_eq!(out, expect);
}

#[test]
fn a_failed_step_fails_its_group_and_stops_later_groups() {
    let (s, phase) = run(r#"
apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {name: sf}
spec:
  entrypoint: main
  templates:
  - name: main
    steps:
    - - {name: bad, template: bad}
      - {name: ok, template: ok}
    - - {name: never, template: ok}
  - name: ok
    container: {image: alpine}
  - name: bad
    metadata: {annotations: {kwok.test/exit-code: "4", kwok.test/message: "no disk"}}
    container: {image: alpine}
"#);
    assert_eq!(phase, Phase::Failed);
    assert!(s.node("never").is_none());
    let bad = node(&s, "bad");
    assert_eq!(bad.message.as_deref(), Some("main: Error (exit code 4): no disk"));
    assert_eq!(bad.outputs.as_ref().and_then(|o| o.exit_code.as_deref()), Some("4"));
    let wf = s.workflow.status.as_ref().unwrap();
    assert_eq!(wf.message.as_deref(), Some("child 'sf[0].bad' failed"));
    assert!(s.events.iter().any(|(w, r, m)| *w && *r == "WorkflowNodeFailed" && m.contains("sf[0].bad")));
    assert!(s.events.iter().any(|(_, r, _)| *r == "WorkflowFailed"));
}

#[test]
fn continue_on_failed_keeps_the_steps_going() {
    let (s, phase) = run(r#"
apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {name: co}
spec:
  entrypoint: main
  templates:
  - name: main
    steps:
    - - {name: bad, template: bad, continueOn: {failed: true}}
    - - {name: after, template: ok, when: "{{steps.bad.status}} == Failed"}
  - name: ok
    container: {image: alpine}
  - name: bad
    metadata: {annotations: {kwok.test/exit-code: "1"}}
    container: {image: alpine}
"#);
    assert_eq!(phase, Phase::Succeeded);
    assert_eq!(phase_of(&s, "after"), Phase::Succeeded);
}

#[test]
fn loops_over_items_maps_and_sequences_and_substitute_items() {
    let (s, phase) = run(r#"
apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {name: lp}
spec:
  entrypoint: main
  templates:
  - name: main
    steps:
    - - name: scalars
        template: echo
        arguments: {parameters: [{name: msg, value: "{{item}}"}]}
        withItems: [hello, 2, true]
      - name: maps
        template: echo
        arguments: {parameters: [{name: msg, value: "{{item.os}}-{{item.v}}"}]}
        withItems: [{os: debian, v: 9}, {os: alpine, v: 3.7}]
      - name: seq
        template: echo
        arguments: {parameters: [{name: msg, value: "{{item}}"}]}
        withSequence: {start: "3", end: "5", format: "n%02d"}
  - name: echo
    inputs: {parameters: [{name: msg}]}
    container: {image: alpine, args: ["{{inputs.parameters.msg}}"]}
"#);
    assert_eq!(phase, Phase::Succeeded);
    let args = |display: &str| {
        let n = node(&s, display);
        s.pods[n.pod_name.as_deref().unwrap()].spec.as_ref().unwrap().containers[0].args.clone().unwrap()
    };
    assert_eq!(args("scalars(0:hello)"), ["hello"]);
    assert_eq!(args("scalars(1:2)"), ["2"]);
    assert_eq!(args("scalars(2:true)"), ["true"]);
    assert_eq!(args("maps(1:os:alpine,v:3.7)"), ["alpine-3.7"]);
    assert_eq!(args("seq(0:n03)"), ["n03"]);
    assert_eq!(args("seq(2:n05)"), ["n05"]);
}

#[test]
fn parameters_flow_from_arguments_to_inputs_with_defaults_and_globals() {
    let (s, phase) = run(r#"
apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {name: pm, namespace: team, uid: u-1}
spec:
  entrypoint: main
  arguments: {parameters: [{name: who, value: world}]}
  templates:
  - name: main
    inputs: {parameters: [{name: who}]}
    steps:
    - - name: greet
        template: echo
        arguments: {parameters: [{name: a, value: "hi {{inputs.parameters.who}}"}]}
  - name: echo
    inputs: {parameters: [{name: a}, {name: b, default: "{{workflow.parameters.who}}"}]}
    container:
      image: alpine
      args: ["{{inputs.parameters.a}}", "{{inputs.parameters.b}}", "{{workflow.name}}", "{{workflow.namespace}}", "{{workflow.uid}}", "{{pod.name}}"]
"#);
    assert_eq!(phase, Phase::Succeeded);
    let n = node(&s, "greet");
    let pod = &s.pods[n.pod_name.as_deref().unwrap()];
    let args = pod.spec.as_ref().unwrap().containers[0].args.clone().unwrap();
    assert_eq!(
        args,
        [
            "hi world",
            "world",
            "pm",
            "team",
            "u-1",
            n.pod_name.clone().unwrap().as_str()
        ]
    );
    let inputs = n.inputs.as_ref().unwrap();
    assert_eq!(inputs.parameters[0].value.as_ref().unwrap().as_str(), "hi world");
}

#[test]
fn an_enum_violation_is_a_node_error_naming_the_parameter() {
    let (s, phase) = run(r#"
apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {name: en}
spec:
  entrypoint: main
  templates:
  - name: main
    steps:
    - - {name: s, template: pick, arguments: {parameters: [{name: color, value: purple}]}}
  - name: pick
    inputs: {parameters: [{name: color, enum: [red, green]}]}
    container: {image: alpine}
"#);
    assert_eq!(phase, Phase::Failed);
    let msg = node(&s, "s").message.clone().unwrap();
    assert_eq!(msg, "value \"purple\" of inputs.parameters.color is not one of [\"red\", \"green\"]");
    assert!(s.created.is_empty(), "no pod for a node that cannot run");
}

#[test]
fn script_source_is_mounted_and_passed_to_the_interpreter() {
    let (s, phase) = run(r#"
apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {name: sc}
spec:
  entrypoint: py
  templates:
  - name: py
    script:
      image: python:alpine3.6
      command: [python]
      source: |
        print("hi {{workflow.name}}")
"#);
    assert_eq!(phase, Phase::Succeeded);
    let pod = s.pods.values().next().unwrap();
    let main = &pod.spec.as_ref().unwrap().containers[0];
    let command = main.command.clone().unwrap_or_default();
    assert_eq!(command, ["/var/run/argo/argo-exec", "run", "--", "python"], "run under argo-exec for its result");
    assert_eq!(main.args.as_deref(), Some(&["/argo/staging/script".to_string()][..]));
    assert_eq!(main.volume_mounts.as_ref().unwrap()[0].mount_path, "/argo/staging");
    let staging = pod.spec.as_ref().unwrap().volumes.iter().flatten().find(|v| v.name == "argo-staging").unwrap();
    let mode = staging.downward_api.as_ref().and_then(|d| d.default_mode);
    assert_eq!(mode, Some(0o755), "`command: [sh, -c]` executes the file");
    let ann = pod.metadata.annotations.as_ref().unwrap();
    assert_eq!(ann["workflows.argoproj.io/script"], "print(\"hi sc\")\n");
}

#[test]
fn inline_templates_and_nested_steps_in_dags() {
    let (s, phase) = run(r#"
apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {name: il}
spec:
  entrypoint: main
  templates:
  - name: main
    dag:
      tasks:
      - name: A
        inline:
          steps:
          - - name: s1
              inline: {container: {image: alpine}}
      - {name: B, depends: A, inline: {container: {image: busybox}}}
"#);
    assert_eq!(phase, Phase::Succeeded);
    let b = node(&s, "B");
    assert!(b.pod_name.as_deref().unwrap().starts_with("il-"), "inline pods have no template in their name");
    assert_eq!(phase_of(&s, "s1"), Phase::Succeeded);
}
