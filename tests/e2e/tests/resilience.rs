//! A controller killed at any moment finishes every workflow with no pod
//! made twice; a standby replica takes over when the leader dies.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, ensure};
use argo_api::workflow::{NodeType, Phase};
use e2e::Cluster;
use e2e::workflows::{self, pods, submit, wait_finished};
use futures::StreamExt;
use k8s_openapi::api::coordination::v1::Lease;
use k8s_openapi::api::core::v1::Pod;
use kube::api::Api;
use kube::runtime::{WatchStreamExt, watcher};

/// Records every UID each pod name ever had in the namespace.
fn record_pod_uids(cluster: &Cluster, ns: &str) -> Arc<Mutex<BTreeMap<String, BTreeSet<String>>>> {
    let seen = Arc::new(Mutex::new(BTreeMap::<String, BTreeSet<String>>::new()));
    let api: Api<Pod> = Api::namespaced(cluster.client.clone(), ns);
    let out = seen.clone();
    tokio::spawn(async move {
        let stream = watcher(api, watcher::Config::default()).default_backoff().applied_objects();
        futures::pin_mut!(stream);
        while let Some(ev) = stream.next().await {
            if let Ok(pod) = ev {
                let mut map = out.lock().expect("lock");
                map.entry(pod.metadata.name.unwrap_or_default())
                    .or_default()
                    .insert(pod.metadata.uid.unwrap_or_default());
            }
        }
    });
    seen
}

const BUSY: &str = r#"
apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {generateName: busy-}
spec:
  entrypoint: main
  templates:
  - name: main
    steps:
    - - {name: fan, template: work, withSequence: {count: "4"}}
    - - {name: flaky, template: flaky}
      - {name: fan2, template: work, withSequence: {count: "3"}}
    - - {name: dag, template: dag}
  - name: dag
    dag:
      tasks:
      - {name: A, template: work}
      - {name: B, depends: A, template: work}
      - {name: C, depends: A, template: flaky}
      - {name: D, depends: B && C, template: work}
  - name: work
    metadata: {annotations: {kwok.test/duration: 1500ms}}
    container: {image: alpine}
  - name: flaky
    retryStrategy: {limit: 3}
    metadata: {annotations: {kwok.test/exit-code: "1,0", kwok.test/attempt: "{{retries}}", kwok.test/duration: 1s}}
    container: {image: alpine}
"#;

#[tokio::test]
async fn sigkill_at_any_moment_never_runs_a_node_twice() -> Result<()> {
    let cluster = Cluster::connect().await?;
    let ns = cluster.namespace("sigkill").await?;
    let c = &cluster.client;
    let uids = record_pod_uids(&cluster, &ns);
    let mut ctl = cluster.controller(&ns, "k0", &["--leader-elect=false"])?;
    ctl.wait_ready(Duration::from_secs(30)).await?;
    let name = submit(c, &ns, BUSY).await?;
    // Kill it hard at uneven moments while the workflow runs.
    for (i, wait_ms) in [700u64, 1900, 350, 2600, 1200, 90, 1700].into_iter().enumerate() {
        tokio::time::sleep(Duration::from_millis(wait_ms)).await;
        ctl.kill_hard();
        ctl = cluster.controller(&ns, &format!("k{}", i + 1), &["--leader-elect=false"])?;
    }
    let wf = wait_finished(c, &ns, &name, Duration::from_secs(120)).await?;
    ensure!(workflows::phase(&wf) == Some(Phase::Succeeded), "{:?}", wf.status.map(|s| s.message));
    let pod_nodes: BTreeSet<String> = wf
        .status
        .iter()
        .flat_map(|s| s.nodes.values())
        .filter(|n| n.type_ == NodeType::Pod)
        .filter_map(|n| n.pod_name.clone())
        .collect();
    let pods: BTreeSet<String> = pods(c, &ns, &name).await?.into_iter().filter_map(|p| p.metadata.name).collect();
    ensure!(pods == pod_nodes, "pods {pods:?}\nnodes {pod_nodes:?}");
    // fan 4, flaky 2 attempts, fan2 3, dag A B D and C's 2 attempts.
    ensure!(pods.len() == 14, "expected 14 pods, got {}", pods.len());
    tokio::time::sleep(Duration::from_millis(500)).await;
    let seen = uids.lock().expect("lock").clone();
    for (pod, ids) in &seen {
        ensure!(ids.len() == 1, "pod {pod} was created {} times", ids.len());
    }
    drop(ctl);
    Ok(())
}

async fn holder(api: &Api<Lease>) -> Option<String> {
    api.get_opt("argo-controller").await.ok().flatten()?.spec?.holder_identity
}

#[tokio::test]
async fn a_standby_takes_over_within_15_seconds_when_the_leader_dies() -> Result<()> {
    let cluster = Cluster::connect().await?;
    let ns = cluster.namespace("failover").await?;
    let c = &cluster.client;
    let leases: Api<Lease> = Api::namespaced(c.clone(), &ns);
    let mut first = cluster.controller(&ns, "first", &[])?;
    first.wait_ready(Duration::from_secs(30)).await?;
    e2e::eventually(Duration::from_secs(30), "the first replica to lead", || async {
        Ok((holder(&leases).await.as_deref() == Some("first")).then_some(()))
    })
    .await?;
    let second = cluster.controller(&ns, "second", &[])?;
    second.wait_ready(Duration::from_secs(30)).await?;
    let (_, ready) = second.get("/readyz")?;
    ensure!(ready.contains("standby"), "{ready}");

    let name = submit(c, &ns, r#"
apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {generateName: chain-}
spec:
  entrypoint: main
  templates:
  - name: main
    steps: [[{name: s1, template: w}], [{name: s2, template: w}], [{name: s3, template: w}], [{name: s4, template: w}], [{name: s5, template: w}], [{name: s6, template: w}]]
  - name: w
    metadata: {annotations: {kwok.test/duration: 2s}}
    container: {image: alpine}
"#).await?;
    workflows::wait_until(c, &ns, &name, Duration::from_secs(30), "the second step", |wf| {
        workflows::nodes(wf).contains_key("s2")
    })
    .await?;
    first.kill_hard();
    let killed = Instant::now();
    e2e::eventually(Duration::from_secs(30), "the standby to take the lease", || async {
        Ok((holder(&leases).await.as_deref() == Some("second")).then_some(()))
    })
    .await?;
    let took = killed.elapsed();
    ensure!(took < Duration::from_secs(15), "takeover took {took:?}");
    println!("standby took over {:.1}s after the leader was killed", took.as_secs_f64());
    let wf = wait_finished(c, &ns, &name, Duration::from_secs(90)).await?;
    ensure!(workflows::phase(&wf) == Some(Phase::Succeeded), "{:?}", wf.status);
    ensure!(pods(c, &ns, &name).await?.len() == 6);
    let (_, metrics) = second.get("/metrics")?;
    ensure!(metrics.contains("argo_controller_leader 1"), "{metrics}");
    let log = second.log_text();
    ensure!(log.contains("acquired the leader lease"), "{log}");
    drop(second);
    let _ = leases.get("argo-controller").await.context("lease")?;
    Ok(())
}
