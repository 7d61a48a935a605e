//! The webhook on the real apiserver: registered by URL with a caBundle,
//! called on every `kubectl apply` of a Workflow or WorkflowProject.

use std::time::Duration;

use anyhow::{Result, ensure};
use e2e::webhook::SCOPE_LABEL;
use e2e::{Cluster, run_ok, run_with_input};

fn project(name: &str, scope: &str, spec: &str) -> String {
    format!(
        "apiVersion: argoproj.io/v1alpha1\nkind: WorkflowProject\nmetadata:\n  name: {name}\n  labels: {{{SCOPE_LABEL}: {scope}}}\nspec:\n{spec}"
    )
}

fn workflow(name: &str, image: &str) -> String {
    format!(
        "apiVersion: argoproj.io/v1alpha1\nkind: Workflow\nmetadata: {{name: {name}}}\nspec:\n  entrypoint: main\n  templates:\n  - name: main\n    container: {{image: \"{image}\"}}\n"
    )
}

fn apply(cluster: &Cluster, ns: &str, yaml: &str, extra: &[&str]) -> Result<(bool, String)> {
    let mut cmd = cluster.kubectl();
    cmd.args(["apply", "-n", ns, "-f", "-"]).args(extra);
    let out = run_with_input(&mut cmd, yaml)?;
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    Ok((out.status.success(), text))
}

#[tokio::test]
async fn kubectl_apply_is_refused_or_defaulted_by_the_project() -> Result<()> {
    let cluster = Cluster::connect().await?;
    let (ns, hook) = e2e::webhook::scoped(&cluster, "wh-apply").await?;
    let scope = hook.scope.clone();
    let spec = format!(
        "  namespaces: [{ns}]\n  submitters: {{users: [alice]}}\n  images: [\"alpine*\"]\n  requiredLimits: [memory]\n  maxParallelism: 4\n  workflowDefaults:\n    spec: {{parallelism: 2, ttlStrategy: {{secondsAfterCompletion: 600}}}}\n  templateDefaults:\n    retryStrategy: {{limit: 2}}\n    container: {{resources: {{limits: {{memory: 64Mi}}}}}}\n"
    );
    let (ok, out) = apply(&cluster, &ns, &project(&format!("{scope}-team"), &scope, &spec), &[])?;
    ensure!(ok, "{out}");

    // A workflow that breaks the project is refused with every reason.
    let (ok, out) = apply(&cluster, &ns, &workflow("bad", "ubuntu:22.04"), &["--as", "bob"])?;
    ensure!(!ok, "{out}");
    ensure!(out.contains("admission webhook \"validate.workflows.argoproj.io\" denied the request"), "{out}");
    ensure!(out.contains("image \"ubuntu:22.04\" is not allowed"), "{out}");
    ensure!(out.contains("user \"bob\""), "{out}");

    // A valid one comes back with the defaults.
    let (ok, out) = apply(&cluster, &ns, &workflow("good", "alpine:3.19"), &["--as", "alice"])?;
    ensure!(ok, "{out}");
    let yaml = run_ok(cluster.kubectl().args(["get", "wf", "good", "-n", &ns, "-o", "json"]))?;
    let wf: serde_json::Value = serde_json::from_str(&yaml)?;
    ensure!(wf["metadata"]["labels"]["workflows.argoproj.io/project"] == format!("{scope}-team").as_str());
    ensure!(wf["spec"]["parallelism"] == 2 && wf["spec"]["ttlStrategy"]["secondsAfterCompletion"] == 600, "{wf}");
    ensure!(wf["spec"]["templates"][0]["retryStrategy"]["limit"] == 2, "{wf}");
    ensure!(wf["spec"]["templates"][0]["container"]["resources"]["limits"]["memory"] == "64Mi", "{wf}");

    // Server-side dry run answers the same, and stores nothing.
    let (ok, out) =
        apply(&cluster, &ns, &workflow("dry", "alpine"), &["--as", "alice", "--dry-run=server", "-o", "json"])?;
    ensure!(ok, "{out}");
    ensure!(out.contains("\"secondsAfterCompletion\": 600"), "{out}");
    let (ok, _) = apply(&cluster, &ns, &workflow("dry-bad", "ubuntu"), &["--as", "alice", "--dry-run=server"])?;
    ensure!(!ok);
    let got = cluster.kubectl().args(["get", "wf", "dry", "-n", &ns]).output()?;
    ensure!(!got.status.success(), "a dry run stored the workflow");

    // The project label cannot change; the spec only in mutable fields.
    let mut cmd = cluster.kubectl();
    cmd.args([
        "label",
        "wf",
        "good",
        "-n",
        &ns,
        "--overwrite",
        "workflows.argoproj.io/project=other",
    ]);
    let out = cmd.output()?;
    let err = String::from_utf8_lossy(&out.stderr);
    ensure!(!out.status.success() && err.contains("the project label cannot change"), "{err}");
    run_ok(cluster.kubectl().args([
        "patch",
        "wf",
        "good",
        "-n",
        &ns,
        "--type=merge",
        "-p",
        r#"{"spec":{"suspend":true}}"#,
    ]))?;
    let out = cluster
        .kubectl()
        .args([
            "patch",
            "wf",
            "good",
            "-n",
            &ns,
            "--type=merge",
            "-p",
            r#"{"spec":{"entrypoint":"x"}}"#,
        ])
        .output()?;
    ensure!(!out.status.success() && String::from_utf8_lossy(&out.stderr).contains("spec.entrypoint: cannot change"));

    // The admin port reports.
    let (code, metrics) = hook.process.get("/metrics")?;
    ensure!(
        code == 200 && metrics.contains("argo_webhook_requests_total{operation=\"validate\",result=\"denied\"}"),
        "{metrics}"
    );
    cluster.unregister(&scope).await;
    Ok(())
}

#[tokio::test]
async fn each_project_rules_its_own_namespace_and_bad_projects_are_refused() -> Result<()> {
    let cluster = Cluster::connect().await?;
    let (ns_a, hook) = e2e::webhook::scoped(&cluster, "wh-two").await?;
    let scope = hook.scope.clone();
    let ns_b = cluster.namespace_labelled("wh-two-b", &[(SCOPE_LABEL, scope.as_str())]).await?;
    let (ok, out) = apply(
        &cluster,
        &ns_a,
        &project(&format!("{scope}-a"), &scope, &format!("  namespaces: [{ns_a}]\n  images: [\"alpine*\"]\n")),
        &[],
    )?;
    ensure!(ok, "{out}");
    let (ok, out) = apply(
        &cluster,
        &ns_b,
        &project(&format!("{scope}-b"), &scope, &format!("  namespaces: [{ns_b}]\n  images: [\"busybox*\"]\n")),
        &[],
    )?;
    ensure!(ok, "{out}");
    ensure!(apply(&cluster, &ns_a, &workflow("ok", "alpine"), &[])?.0);
    ensure!(!apply(&cluster, &ns_a, &workflow("no", "busybox"), &[])?.0);
    ensure!(apply(&cluster, &ns_b, &workflow("ok", "busybox"), &[])?.0);
    ensure!(!apply(&cluster, &ns_b, &workflow("no", "alpine"), &[])?.0);
    // A namespace no project covers (and no default project) is refused.
    let ns_c = cluster.namespace_labelled("wh-two-c", &[(SCOPE_LABEL, scope.as_str())]).await?;
    let (ok, out) = apply(&cluster, &ns_c, &workflow("x", "alpine"), &[])?;
    ensure!(!ok && out.contains("no WorkflowProject covers namespace"), "{out}");

    let bad = project(&format!("{scope}-bad"), &scope, "  namespaces: [\"!x\"]\n  maxParallelism: 0\n");
    let (ok, out) = apply(&cluster, &ns_a, &bad, &[])?;
    ensure!(!ok, "{out}");
    ensure!(
        out.contains("spec.namespaces: only deny patterns") && out.contains("spec.maxParallelism: must be at least 1"),
        "{out}"
    );
    cluster.unregister(&scope).await;
    Ok(())
}

#[tokio::test]
async fn rotating_the_certificate_keeps_admission_working() -> Result<()> {
    let cluster = Cluster::connect().await?;
    let (ns, mut hook) = e2e::webhook::scoped(&cluster, "wh-rotate").await?;
    let scope = hook.scope.clone();
    let (ok, out) =
        apply(&cluster, &ns, &project(&format!("{scope}-p"), &scope, &format!("  namespaces: [{ns}]\n")), &[])?;
    ensure!(ok, "{out}");
    ensure!(apply(&cluster, &ns, &workflow("before", "alpine"), &[])?.0);
    hook.rotate()?;
    e2e::eventually(Duration::from_secs(15), "the webhook to load the new certificate", || async {
        Ok(hook.process.log_text().contains("reloaded the TLS certificate").then_some(()))
    })
    .await?;
    for i in 0..3 {
        let (ok, out) = apply(&cluster, &ns, &workflow(&format!("after-{i}"), "alpine"), &[])?;
        ensure!(ok, "{out}");
    }
    cluster.unregister(&scope).await;
    Ok(())
}
