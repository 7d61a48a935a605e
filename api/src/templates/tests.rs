use serde_json::json;

use super::*;
use crate::load;

fn wf(spec: serde_json::Value) -> Workflow {
    load::workflow(&json!({"apiVersion": "argoproj.io/v1alpha1", "kind": "Workflow",
        "metadata": {"name": "w", "namespace": "team-a"}, "spec": spec}))
    .expect("a workflow")
}

fn wt(kind: &str, name: &str, ns: Option<&str>, spec: serde_json::Value) -> serde_json::Value {
    let mut meta = json!({"name": name});
    if let Some(ns) = ns {
        meta["namespace"] = json!(ns);
    }
    json!({"apiVersion": "argoproj.io/v1alpha1", "kind": kind, "metadata": meta, "spec": spec})
}

fn library() -> Documents {
    Documents(vec![
        wt(
            "WorkflowTemplate",
            "lib",
            Some("team-a"),
            json!({"entrypoint": "both",
            "arguments": {"parameters": [{"name": "msg", "value": "from the template"}]},
            "templates": [
                {"name": "both", "steps": [[{"name": "a", "template": "say"}, {"name": "b", "templateRef": {"name": "shared", "template": "say", "clusterScope": true}}]]},
                {"name": "say", "inputs": {"parameters": [{"name": "msg", "default": "hi"}]}, "container": {"image": "alpine", "args": ["{{inputs.parameters.msg}}"]}}]}),
        ),
        wt(
            "ClusterWorkflowTemplate",
            "shared",
            None,
            json!({"templates": [
            {"name": "say", "container": {"image": "busybox"}}]}),
        ),
        wt(
            "WorkflowTemplate",
            "elsewhere",
            Some("team-b"),
            json!({"templates": [{"name": "x", "container": {"image": "alpine"}}]}),
        ),
    ])
}

#[test]
fn template_refs_resolve_into_named_templates_and_are_stored() {
    let w = wf(json!({"entrypoint": "main", "templates": [{"name": "main", "dag": {"tasks": [
        {"name": "one", "templateRef": {"name": "lib", "template": "both"}}]}}]}));
    assert!(references(&w.spec));
    let r = resolve(&w, &library()).expect("resolves");
    let names: Vec<&str> = r.spec.templates.iter().map(|t| t.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "main",
            "namespaced/lib/both",
            "namespaced/lib/say",
            "cluster/shared/say"
        ]
    );
    let task = &r.spec.templates[0].dag.as_ref().unwrap().tasks[0].step;
    assert_eq!(task.template.as_deref(), Some("namespaced/lib/both"));
    assert!(task.template_ref.is_none());
    let stored = &r.status.as_ref().expect("status").stored_templates;
    assert_eq!(stored.len(), 3);
    assert_eq!(stored["namespaced/lib/both"].name, "both", "stored as found");
    assert!(crate::validate::workflow(&r).is_empty(), "{:?}", crate::validate::workflow(&r));
    assert_eq!(crate::names::pod_name("w", "w.one", Some("namespaced/lib/both")).split('-').nth(1), Some("both"));
}

#[test]
fn stored_templates_win_over_edited_ones() {
    let w = wf(json!({"entrypoint": "main", "templates": [{"name": "main", "steps": [[
        {"name": "s", "templateRef": {"name": "shared", "template": "say", "clusterScope": true}}]]}]}));
    let first = resolve(&w, &library()).expect("resolves");
    let edited = Documents(vec![wt(
        "ClusterWorkflowTemplate",
        "shared",
        None,
        json!({"templates": [
        {"name": "say", "container": {"image": "evil"}}]}),
    )]);
    let mut running = w.clone();
    running.status = first.status.clone();
    let again = resolve(&running, &edited).expect("resolves from the status");
    let image = |r: &Workflow| r.spec.templates[1].container.as_ref().unwrap().image.clone();
    assert_eq!(image(&again), Some("busybox".into()));
    assert_eq!(image(&resolve(&w, &edited).expect("a new workflow reads the edit")), Some("evil".into()));
}

#[test]
fn a_workflow_template_ref_joins_the_specs() {
    let w = wf(json!({"workflowTemplateRef": {"name": "lib"},
        "arguments": {"parameters": [{"name": "msg", "value": "mine"}]}}));
    let r = resolve(&w, &library()).expect("resolves");
    assert_eq!(r.spec.entrypoint.as_deref(), Some("both"));
    assert_eq!(r.spec.arguments.as_ref().unwrap().parameters[0].value.as_ref().unwrap().as_str(), "mine");
    assert!(r.spec.workflow_template_ref.is_none());
    assert!(r.status.as_ref().unwrap().stored_workflow_template_spec.is_some());
    let names: Vec<&str> = r.spec.templates.iter().map(|t| t.name.as_str()).collect();
    assert_eq!(names, ["both", "say", "cluster/shared/say"], "the template's own templates are local");
    assert!(crate::validate::workflow(&r).is_empty(), "{:?}", crate::validate::workflow(&r));
}

#[test]
fn missing_templates_and_other_namespaces_are_errors_with_paths() {
    let w = wf(json!({"entrypoint": "main", "templates": [{"name": "main", "steps": [[
        {"name": "a", "templateRef": {"name": "nope", "template": "x"}},
        {"name": "b", "templateRef": {"name": "lib", "template": "nope"}},
        {"name": "c", "templateRef": {"name": "elsewhere", "template": "x"}}]]}]}));
    let problems = resolve(&w, &library()).expect_err("refused");
    let text: Vec<String> = problems.iter().map(ToString::to_string).collect();
    assert_eq!(
        text,
        [
            "spec.templates[0].steps[0][0].templateRef.name: WorkflowTemplate \"nope\" not found in namespace \"team-a\"",
            "spec.templates[0].steps[0][1].templateRef.template: template \"nope\" not found in WorkflowTemplate \"lib\"",
            "spec.templates[0].steps[0][2].templateRef.name: WorkflowTemplate \"elsewhere\" not found in namespace \"team-a\"",
        ]
    );
    let missing = wf(json!({"workflowTemplateRef": {"name": "gone", "clusterScope": true}}));
    let p = resolve(&missing, &library()).expect_err("refused");
    assert_eq!(p[0].to_string(), "spec.workflowTemplateRef.name: ClusterWorkflowTemplate \"gone\" not found");
}

#[test]
fn unconditional_reference_cycles_are_refused_and_conditional_recursion_is_not() {
    let cyclic = Documents(vec![
        wt(
            "WorkflowTemplate",
            "a",
            None,
            json!({"templates": [{"name": "x", "steps": [[{"name": "s", "templateRef": {"name": "b", "template": "y"}}]]}]}),
        ),
        wt(
            "WorkflowTemplate",
            "b",
            None,
            json!({"templates": [{"name": "y", "steps": [[{"name": "s", "templateRef": {"name": "a", "template": "x"}}]]}]}),
        ),
    ]);
    let w = wf(
        json!({"entrypoint": "main", "templates": [{"name": "main", "steps": [[{"name": "go", "templateRef": {"name": "a", "template": "x"}}]]}]}),
    );
    let p = resolve(&w, &cyclic).expect_err("never ends");
    assert!(p[0].message.contains("namespaced/a/x -> namespaced/b/y -> namespaced/a/x"), "{}", p[0]);
    let local = wf(json!({"entrypoint": "main", "templates": [
        {"name": "main", "steps": [[{"name": "again", "template": "main", "when": "{{workflow.parameters.x}} == 1"}]]}]}));
    assert!(resolve(&local, &NoTemplates).is_ok(), "a recursion with a when may stop");
    let forever = wf(json!({"entrypoint": "main", "templates": [
        {"name": "main", "steps": [[{"name": "again", "template": "main"}]]}]}));
    assert!(resolve(&forever, &NoTemplates).is_err());
}

#[test]
fn hostile_references_are_bounded_and_reserved_names_refused() {
    let many: Vec<_> = (0..MAX_REFERENCED + 50)
        .map(|i| json!({"name": format!("s{i}"), "template": format!("t{i}")}))
        .collect();
    let mut templates = vec![json!({"name": "entry", "steps": [many]})];
    templates
        .extend((0..MAX_REFERENCED + 50).map(|i| json!({"name": format!("t{i}"), "container": {"image": "alpine"}})));
    let big = Documents(vec![wt("WorkflowTemplate", "big", None, json!({"templates": templates}))]);
    let w = wf(
        json!({"entrypoint": "main", "templates": [{"name": "main", "steps": [[{"name": "go", "templateRef": {"name": "big", "template": "entry"}}]]}]}),
    );
    let p = resolve(&w, &big).expect_err("too many");
    assert_eq!(p.len(), 1, "said once: {p:?}");
    assert!(p[0].message.contains("more than 500 referenced templates"), "{}", p[0]);
    let sneaky = wf(json!({"entrypoint": "cluster/shared/say", "templates": [
        {"name": "cluster/shared/say", "container": {"image": "evil"}}]}));
    let p = resolve(&sneaky, &library()).expect_err("reserved");
    assert!(p[0].message.contains("'/' is reserved"), "{}", p[0]);
}

/// Issue 19, finding 6: ten small workflows each referencing forty large
/// templates amplified themselves into statuses no apiserver accepts.
/// What a workflow stores of its references is bounded, and so is what
/// resolving them reads.
#[test]
fn what_references_pull_in_is_bounded_by_stored_and_read_bytes() {
    let big = "x".repeat(100 * 1024);
    let templates: Vec<serde_json::Value> = (0..40)
        .map(|i| json!({"name": format!("t{i}"), "container": {"image": "alpine", "args": [big]}}))
        .collect();
    let docs = Documents(vec![wt(
        "WorkflowTemplate",
        "huge",
        Some("team-a"),
        json!({"templates": templates}),
    )]);
    let steps: Vec<serde_json::Value> = (0..40)
        .map(|i| json!([{"name": format!("s{i}"), "templateRef": {"name": "huge", "template": format!("t{i}")}}]))
        .collect();
    let w = wf(json!({"entrypoint": "main", "templates": [{"name": "main", "steps": steps}]}));
    let problems = resolve(&w, &docs).expect_err("over the stored limit");
    assert_eq!(problems.len(), 1, "{problems:#?}");
    assert!(problems[0].message.contains("more than the 512 KiB a workflow may store"), "{}", problems[0]);
    // Four of them fit.
    let few: Vec<serde_json::Value> = steps_prefix(4);
    let w = wf(json!({"entrypoint": "main", "templates": [{"name": "main", "steps": few}]}));
    assert!(resolve(&w, &docs).is_ok());

    // Many large WorkflowTemplates each named once: the reading is bounded.
    let owners: Vec<serde_json::Value> = (0..20)
        .map(|i| wt("WorkflowTemplate", &format!("o{i}"), Some("team-a"),
            json!({"templates": [{"name": "tiny", "container": {"image": "alpine"}}, {"name": "pad", "container": {"image": "alpine", "args": ["y".repeat(600 * 1024)]}}]})))
        .collect();
    let steps: Vec<serde_json::Value> = (0..20)
        .map(|i| json!([{"name": format!("s{i}"), "templateRef": {"name": format!("o{i}"), "template": "tiny"}}]))
        .collect();
    let w = wf(json!({"entrypoint": "main", "templates": [{"name": "main", "steps": steps}]}));
    let problems = resolve(&w, &Documents(owners)).expect_err("over the read limit");
    assert!(problems.iter().any(|p| p.message.contains("take more than 8 MiB together")), "{problems:#?}");
}

fn steps_prefix(n: usize) -> Vec<serde_json::Value> {
    (0..n)
        .map(|i| json!([{"name": format!("s{i}"), "templateRef": {"name": "huge", "template": format!("t{i}")}}]))
        .collect()
}
