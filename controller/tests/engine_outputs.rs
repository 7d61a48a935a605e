//! Outputs: what a pod's termination message reports becomes the node's
//! outputs, and later steps and tasks use them. The simulator plays the
//! record `argo-exec` writes through the `kwok.test/message` annotation,
//! as the local cluster's kwok stage does.

mod common;

use argo_api::workflow::{NodeStatus, Phase};
use common::*;

fn result(n: &NodeStatus) -> Option<&str> {
    n.outputs.as_ref()?.result.as_deref()
}

#[test]
fn a_result_decides_a_when_and_a_parameter_feeds_the_next_step() {
    let (s, phase) = run(r#"
apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {name: coin}
spec:
  entrypoint: main
  templates:
  - name: main
    steps:
    - - {name: flip, template: flip}
    - - {name: heads, template: print, when: "{{steps.flip.outputs.result}} == heads",
         arguments: {parameters: [{name: msg, value: "{{steps.flip.outputs.parameters.side}}"}]}}
      - {name: tails, template: print, when: "{{steps.flip.outputs.result}} == tails",
         arguments: {parameters: [{name: msg, value: "x"}]}}
  - name: flip
    metadata:
      annotations: {kwok.test/message: '{"result":"heads","parameters":{"side":"the heads side"}}'}
    outputs:
      parameters: [{name: side, valueFrom: {path: /tmp/side}}]
    container: {image: alpine, command: [sh, -c, "echo heads; echo the heads side > /tmp/side"]}
  - name: print
    inputs: {parameters: [{name: msg}]}
    container: {image: alpine, command: [echo], args: ["{{inputs.parameters.msg}}"]}
"#);
    assert_eq!(phase, Phase::Succeeded);
    let flip = node(&s, "flip");
    assert_eq!(result(flip), Some("heads"));
    assert_eq!(param(flip, "side"), Some("the heads side"));
    assert_eq!(flip.outputs.as_ref().and_then(|o| o.exit_code.as_deref()), Some("0"));
    assert_eq!(phase_of(&s, "heads"), Phase::Succeeded);
    assert_eq!(phase_of(&s, "tails"), Phase::Skipped);
    assert_eq!(args(&s, "heads"), ["the heads side"]);
}

#[test]
fn the_pod_runs_its_command_under_argo_exec_beside_no_sidecar() {
    let (s, _) = run(r#"
apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {name: wrap}
spec:
  entrypoint: main
  templates:
  - name: main
    outputs:
      parameters: [{name: p, valueFrom: {path: /tmp/p}}]
    container: {image: alpine, command: [sh, -c], args: ["echo hi"]}
"#);
    let pod = s.pods.values().next().and_then(|p| p.spec.clone()).expect("a pod");
    assert_eq!(pod.containers.len(), 1, "no sidecar");
    let main = &pod.containers[0];
    let command = main.command.clone().unwrap_or_default();
    assert_eq!(command, ["/var/run/argo/argo-exec", "run", "--", "sh", "-c"]);
    assert_eq!(main.args.as_deref(), Some(&["echo hi".to_owned()][..]));
    let env = main.env.clone().unwrap_or_default();
    assert!(
        env.iter()
            .any(|e| e.name == "ARGO_EXEC_PARAMETERS" && e.value.as_deref() == Some(r#"{"p":"/tmp/p"}"#))
    );
    let init: Vec<_> = pod.init_containers.iter().flatten().map(|c| c.name.as_str()).collect();
    assert_eq!(init, ["argo-init"]);
    assert_eq!(pod.service_account_name, None, "the pod needs no API rights");
}

#[test]
fn loop_outputs_aggregate_into_a_json_list_for_with_param() {
    let (s, phase) = run(r#"
apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {name: agg}
spec:
  entrypoint: main
  templates:
  - name: main
    steps:
    - - {name: gen, template: gen, withItems: [b, a, c], arguments: {parameters: [{name: x, value: "{{item}}"}]}}
    - - {name: use, template: print, withParam: "{{steps.gen.outputs.result}}",
         arguments: {parameters: [{name: msg, value: "{{item}}"}]}}
    - - {name: all, template: print, arguments: {parameters: [{name: msg, value: "{{steps.gen.outputs.parameters}}"}]}}
  - name: gen
    inputs: {parameters: [{name: x}]}
    metadata:
      annotations: {kwok.test/message: '{"result":"{{inputs.parameters.x}}","parameters":{"up":"{{inputs.parameters.x}}!"}}'}
    outputs:
      parameters: [{name: up, valueFrom: {path: /tmp/up}}]
    container: {image: alpine, command: [echo, "{{inputs.parameters.x}}"]}
  - name: print
    inputs: {parameters: [{name: msg}]}
    container: {image: alpine, command: [echo], args: ["{{inputs.parameters.msg}}"]}
"#);
    assert_eq!(phase, Phase::Succeeded);
    let used: Vec<String> = ["use(0:b)", "use(1:a)", "use(2:c)"].iter().flat_map(|n| args(&s, n)).collect();
    assert_eq!(used, ["b", "a", "c"], "in item order");
    assert_eq!(args(&s, "all"), [r#"[{"up":"b!"},{"up":"a!"},{"up":"c!"}]"#]);
}

#[test]
fn dag_tasks_use_their_dependencies_outputs_and_the_dag_exports_its_own() {
    let (s, phase) = run(r#"
apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {name: dag}
spec:
  entrypoint: main
  templates:
  - name: main
    outputs:
      parameters: [{name: final, valueFrom: {parameter: "{{tasks.B.outputs.result}}"}}]
    dag:
      tasks:
      - {name: A, template: gen, arguments: {parameters: [{name: x, value: "1"}]}}
      - {name: B, template: gen, depends: A, arguments: {parameters: [{name: x, value: "{{tasks.A.outputs.result}}2"}]}}
  - name: gen
    inputs: {parameters: [{name: x}]}
    metadata:
      annotations: {kwok.test/message: '{"result":"{{inputs.parameters.x}}"}'}
    container: {image: alpine, command: [echo, "{{inputs.parameters.x}}"]}
"#);
    assert_eq!(phase, Phase::Succeeded);
    assert_eq!(result(node(&s, "B")), Some("12"));
    assert_eq!(param(node(&s, "dag"), "final"), Some("12"));
}

#[test]
fn missing_and_oversized_outputs_fail_the_node_with_the_reason_and_defaults_apply() {
    let (s, phase) = run(r#"
apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {name: miss}
spec:
  entrypoint: main
  templates:
  - name: main
    steps:
    - - {name: missing, template: missing}
      - {name: large, template: large}
      - {name: defaulted, template: defaulted}
  - name: missing
    metadata:
      annotations: {kwok.test/message: '{"unreadable":{"p":"/tmp/p: no such file"}}'}
    outputs: {parameters: [{name: p, valueFrom: {path: /tmp/p}}]}
    container: {image: alpine, command: ["true"]}
  - name: large
    metadata:
      annotations: {kwok.test/message: '{"tooLarge":{"p":100000}}'}
    outputs: {parameters: [{name: p, valueFrom: {path: /tmp/p}}]}
    container: {image: alpine, command: ["true"]}
  - name: defaulted
    metadata:
      annotations: {kwok.test/message: '{"unreadable":{"p":"/tmp/p: no such file"}}'}
    outputs: {parameters: [{name: p, valueFrom: {path: /tmp/p, default: fallback}}]}
    container: {image: alpine, command: ["true"]}
"#);
    assert_eq!(phase, Phase::Failed);
    let missing = node(&s, "missing");
    assert_eq!(missing.phase, Phase::Error);
    assert_eq!(missing.message.as_deref(), Some(r#"output parameter "p": /tmp/p: no such file, and no default"#));
    let large = node(&s, "large");
    assert_eq!(large.phase, Phase::Error);
    assert!(
        large.message.as_deref().is_some_and(|m| m.contains("100000 bytes") && m.contains("4 KiB")),
        "{large:?}"
    );
    assert_eq!(param(node(&s, "defaulted"), "p"), Some("fallback"));
    assert_eq!(phase_of(&s, "defaulted"), Phase::Succeeded);
}

#[test]
fn a_forged_or_broken_record_is_only_data() {
    for message in [
        "not json",
        "{\"result\": {\"nested\": 1}}",
        "[]",
        "{\"parameters\": {\"p\": 5}}",
    ] {
        let yaml = format!(
            r#"
apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {{name: forged}}
spec:
  entrypoint: main
  templates:
  - name: main
    metadata:
      annotations: {{kwok.test/message: '{message}'}}
    outputs: {{parameters: [{{name: p, valueFrom: {{path: /tmp/p}}}}]}}
    container: {{image: alpine, command: ["true"]}}
"#
        );
        let (s, phase) = run(&yaml);
        assert_eq!(phase, Phase::Error, "{message}");
        let msg = node(&s, "forged").message.clone().unwrap_or_default();
        assert!(msg.contains("reported no outputs"), "{message}: {msg}");
    }
}

#[test]
fn an_image_without_command_runs_unwrapped_unless_its_outputs_are_needed() {
    let (s, phase) = run(r#"
apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {name: bare}
spec:
  entrypoint: main
  templates:
  - name: main
    steps:
    - - {name: plain, template: plain}
    - - {name: needs, template: needs}
  - name: plain
    container: {image: nginx:1.13}
  - name: needs
    outputs: {parameters: [{name: p, valueFrom: {path: /tmp/p}}]}
    container: {image: nginx:1.13}
"#);
    assert_eq!(phase, Phase::Failed);
    assert_eq!(phase_of(&s, "plain"), Phase::Succeeded);
    let needs = node(&s, "needs");
    assert_eq!(needs.phase, Phase::Error);
    assert!(needs.message.as_deref().is_some_and(|m| m.contains("--image-command")), "{needs:?}");
}

#[test]
fn a_skipped_producer_gives_its_output_default_or_leaves_the_input_default() {
    let (s, phase) = run(r#"
apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {name: skip}
spec:
  entrypoint: main
  templates:
  - name: main
    dag:
      tasks:
      - {name: with-default, template: produce-default, when: "false"}
      - {name: without, template: produce, when: "false"}
      - {name: a, template: consume, depends: "with-default.Skipped",
         arguments: {parameters: [{name: in, value: "{{tasks.with-default.outputs.parameters.msg}}"}]}}
      - {name: b, template: consume, depends: "without.Skipped",
         arguments: {parameters: [{name: in, value: "{{tasks.without.outputs.parameters.msg}}"}]}}
  - name: produce-default
    outputs: {parameters: [{name: msg, valueFrom: {path: /tmp/out, default: from-producer}}]}
    container: {image: alpine, command: ["true"]}
  - name: produce
    outputs: {parameters: [{name: msg, valueFrom: {path: /tmp/out}}]}
    container: {image: alpine, command: ["true"]}
  - name: consume
    inputs: {parameters: [{name: in, default: from-input}]}
    container: {image: alpine, command: [echo, "{{inputs.parameters.in}}"]}
"#);
    assert_eq!(phase, Phase::Succeeded);
    let command = |display: &str| {
        let pod = node(&s, display).pod_name.clone().expect("a pod");
        s.pods[&pod].spec.as_ref().and_then(|p| p.containers[0].command.clone()).unwrap_or_default()
    };
    assert_eq!(command("a").last().map(String::as_str), Some("from-producer"));
    assert_eq!(command("b").last().map(String::as_str), Some("from-input"));
}

#[test]
fn global_outputs_reach_later_steps_and_the_workflow_status() {
    let (s, phase) = run(r#"
apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {name: glob}
spec:
  entrypoint: main
  templates:
  - name: main
    steps:
    - - {name: make, template: make}
    - - {name: use, template: use}
  - name: make
    metadata:
      annotations: {kwok.test/message: '{"parameters":{"p":"shared value"}}'}
    outputs: {parameters: [{name: p, globalName: shared, valueFrom: {path: /tmp/p}}]}
    container: {image: alpine, command: ["true"]}
  - name: use
    container: {image: alpine, command: [echo, "{{workflow.outputs.parameters.shared}}"]}
"#);
    assert_eq!(phase, Phase::Succeeded);
    let pod = node(&s, "use").pod_name.clone().expect("a pod");
    let command = s.pods[&pod].spec.as_ref().and_then(|p| p.containers[0].command.clone()).unwrap_or_default();
    assert_eq!(command.last().map(String::as_str), Some("shared value"), "seen in the same pass it was made");
    let outputs = s.workflow.status.as_ref().and_then(|st| st.outputs.clone()).expect("status.outputs");
    assert_eq!(outputs.parameters[0].name, "shared");
    assert_eq!(outputs.parameters[0].value.as_ref().map(|v| v.as_str()), Some("shared value"));
}

/// 2,000 results fanned into 2,000 more tasks: uncompressed, the
/// nodes outgrow what etcd stores; packed (upstream's `compressedNodes`)
/// they fit, and the engine reads them back packed.
#[test]
fn a_fan_too_large_to_store_plainly_runs_with_its_nodes_packed() {
    let (mut s, phase) = run(r#"
apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {name: fan}
spec:
  entrypoint: main
  templates:
  - name: main
    dag:
      tasks:
      - {name: gen, template: gen, withSequence: {count: "2000"}, arguments: {parameters: [{name: x, value: "{{item}}"}]}}
      - {name: use, template: print, depends: gen, withParam: "{{tasks.gen.outputs.result}}",
         arguments: {parameters: [{name: msg, value: "{{item}}"}]}}
  - name: gen
    inputs: {parameters: [{name: x}]}
    metadata:
      annotations: {kwok.test/message: '{"result":"value number {{inputs.parameters.x}} of the fan-out"}'}
    container: {image: alpine, command: [echo, "{{inputs.parameters.x}}"]}
  - name: print
    inputs: {parameters: [{name: msg}]}
    container: {image: alpine, command: [echo], args: ["{{inputs.parameters.msg}}"]}
"#);
    assert_eq!(phase, Phase::Succeeded, "{:?}", s.workflow.status.as_ref().and_then(|st| st.message.clone()));
    assert_eq!(s.created.len(), 4000);
    assert_eq!(args(&s, "use(1999:value number 1999 of the fan-out)"), ["value number 1999 of the fan-out"]);
    let plain = serde_json::to_vec(s.workflow.status.as_ref().expect("status")).expect("json").len();
    assert!(plain > argo_api::limits::MAX_OBJECT_BYTES, "the nodes take {plain} bytes unpacked");
    // What the shell stores and reads back next time: the packed form.
    let out = s.reconcile();
    let packed = out.status.compressed_nodes.as_ref().expect("stored packed");
    assert!(out.status.nodes.is_empty() && packed.len() < plain / 5, "{} of {plain}", packed.len());
    s.workflow.status = Some(out.status);
    let again = s.reconcile();
    assert_eq!(again.status.phase, Some(Phase::Succeeded));
    assert!(again.actions.iter().all(|a| !matches!(a, argo_controller::engine::Action::CreatePod(_))));
    let mut unpacked = again.status.clone();
    argo_api::workflow::compress::unpack(&mut unpacked).expect("unpacks");
    assert_eq!(unpacked.nodes.len(), 4000 + 3);
}
