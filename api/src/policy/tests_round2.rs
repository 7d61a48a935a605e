//! The second hostile round (issue 19): each finding as a regression test,
//! and the Pod Security rules where Kubernetes 1.36's Pod Security
//! Admission decides differently from what this crate did before.

use k8s_openapi::api::core::v1::Pod;
use serde_json::{Value, json};

use super::*;
use crate::{WorkflowProject, load};

fn project(spec: Value) -> Projects {
    let p: WorkflowProject = load::workflow_project(&json!({"apiVersion": "argoproj.io/v1alpha1",
        "kind": "WorkflowProject", "metadata": {"name": "p"}, "spec": spec}))
    .expect("valid project");
    Projects::new(vec![p])
}

fn at(level: &str) -> Projects {
    project(json!({"namespaces": ["*"], "images": ["docker.io/library/*"], "security": {"level": level}}))
}

fn pod(ps: &Projects, spec: Value) -> Vec<String> {
    pod_with(ps, json!({"name": "p"}), spec)
}

fn pod_with(ps: &Projects, metadata: Value, spec: Value) -> Vec<String> {
    let pod: Pod = serde_json::from_value(json!({"metadata": metadata, "spec": spec})).expect("pod");
    let d = decide(&Request {
        subject: Subject::Pod(&pod),
        namespace: "x",
        user: None,
        projects: ps,
        templates: &crate::templates::NoTemplates,
    });
    d.problems.iter().map(ToString::to_string).collect()
}

fn workflow(spec: Value) -> Value {
    json!({"apiVersion": "argoproj.io/v1alpha1", "kind": "Workflow", "metadata": {"name": "w"}, "spec": spec})
}

fn submit(ps: &Projects, who: &str, wf: &Value) -> Decision {
    as_user(ps, who, Operation::Create, wf, None)
}

fn change(ps: &Projects, who: &str, old: &Value, new: &Value) -> Decision {
    as_user(ps, who, Operation::Update, new, Some(old))
}

fn as_user(ps: &Projects, who: &str, operation: Operation, object: &Value, old: Option<&Value>) -> Decision {
    let u = k8s_openapi::api::authentication::v1::UserInfo {
        username: Some(who.into()),
        ..Default::default()
    };
    decide(&Request {
        subject: Subject::Workflow {
            operation,
            object,
            old,
            defaulted: old.is_some(),
        },
        namespace: "x",
        user: Some(&u),
        projects: ps,
        templates: &crate::templates::NoTemplates,
    })
}

fn texts(d: &Decision) -> String {
    d.problems.iter().map(ToString::to_string).collect::<Vec<_>>().join("\n")
}

const OK: &str = "docker.io/library/busybox:1.36";

#[test]
fn finding_1_image_volumes_are_held_to_the_image_rule_on_every_path() {
    let evil = "evil.example/miner:1";
    let spec = |image: &str| {
        json!({"containers": [{"name": "main", "image": OK}],
            "volumes": [{"name": "tools", "image": {"reference": image}}]})
    };
    for level in ["privileged", "baseline", "restricted"] {
        let got = pod(&at(level), spec(evil));
        assert!(
            got.iter().any(
                |g| g.starts_with("spec.volumes[0].image.reference: image \"evil.example/miner:1\" is not allowed")
            ),
            "{level}: {got:#?}"
        );
    }
    assert!(pod(&at("baseline"), spec(OK)).is_empty(), "an allowed image may be mounted");
    // At admission: a template's own volume, and one in its podSpecPatch.
    let by_template = workflow(json!({"entrypoint": "main", "templates": [{"name": "main",
        "volumes": [{"name": "tools", "image": {"reference": evil}}],
        "container": {"image": OK}}]}));
    assert!(texts(&submit(&at("baseline"), "u", &by_template)).contains("image.reference"));
    let patch = format!(r#"{{"volumes": [{{"name": "tools", "image": {{"reference": "{evil}"}}}}]}}"#);
    let by_patch = workflow(json!({"entrypoint": "main", "templates": [{"name": "main", "podSpecPatch": patch,
        "container": {"image": OK}}]}));
    assert!(texts(&submit(&at("baseline"), "u", &by_patch)).contains("image.reference"));
    let defaults = workflow(json!({"entrypoint": "main", "templateDefaults": {"podSpecPatch": patch},
        "templates": [{"name": "main", "container": {"image": OK}}]}));
    assert!(texts(&submit(&at("privileged"), "u", &defaults)).contains("image.reference"));
}

#[test]
fn finding_2_probe_and_lifecycle_hosts_are_refused_from_baseline_up() {
    let probe = json!({"httpGet": {"path": "/", "port": 80, "host": "169.254.169.254"}});
    let tcp = json!({"tcpSocket": {"port": 6443, "host": "10.96.0.1"}});
    let ctr = json!({"name": "main", "image": OK, "livenessProbe": probe, "readinessProbe": tcp,
        "lifecycle": {"preStop": {"httpGet": {"port": 80, "host": "127.0.0.1"}}}});
    for level in ["baseline", "restricted"] {
        let got = pod(&at(level), json!({"containers": [ctr.clone()]})).join("\n");
        for field in [
            "livenessProbe.httpGet.host",
            "readinessProbe.tcpSocket.host",
            "lifecycle.preStop.httpGet.host",
        ] {
            assert!(
                got.contains(&format!("spec.containers[0].{field}: a probe or lifecycle handler sent to host")),
                "{level} {field}:\n{got}"
            );
        }
    }
    assert!(pod(&at("privileged"), json!({"containers": [ctr]})).is_empty());
    let own = json!({"name": "main", "image": OK, "livenessProbe": {"httpGet": {"port": 80, "host": ""}}});
    assert!(pod(&at("baseline"), json!({"containers": [own]})).is_empty(), "an empty host is the pod's own");
}

#[test]
fn finding_3_the_cron_label_is_the_controllers_on_create_and_on_update() {
    let ps = at("privileged");
    let mut forged =
        workflow(json!({"entrypoint": "main", "templates": [{"name": "main", "container": {"image": OK}}]}));
    forged["metadata"]["labels"] = json!({"workflows.argoproj.io/cron-workflow": "nightly"});
    let d = submit(&ps, "mallory", &forged);
    assert!(
        texts(&d)
            .contains("metadata.labels[\"workflows.argoproj.io/cron-workflow\"]: only the controller sets this label"),
        "{}",
        texts(&d)
    );
    let mut stored =
        workflow(json!({"entrypoint": "main", "templates": [{"name": "main", "container": {"image": OK}}]}));
    stored["metadata"]["labels"] = json!({"workflows.argoproj.io/project": "p"});
    let mut labelled = stored.clone();
    labelled["metadata"]["labels"]["workflows.argoproj.io/cron-workflow"] = json!("nightly");
    let d = change(&ps, "mallory", &stored, &labelled);
    assert!(texts(&d).contains("cannot be set or changed after the workflow is created"), "{}", texts(&d));
    let owner = json!([{"apiVersion": "argoproj.io/v1alpha1", "kind": "CronWorkflow", "name": "nightly", "uid": "u", "controller": true}]);
    let mut owned = stored.clone();
    owned["metadata"]["ownerReferences"] = owner;
    let d = change(&ps, "mallory", &stored, &owned);
    assert!(texts(&d).contains("metadata.ownerReferences[0]: owner references cannot be added"), "{}", texts(&d));
    assert!(change(&ps, "gc", &owned, &stored).allowed(), "orphaning removes an owner: allowed");
    let mut run = owned.clone();
    run["metadata"]["labels"]["workflows.argoproj.io/cron-workflow"] = json!("nightly");
    let mut relabelled = run.clone();
    relabelled["metadata"]["labels"]["workflows.argoproj.io/cron-workflow"] = json!("other");
    assert!(!change(&ps, "mallory", &run, &relabelled).allowed());
    let mut other_labels = run.clone();
    other_labels["metadata"]["labels"]["team"] = json!("a");
    assert!(change(&ps, "mallory", &run, &other_labels).allowed(), "other labels are the user's");
}

#[test]
fn finding_5_ttl_and_pod_gc_changes_are_steering() {
    let ps = project(json!({"namespaces": ["*"], "submitters": {"users": ["alice"]}}));
    let mut old = workflow(json!({"entrypoint": "main", "ttlStrategy": {"secondsAfterCompletion": 86400},
        "templates": [{"name": "main", "container": {"image": OK}}]}));
    old["metadata"]["labels"] = json!({"workflows.argoproj.io/project": "p"});
    let mut shorter = old.clone();
    shorter["spec"]["ttlStrategy"]["secondsAfterCompletion"] = json!(0);
    let d = change(&ps, "mallory", &old, &shorter);
    assert!(
        texts(&d).contains("may not submit or steer workflows of project \"p\" (changing spec.ttlStrategy)"),
        "{}",
        texts(&d)
    );
    assert!(change(&ps, "alice", &old, &shorter).allowed());
    let mut gc = old.clone();
    gc["spec"]["podGC"] = json!({"strategy": "OnPodCompletion"});
    assert!(texts(&change(&ps, "mallory", &old, &gc)).contains("changing spec.podGC"));
}

#[test]
fn user_namespaces_relax_what_pod_security_admission_relaxes() {
    let hardened = |sc: Value| {
        json!({"hostUsers": false, "securityContext": {"seccompProfile": {"type": "RuntimeDefault"}},
            "containers": [{"name": "main", "image": OK, "securityContext": sc}]})
    };
    let sc = json!({"runAsUser": 0, "allowPrivilegeEscalation": false, "capabilities": {"drop": ["ALL"]}});
    assert!(pod(&at("restricted"), hardened(sc.clone())).is_empty(), "root in a user namespace");
    let mut host = hardened(sc);
    host["hostUsers"] = json!(true);
    let got = pod(&at("restricted"), host).join("\n");
    assert!(got.contains("runAsUser: running as user 0") && got.contains("runAsNonRoot must be true"), "{got}");
    let unmasked = hardened(json!({"procMount": "Unmasked"}));
    assert!(pod(&at("baseline"), unmasked.clone()).is_empty(), "baseline: user namespaces may unmask /proc");
    assert!(pod(&at("restricted"), unmasked).join("\n").contains("procMount \"Unmasked\""));
}

#[test]
fn windows_pods_skip_the_linux_only_restricted_rules() {
    let spec = json!({"os": {"name": "windows"}, "securityContext": {"runAsNonRoot": true},
        "containers": [{"name": "main", "image": OK}]});
    assert!(pod(&at("restricted"), spec).is_empty());
}

#[test]
fn names_and_values_as_pod_security_admission_reads_them() {
    let caps = |add: &str| json!({"containers": [{"name": "main", "image": OK, "securityContext": {"capabilities": {"add": [add]}}}]});
    assert!(pod(&at("baseline"), caps("CHOWN")).is_empty());
    assert!(!pod(&at("baseline"), caps("CAP_CHOWN")).is_empty(), "PSA matches exact names");
    let sysctl = |name: &str| {
        json!({"securityContext": {"sysctls": [{"name": name, "value": "4096 87380 6291456"}]},
        "containers": [{"name": "main", "image": OK}]})
    };
    assert!(pod(&at("baseline"), sysctl("net.ipv4.tcp_rmem")).is_empty(), "safe since 1.32");
    assert!(!pod(&at("baseline"), sysctl("net.core.rmem_max")).is_empty());
    let annotated =
        |v: &str| json!({"name": "p", "annotations": {"container.apparmor.security.beta.kubernetes.io/main": v}});
    let spec = json!({"containers": [{"name": "main", "image": OK}]});
    assert!(pod_with(&at("baseline"), annotated(""), spec.clone()).is_empty());
    assert!(!pod_with(&at("baseline"), annotated("unconfined"), spec.clone()).is_empty());
    let volumes = json!({"securityContext": {"runAsNonRoot": true, "seccompProfile": {"type": "RuntimeDefault"}},
        "containers": [{"name": "main", "image": OK, "securityContext": {"allowPrivilegeEscalation": false, "capabilities": {"drop": ["ALL"]}}}],
        "volumes": [{"name": "i", "image": {"reference": OK}}]});
    assert!(pod(&at("restricted"), volumes).is_empty(), "image volumes are allowed at restricted");
    let pod_false = json!({"securityContext": {"runAsNonRoot": false, "seccompProfile": {"type": "RuntimeDefault"}},
        "containers": [{"name": "main", "image": OK, "securityContext": {"runAsNonRoot": true, "allowPrivilegeEscalation": false, "capabilities": {"drop": ["ALL"]}}}]});
    assert!(pod(&at("restricted"), pod_false).join("\n").contains("spec.securityContext.runAsNonRoot"));
}

/// The pod admission checks is the pod the controller creates: patched.
/// A podSpecPatch that makes it comply is no reason to refuse it (found
/// by the end-to-end comparison with Pod Security Admission).
#[test]
fn a_pod_spec_patch_that_hardens_the_pod_is_admitted() {
    let patch = r#"{"securityContext": {"runAsNonRoot": true, "seccompProfile": {"type": "RuntimeDefault"}}}"#;
    let wf = workflow(json!({"entrypoint": "main", "templates": [{"name": "main", "podSpecPatch": patch,
        "container": {"image": OK, "securityContext": {"allowPrivilegeEscalation": false, "capabilities": {"drop": ["ALL"]}}}}]}));
    let d = submit(&at("restricted"), "u", &wf);
    assert!(d.allowed(), "{}", texts(&d));
    let unpatched = workflow(json!({"entrypoint": "main", "templates": [{"name": "main",
        "container": {"image": OK, "securityContext": {"allowPrivilegeEscalation": false, "capabilities": {"drop": ["ALL"]}}}}]}));
    let d = submit(&at("restricted"), "u", &unpatched);
    assert!(texts(&d).contains("spec.templates[0].container.securityContext.runAsNonRoot"), "{}", texts(&d));
}
