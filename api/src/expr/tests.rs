//! The expressions of upstream's examples, and the attacks on them.

use serde_json::json;

use super::*;

fn scope(pairs: &[(&str, &str)]) -> Scope {
    let mut s = Scope::new();
    for (k, v) in pairs {
        s.set(*k, *v);
    }
    s
}

#[test]
fn upstream_examples_evaluate_as_upstream_does() {
    let s = scope(&[
        ("inputs.parameters.foo", "3"),
        ("inputs.parameters.should-print", "true"),
        ("workflow.creationTimestamp", "2026-12-01T10:00:00Z"),
        ("workflow.parameters.json", r#"[{"value": "true"}]"#),
        ("steps.flip-coin.outputs.result", "heads"),
        ("steps.heads.outputs.result", "it was heads"),
        ("item", "3"),
    ]);
    let cases = [
        ("toJson(filter([1, 3], {# > 1}))", "[3]"),
        ("item", "3"),
        ("asInt(inputs.parameters.foo) * 10", "30"),
        ("sprig.date('2006', workflow.creationTimestamp)", "2026"),
        (r#" inputs.parameters["should-print"] == 'true'"#, "true"),
        ("jsonpath(workflow.parameters.json, '$[0].value') == 'true'", "true"),
        (
            "steps['flip-coin'].outputs.result == 'heads' ? steps.heads.outputs.result : steps.tails.outputs.result",
            "it was heads",
        ),
        ("asInt(inputs.parameters.foo) == 1? 1: asInt(inputs.parameters.foo) == 2? 1: 7", "7"),
        ("tasks.producer.outputs.parameters.msg ?? 'expr-fallback'", "expr-fallback"),
    ];
    let s = s.merged(&scope(&[("tasks.other.id", "x")]));
    for (src, want) in cases {
        assert_eq!(evaluate(src, &s).as_deref(), Ok(want), "{src}");
    }
}

#[test]
fn the_verbose_snippets_example() {
    let s =
        scope(&[("workflow.parameters.weather", r#"{"weekWeather": "eyJ0ZW1wcyI6IFszNCwgMjcsIDE1LCA1NywgNDZdfQo="}"#)]);
    let src = "
        map([
            jsonpath(sprig.b64dec(jsonpath(workflow.parameters.weather, '$.weekWeather')), '$.temps')
          ], {
            toJson({
              avg: sprig.add(#[0], #[1], #[2], #[3], #[4]) / 5,
              min: sprig.min(#[0], #[1], #[2], #[3], #[4]),
              max: sprig.max(#[0], #[1], #[2], #[3], #[4])
            })
        })[0]
    ";
    let temps = evaluate(src, &s).unwrap();
    assert_eq!(temps, r#"{"avg":35.8,"max":57,"min":15}"#);
    let s = scope(&[("inputs.parameters.week-temps", &temps)]);
    assert_eq!(evaluate("jsonpath(inputs.parameters['week-temps'], '$.avg')", &s).as_deref(), Ok("35.8"));
}

#[test]
fn the_retry_expression() {
    let s = scope(&[
        ("lastRetry.exitCode", "2"),
        ("lastRetry.status", "Failed"),
        ("lastRetry.duration", "3"),
        ("lastRetry.message", "pod deleted"),
    ]);
    let src = r#"asInt(lastRetry.exitCode) > 1 && lastRetry.status != "Error" && asInt(lastRetry.duration) < 120 &&
        (false == true || lastRetry.message matches 'imminent node shutdown|pod deleted')"#;
    assert_eq!(evaluate(src, &s).as_deref(), Ok("true"));
}

#[test]
fn operators_and_builtins() {
    let s = Scope::new();
    for (src, want) in [
        ("1 + 2 * 3", "7"),
        ("7 / 2", "3.5"),
        ("7 % 2", "1"),
        ("2 ** 10", "1024"),
        ("'a' + 'b'", "ab"),
        ("'abc' contains 'b' and 'abc' startsWith 'a' and not ('abc' endsWith 'b')", "true"),
        ("2 in [1, 2]", "true"),
        ("'x' not in {x: 1}", "false"),
        ("len(1..5)", "5"),
        ("count(1..10, # % 2 == 0)", "5"),
        ("all([2, 4], {# % 2 == 0}) && any([1], # == 1) && none([1], # == 2) && one([1, 2], # == 2)", "true"),
        ("map([1, 2], # * #index)", "[0 2]"),
        ("[1, 2, 3][-1]", "3"),
        ("[1, 2, 3][1:]", "[2 3]"),
        ("'hello'[1:3]", "el"),
        ("{a: {b: 'c'}}.a.b", "c"),
        ("{a: 1}?.b ?? 'none'", "none"),
        ("[1, 2] | map(# + 1) | sum()", "5"),
        ("upper(trim(' x '))", "X"),
        ("join(split('a,b', ','), '-')", "a-b"),
        ("max(1, 5, 3) + min([4, 2])", "7"),
        ("string(1.5) + string(true)", "1.5true"),
        ("fromJson('{\"a\": [1]}').a[0]", "1"),
        ("-(-3)", "3"),
        ("true ? 'y' : 'n'", "y"),
    ] {
        assert_eq!(evaluate(src, &s).as_deref(), Ok(want), "{src}");
    }
}

#[test]
fn errors_say_what_went_wrong() {
    let s = scope(&[("inputs.parameters.n", "x")]);
    for (src, want) in [
        ("nope", "unknown name 'nope'"),
        ("asInt(inputs.parameters.n)", "\"x\" is not an integer"),
        ("1 + 'a'", "cannot apply + to 1 and a"),
        ("1 && true", "&& needs a boolean"),
        ("[1][5]", "index 5 out of range"),
        ("nil", "evaluated to nil"),
        ("1 / 0", "division by zero"),
        ("'a' matches '('", "invalid regular expression"),
        ("frobnicate(1)", "unknown function frobnicate()"),
        ("sprig.nope(1)", "unknown function sprig.nope()"),
        ("1 +", "unexpected end"),
    ] {
        let e = evaluate(src, &s).unwrap_err();
        assert!(e.contains(want), "{src}: {e}");
    }
}

#[test]
fn the_hostile_tenant_cannot_exhaust_anything() {
    let big = "x".repeat(200 * 1024);
    let s = scope(&[("inputs.parameters.big", &big)]);
    for (src, want) in [
        ("0..100000000", "more than 10000 items"),
        ("map(1..10000, map(1..10000, #))", "steps"),
        ("map(1..10000, inputs.parameters.big)", "steps"),
        (
            "inputs.parameters.big + inputs.parameters.big + inputs.parameters.big + inputs.parameters.big + inputs.parameters.big + inputs.parameters.big",
            "longer than 1 MiB",
        ),
        ("replace(inputs.parameters.big, 'x', 'xxxxxxxxxx')", "longer than 1 MiB"),
        ("map(1..10000, {toJson(inputs)})", "steps"),
    ] {
        let e = evaluate(src, &s).unwrap_err();
        assert!(e.contains(want), "{src}: {e}");
    }
    let long = format!("'{}'", "a".repeat(20_000));
    assert!(evaluate(&long, &s).unwrap_err().contains("longer than 16 KiB"));
    let deep = format!("{}1{}", "(".repeat(3000), ")".repeat(3000));
    assert!(evaluate(&deep, &s).unwrap_err().contains("nested more than 64"));
}

#[test]
fn env_nests_dotted_names_and_maps_win() {
    let s = scope(&[
        ("workflow.parameters", "[...]"),
        ("workflow.parameters.x", "1"),
        ("a.b", "2"),
    ]);
    let e = env(&s);
    assert_eq!(e["workflow"]["parameters"]["x"], json!("1"));
    assert_eq!(e["a"]["b"], json!("2"));
}
