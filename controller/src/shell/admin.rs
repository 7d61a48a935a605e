//! What the controller's admin port reports: ready once it leads and its
//! caches (workflows, pods, projects) have their first full list, or as a
//! standby; metrics with the workflow gauges refreshed from the caches.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use argo_service::WatchedProjects;
use argo_service::ready::Readiness;
use k8s_openapi::api::core::v1::Pod;
use kube::api::DynamicObject;
use kube::runtime::reflector::Store;
use tokio::sync::watch;

use super::metrics::{Metrics, PhaseLabel};

/// The workflow and pod caches, once the controller leads.
type Stores = Arc<Mutex<Option<(Store<DynamicObject>, Store<Pod>)>>>;

#[derive(Clone)]
pub struct State {
    metrics: Arc<Metrics>,
    ready: Readiness,
    leading: Arc<AtomicBool>,
    stores: Stores,
}

impl State {
    pub fn new(metrics: Arc<Metrics>) -> State {
        let ready = Readiness::new();
        ready.set_role("starting", false);
        let leading = ready.flag("leading");
        State {
            metrics,
            ready,
            leading,
            stores: Arc::default(),
        }
    }

    /// `standby` waits for the lease (and is ready as such); `leader` runs.
    pub fn set_role(&self, role: &'static str) {
        self.ready.set_role(role, role == "standby");
        self.leading.store(role == "leader", Ordering::Release);
    }

    /// Watches the caches sync: ready once all three have their first
    /// list. Returns the pods' flag, which (with the projects') gates
    /// reconciles.
    pub fn set_stores(
        &self,
        workflows: Store<DynamicObject>,
        pods: Store<Pod>,
        projects: Arc<WatchedProjects>,
    ) -> Arc<AtomicBool> {
        let workflows_synced = self.ready.flag("workflows synced");
        let pods_synced = self.ready.flag("pods synced");
        self.ready.require("projects synced", move || projects.is_synced());
        tokio::spawn(mark_synced(workflows.clone(), workflows_synced));
        tokio::spawn(mark_synced(pods.clone(), pods_synced.clone()));
        *self.stores.lock().unwrap_or_else(|e| e.into_inner()) = Some((workflows, pods));
        pods_synced
    }

    fn refresh_gauges(&self) {
        let stores = self.stores.lock().unwrap_or_else(|e| e.into_inner());
        let Some((wf, pods)) = stores.as_ref() else {
            return;
        };
        let mut by_phase: BTreeMap<String, i64> =
            ["Pending", "Running", "Succeeded", "Failed", "Error"].iter().map(|p| (p.to_string(), 0)).collect();
        for w in wf.state() {
            let phase = w.data.pointer("/status/phase").and_then(|p| p.as_str()).unwrap_or("Unknown");
            *by_phase.entry(phase.to_owned()).or_default() += 1;
        }
        for (phase, n) in by_phase {
            self.metrics.workflows.get_or_create(&PhaseLabel { phase }).set(n);
        }
        self.metrics.watched_pods.set(pods.state().len() as i64);
    }
}

/// Sets a flag once the store has had its first full list. The store's
/// readiness signal wakes only its latest waiter, and the controller waits
/// on it too, so this polls again each second rather than wait once.
async fn mark_synced<K>(store: Store<K>, flag: Arc<AtomicBool>)
where
    K: kube::Resource + Clone + 'static,
    K::DynamicType: Eq + std::hash::Hash + Clone,
{
    loop {
        match tokio::time::timeout(std::time::Duration::from_secs(1), store.wait_until_ready()).await {
            Ok(Ok(())) => {
                flag.store(true, Ordering::Release);
                return;
            }
            Ok(Err(_)) => return,
            Err(_) => {}
        }
    }
}

pub async fn serve(listener: tokio::net::TcpListener, state: State, stop: watch::Receiver<bool>) {
    let ready = state.ready.clone();
    let metrics = Arc::new(move || {
        state.refresh_gauges();
        state.metrics.encode()
    });
    argo_service::admin::serve(listener, ready, metrics, stop).await;
}
