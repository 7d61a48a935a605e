//! What upstream's examples must produce, not only how they end: the
//! outputs in their status, checked per example where the values are known.

use argo_api::Workflow;
use argo_api::workflow::{NodeStatus, NodeType, Phase};

fn node<'a>(wf: &'a Workflow, display: &str) -> Result<&'a NodeStatus, String> {
    let status = wf.status.as_ref().ok_or("no status")?;
    status
        .nodes
        .values()
        .find(|n| n.display_name == display)
        .ok_or_else(|| format!("no node {display:?}"))
}

fn result<'a>(wf: &'a Workflow, display: &str) -> Result<&'a str, String> {
    node(wf, display)?
        .outputs
        .as_ref()
        .and_then(|o| o.result.as_deref())
        .ok_or_else(|| format!("node {display:?} has no outputs.result"))
}

fn param<'a>(wf: &'a Workflow, display: &str, name: &str) -> Result<&'a str, String> {
    let n = node(wf, display)?;
    n.outputs
        .iter()
        .flat_map(|o| &o.parameters)
        .find(|p| p.name == name)
        .and_then(|p| p.value.as_ref())
        .map(|v| v.as_str())
        .ok_or_else(|| format!("node {display:?} has no output parameter {name:?}"))
}

fn expect_eq(what: &str, got: &str, want: &str) -> Result<(), String> {
    if got == want {
        Ok(())
    } else {
        Err(format!("{what}: expected {want:?}, got {got:?}"))
    }
}

/// Every pod that succeeded reported its stdout, and every output
/// parameter its template declares.
pub fn check_all_reported(wf: &Workflow) -> Result<(), String> {
    let Some(status) = &wf.status else { return Ok(()) };
    for n in status.nodes.values().filter(|n| n.type_ == NodeType::Pod && n.phase == Phase::Succeeded) {
        let outputs = n.outputs.as_ref();
        if outputs.and_then(|o| o.result.as_ref()).is_none() {
            return Err(format!("node {:?} succeeded without outputs.result", n.display_name));
        }
        let template = wf.spec.templates.iter().find(|t| Some(&t.name) == n.template_name.as_ref());
        for p in template.and_then(|t| t.outputs.as_ref()).iter().flat_map(|o| &o.parameters) {
            let has = outputs.is_some_and(|o| o.parameters.iter().any(|q| q.name == p.name && q.value.is_some()));
            if !has {
                return Err(format!("node {:?} succeeded without output parameter {:?}", n.display_name, p.name));
            }
        }
    }
    Ok(())
}

/// The values an example is known to produce; None when it has no check.
pub fn check_values(file: &str, wf: &Workflow) -> Option<Result<(), String>> {
    let check = match file {
        "output-parameter.yaml" => output_parameter,
        "scripts-bash.yaml" => scripts_bash,
        "coinflip.yaml" => coinflip,
        "parameter-aggregation.yaml" => parameter_aggregation,
        "pod-spec-from-previous-step.yaml" => pod_spec_from_previous_step,
        "expression-tag-template-workflow.yaml" => expression_tag_template,
        "expression-destructure-json.yaml" => |wf: &Workflow| expect_eq("main's result", root_result(wf)?, "123"),
        "expression-destructure-json-complex.yaml" => |wf: &Workflow| {
            expect_eq("main's result", root_result(wf)?, "[43][43][map[age:43 name:Baris]][Baris Mo Jai]")
        },
        "expression-reusing-verbose-snippets.yaml" => |wf: &Workflow| {
            let want = "The week's average temperature was 35.8 with a minimum of 15 and a maximum of 57.";
            expect_eq("main's result", root_result(wf)?, want)
        },
        "conditional-parameters.yaml" | "dag-conditional-parameters.yaml" => conditional_parameters,
        "conditionals.yaml" => |wf: &Workflow| {
            expect_eq("the govaluate when", node(wf, "print-hello-govaluate")?.phase.as_str(), "Succeeded")?;
            expect_eq("the expr when", node(wf, "print-hello-expr")?.phase.as_str(), "Succeeded")?;
            expect_eq("the when over a missing parameter", node(wf, "print-hello-expr-json")?.phase.as_str(), "Error")
        },
        "suspend-template-outputs.yaml" => |wf: &Workflow| {
            expect_eq("what release printed", result(wf, "release")?, "approved by the conformance test")
        },
        "intermediate-parameters.yaml" => |wf: &Workflow| {
            expect_eq("approve", param(wf, "approval", "approve")?, "YES")?;
            expect_eq("deploy-prod", node(wf, "deploy-prod")?.phase.as_str(), "Succeeded")
        },
        "skipped-output-defaults/expression-fallback.yaml" => {
            |wf: &Workflow| expect_eq("the DAG's result", param(wf, root_name(wf)?, "result")?, "expr-fallback")
        }
        _ => return None,
    };
    Some(check(wf))
}

fn output_parameter(wf: &Workflow) -> Result<(), String> {
    expect_eq("hello-param", param(wf, "generate-parameter", "hello-param")?, "hello world")?;
    expect_eq("what the consumer printed", result(wf, "consume-parameter")?, "hello world")
}

fn scripts_bash(wf: &Workflow) -> Result<(), String> {
    let n: i32 = result(wf, "generate")?.trim().parse().map_err(|e| format!("generate's result: {e}"))?;
    // busybox's od (alpine's too) may read the two bytes as a signed
    // short: the script then prints -99..0 as well as 1..100.
    if !(-100..=100).contains(&n) {
        return Err(format!("generate's result {n} is not in -100..=100"));
    }
    expect_eq("print's result", result(wf, "print")?, &format!("result was: {n}"))
}

fn coinflip(wf: &Workflow) -> Result<(), String> {
    let side = result(wf, "flip-coin")?;
    let (ran, skipped) = match side {
        "heads" => ("heads", "tails"),
        "tails" => ("tails", "heads"),
        other => return Err(format!("flip-coin printed {other:?}")),
    };
    expect_eq("the side that came up", node(wf, ran)?.phase.as_str(), "Succeeded")?;
    expect_eq("the other side", node(wf, skipped)?.phase.as_str(), "Skipped")
}

fn parameter_aggregation(wf: &Workflow) -> Result<(), String> {
    for (i, n) in (1..=4).enumerate() {
        let display = format!("odd-or-even({i}:{n})");
        expect_eq("num", param(wf, &display, "num")?, &n.to_string())?;
        expect_eq("evenness", param(wf, &display, "evenness")?, if n % 2 == 0 { "even" } else { "odd" })?;
    }
    let status = wf.status.as_ref().ok_or("no status")?;
    let halves: Vec<&str> = status
        .nodes
        .values()
        .filter(|n| n.display_name.starts_with("divide-by-2(") && n.phase == Phase::Succeeded)
        .filter_map(|n| n.outputs.as_ref()?.result.as_deref())
        .collect();
    let mut halves = halves;
    halves.sort();
    expect_eq("the halves of the even numbers", &halves.join(","), "1,2")
}

fn pod_spec_from_previous_step(wf: &Workflow) -> Result<(), String> {
    expect_eq("resources", param(wf, "parse-resources", "resources")?, r#"{"memory": "10Gi", "cpu": "2000m"}"#)
}

fn root_name(wf: &Workflow) -> Result<&str, String> {
    wf.metadata.name.as_deref().ok_or_else(|| "the workflow has no name".into())
}

fn root_result(wf: &Workflow) -> Result<&str, String> {
    result(wf, root_name(wf)?)
}

fn expression_tag_template(wf: &Workflow) -> Result<(), String> {
    let year = wf
        .metadata
        .creation_timestamp
        .as_ref()
        .map(|t| t.0.to_zoned(k8s_openapi::jiff::tz::TimeZone::UTC).year())
        .ok_or("no creationTimestamp")?;
    let status = wf.status.as_ref().ok_or("no status")?;
    let pods: Vec<&NodeStatus> =
        status.nodes.values().filter(|n| n.template_name.as_deref() == Some("pod-0")).collect();
    expect_eq("pods of the withParam over [3]", &pods.len().to_string(), "1")?;
    let out = param(wf, &pods[0].display_name, "output")?;
    expect_eq("pod-0's output", out.trim_end(), &format!("hello 30 @ {year}"))
}

/// The template's output is the result of whichever branch ran.
fn conditional_parameters(wf: &Workflow) -> Result<(), String> {
    let side = result(wf, "flip-coin")?;
    if side != "heads" && side != "tails" {
        return Err(format!("flip-coin printed {side:?}"));
    }
    let main = wf
        .status
        .as_ref()
        .ok_or("no status")?
        .nodes
        .values()
        .find(|n| n.outputs.as_ref().is_some_and(|o| o.parameters.iter().any(|p| p.name == "stepresult")));
    let main = main.ok_or("no node has the output parameter stepresult")?;
    expect_eq("stepresult", param(wf, &main.display_name, "stepresult")?, side)
}
