//! The WorkflowProjects of the cluster, watched. Read as raw objects and
//! parsed strictly (a field this version does not know is a rule it would
//! not enforce), rebuilt only when the watch reports a change.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use futures::StreamExt;
use kube::Client;
use kube::api::{Api, DynamicObject};
use kube::core::{ApiResource, GroupVersionKind};
use kube::runtime::reflector::{self, Store};
use kube::runtime::{WatchStreamExt, watcher};

use argo_api::policy::Projects;

pub struct WatchedProjects {
    store: Store<DynamicObject>,
    synced: AtomicBool,
    /// Bumped by every watch event; the cached set is rebuilt when it moved.
    changes: AtomicU64,
    cached: Mutex<(u64, Arc<Projects>)>,
}

impl WatchedProjects {
    /// Starts the watch on the current tokio runtime; the set fills as it
    /// runs. Stops when the returned value is dropped everywhere.
    pub fn start(client: Client) -> Arc<WatchedProjects> {
        let ar = ApiResource::from_gvk_with_plural(
            &GroupVersionKind::gvk("argoproj.io", "v1alpha1", "WorkflowProject"),
            "workflowprojects",
        );
        let api: Api<DynamicObject> = Api::all_with(client, &ar);
        let writer = reflector::store::Writer::new(ar);
        let watched = Arc::new(WatchedProjects {
            store: writer.as_reader(),
            synced: AtomicBool::new(false),
            changes: AtomicU64::new(1),
            cached: Mutex::new((0, Arc::default())),
        });
        let weak = Arc::downgrade(&watched);
        let events = watcher(api, watcher::Config::default()).default_backoff().reflect(writer);
        tokio::spawn(async move {
            futures::pin_mut!(events);
            while let Some(e) = events.next().await {
                let Some(w) = weak.upgrade() else { return };
                w.changes.fetch_add(1, Ordering::AcqRel);
                match e {
                    Ok(watcher::Event::InitDone) => w.synced.store(true, Ordering::Release),
                    Ok(_) => {}
                    Err(err) => tracing::warn!(error = %err, "WorkflowProject watch"),
                }
            }
        });
        watched
    }

    /// True once the first full list has arrived.
    pub fn is_synced(&self) -> bool {
        self.synced.load(Ordering::Acquire)
    }

    /// Every project, or None until the first full list has arrived.
    pub fn projects(&self) -> Option<Arc<Projects>> {
        if !self.is_synced() {
            return None;
        }
        let now = self.changes.load(Ordering::Acquire);
        let mut cached = self.cached.lock().unwrap_or_else(|e| e.into_inner());
        if cached.0 != now {
            let objects: Vec<serde_json::Value> =
                self.store.state().iter().filter_map(|o| serde_json::to_value(o.as_ref()).ok()).collect();
            let projects = Projects::from_objects(&objects);
            *cached = (now, Arc::new(projects));
        }
        Some(cached.1.clone())
    }
}
