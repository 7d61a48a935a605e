use serde_json::json;

use crate::load;

fn problems(spec: serde_json::Value) -> Vec<String> {
    let wf = load::workflow(&json!({
        "apiVersion": "argoproj.io/v1alpha1", "kind": "Workflow",
        "metadata": {"name": "t"}, "spec": spec
    }))
    .expect("parses");
    super::workflow(&wf).iter().map(ToString::to_string).collect()
}

fn echo() -> serde_json::Value {
    json!({"name": "echo", "inputs": {"parameters": [{"name": "msg", "default": "hi"}]},
           "container": {"image": "alpine", "args": ["{{inputs.parameters.msg}}"]}})
}

#[test]
fn a_valid_diamond_has_no_problems() {
    let p = problems(json!({"entrypoint": "d", "templates": [
        {"name": "d", "dag": {"tasks": [
            {"name": "A", "template": "echo"},
            {"name": "B", "depends": "A", "template": "echo", "arguments": {"parameters": [{"name": "msg", "value": "{{tasks.A.status}}"}]}},
            {"name": "C", "dependencies": ["A"], "template": "echo"},
            {"name": "D", "depends": "B && C.Failed", "template": "echo", "withItems": [1, 2],
             "arguments": {"parameters": [{"name": "msg", "value": "{{item}}"}]}}]}},
        echo()]}));
    assert!(p.is_empty(), "{p:#?}");
}

#[test]
fn missing_templates_and_entrypoint_are_named() {
    let p = problems(json!({"entrypoint": "nope", "onExit": "gone", "templates": [
        {"name": "s", "steps": [[{"name": "a", "template": "missing"}]]}]}));
    assert_eq!(
        p,
        [
            "spec.entrypoint: template \"nope\" does not exist",
            "spec.onExit: template \"gone\" does not exist",
            "spec.templates[0].steps[0][0].template: template \"missing\" does not exist",
        ]
    );
}

#[test]
fn dag_cycles_and_bad_depends_are_found() {
    let p = problems(json!({"entrypoint": "d", "templates": [
        {"name": "d", "dag": {"tasks": [
            {"name": "A", "depends": "C", "template": "echo"},
            {"name": "B", "depends": "A", "template": "echo"},
            {"name": "C", "depends": "B.Passed || A", "template": "echo"},
            {"name": "E", "depends": "Z", "template": "echo"}]}},
        echo()]}));
    assert!(p.iter().any(|m| m.contains("tasks[2].depends: invalid depends expression")), "{p:#?}");
    assert!(p.iter().any(|m| m == "spec.templates[0].dag.tasks[3].depends: task \"Z\" does not exist"), "{p:#?}");
    let p = problems(json!({"entrypoint": "d", "templates": [
        {"name": "d", "dag": {"tasks": [
            {"name": "A", "depends": "C", "template": "echo"},
            {"name": "B", "depends": "A", "template": "echo"},
            {"name": "C", "depends": "B", "template": "echo"}]}},
        echo()]}));
    assert_eq!(p, ["spec.templates[0].dag.tasks: dependency cycle: A -> C -> B -> A"]);
}

#[test]
fn unknown_and_unsupported_references_are_named() {
    let p = problems(json!({"entrypoint": "s", "templates": [
        {"name": "s", "steps": [[
            {"name": "a", "template": "echo", "arguments": {"parameters": [{"name": "msg", "value": "{{steps.b.outputs.result}}"}]}},
            {"name": "b", "template": "echo", "arguments": {"parameters": [{"name": "msg", "value": "{{item}}"}]}}],
            [{"name": "c", "template": "echo", "arguments": {"parameters": [{"name": "msg", "value": "{{steps.b.outputs.parameters.nope}}"}]}}]]},
        {"name": "echo", "inputs": {"parameters": [{"name": "msg"}]},
         "container": {"image": "alpine", "args": ["{{inputs.parameters.mgs}}", "{{workflow.parameters.x}}", "{{= 1 +}}", "{{= upper('ok')}}"]}}]}));
    assert_eq!(
        p,
        [
            "spec.templates[0].steps[0][0].arguments.parameters[0].value: {{steps.b.outputs.result}}: step \"b\" runs in group 0, not before this one: only earlier groups' steps are known",
            "spec.templates[0].steps[0][1].arguments.parameters[0].value: {{item}} is only available in a step or task with withItems, withParam or withSequence",
            "spec.templates[0].steps[1][0].arguments.parameters[0].value: {{steps.b.outputs.parameters.nope}}: its template declares no output parameter \"nope\" (it declares none)",
            "spec.templates[1].container.args[0]: {{inputs.parameters.mgs}}: the template has no input parameter \"mgs\"",
            "spec.templates[1].container.args[1]: {{workflow.parameters.x}}: the workflow has no parameter \"x\" in spec.arguments.parameters",
            "spec.templates[1].container.args[2]: {{= 1 +}}: invalid expression: unexpected end of the expression",
        ]
    );
}

#[test]
fn template_shapes_are_checked() {
    let p = problems(json!({"entrypoint": "a", "templates": [
        {"name": "a", "container": {"image": "x"}, "script": {"image": "y", "source": "echo"}},
        {"name": "b"},
        {"name": "a", "suspend": {}},
        {"name": "Bad_Name", "container": {}}]}));
    assert_eq!(
        p,
        [
            "spec.templates[2].name: template name \"a\" is already used by spec.templates[0]",
            "spec.templates[3].name: name \"Bad_Name\" is invalid: use letters, digits and '-', starting with a letter or digit",
            "spec.templates[0]: template has 2 types (container, script): set exactly one",
            "spec.templates[1]: template has no type: set exactly one of container, script, steps, dag or suspend",
            "spec.templates[3].container.image: required: the container image to run",
        ]
    );
}

#[test]
fn retry_loop_and_required_arguments() {
    let p = problems(json!({"entrypoint": "s", "shutdown": "Pause", "templates": [
        {"name": "s", "steps": [[
            {"name": "a", "template": "need", "withItems": [1], "withParam": "[1]"},
            {"name": "b", "template": "need", "withSequence": {"count": "x"}, "arguments": {"parameters": [{"name": "m", "value": "1"}]}}]]},
        {"name": "need", "inputs": {"parameters": [{"name": "m"}]},
         "retryStrategy": {"limit": -1, "retryPolicy": "Sometimes", "backoff": {"duration": "1x", "factor": 0}},
         "container": {"image": "alpine"}}]}));
    assert_eq!(
        p,
        [
            "spec.shutdown: must be Stop or Terminate, not \"Pause\"",
            "spec.templates[0].steps[0][0]: use only one of withItems, withParam and withSequence",
            "spec.templates[0].steps[0][0].arguments: input parameter \"m\" of template \"need\" is not supplied",
            "spec.templates[0].steps[0][1].withSequence.count: must be a whole number, not \"x\"",
            "spec.templates[1].retryStrategy.limit: must be at least 0, not -1",
            "spec.templates[1].retryStrategy.retryPolicy: must be Always, OnFailure, OnError or OnTransientError, not \"Sometimes\"",
            "spec.templates[1].retryStrategy.backoff.duration: invalid duration \"1x\": unknown unit \"x\"",
            "spec.templates[1].retryStrategy.backoff.factor: must be at least 1",
        ]
    );
}

#[test]
fn what_would_exhaust_the_controller_is_refused_up_front() {
    let big = "x".repeat(crate::limits::MAX_PARAMETER_BYTES + 1);
    let items: Vec<u32> = (0..10_001).collect();
    let deep_when = format!("{}a == a{}", "(".repeat(100), ")".repeat(100));
    let p = problems(
        json!({"entrypoint": "s", "arguments": {"parameters": [{"name": "big", "value": big}]}, "templates": [
        {"name": "s", "steps": [[
            {"name": "a", "template": "echo", "withItems": items},
            {"name": "b", "template": "echo", "withSequence": {"count": "1125899906842624"}},
            {"name": "c", "template": "echo", "withSequence": {"start": "-9223372036854775808", "end": "9223372036854775807"}},
            {"name": "d", "template": "echo", "when": deep_when}]]},
        echo()]}),
    );
    let expected = [
        "spec.arguments.parameters[0].value: 262145 bytes, more than the limit of 256 KiB per parameter",
        "spec.templates[0].steps[0][0].withItems: 10001 items, more than the limit of 10000 per loop",
        "spec.templates[0].steps[0][1].withSequence: 1125899906842624 items, more than the limit of 10000 per loop",
        "spec.templates[0].steps[0][2].withSequence: 18446744073709551615 items, more than the limit of 10000 per loop",
        "spec.templates[0].steps[0][3].when: parentheses nested more than 64 levels deep",
    ];
    for e in expected {
        assert!(p.iter().any(|x| x == e), "missing {e:?} in {p:#?}");
    }
}

#[test]
fn a_cycle_in_a_long_chain_is_found_without_recursion() {
    let mut tasks = vec![json!({"name": "t0", "template": "echo", "depends": "t19999"})];
    for i in 1..20_000 {
        tasks.push(json!({"name": format!("t{i}"), "template": "echo", "depends": format!("t{}", i - 1)}));
    }
    let p = problems(json!({"entrypoint": "d", "templates": [{"name": "d", "dag": {"tasks": tasks}}, echo()]}));
    assert_eq!(p.len(), 1, "{:?}", &p[..p.len().min(3)]);
    assert!(
        p[0].starts_with("spec.templates[0].dag.tasks: dependency cycle: t0 -> t19999 -> t19998"),
        "{}",
        &p[0][..200]
    );
}

#[test]
fn the_executors_names_are_reserved_and_outputs_name_their_source() {
    let p = problems(json!({"entrypoint": "s", "volumes": [{"name": "argo-exec", "emptyDir": {}}], "templates": [
        {"name": "s", "steps": [[{"name": "a", "template": "c"}]],
         "outputs": {"parameters": [{"name": "o", "valueFrom": {"path": "/tmp/o"}}]}},
        {"name": "c", "container": {"image": "alpine", "command": ["true"]},
         "sidecars": [{"name": "argo-init", "image": "evil"}],
         "volumes": [{"name": "argo-exec", "hostPath": {"path": "/"}}],
         "outputs": {"parameters": [
            {"name": "rel", "valueFrom": {"path": "tmp/x"}},
            {"name": "none"},
            {"name": "bad name!", "globalName": "also bad!", "valueFrom": {"path": "/x"}},
            {"name": "given", "valueFrom": {"supplied": {}}},
            {"name": "both", "valueFrom": {"path": "/x", "expression": "1"}}]}},
        {"name": "gate", "suspend": {}, "outputs": {"parameters": [{"name": "ok", "valueFrom": {"supplied": {}}}]}}]}));
    for expected in [
        "spec.volumes[0].name: \"argo-exec\" is the name of the volume argo-exec is installed in; choose another",
        "spec.templates[0].outputs.parameters[0]: valueFrom.path reads a file of a container or script template's pod",
        "spec.templates[1].sidecars[0].name: \"argo-init\" is the name of the container that installs argo-exec; choose another",
        "spec.templates[1].volumes[0].name: \"argo-exec\" is the name of the volume argo-exec is installed in; choose another",
        "spec.templates[1].outputs.parameters[0]: valueFrom.path must be an absolute path in the main container",
        "spec.templates[1].outputs.parameters[1]: an output parameter needs valueFrom",
        "spec.templates[1].outputs.parameters[3]: valueFrom.supplied is an output of a suspend template, given when it is resumed",
        "spec.templates[1].outputs.parameters[4]: valueFrom takes one of path, parameter, expression or supplied",
    ] {
        assert!(p.iter().any(|m| m.starts_with(expected)), "{expected}\n{p:#?}");
    }
    assert!(p.iter().any(|m| m.starts_with("spec.templates[1].outputs.parameters[2].name:")), "{p:#?}");
    assert!(p.iter().any(|m| m.starts_with("spec.templates[1].outputs.parameters[2].globalName:")), "{p:#?}");
    assert!(
        !p.iter().any(|m| m.starts_with("spec.templates[2]")),
        "a suspend template's supplied output is fine: {p:#?}"
    );
}
