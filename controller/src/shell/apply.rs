//! Carrying out what the engine decided: the status written (conditional
//! on the resourceVersion the engine saw, so a stale view is never
//! written) while pods are created, then the labels, then the other
//! actions, then when to look again.

use std::time::Duration;

use argo_api::{API_VERSION, keys};
use futures::{StreamExt, stream};
use k8s_openapi::api::core::v1::{ObjectReference, Pod};
use kube::ResourceExt;
use kube::api::{Api, DeleteParams, DynamicObject, Patch, PatchParams, PostParams};
use kube::runtime::controller::Action as Requeue;
use kube::runtime::events::{Event, EventType};
use serde_json::{Value, json};

use super::Error;
use super::reconcile::workflow_resource;
use super::shared::Shared;
use crate::engine::{Action, CreateError, Output};

/// The workflow a reconcile works on, as read.
pub struct Target<'a> {
    pub obj: &'a DynamicObject,
    pub raw: &'a Value,
    pub name: &'a str,
    pub namespace: &'a str,
    /// `namespace/name`.
    pub key: &'a str,
}

impl Target<'_> {
    pub fn api(&self, ctx: &Shared) -> Api<DynamicObject> {
        Api::namespaced_with(ctx.client.clone(), self.namespace, &workflow_resource())
    }

    pub fn pods(&self, ctx: &Shared) -> Api<Pod> {
        Api::namespaced(ctx.client.clone(), self.namespace)
    }
}

pub async fn apply(t: &Target<'_>, out: Output, ctx: &Shared) -> Result<Requeue, Error> {
    let (creates, rest): (Vec<Action>, Vec<Action>) =
        out.actions.into_iter().partition(|a| matches!(a, Action::CreatePod(_)));
    let creates = creates
        .into_iter()
        .filter_map(|a| match a {
            Action::CreatePod(pod) => Some(*pod),
            _ => None,
        })
        .collect();
    // Pods are created while the status is written: their names are fixed
    // by their nodes, so a create that races a failed write is adopted by
    // the next pass, never duplicated.
    let pods = t.pods(ctx);
    let (written, create_failed) =
        tokio::join!(write_status(t, &out.status, ctx), create_pods(&pods, creates, t.key, ctx));
    match written {
        Ok(Some(fresh)) => ctx.remember(t.key, fresh),
        Ok(None) => {}
        Err(kube::Error::Api(e)) if e.code == 409 => return Ok(Requeue::requeue(Duration::from_millis(50))),
        Err(kube::Error::Api(e)) if e.code == 404 => {
            ctx.forget(t.key);
            return Ok(Requeue::await_change());
        }
        Err(kube::Error::Api(e)) if too_large(&e) => {
            // Retrying the same write would fail forever: end the workflow
            // with a status that fits, saying why.
            ctx.metrics.api_error("patch_status");
            return give_up_too_large(t, &e.message, ctx).await;
        }
        Err(e) => {
            ctx.metrics.api_error("patch_status");
            return Err(e.into());
        }
    }
    label(t, &out.labels, ctx).await;
    for action in rest {
        carry_out(t, action, ctx).await?;
    }
    Ok(match (create_failed, out.requeue_after) {
        (true, _) => Requeue::requeue(Duration::from_millis(200)),
        (false, Some(d)) => Requeue::requeue(d),
        (false, None) => Requeue::await_change(),
    })
}

/// Writes what changed in the status, if anything did. The
/// resourceVersion makes the write conditional: if the workflow changed
/// since the engine looked, nothing is written and the reconcile runs
/// again on the fresh object.
async fn write_status(
    t: &Target<'_>,
    status: &argo_api::WorkflowStatus,
    ctx: &Shared,
) -> Result<Option<DynamicObject>, kube::Error> {
    let old = t.raw.get("status").cloned().unwrap_or(Value::Null);
    let new = serde_json::to_value(status).map_err(kube::Error::SerdeError)?;
    let Some(diff) = argo_api::json::merge_patch(&old, &new) else {
        return Ok(None);
    };
    let body = json!({"metadata": {"resourceVersion": t.obj.metadata.resource_version}, "status": diff});
    t.api(ctx).patch_status(t.name, &PatchParams::default(), &Patch::Merge(&body)).await.map(Some)
}

/// The apiserver (or etcd behind it) refused a write for its size.
fn too_large(e: &kube::core::Status) -> bool {
    let m = e.message.to_ascii_lowercase();
    e.code == 413 || m.contains("too large") || m.contains("exceeds the maximum")
}

/// Fails a workflow whose status cannot be written: a small status (what
/// it references dropped, the nodes as last stored) and its pods stopped.
async fn give_up_too_large(t: &Target<'_>, why: &str, ctx: &Shared) -> Result<Requeue, Error> {
    let message = format!(
        "the workflow's status is larger than the apiserver accepts ({}): it was stopped (the limit is about {} per workflow, spec and status together)",
        argo_api::text::shorten(why, 300),
        argo_api::limits::bytes(argo_api::limits::MAX_OBJECT_BYTES)
    );
    tracing::warn!(workflow = %t.name, namespace = %t.namespace, %message, "status too large");
    let body = json!({"status": {"phase": "Error", "message": message,
        "finishedAt": k8s_openapi::jiff::Timestamp::now().to_string(),
        "storedTemplates": null, "storedWorkflowTemplateSpec": null}});
    if let Err(e) = t.api(ctx).patch_status(t.name, &PatchParams::default(), &Patch::Merge(&body)).await {
        ctx.metrics.api_error("patch_status");
        tracing::warn!(workflow = %t.name, error = %e, "could not fail the workflow whose status is too large");
        // Not again at once: the same object would fail the same way.
        return Ok(Requeue::requeue(Duration::from_secs(60)));
    }
    let selector = format!("{}={}", keys::WORKFLOW, t.name);
    let pods = t.pods(ctx);
    if let Ok(list) = pods.list(&kube::api::ListParams::default().labels(&selector)).await {
        for p in list.items {
            let _ = pods.delete(&p.name_any(), &DeleteParams::default()).await;
        }
    }
    publish(ctx, t.obj, true, "WorkflowError", message).await;
    Ok(Requeue::await_change())
}

/// Sets the phase labels the engine asked for, when they differ.
async fn label(t: &Target<'_>, labels: &std::collections::BTreeMap<String, String>, ctx: &Shared) {
    let current = t.obj.metadata.labels.clone().unwrap_or_default();
    if !labels.iter().any(|(k, v)| current.get(k) != Some(v)) {
        return;
    }
    let body = json!({"metadata": {"labels": labels}});
    match t.api(ctx).patch(t.name, &PatchParams::default(), &Patch::Merge(&body)).await {
        Ok(fresh) => ctx.remember(t.key, fresh),
        Err(e) => {
            ctx.metrics.api_error("patch_workflow_labels");
            tracing::warn!(workflow = %t.name, error = %e, "could not label the workflow");
        }
    }
}

/// One action other than creating a pod.
async fn carry_out(t: &Target<'_>, action: Action, ctx: &Shared) -> Result<(), Error> {
    let pods = t.pods(ctx);
    match action {
        Action::CreatePod(_) => {}
        Action::DeletePod { name: pod } => {
            tracing::debug!(workflow = %t.name, %pod, "deleting pod");
            if let Err(e) = gone_is_fine(pods.delete(&pod, &DeleteParams::default()).await.map(|_| ())) {
                ctx.metrics.api_error("delete_pod");
                tracing::warn!(%pod, error = %e, "could not delete pod");
            }
        }
        Action::MarkPodCompleted { name: pod } => {
            let body = json!({"metadata": {"labels": {keys::COMPLETED: "true"}}});
            if let Err(e) =
                gone_is_fine(pods.patch(&pod, &PatchParams::default(), &Patch::Merge(&body)).await.map(|_| ()))
            {
                ctx.metrics.api_error("label_pod");
                tracing::warn!(%pod, error = %e, "could not label pod completed");
            }
        }
        Action::Event {
            warning,
            reason,
            message,
        } => publish(ctx, t.obj, warning, reason, message).await,
        Action::DeleteWorkflow => {
            tracing::info!(workflow = %t.name, namespace = %t.namespace, "deleting workflow: its TTL has passed");
            ctx.forget(t.key);
            if let Err(e) = gone_is_fine(t.api(ctx).delete(t.name, &DeleteParams::background()).await.map(|_| ())) {
                ctx.metrics.api_error("delete_workflow");
                return Err(e.into());
            }
        }
    }
    Ok(())
}

/// A 404 is what a delete or a label wanted anyway.
fn gone_is_fine(r: Result<(), kube::Error>) -> Result<(), kube::Error> {
    match r {
        Err(kube::Error::Api(e)) if e.code == 404 => Ok(()),
        other => other,
    }
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
    publish_as(ctx, ("Workflow", "Reconcile"), obj, warning, reason, message).await
}

/// An event on `obj`, an object of `kind`, for `action`.
pub async fn publish_as(
    ctx: &Shared,
    (kind, action): (&str, &str),
    obj: &DynamicObject,
    warning: bool,
    reason: &str,
    message: String,
) {
    let reference = ObjectReference {
        api_version: Some(API_VERSION.into()),
        kind: Some(kind.into()),
        name: obj.metadata.name.clone(),
        namespace: obj.metadata.namespace.clone(),
        uid: obj.metadata.uid.clone(),
        resource_version: obj.metadata.resource_version.clone(),
        ..Default::default()
    };
    let note = argo_api::text::prefix(&message, 1000).to_owned();
    let event = Event {
        type_: if warning { EventType::Warning } else { EventType::Normal },
        reason: reason.into(),
        note: Some(note),
        action: action.into(),
        secondary: None,
    };
    if let Err(e) = ctx.recorder.publish(&event, &reference).await {
        ctx.metrics.api_error("publish_event");
        tracing::warn!(error = %e, "could not publish event");
    }
}
