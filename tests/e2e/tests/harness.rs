//! The local cluster is real: CRDs install, workflows round-trip through
//! the apiserver, kwok drives pod lifecycles from annotations, and kubectl
//! finds our plugin and krew.

use std::collections::BTreeMap;
use std::time::Duration;

use anyhow::{Context, Result};
use argo_api::Workflow;
use e2e::{Cluster, eventually, repo_root, run_ok};
use k8s_openapi::api::core::v1::{Container, ContainerStateTerminated, Pod, PodSpec};
use kube::api::{Api, DynamicObject, PostParams};
use kube::core::{ApiResource, GroupVersionKind};

fn fixture(name: &str) -> Result<serde_json::Value> {
    let text = std::fs::read_to_string(repo_root().join("tests/e2e/fixtures").join(name))?;
    Ok(serde_yaml::from_str(&text)?)
}

#[tokio::test]
async fn a_workflow_round_trips_through_the_apiserver() -> Result<()> {
    let cluster = Cluster::connect().await?;
    let ns = cluster.namespace("roundtrip").await?;
    let api: Api<Workflow> = Api::namespaced(cluster.client.clone(), &ns);
    let wf = argo_api::load::workflow(&fixture("dag-diamond.yaml")?)?;
    let created = api.create(&PostParams::default(), &wf).await?;
    let fetched = api.get("dag-diamond").await?;
    assert_eq!(fetched.spec, wf.spec, "spec changed on the way through the apiserver");
    assert_eq!(fetched.metadata.uid, created.metadata.uid);

    // The printer columns are the ones kubectl users expect.
    let table = run_ok(cluster.kubectl().args(["get", "wf", "-n", &ns]))?;
    let header: Vec<_> = table.lines().next().unwrap_or_default().split_whitespace().collect();
    assert_eq!(header, ["NAME", "STATUS", "AGE", "PROGRESS", "MESSAGE"]);
    assert!(table.contains("dag-diamond"), "{table}");
    Ok(())
}

#[tokio::test]
async fn unknown_fields_survive_the_apiserver_so_they_can_be_named() -> Result<()> {
    let cluster = Cluster::connect().await?;
    let ns = cluster.namespace("unknown").await?;
    let gvk = GroupVersionKind::gvk("argoproj.io", "v1alpha1", "Workflow");
    let api: Api<DynamicObject> = Api::namespaced_with(cluster.client.clone(), &ns, &ApiResource::from_gvk(&gvk));
    let mut obj = fixture("dag-diamond.yaml")?;
    obj["spec"]["templates"][1]["synchronization"] = serde_json::json!({"mutex": {"name": "m"}});
    obj["spec"]["templates"][1]["container"]["imagee"] = serde_json::json!("typo");
    let dynamic: DynamicObject = serde_json::from_value(obj)?;
    api.create(&PostParams::default(), &dynamic).await?;
    let back = serde_json::to_value(api.get("dag-diamond").await?)?;
    assert_eq!(back["spec"]["templates"][1]["synchronization"]["mutex"]["name"], "m");
    assert_eq!(back["spec"]["templates"][1]["container"]["imagee"], "typo");

    let err = argo_api::load::workflow(&back).expect_err("the stored object has fields we cannot run");
    let paths: Vec<_> = err.problems().iter().map(|p| p.path.as_str()).collect();
    assert_eq!(
        paths,
        [
            "spec.templates[1].container.imagee",
            "spec.templates[1].synchronization"
        ]
    );
    Ok(())
}

fn pod(name: &str, annotations: &[(&str, &str)]) -> Pod {
    let mut pod = Pod::default();
    pod.metadata.name = Some(name.into());
    pod.metadata.annotations =
        Some(annotations.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect::<BTreeMap<_, _>>());
    pod.spec = Some(PodSpec {
        restart_policy: Some("Never".into()),
        containers: vec![Container {
            name: "main".into(),
            image: Some("alpine:3.7".into()),
            ..Default::default()
        }],
        ..Default::default()
    });
    pod
}

/// Waits for the pod to finish and returns its phase and main container's
/// termination state.
async fn finished(api: &Api<Pod>, name: &str) -> Result<(String, ContainerStateTerminated)> {
    eventually(Duration::from_secs(60), &format!("pod {name} to finish"), || async {
        let p = api.get(name).await?;
        let status = p.status.unwrap_or_default();
        let phase = status.phase.unwrap_or_default();
        if phase != "Succeeded" && phase != "Failed" {
            return Ok(None);
        }
        let term = status
            .container_statuses
            .unwrap_or_default()
            .into_iter()
            .find(|c| c.name == "main")
            .and_then(|c| c.state)
            .and_then(|s| s.terminated)
            .context("finished pod has a terminated main container")?;
        Ok(Some((phase, term)))
    })
    .await
}

#[tokio::test]
async fn kwok_runs_pods_to_the_outcome_their_annotations_ask_for() -> Result<()> {
    let cluster = Cluster::connect().await?;
    let ns = cluster.namespace("pods").await?;
    let api: Api<Pod> = Api::namespaced(cluster.client.clone(), &ns);
    let pp = PostParams::default();
    api.create(&pp, &pod("plain", &[])).await?;
    api.create(
        &pp,
        &pod(
            "fails",
            &[
                ("kwok.test/exit-code", "3"),
                ("kwok.test/message", "disk full"),
                ("kwok.test/duration", "2s"),
            ],
        ),
    )
    .await?;

    let (phase, term) = finished(&api, "plain").await?;
    assert_eq!((phase.as_str(), term.exit_code), ("Succeeded", 0));

    let (phase, term) = finished(&api, "fails").await?;
    assert_eq!((phase.as_str(), term.exit_code), ("Failed", 3));
    assert_eq!(term.message.as_deref(), Some("disk full"));
    let ran_for = term.finished_at.context("finishedAt")?.0 - term.started_at.context("startedAt")?.0;
    assert!(ran_for.get_seconds() >= 1, "the 2s duration was not honoured: {ran_for}");

    // Deleting a pod makes it go away (kwok's delete stage).
    api.delete("plain", &Default::default()).await?;
    eventually(Duration::from_secs(30), "pod to be deleted", || async {
        Ok(api.get_opt("plain").await?.is_none().then_some(()))
    })
    .await
}

#[tokio::test]
async fn kubectl_finds_the_argo_plugin_and_krew() -> Result<()> {
    let cluster = Cluster::connect().await?;
    let out = run_ok(cluster.kubectl().args(["argo", "version"]))?;
    assert!(out.starts_with(&format!("kubectl-argo: v{}\n", argo_api::VERSION)), "unexpected output: {out}");
    let plugins = run_ok(cluster.kubectl().args(["plugin", "list", "--name-only"]))?;
    assert!(plugins.lines().any(|l| l == "kubectl-argo"), "{plugins}");

    let krew_root = std::env::temp_dir().join(format!("krew-root-{}", std::process::id()));
    let out = run_ok(cluster.kubectl().env("KREW_ROOT", &krew_root).args(["krew", "version"]))?;
    assert!(out.contains("GitTag"), "{out}");
    Ok(())
}
