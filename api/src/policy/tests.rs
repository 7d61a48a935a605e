//! Every kind of violation, checked against one project.

use k8s_openapi::api::authentication::v1::UserInfo;
use serde_json::json;

use super::*;
use crate::{WorkflowProject, load};

fn project(spec: serde_json::Value) -> WorkflowProject {
    load::workflow_project(&json!({"apiVersion": "argoproj.io/v1alpha1", "kind": "WorkflowProject",
        "metadata": {"name": "team-a"}, "spec": spec}))
    .expect("valid project")
}

fn strict_project() -> WorkflowProject {
    project(json!({
        "namespaces": ["team-a-*", "!team-a-prod"],
        "submitters": {"users": ["alice"], "groups": ["team-a"], "serviceAccounts": ["ci:*"]},
        "serviceAccounts": ["runner", "default"],
        "images": ["alpine*", "docker.io/library/*", "!*:latest"],
        "security": {"allowPrivileged": false},
        "requiredLimits": ["cpu", "memory"],
        "maxParallelism": 5,
        "maxActiveDeadlineSeconds": 3600,
        "templateTypes": ["container", "steps"]
    }))
}

fn workflow(spec: serde_json::Value) -> crate::Workflow {
    load::workflow(
        &json!({"apiVersion": "argoproj.io/v1alpha1", "kind": "Workflow", "metadata": {"name": "w"}, "spec": spec}),
    )
    .expect("valid workflow")
}

fn user(name: &str, groups: &[&str]) -> UserInfo {
    UserInfo {
        username: Some(name.into()),
        groups: Some(groups.iter().map(|g| g.to_string()).collect()),
        ..Default::default()
    }
}

fn ok_container() -> serde_json::Value {
    json!({"image": "alpine:3.19", "resources": {"limits": {"cpu": "1", "memory": "64Mi"}}})
}

#[test]
fn a_workflow_within_the_rules_passes() {
    let wf = workflow(json!({"entrypoint": "main", "parallelism": 2, "activeDeadlineSeconds": 600, "templates": [
        {"name": "main", "steps": [[{"name": "a", "template": "c"}]]},
        {"name": "c", "serviceAccountName": "runner", "container": ok_container()}]}));
    let p = check_workflow(&wf, &strict_project(), "team-a-dev", Some(&user("alice", &[])));
    assert!(p.is_empty(), "{p:#?}");
    assert!(check_workflow(&wf, &strict_project(), "team-a-dev", Some(&user("bob", &["team-a"]))).is_empty());
    assert!(
        check_workflow(&wf, &strict_project(), "team-a-dev", Some(&user("system:serviceaccount:ci:deployer", &[])))
            .is_empty()
    );
}

#[test]
fn every_violation_is_listed_with_its_path() {
    let wf = workflow(json!({"entrypoint": "main", "parallelism": 9, "hostNetwork": true,
        "volumes": [{"name": "host", "hostPath": {"path": "/"}}],
        "templates": [
        {"name": "main", "dag": {"tasks": [{"name": "a", "template": "c"}]}},
        {"name": "c", "serviceAccountName": "admin",
         "container": {"image": "quay.io/evil:latest", "securityContext": {"privileged": true}, "resources": {"limits": {"cpu": "1"}}}},
        {"name": "s", "script": {"image": "alpine:latest", "source": "echo", "resources": {"limits": {"cpu": "1", "memory": "1"}}}}]}));
    let p: Vec<String> = check_workflow(&wf, &strict_project(), "team-a-prod", Some(&user("mallory", &["others"])))
        .iter()
        .map(ToString::to_string)
        .collect();
    let expected = [
        "metadata.namespace: namespace \"team-a-prod\" is not one of project \"team-a\"'s namespaces (team-a-*, !team-a-prod)",
        "user \"mallory\" (groups: others) may not submit workflows to project \"team-a\"",
        "spec.parallelism: 9 is more than project \"team-a\" allows (5)",
        "spec.activeDeadlineSeconds: required by project \"team-a\": at most 3600",
        "spec.templates[0].dag: dag templates are not allowed by project \"team-a\" (allowed: container, steps)",
        "spec.templates[1].serviceAccountName: service account \"admin\" is not allowed by project \"team-a\" (allowed: runner, default)",
        "spec.templates[1].container.image: image \"quay.io/evil:latest\" is not allowed by project \"team-a\" (allowed: alpine*, docker.io/library/*, !*:latest)",
        "spec.templates[1].container.securityContext.privileged: privileged containers are not allowed by project \"team-a\"",
        "spec.templates[1].container.resources.limits: a memory limit is required by project \"team-a\"",
        "spec.hostNetwork: hostNetwork is not allowed by project \"team-a\"",
        "spec.volumes[0].hostPath: hostPath volume \"host\" is not allowed by project \"team-a\"",
        "spec.templates[2].script: script templates are not allowed by project \"team-a\" (allowed: container, steps)",
        "spec.templates[2].script.image: image \"alpine:latest\" is not allowed by project \"team-a\" (allowed: alpine*, docker.io/library/*, !*:latest)",
    ];
    assert_eq!(p, expected);
}

#[test]
fn values_known_only_at_run_time_are_left_to_the_controller() {
    let wf = workflow(json!({"entrypoint": "c", "parallelism": 1, "activeDeadlineSeconds": 60,
        "arguments": {"parameters": [{"name": "img", "value": "alpine"}]}, "templates": [
        {"name": "c", "container": {"image": "{{workflow.parameters.img}}", "resources": {"limits": {"cpu": "1", "memory": "1"}}}}]}));
    assert!(check_workflow(&wf, &strict_project(), "team-a-x", None).is_empty());
    let pod: k8s_openapi::api::core::v1::PodSpec =
        serde_json::from_value(json!({"containers": [{"name": "main", "image": "quay.io/x:1", "resources": {"limits": {"cpu": "1", "memory": "1"}}}]}))
            .unwrap();
    let p = check_pod_spec(&pod, &strict_project());
    assert_eq!(p.len(), 1);
    assert_eq!(p[0].path, "spec.containers[0].image");
}

#[test]
fn projects_with_bad_patterns_or_contradictions_are_refused() {
    let p = project(json!({
        "namespaces": ["Team_A", "!only"],
        "images": ["!*:latest"],
        "serviceAccounts": ["x", "!x"],
        "submitters": {"serviceAccounts": ["deployer"]},
        "templateTypes": ["container", "http"],
        "maxParallelism": 0,
        "maxActiveDeadlineSeconds": 100,
        "workflowDefaults": {"spec": {"activeDeadlineSeconds": 500, "serviceAccountName": "y", "entrypoiint": "x"}},
        "templateDefaults": {"steps": [[{"name": "a", "template": "b"}]]}
    }));
    let got: Vec<String> = validate_project(&p).iter().map(ToString::to_string).collect();
    let expected = [
        "spec.serviceAccounts[0]: \"x\" is both allowed and denied",
        "spec.images: only deny patterns: the list allows nothing (add an allow pattern such as \"*\")",
        "spec.namespaces[0]: \"Team_A\" can never match a namespace: use lowercase letters, digits, '-' and the wildcards * and ?",
        "spec.submitters.serviceAccounts[0]: \"deployer\" must be namespace:name (globs allowed, e.g. \"ci:*\")",
        "spec.templateTypes[1]: \"http\" is not a template type (container, script, steps, dag, suspend)",
        "spec.maxParallelism: must be at least 1",
        "spec.workflowDefaults.spec.entrypoiint: unknown field `entrypoiint`: not a field of this object (check its spelling and indentation)",
        "spec.templateDefaults: template defaults may set container fields but not a template type (steps)",
    ];
    assert_eq!(got, expected);
}
