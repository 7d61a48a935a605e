//! What every reconcile shares: the client, the caches, the metrics, and
//! what the last passes learned (failed pod creations, the objects our own
//! writes returned).

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex};

use argo_service::{WatchedProjects, WatchedTemplates};
use k8s_openapi::api::core::v1::Pod;
use kube::Client;
use kube::api::DynamicObject;
use kube::runtime::events::Recorder;
use kube::runtime::reflector::Store;

use super::metrics::Metrics;
use crate::engine::CreateError;

pub struct Shared {
    pub(super) client: Client,
    pub(super) pods: Store<Pod>,
    /// WorkflowProjects: each pod is decided against its namespace's.
    pub(super) projects: Arc<WatchedProjects>,
    /// WorkflowTemplates, for the references of workflows that start.
    pub(super) templates: Option<Arc<WatchedTemplates>>,
    /// Set once the pod cache has its first full list: before that a
    /// missing pod means nothing, so nothing is reconciled.
    pub(super) pods_synced: Arc<AtomicBool>,
    pub(super) recorder: Recorder,
    pub(super) metrics: Arc<Metrics>,
    pub(super) create_concurrency: usize,
    /// `--test-panic-annotation`: lets the tests reach the panic guard.
    pub test_panics: bool,
    /// How pods run their command and report outputs.
    pub executor: argo_api::executor::Executor,
    /// What command-less images run, from their registry.
    pub images: super::images::Images,
    /// `--image-pull-timeout` (None when 0).
    pub image_pull_timeout: Option<std::time::Duration>,
    /// Failed pod creations by workflow (namespace/name), fed back to the
    /// engine on the next pass.
    create_errors: Mutex<HashMap<String, BTreeMap<String, CreateError>>>,
    /// The object each of our own writes returned. The watch delivers it
    /// a little later; until then the cache is older than what we wrote,
    /// and reconciling that older copy would only waste a conflict.
    written: Mutex<HashMap<String, Arc<DynamicObject>>>,
}

impl Shared {
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        client: Client,
        pods: Store<Pod>,
        pods_synced: Arc<AtomicBool>,
        projects: Arc<WatchedProjects>,
        recorder: Recorder,
        metrics: Arc<Metrics>,
        create_concurrency: usize,
        images: super::images::Images,
    ) -> Shared {
        Shared {
            client,
            pods,
            pods_synced,
            projects,
            templates: None,
            recorder,
            metrics,
            create_concurrency,
            test_panics: false,
            executor: Default::default(),
            images,
            image_pull_timeout: Some(crate::engine::DEFAULT_IMAGE_PULL_TIMEOUT),
            create_errors: Mutex::default(),
            written: Mutex::default(),
        }
    }

    pub(super) fn errors(&self) -> std::sync::MutexGuard<'_, HashMap<String, BTreeMap<String, CreateError>>> {
        self.create_errors.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn written(&self) -> std::sync::MutexGuard<'_, HashMap<String, Arc<DynamicObject>>> {
        self.written.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The newer of the cached object and the one our last write returned
    /// (resourceVersions are etcd revisions, so they order writes).
    pub(super) fn freshest(&self, key: &str, cached: &Arc<DynamicObject>) -> Arc<DynamicObject> {
        let mut written = self.written();
        let Some(ours) = written.get(key) else {
            return cached.clone();
        };
        let version = |o: &DynamicObject| o.metadata.resource_version.as_deref().and_then(|v| v.parse::<u64>().ok());
        match (version(ours), version(cached)) {
            (Some(a), Some(b)) if a > b && ours.metadata.uid == cached.metadata.uid => ours.clone(),
            _ => {
                written.remove(key);
                cached.clone()
            }
        }
    }

    pub fn remember(&self, key: &str, obj: DynamicObject) {
        self.written().insert(key.to_owned(), Arc::new(obj));
    }

    pub(super) fn forget(&self, key: &str) {
        self.written().remove(key);
    }
}
