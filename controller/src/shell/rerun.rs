//! Carrying out a `kubectl argo retry` request (the retry annotation): the
//! engine computes the status to start again from; here the old pods are
//! deleted and known gone before that status is written, and the request
//! is removed after. Killed half-way, the next pass simply does it again.

use std::time::Duration;

use argo_api::keys;
use argo_api::retry::RetryRequest;
use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, DeleteParams, DynamicObject, Patch, PatchParams};
use kube::runtime::controller::Action as Requeue;
use serde_json::{Value, json};

use super::Error;
use super::apply::{Target, publish};
use super::shared::Shared;
use crate::engine;

/// Handles the retry annotation's `request`; the returned requeue ends
/// this reconcile.
pub async fn rerun(t: &Target<'_>, wf: &argo_api::Workflow, request: &str, ctx: &Shared) -> Result<Requeue, Error> {
    let api = t.api(ctx);
    let running = wf.status.as_ref().and_then(|s| s.phase).is_none_or(|p| !p.is_completed());
    let plan = serde_json::from_str::<RetryRequest>(request)
        .map_err(|e| format!("the retry request is not valid JSON ({e})"))
        .and_then(|req| engine::rerun(wf, &req));
    let rerun = match plan {
        Ok(r) => r,
        Err(why) => {
            // A request already carried out (the workflow runs again) is
            // just cleared; any other is refused, visibly.
            if !running {
                publish(ctx, t.obj, true, "WorkflowRetryRefused", why).await;
            }
            return clear(&api, t.name, t.key, ctx).await;
        }
    };
    let pods: Api<Pod> = t.pods(ctx);
    let now = DeleteParams {
        grace_period_seconds: Some(0),
        ..DeleteParams::background()
    };
    for pod in &rerun.delete_pods {
        match pods.delete(pod, &now).await {
            Ok(_) => {}
            Err(kube::Error::Api(e)) if e.code == 404 => {}
            Err(e) => {
                ctx.metrics.api_error("delete_pod");
                return Err(e.into());
            }
        }
    }
    for pod in &rerun.delete_pods {
        if pods.get_opt(pod).await?.is_some() {
            tracing::debug!(workflow = %t.name, %pod, "waiting for the old pod to go before retrying");
            return Ok(Requeue::requeue(Duration::from_millis(250)));
        }
    }
    let old = t.raw.get("status").cloned().unwrap_or(Value::Null);
    let new = serde_json::to_value(&rerun.status)?;
    if let Some(diff) = argo_api::json::merge_patch(&old, &new) {
        let body = json!({"metadata": {"resourceVersion": t.obj.metadata.resource_version}, "status": diff});
        match api.patch_status(t.name, &PatchParams::default(), &Patch::Merge(&body)).await {
            Ok(fresh) => ctx.remember(t.key, fresh),
            Err(kube::Error::Api(e)) if e.code == 409 => return Ok(Requeue::requeue(Duration::from_millis(50))),
            Err(e) => {
                ctx.metrics.api_error("patch_status");
                return Err(e.into());
            }
        }
    }
    tracing::info!(workflow = %t.name, namespace = %t.namespace, nodes = rerun.removed, "retrying");
    let message = format!("Workflow retried: {} node(s) run again", rerun.removed);
    publish(ctx, t.obj, false, "WorkflowRetried", message).await;
    clear(&api, t.name, t.key, ctx).await
}

/// Removes the request; the workflow is reconciled again right away.
async fn clear(api: &Api<DynamicObject>, name: &str, key: &str, ctx: &Shared) -> Result<Requeue, Error> {
    let body = json!({"metadata": {"annotations": {keys::RETRY: null}}});
    match api.patch(name, &PatchParams::default(), &Patch::Merge(&body)).await {
        Ok(fresh) => ctx.remember(key, fresh),
        Err(kube::Error::Api(e)) if e.code == 404 => return Ok(Requeue::await_change()),
        Err(e) => {
            ctx.metrics.api_error("patch_workflow");
            return Err(e.into());
        }
    }
    Ok(Requeue::requeue(Duration::from_millis(10)))
}
