//! The plain-HTTP admin port: `/healthz`, `/readyz` and `/metrics`.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use argo_api::service::WatchedProjects;
use axum::Router;
use axum::extract::State as Extract;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::get;
use k8s_openapi::api::core::v1::Pod;
use kube::api::DynamicObject;
use kube::runtime::reflector::Store;
use tokio::sync::watch;

use super::metrics::{Metrics, PhaseLabel};

#[derive(Clone)]
pub struct State {
    metrics: Arc<Metrics>,
    inner: Arc<Mutex<Inner>>,
}

#[derive(Default)]
struct Inner {
    role: &'static str,
    stores: Option<(Store<DynamicObject>, Store<Pod>)>,
    /// Workflows, pods.
    synced: [Arc<AtomicBool>; 2],
    projects: Option<Arc<WatchedProjects>>,
}

impl State {
    pub fn new(metrics: Arc<Metrics>) -> State {
        State {
            metrics,
            inner: Arc::new(Mutex::new(Inner {
                role: "starting",
                ..Inner::default()
            })),
        }
    }

    pub fn set_role(&self, role: &'static str) {
        self.lock().role = role;
    }

    /// Watches the caches sync; ready once all three have their first
    /// list. Returns the pods' flag, which (with the projects') gates
    /// reconciles.
    pub fn set_stores(
        &self,
        workflows: Store<DynamicObject>,
        pods: Store<Pod>,
        projects: Arc<WatchedProjects>,
    ) -> Arc<AtomicBool> {
        let synced: [Arc<AtomicBool>; 2] = Default::default();
        tokio::spawn(mark_synced(workflows.clone(), synced[0].clone()));
        tokio::spawn(mark_synced(pods.clone(), synced[1].clone()));
        let mut inner = self.lock();
        inner.stores = Some((workflows, pods));
        inner.synced = synced.clone();
        inner.projects = Some(projects);
        synced[1].clone()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Ready: a standby waiting for the lease, or a leader whose caches
    /// have synced.
    fn ready(&self) -> Result<String, String> {
        let inner = self.lock();
        match (inner.role, &inner.stores) {
            ("standby", _) => Ok("standby: waiting for the leader lease".into()),
            ("leader", Some(_)) => {
                let [wf, pods] = inner.synced.each_ref().map(|f| f.load(Ordering::Acquire));
                let projects = inner.projects.as_ref().is_some_and(|p| p.is_synced());
                if wf && pods && projects {
                    Ok("leader: caches synced".into())
                } else {
                    Err(format!("leader: caches syncing (workflows {wf}, pods {pods}, projects {projects})"))
                }
            }
            (role, _) => Err(format!("{role}: not ready")),
        }
    }

    fn refresh_gauges(&self) {
        let inner = self.lock();
        let Some((wf, pods)) = &inner.stores else {
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

pub async fn serve(listener: tokio::net::TcpListener, state: State, mut stop: watch::Receiver<bool>) {
    let app = Router::new()
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .with_state(state);
    let shutdown = async move {
        let _ = stop.wait_for(|s| *s).await;
    };
    if let Err(e) = axum::serve(listener, app).with_graceful_shutdown(shutdown).await {
        tracing::error!(error = %e, "admin server failed");
    }
}

async fn readyz(Extract(state): Extract<State>) -> impl IntoResponse {
    match state.ready() {
        Ok(m) => (StatusCode::OK, m),
        Err(m) => (StatusCode::SERVICE_UNAVAILABLE, m),
    }
}

async fn metrics(Extract(state): Extract<State>) -> impl IntoResponse {
    state.refresh_gauges();
    (
        [(axum::http::header::CONTENT_TYPE, "application/openmetrics-text; version=1.0.0; charset=utf-8")],
        state.metrics.encode(),
    )
}
