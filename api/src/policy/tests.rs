//! The decision against every kind of rule, and each escape a hostile
//! tenant found (issue 9) as a regression test.

use k8s_openapi::api::authentication::v1::UserInfo;
use k8s_openapi::api::core::v1::Pod;
use serde_json::{Value, json};

use super::*;
use crate::{WorkflowProject, load};

fn project(name: &str, spec: Value) -> WorkflowProject {
    load::workflow_project(&json!({"apiVersion": "argoproj.io/v1alpha1", "kind": "WorkflowProject",
        "metadata": {"name": name}, "spec": spec}))
    .expect("valid project")
}

fn strict_project() -> WorkflowProject {
    project(
        "team-a",
        json!({
            "namespaces": ["team-a-*", "!team-a-prod"],
            "submitters": {"users": ["alice"], "groups": ["team-a"], "serviceAccounts": ["ci:*"]},
            "serviceAccounts": ["runner", "default"],
            "images": ["alpine*", "docker.io/library/*", "!*:latest"],
            "requiredLimits": ["cpu", "memory"],
            "maxLimits": {"memory": "1Gi"},
            "maxParallelism": 5,
            "maxActiveDeadlineSeconds": 3600,
            "templateTypes": ["container", "steps"],
            "workflowDefaults": {"spec": {"ttlStrategy": {"secondsAfterCompletion": 60}}}
        }),
    )
}

/// The shipped default project, plus team-a.
fn projects() -> Projects {
    Projects::new(vec![project("default", json!({"namespaces": ["*"]})), strict_project()])
}

fn workflow(spec: Value) -> Value {
    json!({"apiVersion": "argoproj.io/v1alpha1", "kind": "Workflow", "metadata": {"name": "w"}, "spec": spec})
}

fn user(name: &str, groups: &[&str]) -> UserInfo {
    UserInfo {
        username: Some(name.into()),
        groups: Some(groups.iter().map(|g| g.to_string()).collect()),
        ..Default::default()
    }
}

fn create(ps: &Projects, ns: &str, who: &str, object: &Value) -> Decision {
    let u = user(who, &[]);
    decide(&Request {
        subject: Subject::Workflow {
            operation: Operation::Create,
            object,
            old: None,
            defaulted: false,
        },
        namespace: ns,
        user: Some(&u),
        projects: ps,
        templates: &crate::templates::NoTemplates,
    })
}

fn update(ps: &Projects, ns: &str, who: &str, old: &Value, new: &Value) -> Decision {
    let u = user(who, &[]);
    decide(&Request {
        subject: Subject::Workflow {
            operation: Operation::Update,
            object: new,
            old: Some(old),
            defaulted: true,
        },
        namespace: ns,
        user: Some(&u),
        projects: ps,
        templates: &crate::templates::NoTemplates,
    })
}

fn pod_decision(ps: &Projects, ns: &str, spec: Value) -> Vec<String> {
    let pod: Pod = serde_json::from_value(json!({"metadata": {"name": "p"}, "spec": spec})).expect("pod");
    let d = decide(&Request {
        subject: Subject::Pod(&pod),
        namespace: ns,
        user: None,
        projects: ps,
        templates: &crate::templates::NoTemplates,
    });
    d.problems.iter().map(ToString::to_string).collect()
}

fn texts(d: &Decision) -> Vec<String> {
    d.problems.iter().map(ToString::to_string).collect()
}

fn has(d: &Decision, needle: &str) -> bool {
    texts(d).iter().any(|t| t.contains(needle))
}

fn ok_container() -> Value {
    json!({"image": "alpine:3.19", "resources": {"limits": {"cpu": "1", "memory": "64Mi"}}})
}

fn good_spec() -> Value {
    json!({"entrypoint": "main", "parallelism": 2, "activeDeadlineSeconds": 600, "templates": [
        {"name": "main", "steps": [[{"name": "a", "template": "c"}]]},
        {"name": "c", "serviceAccountName": "runner", "container": ok_container()}]})
}

#[test]
fn a_workflow_within_the_rules_passes_and_gets_its_label_and_defaults() {
    let d = create(&projects(), "team-a-dev", "alice", &workflow(good_spec()));
    assert!(d.allowed(), "{:#?}", d.problems);
    assert_eq!(d.project.as_deref(), Some("team-a"));
    let defaulted = d.defaulted.expect("defaulted");
    assert_eq!(defaulted["metadata"]["labels"]["workflows.argoproj.io/project"], "team-a");
    assert_eq!(defaulted["spec"]["ttlStrategy"]["secondsAfterCompletion"], 60);
    let ci = create(&projects(), "team-a-dev", "system:serviceaccount:ci:deployer", &workflow(good_spec()));
    assert!(ci.allowed(), "{:?}", ci.problems);
    let group = user("bob", &["team-a"]);
    let object = workflow(good_spec());
    let by_group = decide(&Request {
        subject: Subject::Workflow {
            operation: Operation::Create,
            object: &object,
            old: None,
            defaulted: false,
        },
        namespace: "team-a-dev",
        user: Some(&group),
        projects: &projects(),
        templates: &crate::templates::NoTemplates,
    });
    assert!(by_group.allowed(), "{:?}", by_group.problems);
}

#[test]
fn every_violation_is_listed_with_its_path() {
    let wf = workflow(json!({"entrypoint": "main", "parallelism": 9, "hostNetwork": true,
        "volumes": [{"name": "host", "hostPath": {"path": "/"}}],
        "templates": [
        {"name": "main", "dag": {"tasks": [{"name": "a", "template": "c"}]}},
        {"name": "c", "serviceAccountName": "admin",
         "container": {"image": "quay.io/evil:latest", "securityContext": {"privileged": true}, "resources": {"limits": {"cpu": "1"}}}},
        {"name": "s", "script": {"image": "alpine:latest", "source": "echo", "resources": {"limits": {"cpu": "1", "memory": "2Gi"}}}}]}));
    let got = texts(&create(&projects(), "team-a-dev", "mallory", &wf));
    let level = "(Pod Security Standards level baseline)";
    let expected = [
        "user \"mallory\" (groups: ) may not submit or steer workflows of project \"team-a\"".to_owned(),
        "spec.parallelism: 9 is more than project \"team-a\" allows (5)".into(),
        "spec.activeDeadlineSeconds: required by project \"team-a\": at most 3600".into(),
        "spec.templates[0].dag: dag templates are not allowed by project \"team-a\" (allowed: container, steps)".into(),
        "spec.templates[1].serviceAccountName: service account \"admin\" is not allowed by project \"team-a\" (allowed: runner, default)".into(),
        "spec.templates[1].container.image: image \"quay.io/evil:latest\" is not allowed by project \"team-a\" (allowed: alpine*, docker.io/library/*, !*:latest)".into(),
        "spec.templates[1].container.resources.limits: a memory limit is required by project \"team-a\"".into(),
        format!("spec.hostNetwork: hostNetwork shares the node's namespace: not allowed by project \"team-a\" {level}"),
        format!("spec.volumes[0].hostPath: hostPath volume \"host\" mounts the node's files: not allowed by project \"team-a\" {level}"),
        format!("spec.templates[1].container.securityContext.privileged: privileged containers: not allowed by project \"team-a\" {level}"),
        "spec.templates[2].script: script templates are not allowed by project \"team-a\" (allowed: container, steps)".into(),
        "spec.templates[2].script.image: image \"alpine:latest\" is not allowed by project \"team-a\" (allowed: alpine*, docker.io/library/*, !*:latest; read as docker.io/library/alpine:latest)".into(),
        "spec.templates[2].script.resources.limits.memory: 2Gi is more than project \"team-a\" allows (1Gi)".into(),
    ];
    assert_eq!(got, expected);
}

#[test]
fn finding_1_a_label_cannot_choose_a_laxer_project() {
    let mut wf = workflow(json!({"entrypoint": "main", "parallelism": 1000, "activeDeadlineSeconds": 999999,
        "templates": [{"name": "main", "serviceAccountName": "admin-sa", "container": {"image": "evil.example/miner:1"}}]}));
    wf["metadata"]["labels"] = json!({"workflows.argoproj.io/project": "default"});
    let d = create(&projects(), "team-a-dev", "mallory", &wf);
    assert_eq!(d.project.as_deref(), Some("team-a"), "the namespace decides");
    assert!(
        has(&d, "namespace \"team-a-dev\" belongs to project \"team-a\", not \"default\""),
        "{:#?}",
        d.problems
    );
    for rule in [
        "may not submit",
        "spec.parallelism",
        "spec.activeDeadlineSeconds",
        "admin-sa",
        "evil.example/miner",
    ] {
        assert!(has(&d, rule), "{rule} not enforced: {:#?}", d.problems);
    }
}

#[test]
fn finding_2_no_project_and_a_renamed_project_fail_closed_for_pods() {
    let only_team = Projects::new(vec![strict_project()]);
    let pod = json!({"hostPID": true, "hostNetwork": true, "containers": [{"name": "main", "image": "alpine:3",
        "securityContext": {"privileged": true}}], "volumes": [{"name": "root", "hostPath": {"path": "/"}}]});
    let got = pod_decision(&only_team, "argo", pod.clone());
    assert_eq!(got.len(), 1, "{got:#?}");
    assert!(got[0].contains("no WorkflowProject covers namespace \"argo\""), "{got:?}");
    // After a rename the namespace selects the new project, whatever the
    // workflow's label says, and its rules hold.
    let renamed = Projects::new(vec![project(
        "team-a-v2",
        json!({"namespaces": ["team-a-*"], "images": ["busybox:*"]}),
    )]);
    let got = pod_decision(&renamed, "team-a-dev", json!({"containers": [{"name": "main", "image": "alpine:3"}]}));
    assert!(got.iter().any(|g| g.contains("not allowed by project \"team-a-v2\"")), "{got:?}");
}

#[test]
fn finding_3_the_legacy_service_account_field_is_checked() {
    let mut spec = good_spec();
    spec["templates"][1]["podSpecPatch"] = json!(r#"{"serviceAccount": "admin-sa"}"#);
    let d = create(&projects(), "team-a-dev", "alice", &workflow(spec));
    assert!(
        has(
            &d,
            "spec.templates[1].podSpecPatch: spec.serviceAccount: service account \"admin-sa\" is not allowed"
        ),
        "{:#?}",
        d.problems
    );
    let got = pod_decision(
        &projects(),
        "team-a-dev",
        json!({"serviceAccount": "admin-sa", "containers": [{"name": "main", "image": "alpine:3",
            "resources": {"limits": {"cpu": "1", "memory": "1Mi"}}}]}),
    );
    assert_eq!(
        got,
        [
            "spec.serviceAccount: service account \"admin-sa\" is not allowed by project \"team-a\" (allowed: runner, default)"
        ]
    );
}

fn stored(spec: Value) -> Value {
    let mut wf = workflow(spec);
    wf["metadata"]["labels"] = json!({"workflows.argoproj.io/project": "team-a"});
    wf["spec"]["ttlStrategy"] = json!({"secondsAfterCompletion": 60});
    wf
}

#[test]
fn finding_4_updates_cannot_remove_what_the_project_requires_or_defaults() {
    let old = stored(good_spec());
    let mut no_deadline = old.clone();
    no_deadline["spec"]["activeDeadlineSeconds"] = Value::Null;
    let d = update(&projects(), "team-a-dev", "alice", &old, &no_deadline);
    assert!(has(&d, "spec.activeDeadlineSeconds: required by project \"team-a\""), "{:#?}", d.problems);
    let mut no_ttl = old.clone();
    no_ttl["spec"].as_object_mut().unwrap().remove("ttlStrategy");
    let d = update(&projects(), "team-a-dev", "alice", &old, &no_ttl);
    assert!(has(&d, "spec.ttlStrategy: cannot be removed: project \"team-a\""), "{:#?}", d.problems);
    let mut longer = old.clone();
    longer["spec"]["activeDeadlineSeconds"] = json!(999999);
    assert!(has(&update(&projects(), "team-a-dev", "alice", &old, &longer), "999999 is more than"));
}

#[test]
fn finding_4_only_submitters_may_resume_or_retry() {
    let mut old = stored(good_spec());
    old["spec"]["suspend"] = json!(true);
    let mut resumed = old.clone();
    resumed["spec"]["suspend"] = json!(false);
    let d = update(&projects(), "team-a-dev", "mallory", &old, &resumed);
    assert!(
        has(
            &d,
            "user \"mallory\" (groups: ) may not submit or steer workflows of project \"team-a\" (resuming it (spec.suspend))"
        ),
        "{:#?}",
        d.problems
    );
    assert!(update(&projects(), "team-a-dev", "alice", &old, &resumed).allowed());
    let mut annotated = old.clone();
    annotated["metadata"]["annotations"] = json!({"workflows.argoproj.io/resume": "2026-01-01T00:00:00Z"});
    assert!(!update(&projects(), "team-a-dev", "mallory", &old, &annotated).allowed());
    let mut failed = stored(good_spec());
    failed["status"] = json!({"phase": "Failed"});
    let mut retried = failed.clone();
    retried["metadata"]["annotations"] = json!({"workflows.argoproj.io/retry": "{\"requestedAt\":\"t\"}"});
    retried["spec"]["arguments"] = json!({"parameters": [{"name": "x", "value": "1"}]});
    let d = update(&projects(), "team-a-dev", "mallory", &failed, &retried);
    assert!(has(&d, "(retrying it, changing its parameters)"), "{:#?}", d.problems);
    // Anyone RBAC lets update it may make it run less.
    let mut stopped = old.clone();
    stopped["spec"]["shutdown"] = json!("Stop");
    stopped["spec"]["activeDeadlineSeconds"] = json!(10);
    let d = update(&projects(), "team-a-dev", "mallory", &old, &stopped);
    assert!(d.allowed(), "{:#?}", d.problems);
    // Without any project, stopping still works and resuming does not.
    let none = Projects::default();
    assert!(update(&none, "team-a-dev", "alice", &old, &stopped).allowed());
    assert!(has(&update(&none, "team-a-dev", "alice", &old, &resumed), "no WorkflowProject covers"));
}

#[test]
fn finding_5_tags_are_skipped_at_admission_and_literal_at_run_time() {
    let spec = json!({"entrypoint": "c", "parallelism": 1, "activeDeadlineSeconds": 60, "serviceAccountName": "{{workflow.parameters.sa}}",
        "arguments": {"parameters": [{"name": "img", "value": "alpine"}, {"name": "sa", "value": "runner"}]}, "templates": [
        {"name": "c", "container": {"image": "{{workflow.parameters.img}}", "resources": {"limits": {"cpu": "1", "memory": "1Mi"}}}}]});
    let d = create(&projects(), "team-a-x", "alice", &workflow(spec));
    assert!(d.allowed(), "{:#?}", d.problems);
    let got = pod_decision(
        &projects(),
        "team-a-x",
        json!({"containers": [{"name": "main", "image": "evil.example/miner:1{{x}}", "resources": {"limits": {"cpu": "1", "memory": "1Mi"}}}]}),
    );
    assert_eq!(got.len(), 1, "{got:?}");
    assert!(
        got[0].starts_with(
            "spec.containers[0].image: image \"evil.example/miner:1{{x}}\" is not a valid image reference"
        ),
        "{got:?}"
    );
    let got = pod_decision(
        &projects(),
        "team-a-x",
        json!({"serviceAccountName": "{{workflow.parameters.sa}}", "containers": [{"name": "main", "image": "alpine:3", "resources": {"limits": {"cpu": "1", "memory": "1Mi"}}}]}),
    );
    assert!(got[0].contains("service account \"{{workflow.parameters.sa}}\" is not allowed"), "{got:?}");
}

#[test]
fn finding_6_the_pod_security_standards_are_checked() {
    let baseline = Projects::new(vec![project(
        "p",
        json!({"namespaces": ["*"], "maxLimits": {"memory": "8Gi"}}),
    )]);
    let c = |sc: Value| json!({"containers": [{"name": "main", "image": "alpine:3", "securityContext": sc}]});
    let cases = [
        (
            c(json!({"capabilities": {"add": ["SYS_ADMIN"]}})),
            "spec.containers[0].securityContext.capabilities.add[0]: adding capability SYS_ADMIN",
        ),
        (
            c(json!({"seccompProfile": {"type": "Unconfined"}})),
            "seccompProfile.type: seccomp profile Unconfined",
        ),
        (c(json!({"procMount": "Unmasked"})), "procMount \"Unmasked\""),
        (c(json!({"seLinuxOptions": {"type": "spc_t"}})), "SELinux type \"spc_t\""),
        (c(json!({"appArmorProfile": {"type": "Unconfined"}})), "AppArmor profile Unconfined"),
        (c(json!({"windowsOptions": {"hostProcess": true}})), "Windows HostProcess containers"),
        (
            json!({"nodeName": "control-plane", "containers": [{"name": "main", "image": "a"}]}),
            "spec.nodeName: pods may not pick their node",
        ),
        (
            json!({"containers": [{"name": "main", "image": "a", "ports": [{"containerPort": 80, "hostPort": 80}]}]}),
            "spec.containers[0].ports[0].hostPort",
        ),
        (
            json!({"securityContext": {"sysctls": [{"name": "kernel.msgmax", "value": "1"}]}, "containers": [{"name": "main", "image": "a"}]}),
            "sysctl \"kernel.msgmax\"",
        ),
        (json!({"hostIPC": true, "containers": [{"name": "main", "image": "a"}]}), "spec.hostIPC"),
        (
            json!({"containers": [{"name": "main", "image": "a", "resources": {"limits": {"memory": "64Ti"}}}]}),
            "spec.containers[0].resources.limits.memory: 64Ti is more than project \"p\" allows (8Gi)",
        ),
        (
            json!({"containers": [{"name": "main", "image": "a", "resources": {"requests": {"memory": "9Gi"}}}]}),
            "resources.requests.memory: 9Gi",
        ),
        (
            json!({"initContainers": [{"name": "i", "image": "a", "securityContext": {"privileged": true}}], "containers": [{"name": "main", "image": "a"}]}),
            "spec.initContainers[0].securityContext.privileged",
        ),
    ];
    for (pod, expected) in cases {
        let got = pod_decision(&baseline, "x", pod.clone());
        assert!(got.iter().any(|g| g.contains(expected)), "{expected:?} not in {got:#?} for {pod}");
    }
    let fine = c(
        json!({"capabilities": {"add": ["NET_BIND_SERVICE", "CHOWN"]}, "runAsUser": 0, "allowPrivilegeEscalation": true}),
    );
    assert_eq!(pod_decision(&baseline, "x", fine), Vec::<String>::new(), "baseline allows these");
}

#[test]
fn finding_6_restricted_requires_a_hardened_pod_and_privileged_allows_anything() {
    let restricted = Projects::new(vec![project(
        "r",
        json!({"namespaces": ["*"], "security": {"level": "restricted"}}),
    )]);
    let got = pod_decision(
        &restricted,
        "x",
        json!({"containers": [{"name": "main", "image": "a", "securityContext": {"runAsUser": 0}}],
        "volumes": [{"name": "n", "nfs": {"server": "s", "path": "/"}}]}),
    );
    for expected in [
        "spec.volumes[0].nfs: nfs volumes",
        "allowPrivilegeEscalation must be false",
        "runAsNonRoot must be true",
        "seccompProfile.type must be RuntimeDefault or Localhost",
        "capabilities.drop must include ALL",
        "spec.containers[0].securityContext.runAsUser: running as user 0",
    ] {
        assert!(got.iter().any(|g| g.contains(expected)), "{expected:?} not in {got:#?}");
    }
    let hardened = json!({"securityContext": {"runAsNonRoot": true, "seccompProfile": {"type": "RuntimeDefault"}},
        "containers": [{"name": "main", "image": "a", "securityContext": {"allowPrivilegeEscalation": false,
            "capabilities": {"drop": ["ALL"], "add": ["NET_BIND_SERVICE"]}}}], "volumes": [{"name": "e", "emptyDir": {}}]});
    assert_eq!(pod_decision(&restricted, "x", hardened), Vec::<String>::new());
    let anything = Projects::new(vec![project(
        "p",
        json!({"namespaces": ["*"], "security": {"level": "privileged"}}),
    )]);
    let wild = json!({"hostPID": true, "nodeName": "n", "containers": [{"name": "main", "image": "a", "securityContext": {"privileged": true}}]});
    assert_eq!(pod_decision(&anything, "x", wild), Vec::<String>::new());
    let excepted = Projects::new(vec![project(
        "p",
        json!({"namespaces": ["*"], "security": {"allowHostNamespaces": true, "allowPrivileged": true}}),
    )]);
    let host = json!({"hostNetwork": true, "containers": [{"name": "main", "image": "a", "securityContext": {"privileged": true}}]});
    assert_eq!(pod_decision(&excepted, "x", host), Vec::<String>::new());
}

#[test]
fn finding_7_images_match_on_the_parsed_reference() {
    let ps = Projects::new(vec![project(
        "p",
        json!({"namespaces": ["*"], "images": ["alpine:*", "!*:latest"]}),
    )]);
    let img = |i: &str| pod_decision(&ps, "x", json!({"containers": [{"name": "main", "image": i}]}));
    assert!(img("alpine:3.19").is_empty());
    assert!(!img("alpine:5000/evil/miner:1").is_empty());
    assert!(!img("alpine").is_empty(), "untagged is :latest");
    assert!(!img("alpine:latest@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef").is_empty());
}

#[test]
fn an_invalid_stored_project_refuses_instead_of_falling_back() {
    let objects = [
        json!({"apiVersion": "argoproj.io/v1alpha1", "kind": "WorkflowProject", "metadata": {"name": "default"}, "spec": {"namespaces": ["*"]}}),
        json!({"apiVersion": "argoproj.io/v1alpha1", "kind": "WorkflowProject", "metadata": {"name": "team-a"},
               "spec": {"namespaces": ["team-a"], "imagez": ["x"]}}),
    ];
    let ps = Projects::from_objects(&objects);
    let d = create(&ps, "team-a", "alice", &workflow(good_spec()));
    assert!(has(&d, "belongs to WorkflowProject \"team-a\", which is invalid"), "{:#?}", d.problems);
    assert_eq!(d.project, None);
}

#[test]
fn validation_requires_the_mutation_to_have_run() {
    let object = workflow(good_spec());
    let u = user("alice", &[]);
    let d = decide(&Request {
        subject: Subject::Workflow {
            operation: Operation::Create,
            object: &object,
            old: None,
            defaulted: true,
        },
        namespace: "team-a-dev",
        user: Some(&u),
        projects: &projects(),
        templates: &crate::templates::NoTemplates,
    });
    assert!(has(&d, "lacks project \"team-a\"'s label or defaults"), "{:#?}", d.problems);
    let mut nulled = object.clone();
    nulled["spec"]["ttlStrategy"] = Value::Null;
    let defaulted = create(&projects(), "team-a-dev", "alice", &nulled).defaulted.expect("defaulted");
    assert_eq!(defaulted["spec"]["ttlStrategy"]["secondsAfterCompletion"], 60, "null does not drop a default");
}

#[test]
fn projects_with_bad_patterns_or_contradictions_are_refused() {
    let p = project(
        "team-a",
        json!({
            "namespaces": ["Team_A", "!only"],
            "images": ["!*:latest", "Bad Pattern"],
            "serviceAccounts": ["x", "!x"],
            "submitters": {"serviceAccounts": ["deployer"]},
            "templateTypes": ["container", "http"],
            "maxParallelism": 0,
            "maxLimits": {"memory": "lots"},
            "maxActiveDeadlineSeconds": 100,
            "workflowDefaults": {"spec": {"activeDeadlineSeconds": 500, "serviceAccountName": "y", "entrypoiint": "x"}},
            "templateDefaults": {"steps": [[{"name": "a", "template": "b"}]]}
        }),
    );
    let got: Vec<String> = validate_project(&p).iter().map(ToString::to_string).collect();
    let expected = [
        "spec.serviceAccounts[0]: \"x\" is both allowed and denied",
        "spec.images[1]: \"Bad Pattern\" is not a pattern: it is empty or has spaces",
        "spec.namespaces[0]: \"Team_A\" can never match a namespace: use lowercase letters, digits, '-' and the wildcards * and ?",
        "spec.submitters.serviceAccounts[0]: \"deployer\" must be namespace:name (globs allowed, e.g. \"ci:*\")",
        "spec.maxLimits.memory: \"lots\" is not a quantity (no number; e.g. 500m, 2, 1.5Gi)",
        "spec.templateTypes[1]: \"http\" is not a template type (container, script, steps, dag, suspend)",
        "spec.maxParallelism: must be at least 1",
        "spec.workflowDefaults.spec.entrypoiint: unknown field `entrypoiint`: not a field of this object (check its spelling and indentation)",
        "spec.templateDefaults: template defaults may set container fields but not a template type (steps)",
    ];
    assert_eq!(got, expected);
}
