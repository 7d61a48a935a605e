//! Where the webhook finds WorkflowProjects: a watched cache in
//! production, a fixed list in tests.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use argo_api::WorkflowProject;
use futures::StreamExt;
use kube::Client;
use kube::api::{Api, DynamicObject};
use kube::core::{ApiResource, GroupVersionKind};
use kube::runtime::reflector::{self, Store};
use kube::runtime::{WatchStreamExt, watcher};

pub trait ProjectSource: Send + Sync + 'static {
    /// Every project, or None until the cache has its first full list.
    fn projects(&self) -> Option<Vec<WorkflowProject>>;
}

/// A fixed set of projects.
pub struct Fixed(pub Vec<WorkflowProject>);

impl ProjectSource for Fixed {
    fn projects(&self) -> Option<Vec<WorkflowProject>> {
        Some(self.0.clone())
    }
}

/// Projects from a watch of the cluster.
pub struct Watched {
    store: Store<DynamicObject>,
    synced: Arc<AtomicBool>,
    /// Parsed projects by name, with the resourceVersion they came from.
    parsed: Mutex<HashMap<String, (String, Option<WorkflowProject>)>>,
}

impl Watched {
    /// Starts the watch; the returned source fills as it runs.
    pub fn start(client: Client) -> Arc<Watched> {
        let ar = ApiResource::from_gvk_with_plural(
            &GroupVersionKind::gvk("argoproj.io", "v1alpha1", "WorkflowProject"),
            "workflowprojects",
        );
        let api: Api<DynamicObject> = Api::all_with(client, &ar);
        let writer = reflector::store::Writer::new(ar);
        let store = writer.as_reader();
        let synced = Arc::new(AtomicBool::new(false));
        let flag = synced.clone();
        let events = watcher(api, watcher::Config::default()).default_backoff().reflect(writer);
        tokio::spawn(async move {
            futures::pin_mut!(events);
            while let Some(e) = events.next().await {
                match e {
                    Ok(watcher::Event::InitDone) => flag.store(true, Ordering::Release),
                    Ok(_) => {}
                    Err(err) => tracing::warn!(error = %err, "WorkflowProject watch"),
                }
            }
        });
        Arc::new(Watched {
            store,
            synced,
            parsed: Mutex::default(),
        })
    }

    pub fn is_synced(&self) -> bool {
        self.synced.load(Ordering::Acquire)
    }
}

impl ProjectSource for Watched {
    fn projects(&self) -> Option<Vec<WorkflowProject>> {
        if !self.is_synced() {
            return None;
        }
        let mut parsed = self.parsed.lock().unwrap_or_else(|e| e.into_inner());
        let mut out = Vec::new();
        let mut live = Vec::new();
        for obj in self.store.state() {
            let name = obj.metadata.name.clone().unwrap_or_default();
            let rv = obj.metadata.resource_version.clone().unwrap_or_default();
            live.push(name.clone());
            let entry = parsed.entry(name.clone()).or_insert_with(|| (String::new(), None));
            if entry.0 != rv {
                let value = serde_json::to_value(obj.as_ref()).unwrap_or_default();
                let project = argo_api::load::workflow_project(&value)
                    .inspect_err(|e| tracing::warn!(project = %name, error = %e, "ignoring an invalid WorkflowProject"))
                    .ok();
                *entry = (rv, project);
            }
            out.extend(entry.1.clone());
        }
        parsed.retain(|k, _| live.contains(k));
        Some(out)
    }
}
