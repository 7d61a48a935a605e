//! One reconcile: read the workflow and its pods from the caches, run the
//! engine, then write the status (conditional on the resourceVersion the
//! engine saw, so a stale view is never written) and only then act on pods.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use argo_api::service::WatchedProjects;
use argo_api::{API_VERSION, labels};
use std::panic::AssertUnwindSafe;

use futures::{FutureExt, StreamExt, stream};
use k8s_openapi::api::core::v1::{ObjectReference, Pod, PodSpec};
use k8s_openapi::jiff::Timestamp;
use kube::api::{Api, DeleteParams, DynamicObject, Patch, PatchParams, PostParams};
use kube::core::{ApiResource, GroupVersionKind};
use kube::runtime::controller::Action as Requeue;
use kube::runtime::events::{Event, EventType, Recorder};
use kube::runtime::reflector::Store;
use kube::{Client, ResourceExt};
use serde_json::{Value, json};

use super::Error;
use super::metrics::{Metrics, ResultLabel};
use super::patch;
use crate::engine::{self, Action, CreateError, Input, Output, PodIndex};

pub fn workflow_resource() -> ApiResource {
    ApiResource::from_gvk_with_plural(&GroupVersionKind::gvk("argoproj.io", "v1alpha1", "Workflow"), "workflows")
}

pub struct Shared {
    client: Client,
    pods: Store<Pod>,
    /// WorkflowProjects: each pod is decided against its namespace's.
    projects: Arc<WatchedProjects>,
    /// Set once the pod cache has its first full list: before that a
    /// missing pod means nothing, so nothing is reconciled.
    pods_synced: Arc<AtomicBool>,
    recorder: Recorder,
    metrics: Arc<Metrics>,
    create_concurrency: usize,
    /// `--test-panic-annotation`: lets the tests reach the panic guard.
    pub test_panics: bool,
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
    ) -> Shared {
        Shared {
            client,
            pods,
            pods_synced,
            projects,
            recorder,
            metrics,
            create_concurrency,
            test_panics: false,
            create_errors: Mutex::default(),
            written: Mutex::default(),
        }
    }

    fn errors(&self) -> std::sync::MutexGuard<'_, HashMap<String, BTreeMap<String, CreateError>>> {
        self.create_errors.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn written(&self) -> std::sync::MutexGuard<'_, HashMap<String, Arc<DynamicObject>>> {
        self.written.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The newer of the cached object and the one our last write returned
    /// (resourceVersions are etcd revisions, so they order writes).
    fn freshest(&self, key: &str, cached: &Arc<DynamicObject>) -> Arc<DynamicObject> {
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

    pub fn client(&self) -> &Client {
        &self.client
    }

    pub fn metrics(&self) -> &Metrics {
        &self.metrics
    }

    pub fn remember(&self, key: &str, obj: DynamicObject) {
        self.written().insert(key.to_owned(), Arc::new(obj));
    }

    fn forget(&self, key: &str) {
        self.written().remove(key);
    }
}

/// Keeps what the engine reads of a pod; the rest would only cost memory.
pub fn slim_pod(pod: &mut Pod) {
    pod.metadata.managed_fields = None;
    pod.metadata.annotations = None;
    let node_name = pod.spec.as_ref().and_then(|s| s.node_name.clone());
    pod.spec = Some(PodSpec {
        node_name,
        ..Default::default()
    });
}

pub fn error_policy(wf: Arc<DynamicObject>, error: &Error, ctx: Arc<Shared>) -> Requeue {
    tracing::warn!(workflow = %wf.name_any(), namespace = ?wf.namespace(), %error, "reconcile failed; retrying");
    ctx.metrics.reconciles.get_or_create(&ResultLabel { result: "error".into() }).inc();
    Requeue::requeue(Duration::from_secs(5))
}

pub async fn reconcile(obj: Arc<DynamicObject>, ctx: Arc<Shared>) -> Result<Requeue, Error> {
    let started = Instant::now();
    // A panic (a bug, whatever the input) fails this workflow, never the
    // process that runs every other team's.
    let result = match AssertUnwindSafe(run(&obj, &ctx)).catch_unwind().await {
        Ok(r) => r,
        Err(panic) => after_panic(&obj, &ctx, panic_text(panic.as_ref())).await,
    };
    ctx.metrics.reconcile_seconds.observe(started.elapsed().as_secs_f64());
    let label = if result.is_ok() { "ok" } else { "error" };
    ctx.metrics.reconciles.get_or_create(&ResultLabel { result: label.into() }).inc();
    result
}

fn panic_text(panic: &(dyn std::any::Any + Send)) -> String {
    panic
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown panic".into())
}

/// Fails the workflow whose reconcile panicked: phase Error with the
/// panic's text, written only if nobody changed the object meanwhile.
async fn after_panic(obj: &DynamicObject, ctx: &Shared, why: String) -> Result<Requeue, Error> {
    ctx.metrics.panics.inc();
    let (name, namespace) = (obj.name_any(), obj.namespace().unwrap_or_default());
    tracing::error!(workflow = %name, %namespace, panic = %why, "reconcile panicked; failing the workflow");
    let done = obj
        .data
        .pointer("/status/phase")
        .and_then(Value::as_str)
        .is_some_and(|p| matches!(p, "Succeeded" | "Failed" | "Error"));
    if !done {
        let api: Api<DynamicObject> = Api::namespaced_with(ctx.client.clone(), &namespace, &workflow_resource());
        let message = format!(
            "internal error: the controller failed on this workflow ({}); it was stopped so the controller could go on",
            argo_api::text::shorten(&why, 500)
        );
        let body = json!({"metadata": {"resourceVersion": obj.metadata.resource_version},
            "status": {"phase": "Error", "message": message, "finishedAt": Timestamp::now().to_string()}});
        if let Err(e) = api.patch_status(&name, &PatchParams::default(), &Patch::Merge(&body)).await {
            ctx.metrics.api_error("patch_status");
            tracing::warn!(workflow = %name, error = %e, "could not mark the workflow failed after a panic");
        }
        publish(ctx, obj, true, "WorkflowError", message).await;
    }
    // Slowly: whatever panicked may panic again on this object.
    Ok(Requeue::requeue(Duration::from_secs(60)))
}

async fn run(cached: &Arc<DynamicObject>, ctx: &Shared) -> Result<Requeue, Error> {
    let projects = match ctx.projects.projects() {
        Some(p) if ctx.pods_synced.load(Ordering::Acquire) => p,
        _ => return Ok(Requeue::requeue(Duration::from_millis(200))),
    };
    let meta = &cached.metadata;
    let name = meta.name.clone().ok_or_else(|| Error::Unnamed(format!("{meta:?}")))?;
    let namespace = meta.namespace.clone().ok_or_else(|| Error::Unnamed(name.clone()))?;
    let key = format!("{namespace}/{name}");
    if meta.deletion_timestamp.is_some() {
        ctx.forget(&key);
        return Ok(Requeue::await_change());
    }
    let obj = ctx.freshest(&key, cached);
    let obj = obj.as_ref();
    let raw = serde_json::to_value(obj)?;
    let now = Timestamp::now();
    let out = match argo_api::load::workflow(&raw) {
        Ok(wf) => {
            let retry = wf.metadata.annotations.as_ref().and_then(|a| a.get(labels::RETRY));
            if let Some(request) = retry {
                let target = super::retry::Target {
                    obj,
                    raw: &raw,
                    wf: &wf,
                    name: &name,
                    namespace: &namespace,
                    key: &key,
                };
                return super::retry::retry(target, request, ctx).await;
            }
            let done = wf.status.as_ref().and_then(|s| s.phase).is_some_and(argo_api::workflow::Phase::is_completed);
            if ctx.test_panics
                && !done
                && meta.annotations.as_ref().is_some_and(|a| a.contains_key("argo-rs.test/panic"))
            {
                panic!("a panic asked for by the annotation argo-rs.test/panic (--test-panic-annotation)");
            }
            let pods = pods_of(&ctx.pods, &namespace, &name);
            let errors = ctx.errors().get(&key).cloned().unwrap_or_default();
            engine::reconcile(&Input {
                workflow: &wf,
                pods: &pods,
                now,
                create_errors: &errors,
                projects: &projects,
                limits: Default::default(),
            })
        }
        Err(e) => {
            // The object is not one we can run; say why in its status.
            let status = raw.get("status").cloned().and_then(|s| serde_json::from_value(s).ok());
            let mut out = engine::refuse(status.as_ref(), format!("cannot run this workflow: {e}"), now);
            out.status.observed_generation = meta.generation.or(out.status.observed_generation);
            out
        }
    };
    let completed = out.status.phase.is_some_and(argo_api::workflow::Phase::is_completed);
    apply(obj, &raw, &namespace, &name, &key, out, ctx).await.inspect(|_| {
        if completed {
            ctx.errors().remove(&key);
        }
    })
}

fn pods_of(store: &Store<Pod>, namespace: &str, workflow: &str) -> PodIndex {
    store
        .state_filter(|p| {
            p.metadata.namespace.as_deref() == Some(namespace)
                && p.metadata.labels.as_ref().and_then(|l| l.get(labels::WORKFLOW)).map(String::as_str)
                    == Some(workflow)
        })
        .into_iter()
        .map(|p| (p.name_any(), (*p).clone()))
        .collect()
}

async fn apply(
    obj: &DynamicObject,
    raw: &Value,
    namespace: &str,
    name: &str,
    key: &str,
    out: Output,
    ctx: &Shared,
) -> Result<Requeue, Error> {
    let api: Api<DynamicObject> = Api::namespaced_with(ctx.client.clone(), namespace, &workflow_resource());
    let pods: Api<Pod> = Api::namespaced(ctx.client.clone(), namespace);
    let mut creates = Vec::new();
    let mut rest = Vec::new();
    for action in out.actions {
        match action {
            Action::CreatePod(pod) => creates.push(*pod),
            other => rest.push(other),
        }
    }
    let old_status = raw.get("status").cloned().unwrap_or(Value::Null);
    let new_status = serde_json::to_value(&out.status)?;
    // Pods are created while the status is written: their names are fixed
    // by their nodes, so a create that races a failed write is adopted by
    // the next pass, never duplicated.
    let write = async {
        let Some(diff) = patch::diff(&old_status, &new_status) else {
            return Ok(None);
        };
        // The resourceVersion makes the write conditional: if the workflow
        // changed since the engine looked, nothing is written and the
        // reconcile runs again on the fresh object.
        let body = json!({"metadata": {"resourceVersion": obj.metadata.resource_version}, "status": diff});
        api.patch_status(name, &PatchParams::default(), &Patch::Merge(&body)).await.map(Some)
    };
    let (written, create_failed) = tokio::join!(write, create_pods(&pods, creates, key, ctx));
    match written {
        Ok(Some(fresh)) => ctx.remember(key, fresh),
        Ok(None) => {}
        Err(kube::Error::Api(e)) if e.code == 409 => return Ok(Requeue::requeue(Duration::from_millis(50))),
        Err(kube::Error::Api(e)) if e.code == 404 => {
            ctx.forget(key);
            return Ok(Requeue::await_change());
        }
        Err(e) => {
            ctx.metrics.api_error("patch_status");
            return Err(e.into());
        }
    }
    let current = obj.metadata.labels.clone().unwrap_or_default();
    if out.labels.iter().any(|(k, v)| current.get(k) != Some(v)) {
        let body = json!({"metadata": {"labels": out.labels}});
        match api.patch(name, &PatchParams::default(), &Patch::Merge(&body)).await {
            Ok(fresh) => ctx.remember(key, fresh),
            Err(e) => {
                ctx.metrics.api_error("patch_workflow_labels");
                tracing::warn!(workflow = %name, error = %e, "could not label the workflow");
            }
        }
    }
    for action in rest {
        match action {
            Action::CreatePod(_) => {}
            Action::DeletePod { name: pod } => {
                tracing::debug!(workflow = %name, %pod, "deleting pod");
                match pods.delete(&pod, &DeleteParams::default()).await {
                    Ok(_) => {}
                    Err(kube::Error::Api(e)) if e.code == 404 => {}
                    Err(e) => {
                        ctx.metrics.api_error("delete_pod");
                        tracing::warn!(%pod, error = %e, "could not delete pod");
                    }
                }
            }
            Action::MarkPodCompleted { name: pod } => {
                let body = json!({"metadata": {"labels": {labels::COMPLETED: "true"}}});
                match pods.patch(&pod, &PatchParams::default(), &Patch::Merge(&body)).await {
                    Ok(_) => {}
                    Err(kube::Error::Api(e)) if e.code == 404 => {}
                    Err(e) => {
                        ctx.metrics.api_error("label_pod");
                        tracing::warn!(%pod, error = %e, "could not label pod completed");
                    }
                }
            }
            Action::Event {
                warning,
                reason,
                message,
            } => publish(ctx, obj, warning, reason, message).await,
            Action::DeleteWorkflow => {
                tracing::info!(workflow = %name, %namespace, "deleting workflow: its TTL has passed");
                ctx.forget(key);
                match api.delete(name, &DeleteParams::background()).await {
                    Ok(_) => {}
                    Err(kube::Error::Api(e)) if e.code == 404 => {}
                    Err(e) => {
                        ctx.metrics.api_error("delete_workflow");
                        return Err(e.into());
                    }
                }
            }
        }
    }
    Ok(match (create_failed, out.requeue_after) {
        (true, _) => Requeue::requeue(Duration::from_millis(200)),
        (false, Some(d)) => Requeue::requeue(d),
        (false, None) => Requeue::await_change(),
    })
}

/// Creates pods concurrently. An existing pod is fine (names are fixed);
/// any other failure is remembered for the engine. True if any failed.
async fn create_pods(api: &Api<Pod>, pods: Vec<Pod>, key: &str, ctx: &Shared) -> bool {
    if pods.is_empty() {
        return false;
    }
    let results: Vec<(String, Result<(), CreateError>)> = stream::iter(pods)
        .map(|pod| async move {
            let name = pod.name_any();
            let r = match api.create(&PostParams::default(), &pod).await {
                Ok(_) => {
                    ctx.metrics.pods_created.inc();
                    Ok(())
                }
                Err(kube::Error::Api(e)) if e.code == 409 => Ok(()),
                Err(kube::Error::Api(e)) => {
                    ctx.metrics.api_error("create_pod");
                    // Invalid pods and admission refusals will fail again;
                    // quota and server trouble may pass.
                    let permanent =
                        matches!(e.code, 400 | 422) || (e.code == 403 && !e.message.contains("exceeded quota"));
                    Err(CreateError {
                        message: e.message,
                        permanent,
                    })
                }
                Err(e) => {
                    ctx.metrics.api_error("create_pod");
                    Err(CreateError {
                        message: e.to_string(),
                        permanent: false,
                    })
                }
            };
            (name, r)
        })
        .buffer_unordered(ctx.create_concurrency.max(1))
        .collect()
        .await;
    let mut errors = ctx.errors();
    let entry = errors.entry(key.to_owned()).or_default();
    let mut failed = false;
    for (name, r) in results {
        match r {
            Ok(()) => {
                entry.remove(&name);
            }
            Err(e) => {
                tracing::warn!(pod = %name, error = %e.message, permanent = e.permanent, "could not create pod");
                entry.insert(name, e);
                failed = true;
            }
        }
    }
    if entry.is_empty() {
        errors.remove(key);
    }
    failed
}

pub async fn publish(ctx: &Shared, obj: &DynamicObject, warning: bool, reason: &str, message: String) {
    let reference = ObjectReference {
        api_version: Some(API_VERSION.into()),
        kind: Some("Workflow".into()),
        name: obj.metadata.name.clone(),
        namespace: obj.metadata.namespace.clone(),
        uid: obj.metadata.uid.clone(),
        resource_version: obj.metadata.resource_version.clone(),
        ..Default::default()
    };
    let mut note = message;
    if note.len() > 1000 {
        let mut cut = 1000;
        while !note.is_char_boundary(cut) {
            cut -= 1;
        }
        note.truncate(cut);
    }
    let event = Event {
        type_: if warning { EventType::Warning } else { EventType::Normal },
        reason: reason.into(),
        note: Some(note),
        action: "Reconcile".into(),
        secondary: None,
    };
    if let Err(e) = ctx.recorder.publish(&event, &reference).await {
        ctx.metrics.api_error("publish_event");
        tracing::warn!(error = %e, "could not publish event");
    }
}
