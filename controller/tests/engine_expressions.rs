//! Expressions (expr-lang): `{{=...}}` tags in any field, a steps or DAG
//! template's `valueFrom.expression`, and `retryStrategy.expression`, as
//! upstream's examples use them.

mod common;

use argo_api::workflow::Phase;
use common::*;

#[test]
fn expression_tags_feed_loops_arguments_and_conditions() {
    let (s, phase) = run(r#"
apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {name: tags, creationTimestamp: "2026-03-04T05:06:07Z"}
spec:
  entrypoint: main
  arguments:
    parameters: [{name: json, value: '[{"value": "true"}]'}]
  templates:
  - name: main
    steps:
    - - name: loop
        template: pod
        arguments: {parameters: [{name: foo, value: "{{=item}}"}]}
        withParam: "{{=toJson(filter([1, 3], {# > 1}))}}"
      - name: yes
        template: pod
        arguments: {parameters: [{name: foo, value: "1"}]}
        when: "{{=jsonpath(workflow.parameters.json, '$[0].value') == 'true'}}"
      - name: no
        template: pod
        arguments: {parameters: [{name: foo, value: "1"}]}
        when: "{{= workflow.parameters.json == 'x' }}"
  - name: pod
    inputs: {parameters: [{name: foo}]}
    container:
      image: alpine
      command: [echo]
      args: ["hello {{=asInt(inputs.parameters.foo) * 10}} @ {{=sprig.date('2006', workflow.creationTimestamp)}}"]
"#);
    assert_eq!(
        phase,
        Phase::Succeeded,
        "{:?}",
        nodes(&s).iter().map(|n| (&n.display_name, &n.message)).collect::<Vec<_>>()
    );
    assert_eq!(args(&s, "loop(0:3)"), ["hello 30 @ 2026"]);
    assert_eq!(phase_of(&s, "yes"), Phase::Succeeded);
    assert_eq!(phase_of(&s, "no"), Phase::Skipped);
}

#[test]
fn an_expression_that_does_not_evaluate_fails_its_node_with_the_reason() {
    let (s, phase) = run(r#"
apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {name: bad}
spec:
  entrypoint: main
  arguments:
    parameters: [{name: n, value: "seven"}]
  templates:
  - name: main
    container: {image: alpine, command: [echo], args: ["{{=asInt(workflow.parameters.n) + 1}}"]}
"#);
    assert_eq!(phase, Phase::Error, "{:?}", nodes(&s));
    let msg = node(&s, "bad").message.clone().unwrap_or_default();
    assert!(
        msg.contains("failed to evaluate {{=asInt(workflow.parameters.n) + 1}}: asInt(): \"seven\" is not an integer"),
        "{msg}"
    );
}

#[test]
fn value_from_expression_picks_the_branch_that_ran_and_falls_back_for_a_skipped_one() {
    let (s, phase) = run(r#"
apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {name: cond}
spec:
  entrypoint: main
  templates:
  - name: main
    dag:
      tasks:
      - {name: flip-coin, template: flip}
      - {name: heads, depends: flip-coin, template: say, when: "{{tasks.flip-coin.outputs.result}} == heads"}
      - {name: tails, depends: flip-coin, template: say, when: "{{tasks.flip-coin.outputs.result}} == tails"}
      - {name: producer, template: produce, when: "false"}
    outputs:
      parameters:
      - name: stepresult
        valueFrom:
          expression: "tasks['flip-coin'].outputs.result == 'heads' ? tasks.heads.outputs.result : tasks.tails.outputs.result"
      - name: fallback
        valueFrom: {expression: "tasks.producer.outputs.parameters.msg ?? 'expr-fallback'"}
  - name: flip
    metadata: {annotations: {kwok.test/message: '{"result":"heads"}'}}
    container: {image: alpine, command: [echo], args: [flip]}
  - name: say
    metadata: {annotations: {kwok.test/message: '{"result":"it was heads"}'}}
    container: {image: alpine, command: [echo], args: [say]}
  - name: produce
    outputs:
      parameters: [{name: msg, valueFrom: {path: /tmp/out.txt}}]
    container: {image: alpine, command: [echo], args: [produce]}
"#);
    assert_eq!(phase, Phase::Succeeded, "{:?}", nodes(&s));
    let main = node(&s, "cond");
    assert_eq!(param(main, "stepresult"), Some("it was heads"));
    assert_eq!(param(main, "fallback"), Some("expr-fallback"));
}

#[test]
fn a_retry_expression_stops_retrying_when_it_turns_false() {
    let (s, phase) = run(r#"
apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {name: retry}
spec:
  entrypoint: main
  arguments:
    parameters: [{name: safe, value: "false"}]
  templates:
  - name: main
    steps:
    - - {name: exit1, template: fail, arguments: {parameters: [{name: code, value: "1"}]}}
      - {name: exit2, template: fail, arguments: {parameters: [{name: code, value: "2"}]}}
  - name: fail
    inputs: {parameters: [{name: code}]}
    metadata: {annotations: {kwok.test/exit-code: "{{inputs.parameters.code}}"}}
    retryStrategy:
      limit: "3"
      expression: >-
        asInt(lastRetry.exitCode) > 1 && lastRetry.status != "Error" &&
        ({{workflow.parameters.safe}} == true || lastRetry.message matches 'exit code')
    container: {image: alpine, command: [echo], args: [fail]}
"#);
    assert_eq!(phase, Phase::Failed);
    let attempts = |name: &str| nodes(&s).iter().filter(|n| n.display_name.starts_with(&format!("{name}("))).count();
    // Exit code 1: the expression is false after the first attempt.
    assert_eq!(attempts("exit1"), 1);
    assert_eq!(node(&s, "exit1").message.as_deref(), Some("retryStrategy.expression evaluated to false"));
    // Exit code 2: retried up to the limit.
    assert_eq!(
        attempts("exit2"),
        4,
        "{:?}",
        nodes(&s).iter().map(|n| (&n.display_name, &n.message)).collect::<Vec<_>>()
    );
}

mod hostile {
    use argo_api::vars::Scope;
    use proptest::prelude::*;

    /// Pieces of expressions, valid and not, that a tenant could combine.
    const VOCABULARY: &[&str] = &[
        "(",
        ")",
        "[",
        "]",
        "{",
        "}",
        ",",
        ":",
        "?",
        "??",
        "?.",
        ".",
        "..",
        "#",
        "#index",
        "!",
        "not",
        "-",
        "+",
        "*",
        "/",
        "%",
        "**",
        "==",
        "<",
        "&&",
        "||",
        "in",
        "matches",
        "contains",
        "0",
        "1",
        "-1",
        "10000",
        "1e308",
        "0.5",
        "'a'",
        "'('",
        "\"x\"",
        "nil",
        "true",
        "inputs",
        "inputs.parameters.big",
        "steps",
        "workflow",
        "map(",
        "filter(",
        "all(",
        "count(",
        "toJson(",
        "fromJson(",
        "jsonpath(",
        "'$.a'",
        "'$..*'",
        "sprig.add(",
        "sprig.date(",
        "'2006'",
        "asInt(",
        "len(",
        "replace(",
        "split(",
        "join(",
        "string(",
        "max(",
        "sum(",
        "sprig.b64dec(",
        "|",
        "`x`",
    ];

    proptest! {
        #![proptest_config(ProptestConfig { cases: 3000, ..ProptestConfig::default() })]

        /// Any combination is an answer or an error: no panic, no hang, no
        /// string beyond the substitution limit.
        #[test]
        fn any_expression_ends_with_a_value_or_an_error(words in prop::collection::vec(0..VOCABULARY.len(), 1..40)) {
            let src: Vec<&str> = words.iter().map(|i| VOCABULARY[*i]).collect();
            let mut scope = Scope::new();
            scope.set("inputs.parameters.big", "x".repeat(64 * 1024));
            scope.set("workflow.name", "w");
            if let Ok(v) = argo_api::expr::evaluate(&src.join(" "), &scope) {
                prop_assert!(v.len() <= argo_api::limits::MAX_SUBSTITUTED_BYTES);
            }
        }
    }
}
