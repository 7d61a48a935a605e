//! A project's Pod Security level against the cluster's own Pod Security
//! Admission (Kubernetes 1.36): every case of the catalogue, the same pod
//! spec, goes (as a Pod, server-side dry run) into a namespace whose PSA
//! enforces the level and (as a workflow template's pod, through the real
//! webhook) into a namespace whose project has that level. The two must
//! give the same answer; the README lists the deliberate differences.

use anyhow::{Context, Result, bail};
use e2e::webhook::SCOPE_LABEL;
use e2e::{Cluster, run_with_input};
use serde_json::{Value, json};

/// The pod every case starts from: compliant with restricted.
fn hardened() -> Value {
    json!({"metadata": {"annotations": {}}, "spec": {
        "securityContext": {"runAsNonRoot": true, "runAsUser": 1000, "seccompProfile": {"type": "RuntimeDefault"}},
        "containers": [{"name": "main", "image": "docker.io/library/busybox:latest",
            "securityContext": {"allowPrivilegeEscalation": false, "capabilities": {"drop": ["ALL"]}}}]}})
}

/// RFC 7386 merge of `patch` into `target`; `main` (a key of this test's
/// own) merges into the main container instead of replacing the list.
fn merge(target: &mut Value, patch: &Value) {
    match (target, patch) {
        (Value::Object(t), Value::Object(p)) => {
            for (k, v) in p {
                if k == "main" {
                    let c = t.get_mut("containers").and_then(|c| c.get_mut(0)).expect("a main container");
                    merge(c, v);
                } else if v.is_null() {
                    t.remove(k);
                } else {
                    merge(t.entry(k.clone()).or_insert(Value::Null), v);
                }
            }
        }
        (t, p) => *t = p.clone(),
    }
}

/// Each case: its name and a patch of the hardened pod (`spec.main` for the
/// main container). Every rule of PSA's baseline and restricted checks, on
/// both sides of its line.
fn catalogue() -> Vec<(&'static str, Value)> {
    let spec = |s: Value| json!({"spec": s});
    let main = |c: Value| json!({"spec": {"main": c}});
    let sc = |s: Value| json!({"spec": {"main": {"securityContext": s}}});
    let pod_sc = |s: Value| json!({"spec": {"securityContext": s}});
    let annotation =
        |v: &str| json!({"metadata": {"annotations": {"container.apparmor.security.beta.kubernetes.io/main": v}}});
    let probe = |p: Value| main(json!({"livenessProbe": p}));
    vec![
        ("hardened", json!({})),
        ("hostNetwork", spec(json!({"hostNetwork": true}))),
        ("hostPID", spec(json!({"hostPID": true}))),
        ("hostIPC", spec(json!({"hostIPC": true}))),
        ("privileged", sc(json!({"privileged": true, "allowPrivilegeEscalation": true}))),
        ("privileged false", sc(json!({"privileged": false}))),
        ("capability SYS_ADMIN", sc(json!({"capabilities": {"add": ["SYS_ADMIN"]}}))),
        ("capability CHOWN", sc(json!({"capabilities": {"add": ["CHOWN"]}}))),
        ("capability CAP_CHOWN", sc(json!({"capabilities": {"add": ["CAP_CHOWN"]}}))),
        ("capability NET_BIND_SERVICE", sc(json!({"capabilities": {"add": ["NET_BIND_SERVICE"]}}))),
        ("no capabilities dropped", sc(json!({"capabilities": null}))),
        ("hostPath volume", spec(json!({"volumes": [{"name": "h", "hostPath": {"path": "/tmp"}}]}))),
        ("nfs volume", spec(json!({"volumes": [{"name": "n", "nfs": {"server": "10.0.0.1", "path": "/"}}]}))),
        (
            "image volume",
            spec(json!({"volumes": [{"name": "i", "image": {"reference": "docker.io/library/busybox:latest"}}]})),
        ),
        ("emptyDir volume", spec(json!({"volumes": [{"name": "e", "emptyDir": {}}]}))),
        ("hostPort", main(json!({"ports": [{"containerPort": 8080, "hostPort": 8080}]}))),
        ("containerPort only", main(json!({"ports": [{"containerPort": 8080}]}))),
        ("AppArmor annotation unconfined", annotation("unconfined")),
        ("AppArmor annotation runtime/default", annotation("runtime/default")),
        ("AppArmor annotation localhost", annotation("localhost/profile")),
        ("AppArmor field Unconfined", sc(json!({"appArmorProfile": {"type": "Unconfined"}}))),
        ("AppArmor field RuntimeDefault", pod_sc(json!({"appArmorProfile": {"type": "RuntimeDefault"}}))),
        ("SELinux type spc_t", sc(json!({"seLinuxOptions": {"type": "spc_t"}}))),
        ("SELinux type container_engine_t", sc(json!({"seLinuxOptions": {"type": "container_engine_t"}}))),
        ("SELinux user", pod_sc(json!({"seLinuxOptions": {"user": "system_u"}}))),
        ("SELinux role", sc(json!({"seLinuxOptions": {"role": "system_r"}}))),
        ("procMount Default", sc(json!({"procMount": "Default"}))),
        (
            "procMount Unmasked in a user namespace",
            json!({"spec": {"hostUsers": false, "main": {"securityContext": {"procMount": "Unmasked"}}}}),
        ),
        ("seccomp Unconfined on the pod", pod_sc(json!({"seccompProfile": {"type": "Unconfined"}}))),
        ("seccomp Unconfined on the container", sc(json!({"seccompProfile": {"type": "Unconfined"}}))),
        ("no seccomp profile", pod_sc(json!({"seccompProfile": null}))),
        (
            "seccomp on the container only",
            json!({"spec": {"securityContext": {"seccompProfile": null}, "main": {"securityContext": {"seccompProfile": {"type": "RuntimeDefault"}}}}}),
        ),
        ("sysctl kernel.msgmax", pod_sc(json!({"sysctls": [{"name": "kernel.msgmax", "value": "65536"}]}))),
        (
            "sysctl net.ipv4.tcp_rmem",
            pod_sc(json!({"sysctls": [{"name": "net.ipv4.tcp_rmem", "value": "4096 87380 6291456"}]})),
        ),
        (
            "sysctl net.ipv4.ip_local_port_range",
            pod_sc(json!({"sysctls": [{"name": "net.ipv4.ip_local_port_range", "value": "1024 65000"}]})),
        ),
        (
            "probe httpGet host",
            probe(json!({"httpGet": {"path": "/", "port": 80, "host": "169.254.169.254"}})),
        ),
        (
            "probe tcpSocket host",
            main(json!({"readinessProbe": {"tcpSocket": {"port": 443, "host": "10.96.0.1"}}})),
        ),
        ("probe without host", probe(json!({"httpGet": {"path": "/", "port": 80}}))),
        (
            "lifecycle preStop host",
            main(json!({"lifecycle": {"preStop": {"httpGet": {"path": "/", "port": 80, "host": "127.0.0.1"}}}})),
        ),
        (
            "lifecycle postStart tcpSocket host",
            main(json!({"lifecycle": {"postStart": {"tcpSocket": {"port": 80, "host": "10.0.0.1"}}}})),
        ),
        ("runAsNonRoot unset", pod_sc(json!({"runAsNonRoot": null}))),
        ("runAsNonRoot false on the pod", pod_sc(json!({"runAsNonRoot": false}))),
        ("runAsNonRoot false on the container", sc(json!({"runAsNonRoot": false}))),
        ("runAsUser 0", sc(json!({"runAsUser": 0}))),
        ("runAsUser 0 on the pod", pod_sc(json!({"runAsUser": 0}))),
        (
            "runAsUser 0 in a user namespace",
            json!({"spec": {"hostUsers": false, "securityContext": {"runAsUser": 0, "runAsNonRoot": null}}}),
        ),
        ("allowPrivilegeEscalation unset", sc(json!({"allowPrivilegeEscalation": null}))),
        ("allowPrivilegeEscalation true", sc(json!({"allowPrivilegeEscalation": true}))),
        (
            "an init container running as root",
            spec(json!({"initContainers": [{"name": "init", "image": "docker.io/library/busybox:latest",
            "securityContext": {"runAsUser": 0, "allowPrivilegeEscalation": false, "capabilities": {"drop": ["ALL"]}}}]})),
        ),
        (
            "a privileged init container",
            spec(json!({"initContainers": [{"name": "init", "image": "docker.io/library/busybox:latest",
            "securityContext": {"privileged": true}}]})),
        ),
    ]
}

fn pod_of(case: &Value, name: &str) -> Value {
    let mut pod = hardened();
    merge(&mut pod, case);
    pod["apiVersion"] = json!("v1");
    pod["kind"] = json!("Pod");
    pod["metadata"]["name"] = json!(name);
    pod
}

/// The same pod as a workflow: the main container's fields on the
/// template's container, everything else of the spec as its podSpecPatch,
/// the annotations on the template's metadata.
fn workflow_of(pod: &Value, name: &str) -> Value {
    let mut spec = pod["spec"].clone();
    let mut main = spec["containers"][0].clone();
    if let Some(m) = main.as_object_mut() {
        m.remove("name");
    }
    if let Some(s) = spec.as_object_mut() {
        s.remove("containers");
    }
    let mut template =
        json!({"name": "main", "container": main, "metadata": {"annotations": pod["metadata"]["annotations"]}});
    if spec.as_object().is_some_and(|s| !s.is_empty()) {
        template["podSpecPatch"] = json!(spec.to_string());
    }
    json!({"apiVersion": "argoproj.io/v1alpha1", "kind": "Workflow", "metadata": {"name": name},
        "spec": {"entrypoint": "main", "templates": [template]}})
}

/// Server-side dry run of `object` in `ns`: Ok(true) admitted, Ok(false)
/// refused for `why` (PSA's or the webhook's words), Err for anything else.
fn admitted(cluster: &Cluster, ns: &str, object: &Value, why: &str) -> Result<(bool, String)> {
    let out = run_with_input(
        cluster.kubectl().args(["create", "--dry-run=server", "-o", "name", "-n", ns, "-f", "-"]),
        &object.to_string(),
    )?;
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    match (out.status.success(), text.contains(why)) {
        (true, _) => Ok((true, text)),
        (false, true) => Ok((false, text)),
        (false, false) => bail!("refused for another reason than {why:?}:\n{text}\n{object}"),
    }
}

#[tokio::test]
async fn a_projects_level_answers_as_pod_security_admission_does() -> Result<()> {
    let cluster = Cluster::connect().await?;
    let (ours, hook) = e2e::webhook::scoped(&cluster, "psa-project").await?;
    let scope = hook.scope.clone();
    let psa = cluster.namespace_labelled("psa-enforced", &[]).await?;
    let mut mismatches = Vec::new();
    let mut refused = [0, 0];
    for (l, level) in ["baseline", "restricted"].into_iter().enumerate() {
        let project = format!(
            "apiVersion: argoproj.io/v1alpha1\nkind: WorkflowProject\nmetadata:\n  name: {scope}-{level}\n  labels: {{{SCOPE_LABEL}: {scope}}}\nspec:\n  namespaces: [{ours}]\n  security: {{level: {level}}}\n"
        );
        let applied = run_with_input(cluster.kubectl().args(["apply", "-f", "-"]), &project)?;
        anyhow::ensure!(applied.status.success(), "{}", String::from_utf8_lossy(&applied.stderr));
        let other = format!("{scope}-{}", if level == "baseline" { "restricted" } else { "baseline" });
        let _ = cluster.kubectl().args(["delete", "workflowproject", &other, "--ignore-not-found"]).output();
        e2e::run_ok(cluster.kubectl().args([
            "label",
            "namespace",
            &psa,
            &format!("pod-security.kubernetes.io/enforce={level}"),
            "pod-security.kubernetes.io/enforce-version=latest",
            "--overwrite",
        ]))?;
        // The webhook's project cache follows the watch: wait until a
        // restricted-only rule shows (or does not) as it should.
        e2e::eventually(std::time::Duration::from_secs(30), "the webhook to see the project", || {
            let wf =
                workflow_of(&pod_of(&json!({"spec": {"securityContext": {"runAsNonRoot": null}}}), "probe"), "probe");
            let seen =
                admitted(&cluster, &ours, &wf, "denied the request").ok().map(|(ok, _)| ok == (level == "baseline"));
            async move { Ok(seen.filter(|s| *s)) }
        })
        .await?;
        for (i, (name, case)) in catalogue().into_iter().enumerate() {
            let pod = pod_of(&case, &format!("case-{i}"));
            let (by_psa, psa_says) = admitted(&cluster, &psa, &pod, "violates PodSecurity")
                .with_context(|| format!("{level}: case {name:?} as a Pod"))?;
            let (by_us, we_say) =
                admitted(&cluster, &ours, &workflow_of(&pod, &format!("case-{i}")), "denied the request")
                    .with_context(|| format!("{level}: case {name:?} as a workflow"))?;
            refused[l] += usize::from(!by_psa);
            if by_psa != by_us {
                mismatches.push(format!(
                    "{level}: {name}: PSA {by_psa}, project {by_us}\n  PSA: {psa_says}\n  ours: {we_say}"
                ));
            }
        }
    }
    assert!(mismatches.is_empty(), "{} differences:\n{}", mismatches.len(), mismatches.join("\n"));
    // The catalogue is not trivially agreeable: both levels refuse cases.
    assert!(refused[0] >= 20 && refused[1] > refused[0], "refused (baseline, restricted): {refused:?}");
    Ok(())
}
