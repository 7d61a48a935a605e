//! In-process tests of the admission handlers, through the router.

use std::sync::Arc;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use serde_json::{Value, json};
use tower::ServiceExt;

use super::*;
use crate::projects::Fixed;

fn project(name: &str, spec: Value) -> argo_api::WorkflowProject {
    argo_api::load::workflow_project(&json!({"apiVersion": "argoproj.io/v1alpha1", "kind": "WorkflowProject",
        "metadata": {"name": name}, "spec": spec}))
    .expect("valid project")
}

fn app() -> Router {
    let projects = vec![
        project("default", json!({"namespaces": ["*"]})),
        project(
            "team-a",
            json!({
                "namespaces": ["team-a"],
                "submitters": {"users": ["alice"]},
                "serviceAccounts": ["default", "runner"],
                "images": ["alpine*"],
                "requiredLimits": ["memory"],
                "maxLimits": {"memory": "1Gi"},
                "maxParallelism": 4,
                "maxActiveDeadlineSeconds": 3600,
                "workflowDefaults": {"spec": {"parallelism": 2, "activeDeadlineSeconds": 600, "ttlStrategy": {"secondsAfterCompletion": 600}}},
                "templateDefaults": {"retryStrategy": {"limit": 2}, "container": {"resources": {"limits": {"memory": "64Mi"}}}}
            }),
        ),
    ];
    router(
        Admission {
            projects: Arc::new(Fixed::new(projects)),
            templates: Arc::new(library()),
            controller_user: Some(CONTROLLER.into()),
            metrics: Arc::default(),
        },
        8,
    )
}

const CONTROLLER: &str = "system:serviceaccount:argo:argo-controller";

/// The templates the cluster of these tests has.
fn library() -> argo_api::templates::Documents {
    argo_api::templates::Documents(vec![
        json!({"apiVersion": "argoproj.io/v1alpha1", "kind": "WorkflowTemplate", "metadata": {"name": "lib", "namespace": "team-a"},
            "spec": {"templates": [{"name": "run", "container": {"image": "alpine:3.20", "resources": {"limits": {"memory": "64Mi"}}}},
                {"name": "evil", "container": {"image": "evil/miner", "resources": {"limits": {"memory": "64Mi"}}}}]}}),
        json!({"apiVersion": "argoproj.io/v1alpha1", "kind": "WorkflowTemplate", "metadata": {"name": "labelled", "namespace": "team-a"},
            "spec": {"entrypoint": "run", "workflowMetadata": {"labels": {"team": "a", "workflows.argoproj.io/project": "default"},
                "annotations": {"note": "from the template"}},
                "templates": [{"name": "run", "container": {"image": "alpine:3.20"}}]}}),
        json!({"apiVersion": "argoproj.io/v1alpha1", "kind": "ClusterWorkflowTemplate", "metadata": {"name": "shared"},
            "spec": {"templates": [{"name": "run", "container": {"image": "alpine:3.20"}}]}}),
    ])
}

fn workflow(ns: &str, image: &str) -> Value {
    json!({"apiVersion": "argoproj.io/v1alpha1", "kind": "Workflow", "metadata": {"name": "w", "namespace": ns},
        "spec": {"entrypoint": "main", "templates": [{"name": "main", "container": {"image": image}}]}})
}

fn review(operation: &str, kind: &str, user: &str, object: Value, old: Option<Value>) -> Value {
    let (group, version, resource) = ("argoproj.io", "v1alpha1", format!("{}s", kind.to_lowercase()));
    json!({"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview", "request": {
        "uid": "7f0b2891-916f-4ed6-b7cd-27bff1815a8c",
        "kind": {"group": group, "version": version, "kind": kind},
        "resource": {"group": group, "version": version, "resource": resource},
        "name": object["metadata"]["name"], "namespace": object["metadata"]["namespace"],
        "operation": operation,
        "userInfo": {"username": user, "groups": ["system:authenticated"]},
        "object": object, "oldObject": old, "dryRun": false}})
}

async fn call(path: &str, body: Vec<u8>) -> (StatusCode, Value) {
    let res = app()
        .oneshot(
            Request::post(path)
                .header("content-type", "application/json")
                .body(Body::from(body))
                .expect("request"),
        )
        .await
        .expect("response");
    let status = res.status();
    let bytes = axum::body::to_bytes(res.into_body(), usize::MAX).await.expect("body");
    (
        status,
        serde_json::from_slice(&bytes).unwrap_or(Value::String(String::from_utf8_lossy(&bytes).into())),
    )
}

/// The workflow as the mutating webhook leaves it.
async fn mutated(wf: &Value, user: &str) -> Value {
    let r = admit("/mutate", review("CREATE", "Workflow", user, wf.clone(), None)).await;
    assert_eq!(r["allowed"], true, "{r}");
    apply_patch(wf, &r)
}

async fn admit(path: &str, review: Value) -> Value {
    let (status, body) = call(path, serde_json::to_vec(&review).expect("json")).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["kind"], "AdmissionReview");
    assert_eq!(body["response"]["uid"], "7f0b2891-916f-4ed6-b7cd-27bff1815a8c");
    body["response"].clone()
}

fn apply_patch(object: &Value, response: &Value) -> Value {
    let mut out = object.clone();
    if let Some(p) = response["patch"].as_str() {
        assert_eq!(response["patchType"], "JSONPatch");
        let bytes = base64_decode(p);
        let patch: json_patch::Patch = serde_json::from_slice(&bytes).expect("patch");
        json_patch::patch(&mut out, &patch).expect("applies");
    }
    out
}

fn base64_decode(s: &str) -> Vec<u8> {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.decode(s).expect("base64")
}

#[tokio::test]
async fn mutation_adds_the_project_label_and_defaults_and_is_idempotent() {
    let wf = workflow("team-a", "alpine:3.19");
    let r = admit("/mutate", review("CREATE", "Workflow", "alice", wf.clone(), None)).await;
    assert_eq!(r["allowed"], true);
    let once = apply_patch(&wf, &r);
    assert_eq!(once["metadata"]["labels"]["workflows.argoproj.io/project"], "team-a");
    assert_eq!(once["spec"]["parallelism"], 2);
    assert_eq!(once["spec"]["ttlStrategy"]["secondsAfterCompletion"], 600);
    assert_eq!(once["spec"]["templates"][0]["retryStrategy"]["limit"], 2);
    assert_eq!(once["spec"]["templates"][0]["container"]["resources"]["limits"]["memory"], "64Mi");
    let again = admit("/mutate", review("CREATE", "Workflow", "alice", once.clone(), None)).await;
    assert_eq!(again["allowed"], true);
    assert!(again.get("patch").is_none(), "a second pass changes nothing: {again}");
    // The mutated workflow passes validation.
    let v = admit("/validate", review("CREATE", "Workflow", "alice", once, None)).await;
    assert_eq!(v["allowed"], true, "{v}");
}

#[tokio::test]
async fn other_namespaces_get_the_default_project() {
    let wf = workflow("elsewhere", "quay.io/anything:1");
    let once = apply_patch(&wf, &admit("/mutate", review("CREATE", "Workflow", "bob", wf.clone(), None)).await);
    assert_eq!(once["metadata"]["labels"]["workflows.argoproj.io/project"], "default");
    assert_eq!(admit("/validate", review("CREATE", "Workflow", "bob", once, None)).await["allowed"], true);
}

#[tokio::test]
async fn a_denial_lists_every_violation_with_its_path() {
    let mut wf = workflow("team-a", "ubuntu:22.04");
    wf["metadata"]["labels"] = json!({"workflows.argoproj.io/project": "team-a"});
    wf["spec"]["parallelism"] = json!(10);
    wf["spec"]["templates"][0]["synchronization"] = json!({"mutex": {"name": "m"}});
    let r = admit("/validate", review("CREATE", "Workflow", "mallory", wf.clone(), None)).await;
    assert_eq!(r["allowed"], false);
    assert_eq!(r["status"]["code"], 403);
    let msg = r["status"]["message"].as_str().unwrap();
    assert!(msg.starts_with("workflow refused: 1 problem:\n  spec.templates[0].synchronization"), "{msg}");
    wf["spec"]["templates"][0].as_object_mut().unwrap().remove("synchronization");
    let wf = mutated(&wf, "mallory").await;
    let r = admit("/validate", review("CREATE", "Workflow", "mallory", wf, None)).await;
    let msg = r["status"]["message"].as_str().unwrap();
    for expected in [
        "workflow refused: 3 problems:",
        "user \"mallory\" (groups: system:authenticated) may not submit or steer workflows of project \"team-a\"",
        "spec.parallelism: 10 is more than project \"team-a\" allows (4)",
        "spec.templates[0].container.image: image \"ubuntu:22.04\" is not allowed by project \"team-a\"",
    ] {
        assert!(msg.contains(expected), "missing {expected:?} in:\n{msg}");
    }
}

#[tokio::test]
async fn a_label_naming_another_project_and_structural_errors_are_refused() {
    let mut wf = workflow("team-a", "alpine");
    wf["metadata"]["labels"] = json!({"workflows.argoproj.io/project": "nope"});
    wf["spec"]["entrypoint"] = json!("missing");
    let r = admit("/validate", review("CREATE", "Workflow", "alice", wf, None)).await;
    let msg = r["status"]["message"].as_str().unwrap();
    assert!(msg.contains("spec.entrypoint: template \"missing\" does not exist"), "{msg}");
    assert!(msg.contains("namespace \"team-a\" belongs to project \"team-a\", not \"nope\""), "{msg}");
}

#[tokio::test]
async fn harmless_unsupported_fields_are_warnings() {
    let mut wf = workflow("elsewhere", "alpine");
    wf["metadata"]["labels"] = json!({"workflows.argoproj.io/project": "default"});
    wf["spec"]["metrics"] = json!({"prometheus": [{"name": "x"}]});
    let r = admit("/validate", review("CREATE", "Workflow", "bob", wf, None)).await;
    assert_eq!(r["allowed"], true);
    let w = r["warnings"][0].as_str().unwrap();
    assert!(w.starts_with("spec.metrics: ignored") && w.chars().count() <= 120, "{w}");
}

#[tokio::test]
async fn updates_keep_the_project_label_and_the_spec() {
    let mut old = workflow("team-a", "alpine");
    old["metadata"]["labels"] = json!({"workflows.argoproj.io/project": "team-a"});
    let mut new = old.clone();
    new["metadata"]["labels"]["workflows.argoproj.io/project"] = json!("default");
    new["spec"]["entrypoint"] = json!("other");
    let r = admit("/validate", review("UPDATE", "Workflow", "alice", new, Some(old.clone()))).await;
    assert_eq!(r["allowed"], false);
    let msg = r["status"]["message"].as_str().unwrap();
    assert!(
        msg.contains("the project label cannot change") && msg.contains("spec.entrypoint: cannot change"),
        "{msg}"
    );
    let mut suspend = old.clone();
    suspend["spec"]["suspend"] = json!(true);
    suspend["metadata"]["labels"]["workflows.argoproj.io/phase"] = json!("Running");
    assert_eq!(admit("/validate", review("UPDATE", "Workflow", "ctl", suspend, Some(old))).await["allowed"], true);
}

#[tokio::test]
async fn projects_are_validated() {
    let bad = json!({"apiVersion": "argoproj.io/v1alpha1", "kind": "WorkflowProject", "metadata": {"name": "p"},
        "spec": {"namespaces": ["!x"], "maxParallelism": 0, "imagez": ["a"]}});
    let r = admit("/validate", review("CREATE", "WorkflowProject", "admin", bad, None)).await;
    assert_eq!(r["allowed"], false);
    assert!(r["status"]["message"].as_str().unwrap().contains("spec.imagez: unknown field"), "{r}");
    let bad = json!({"apiVersion": "argoproj.io/v1alpha1", "kind": "WorkflowProject", "metadata": {"name": "p"},
        "spec": {"namespaces": ["!x"], "maxParallelism": 0}});
    let msg =
        admit("/validate", review("CREATE", "WorkflowProject", "admin", bad, None)).await["status"]["message"].clone();
    assert!(msg.as_str().unwrap().contains("spec.namespaces: only deny patterns"), "{msg}");
    assert!(msg.as_str().unwrap().contains("spec.maxParallelism: must be at least 1"), "{msg}");
}

#[tokio::test]
async fn garbage_gets_a_4xx_and_other_kinds_are_allowed() {
    for (body, status) in [
        (b"".to_vec(), StatusCode::BAD_REQUEST),
        (b"{not json".to_vec(), StatusCode::BAD_REQUEST),
        (b"[1,2,3]".to_vec(), StatusCode::BAD_REQUEST),
        (
            br#"{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview"}"#.to_vec(),
            StatusCode::BAD_REQUEST,
        ),
        (vec![b' '; MAX_BODY + 1], StatusCode::PAYLOAD_TOO_LARGE),
    ] {
        for path in ["/mutate", "/validate"] {
            assert_eq!(
                call(path, body.clone()).await.0,
                status,
                "{path} {:?}",
                String::from_utf8_lossy(&body[..body.len().min(40)])
            );
        }
    }
    let pod = json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "namespace": "x"}});
    let mut r = review("CREATE", "Workflow", "u", pod, None);
    r["request"]["kind"] = json!({"group": "", "version": "v1", "kind": "Pod"});
    assert_eq!(admit("/validate", r.clone()).await["allowed"], true);
    assert_eq!(admit("/mutate", r).await["allowed"], true);
    // A Workflow that is not even an object body is refused, not a panic.
    let weird = review(
        "CREATE",
        "Workflow",
        "u",
        json!({"apiVersion": "argoproj.io/v1alpha1", "kind": "Workflow",
        "metadata": {"name": "w", "namespace": "x"}, "spec": {"templates": "oops"}}),
        None,
    );
    let r = admit("/validate", weird).await;
    assert_eq!(r["allowed"], false);
    assert!(r["status"]["message"].as_str().unwrap().contains("spec.templates"), "{r}");
}

/// A project cache that never fills.
struct NeverSynced;

impl crate::projects::ProjectSource for NeverSynced {
    fn projects(&self) -> Option<Arc<argo_api::policy::Projects>> {
        None
    }
}

async fn call_with(app: Router, path: &str, review: Value) -> Value {
    let res = app
        .oneshot(
            Request::post(path)
                .header("content-type", "application/json")
                .body(Body::from(serde_json::to_vec(&review).expect("json")))
                .expect("request"),
        )
        .await
        .expect("response");
    assert_eq!(res.status(), StatusCode::OK);
    let bytes = axum::body::to_bytes(res.into_body(), usize::MAX).await.expect("body");
    serde_json::from_slice::<Value>(&bytes).expect("review")["response"].clone()
}

#[tokio::test]
async fn until_the_projects_are_read_every_workflow_write_is_refused() {
    let app = router(
        Admission {
            projects: Arc::new(NeverSynced),
            templates: Arc::new(argo_api::templates::NoTemplates),
            controller_user: None,
            metrics: Arc::default(),
        },
        4,
    );
    let wf = workflow("team-a", "alpine");
    for (path, op, old) in [
        ("/mutate", "CREATE", None),
        ("/validate", "CREATE", None),
        ("/validate", "UPDATE", Some(wf.clone())),
    ] {
        let r = call_with(app.clone(), path, review(op, "Workflow", "alice", wf.clone(), old)).await;
        assert_eq!(r["allowed"], false, "{path} {op}: {r}");
        assert!(r["status"]["message"].as_str().unwrap().contains("cache is not synced"), "{r}");
    }
}

#[tokio::test]
async fn validation_refuses_a_workflow_the_mutation_did_not_reach() {
    let wf = workflow("team-a", "alpine:3");
    let r = admit("/validate", review("CREATE", "Workflow", "alice", wf, None)).await;
    assert_eq!(r["allowed"], false);
    assert!(r["status"]["message"].as_str().unwrap().contains("the mutating webhook did not run"), "{r}");
}

/// Issue 9, finding 1: the label named a laxer project and was believed.
#[tokio::test]
async fn a_label_cannot_pick_the_default_project() {
    let mut wf = workflow("team-a", "evil.example/miner:1");
    wf["metadata"]["labels"] = json!({"workflows.argoproj.io/project": "default"});
    wf["spec"]["parallelism"] = json!(1000);
    wf["spec"]["serviceAccountName"] = json!("admin-sa");
    let once = mutated(&wf, "mallory").await;
    assert_eq!(once["metadata"]["labels"]["workflows.argoproj.io/project"], "default", "a label is never rewritten");
    let r = admit("/validate", review("CREATE", "Workflow", "mallory", once, None)).await;
    let msg = r["status"]["message"].as_str().unwrap();
    for expected in [
        "belongs to project \"team-a\", not \"default\"",
        "may not submit",
        "spec.parallelism: 1000",
        "evil.example/miner:1",
    ] {
        assert!(msg.contains(expected), "missing {expected:?} in {msg}");
    }
}

/// Findings 3, 6 and 7, through the templates a tenant writes.
#[tokio::test]
async fn pod_escapes_through_templates_are_refused_with_their_paths() {
    let cases = [
        (
            json!({"podSpecPatch": "{\"serviceAccount\": \"admin-sa\"}", "container": {"image": "alpine:3"}}),
            "spec.templates[0].podSpecPatch: spec.serviceAccount: service account \"admin-sa\"",
        ),
        (
            json!({"podSpecPatch": "{\"nodeName\": \"control-plane\"}", "container": {"image": "alpine:3"}}),
            "spec.templates[0].podSpecPatch: spec.nodeName: pods may not pick their node",
        ),
        (
            json!({"container": {"image": "alpine:3", "securityContext": {"capabilities": {"add": ["SYS_ADMIN"]}}}}),
            "spec.templates[0].container.securityContext.capabilities.add[0]: adding capability SYS_ADMIN",
        ),
        (
            json!({"container": {"image": "alpine:3", "securityContext": {"seccompProfile": {"type": "Unconfined"}}}}),
            "spec.templates[0].container.securityContext.seccompProfile.type",
        ),
        (
            json!({"container": {"image": "alpine:3", "ports": [{"containerPort": 80, "hostPort": 80}]}}),
            "spec.templates[0].container.ports[0].hostPort",
        ),
        (
            json!({"container": {"image": "alpine:3", "resources": {"limits": {"memory": "64Ti"}}}}),
            "spec.templates[0].container.resources.limits.memory: 64Ti is more than project \"team-a\" allows (1Gi)",
        ),
        (
            json!({"container": {"image": "alpine:5000/evil/miner:1"}}),
            "image \"alpine:5000/evil/miner:1\" is not allowed",
        ),
        (
            json!({"sidecars": [{"name": "s", "image": "alpine:3", "securityContext": {"privileged": true}}], "container": {"image": "alpine:3"}}),
            "spec.templates[0].sidecars[0].securityContext.privileged",
        ),
    ];
    for (template, expected) in cases {
        let mut wf = workflow("team-a", "alpine:3");
        let mut t = template.clone();
        t["name"] = json!("main");
        wf["spec"]["templates"][0] = t;
        let once = mutated(&wf, "alice").await;
        let r = admit("/validate", review("CREATE", "Workflow", "alice", once, None)).await;
        assert_eq!(r["allowed"], false, "{template}");
        let msg = r["status"]["message"].as_str().unwrap();
        assert!(msg.contains(expected), "missing {expected:?} in {msg}");
    }
}

fn stored() -> Value {
    let mut wf = workflow("team-a", "alpine:3");
    wf["metadata"]["labels"] = json!({"workflows.argoproj.io/project": "team-a"});
    wf["spec"]["parallelism"] = json!(2);
    wf["spec"]["activeDeadlineSeconds"] = json!(60);
    wf["spec"]["ttlStrategy"] = json!({"secondsAfterCompletion": 600});
    wf
}

/// Finding 4: removing on update, and steering by a non-submitter.
#[tokio::test]
async fn updates_cannot_remove_requirements_and_only_submitters_steer() {
    let old = stored();
    let patched = |f: &dyn Fn(&mut Value)| {
        let mut v = old.clone();
        f(&mut v);
        v
    };
    let refused = [
        (
            patched(&|v| v["spec"]["activeDeadlineSeconds"] = Value::Null),
            "alice",
            "spec.activeDeadlineSeconds: required by project \"team-a\"",
        ),
        (patched(&|v| v["spec"]["ttlStrategy"] = Value::Null), "alice", "spec.ttlStrategy: cannot be removed"),
        (
            patched(&|v| {
                v["metadata"]["annotations"] = json!({"workflows.argoproj.io/resume": "2026-01-01T00:00:00Z"})
            }),
            "mallory",
            "may not submit or steer workflows of project \"team-a\" (resuming it)",
        ),
    ];
    for (new, who, expected) in refused {
        let r = admit("/validate", review("UPDATE", "Workflow", who, new, Some(old.clone()))).await;
        assert_eq!(r["allowed"], false, "{expected}");
        assert!(r["status"]["message"].as_str().unwrap().contains(expected), "{expected:?}: {r}");
    }
    let allowed = [
        (patched(&|v| v["spec"]["shutdown"] = json!("Terminate")), "mallory"),
        (patched(&|v| v["spec"]["activeDeadlineSeconds"] = json!(30)), "mallory"),
        (patched(&|v| v["metadata"]["annotations"] = json!({"workflows.argoproj.io/resume": "t"})), "alice"),
    ];
    for (new, who) in allowed {
        let r = admit("/validate", review("UPDATE", "Workflow", who, new.clone(), Some(old.clone()))).await;
        assert_eq!(r["allowed"], true, "{who}: {new} -> {r}");
    }
}

/// Finding 8: a deeply nested `depends` overflowed the webhook's stack.
#[tokio::test]
async fn deeply_nested_expressions_are_refused_not_a_crash() {
    for depth in [1_000, 100_000] {
        let mut wf = workflow("elsewhere", "alpine");
        wf["spec"]["templates"] = json!([
            {"name": "main", "dag": {"tasks": [
                {"name": "a", "template": "c"},
                {"name": "b", "template": "c", "depends": format!("{}a{}", "(".repeat(depth), ")".repeat(depth))},
                {"name": "w", "template": "c", "when": format!("{}true{}", "(".repeat(depth), ")".repeat(depth))}]}},
            {"name": "c", "container": {"image": "alpine"}}]);
        let r = admit("/validate", review("CREATE", "Workflow", "bob", mutated(&wf, "bob").await, None)).await;
        assert_eq!(r["allowed"], false);
        let msg = r["status"]["message"].as_str().unwrap();
        assert!(msg.contains("spec.templates[0].dag.tasks[1].depends"), "{msg}");
    }
}

#[tokio::test]
async fn deeply_nested_json_and_huge_bodies_are_4xx_and_the_router_still_answers() {
    let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
    for path in ["/mutate", "/validate"] {
        assert_eq!(call(path, deep.clone().into_bytes()).await.0, StatusCode::BAD_REQUEST);
        assert_eq!(call(path, vec![b'x'; 50 * 1024 * 1024]).await.0, StatusCode::PAYLOAD_TOO_LARGE);
        let mut no_uid = review("CREATE", "Workflow", "u", workflow("team-a", "alpine"), None);
        no_uid["request"].as_object_mut().unwrap().remove("uid");
        assert_eq!(call(path, serde_json::to_vec(&no_uid).unwrap()).await.0, StatusCode::BAD_REQUEST);
    }
    let fine = mutated(&workflow("elsewhere", "alpine"), "alice").await;
    let r = admit("/validate", review("CREATE", "Workflow", "alice", fine, None)).await;
    assert_eq!(r["allowed"], true, "{r}");
}

fn referencing(ns: &str, step: Value) -> Value {
    json!({"apiVersion": "argoproj.io/v1alpha1", "kind": "Workflow", "metadata": {"name": "w", "namespace": ns},
        "spec": {"entrypoint": "main", "templates": [{"name": "main", "steps": [[step]]}]}})
}

async fn denial(path: &str, kind: &str, user: &str, object: Value) -> String {
    let r = admit(path, review("CREATE", kind, user, object, None)).await;
    assert_eq!(r["allowed"], false, "{r}");
    r["status"]["message"].as_str().unwrap_or_default().to_owned()
}

#[tokio::test]
async fn a_referenced_template_is_checked_as_the_workflows_own() {
    let run = json!({"name": "s", "templateRef": {"name": "lib", "template": "run"}});
    let wf = mutated(&referencing("team-a", run), "alice").await;
    let r = admit("/validate", review("CREATE", "Workflow", "alice", wf, None)).await;
    assert_eq!(r["allowed"], true, "{r}");
    let evil = json!({"name": "s", "templateRef": {"name": "lib", "template": "evil"}});
    let wf = mutated(&referencing("team-a", evil), "alice").await;
    let m = denial("/validate", "Workflow", "alice", wf).await;
    assert!(
        m.contains("WorkflowTemplate \"lib\", template \"evil\": container.image: image \"evil/miner\""),
        "{m}"
    );
    let cluster = json!({"name": "s", "templateRef": {"name": "shared", "template": "run", "clusterScope": true}});
    let wf = mutated(&referencing("team-a", cluster), "alice").await;
    let m = denial("/validate", "Workflow", "alice", wf).await;
    assert!(m.contains("spec.templates[0].steps[0][0].templateRef.name: ClusterWorkflowTemplate \"shared\" is not allowed by project \"team-a\""), "{m}");
}

#[tokio::test]
async fn template_kinds_are_validated_and_garbage_gets_an_answer() {
    let wt = json!({"apiVersion": "argoproj.io/v1alpha1", "kind": "WorkflowTemplate", "metadata": {"name": "t", "namespace": "team-a"},
        "spec": {"templates": [{"name": "x", "container": {"image": "evil/miner"}}]}});
    let m = denial("/validate", "WorkflowTemplate", "alice", wt).await;
    assert!(m.contains("spec.templates[0].container.image"), "{m}");
    let cwt = json!({"apiVersion": "argoproj.io/v1alpha1", "kind": "ClusterWorkflowTemplate", "metadata": {"name": "c"},
        "spec": {"templates": [{"name": "x", "containr": {"image": "x"}}]}});
    let m = denial("/validate", "ClusterWorkflowTemplate", "alice", cwt).await;
    assert!(m.contains("spec.templates[0].containr"), "{m}");
    for garbage in [
        json!({"kind": "CronWorkflow"}),
        json!({"spec": {"schedules": [1, {}]}}),
        json!({"spec": []}),
    ] {
        for kind in ["WorkflowTemplate", "ClusterWorkflowTemplate", "CronWorkflow"] {
            let mut obj = garbage.clone();
            if obj.is_object() {
                obj["metadata"] = json!({"name": "g", "namespace": "team-a"});
            }
            let r = admit("/validate", review("CREATE", kind, "alice", obj, None)).await;
            assert_eq!(r["allowed"], false, "{kind}: {r}");
        }
    }
}

fn cron(ns: &str, schedule: &str, image: &str) -> Value {
    json!({"apiVersion": "argoproj.io/v1alpha1", "kind": "CronWorkflow", "metadata": {"name": "c", "namespace": ns},
        "spec": {"schedule": schedule, "timezone": "Europe/Paris", "workflowSpec": {"entrypoint": "main", "serviceAccountName": "runner",
            "templates": [{"name": "main", "container": {"image": image, "resources": {"limits": {"memory": "64Mi"}}}}]}}})
}

#[tokio::test]
async fn a_cron_workflow_is_checked_as_its_runs_by_whoever_writes_it() {
    let r = admit(
        "/validate",
        review("CREATE", "CronWorkflow", "alice", cron("team-a", "0 2 * * *", "alpine:3.20"), None),
    )
    .await;
    assert_eq!(r["allowed"], true, "{r}");
    let m = denial("/validate", "CronWorkflow", "alice", cron("team-a", "0 25 * * *", "evil/miner")).await;
    assert!(m.contains("spec.schedule: \"0 25 * * *\" is not a cron schedule"), "{m}");
    assert!(m.contains("spec.workflowSpec.templates[0].container.image"), "{m}");
    // Not a submitter of team-a: may not make the controller submit for it.
    let m = denial("/validate", "CronWorkflow", "mallory", cron("team-a", "0 2 * * *", "alpine:3.20")).await;
    assert!(m.contains("\"mallory\"") && m.contains("may not submit"), "{m}");
}

#[tokio::test]
async fn only_the_controllers_cron_runs_skip_the_submitter_check() {
    let mut run = mutated(&workflow("team-a", "alpine:3.20"), "alice").await;
    run["spec"]["serviceAccountName"] = json!("runner");
    let mut labelled = run.clone();
    labelled["metadata"]["labels"][argo_api::keys::CRON_WORKFLOW] = json!("c");
    let allowed = admit("/validate", review("CREATE", "Workflow", CONTROLLER, labelled.clone(), None)).await;
    assert_eq!(allowed["allowed"], true, "{allowed}");
    let m = denial("/validate", "Workflow", CONTROLLER, run).await;
    assert!(m.contains("may not submit"), "the controller's user submits nothing else: {m}");
    let m = denial("/validate", "Workflow", "system:serviceaccount:team-a:default", labelled).await;
    assert!(m.contains("may not submit"), "a cron label from anyone else is no pass: {m}");
}

#[tokio::test]
async fn a_templates_workflow_metadata_labels_the_workflow_but_never_its_project() {
    let wf = json!({"apiVersion": "argoproj.io/v1alpha1", "kind": "Workflow",
        "metadata": {"name": "w", "namespace": "team-a", "labels": {"team": "mine"}},
        "spec": {"workflowTemplateRef": {"name": "labelled"}}});
    let once = mutated(&wf, "alice").await;
    let labels = &once["metadata"]["labels"];
    assert_eq!(labels["workflows.argoproj.io/project"], "team-a", "{once}");
    assert_eq!(labels["team"], "mine", "the workflow's own label wins");
    assert_eq!(once["metadata"]["annotations"]["note"], "from the template");
    assert!(once["spec"].get("templates").is_none(), "the reference stays a reference: {once}");
    let v = admit("/validate", review("CREATE", "Workflow", "alice", once, None)).await;
    assert_eq!(v["allowed"], true, "{v}");
}

/// Issue 19, finding 7: a workflow of tens of thousands of templates is
/// refused naming the limit, before the work that costs per template.
#[tokio::test]
async fn too_many_templates_are_refused_naming_the_limit() {
    let mut wf = mutated(&workflow("team-a", "alpine:3.20"), "alice").await;
    let many: Vec<Value> = (0..24_000)
        .map(|i| json!({"name": format!("t{i}"), "container": {"image": "alpine:3.20", "command": ["echo", i.to_string()]}}))
        .collect();
    wf["spec"]["templates"].as_array_mut().unwrap().extend(many);
    let m = denial("/validate", "Workflow", "mallory", wf).await;
    assert!(
        m.contains("spec.templates: 24001 templates (inline ones included): more than the 2000 a workflow may have"),
        "{m}"
    );
}

/// Small reviews have a lane of their own: a large one that takes long
/// (or many) never holds them up; a large one that waits too long is told
/// the webhook is busy, in an AdmissionReview.
#[tokio::test]
async fn large_reviews_wait_for_each_other_and_never_for_small_ones() {
    let lanes = Arc::new(Lanes::waiting(8, std::time::Duration::from_millis(200)));
    let app = router_with(
        Admission {
            projects: Arc::new(Fixed::new(vec![project("default", json!({"namespaces": ["*"]}))])),
            templates: Arc::new(library()),
            controller_user: None,
            metrics: Arc::default(),
        },
        8,
        lanes.clone(),
    );
    let post = |body: Vec<u8>| {
        let app = app.clone();
        async move {
            let res = app
                .oneshot(
                    Request::post("/mutate").header("content-type", "application/json").body(Body::from(body)).unwrap(),
                )
                .await
                .unwrap();
            let bytes = axum::body::to_bytes(res.into_body(), usize::MAX).await.unwrap();
            serde_json::from_slice::<Value>(&bytes).unwrap()
        }
    };
    let held = lanes.large.acquire().await.expect("the large lane");
    let small = review("CREATE", "Workflow", "alice", workflow("ns", "alpine:3.20"), None);
    let answer = post(serde_json::to_vec(&small).unwrap()).await;
    assert_eq!(answer["response"]["allowed"], true, "a small review goes by: {answer}");
    let mut medium = workflow("ns", "alpine:3.20");
    medium["metadata"]["annotations"] = json!({"pad": "x".repeat(100 * 1024)});
    let answer = post(serde_json::to_vec(&review("CREATE", "Workflow", "alice", medium, None)).unwrap()).await;
    assert_eq!(answer["response"]["allowed"], true, "so does a medium one, on the blocking pool: {answer}");
    let mut large = workflow("ns", "alpine:3.20");
    large["metadata"]["annotations"] = json!({"pad": "x".repeat(super::lanes::SMALL_REVIEW)});
    let answer = post(serde_json::to_vec(&review("CREATE", "Workflow", "alice", large.clone(), None)).unwrap()).await;
    assert_eq!(answer["kind"], "AdmissionReview");
    assert_eq!(answer["response"]["uid"], "7f0b2891-916f-4ed6-b7cd-27bff1815a8c");
    assert_eq!(answer["response"]["allowed"], false);
    assert_eq!(answer["response"]["status"]["code"], 429, "{answer}");
    drop(held);
    let answer = post(serde_json::to_vec(&review("CREATE", "Workflow", "alice", large, None)).unwrap()).await;
    assert_eq!(answer["response"]["allowed"], true, "once the lane is free: {answer}");
}

/// A review the webhook cannot read but can answer (it has a uid): a
/// denial that says why, not an HTTP error the apiserver reports as
/// "rejected for an unknown reason". Nesting past serde_json's limit is
/// the one a tenant can send (issue 19).
#[tokio::test]
async fn an_unreadable_review_with_a_uid_gets_a_denial_that_says_why() {
    let mut deep = json!({"container": {"image": "alpine:3.20"}});
    for i in 0..60 {
        deep = json!({"steps": [[{"name": format!("n{i}"), "inline": deep}]]});
    }
    let mut wf = workflow("team-a", "alpine:3.20");
    wf["spec"]["templates"][0] = json!({"name": "main", "steps": [[{"name": "top", "inline": deep}]]});
    let r = admit("/validate", review("CREATE", "Workflow", "alice", wf, None)).await;
    assert_eq!(r["allowed"], false);
    assert_eq!(r["status"]["code"], 400);
    assert!(r["status"]["message"].as_str().unwrap().contains("nested too deep"), "{r}");
}
