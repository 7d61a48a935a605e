//! The cluster's WorkflowTemplates and ClusterWorkflowTemplates, watched,
//! for resolving `templateRef` and `workflowTemplateRef` (webhook and
//! controller). A reference looked up before the first full list fails
//! closed: "not known yet", never "allowed".

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use argo_api::load;
use argo_api::templates::{Found, Source};
use futures::StreamExt;
use kube::Client;
use kube::api::{Api, DynamicObject};
use kube::core::{ApiResource, GroupVersionKind};
use kube::runtime::reflector::{self, ObjectRef, Store};
use kube::runtime::{WatchStreamExt, watcher};

pub struct WatchedTemplates {
    namespaced: Store<DynamicObject>,
    cluster: Store<DynamicObject>,
    synced: [Arc<AtomicBool>; 2],
}

fn resource(kind: &str, plural: &str) -> ApiResource {
    ApiResource::from_gvk_with_plural(&GroupVersionKind::gvk("argoproj.io", "v1alpha1", kind), plural)
}

impl WatchedTemplates {
    /// Starts both watches on the current tokio runtime.
    pub fn start(client: Client) -> Arc<WatchedTemplates> {
        let (namespaced, a) = watch(client.clone(), resource("WorkflowTemplate", "workflowtemplates"));
        let (cluster, b) = watch(client, resource("ClusterWorkflowTemplate", "clusterworkflowtemplates"));
        Arc::new(WatchedTemplates {
            namespaced,
            cluster,
            synced: [a, b],
        })
    }

    pub fn is_synced(&self) -> bool {
        self.synced.iter().all(|s| s.load(Ordering::Acquire))
    }
}

fn watch(client: Client, ar: ApiResource) -> (Store<DynamicObject>, Arc<AtomicBool>) {
    let api: Api<DynamicObject> = Api::all_with(client, &ar);
    let writer = reflector::store::Writer::new(ar.clone());
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
                Err(err) => tracing::warn!(error = %err, kind = %ar.kind, "template watch"),
            }
        }
    });
    (store, synced)
}

impl Source for WatchedTemplates {
    fn spec(&self, cluster: bool, namespace: &str, name: &str) -> Found {
        let (store, kind, ar) = if cluster {
            (
                &self.cluster,
                "ClusterWorkflowTemplate",
                resource("ClusterWorkflowTemplate", "clusterworkflowtemplates"),
            )
        } else {
            (&self.namespaced, "WorkflowTemplate", resource("WorkflowTemplate", "workflowtemplates"))
        };
        if !self.synced[usize::from(cluster)].load(Ordering::Acquire) {
            return Found::Refused(format!("the {kind}s have not been read yet: retry in a moment"));
        }
        let mut key = ObjectRef::<DynamicObject>::new_with(name, ar);
        if !cluster {
            key = key.within(namespace);
        }
        let Some(obj) = store.get(&key) else {
            return Found::Missing;
        };
        let value = serde_json::to_value(obj.as_ref()).unwrap_or_default();
        let parsed = if cluster {
            load::cluster_workflow_template(&value).map(|t| t.spec.spec)
        } else {
            load::workflow_template(&value).map(|t| t.spec.spec)
        };
        match parsed {
            Ok(spec) => Found::Spec(Box::new(spec)),
            Err(e) => Found::Refused(format!("{kind} {name:?} is invalid: {e}")),
        }
    }
}
