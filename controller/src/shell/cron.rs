//! CronWorkflows: a second kube-runtime controller in the same process.
//! It reads each CronWorkflow and its workflows (from the workflow cache),
//! lets `crate::cron::decide` say what is due, and carries it out: create
//! first, then the status, so a crash in between repeats an idempotent
//! create (same name) rather than losing a run.

use std::sync::Arc;
use std::time::Duration;

use argo_api::keys;
use argo_api::workflow::Phase;
use futures::StreamExt;
use k8s_openapi::jiff::Timestamp;
use kube::api::{Api, DeleteParams, DynamicObject, Patch, PatchParams, PostParams};
use kube::core::{ApiResource, GroupVersionKind};
use kube::runtime::controller::{Action as Requeue, Config as ControllerConfig, Controller};
use kube::runtime::reflector::Store;
use kube::runtime::watcher;
use kube::{Client, ResourceExt};
use serde_json::{Value, json};

use super::Error;
use super::apply::publish_as;
use super::shared::Shared;
use crate::cron::{Run, decide};

pub fn cron_resource() -> ApiResource {
    ApiResource::from_gvk_with_plural(
        &GroupVersionKind::gvk("argoproj.io", "v1alpha1", "CronWorkflow"),
        "cronworkflows",
    )
}

/// Events on a CronWorkflow are about scheduling.
const CRON: (&str, &str) = ("CronWorkflow", "Schedule");

struct CronCtx {
    shared: Arc<Shared>,
    workflows: Store<DynamicObject>,
}

/// Runs until `shutdown` resolves.
pub async fn run(
    client: Client,
    namespace: Option<String>,
    shared: Arc<Shared>,
    workflows: Store<DynamicObject>,
    shutdown: impl std::future::Future<Output = ()> + Send + Sync + 'static,
) {
    let ar = cron_resource();
    let api: Api<DynamicObject> = match namespace.as_deref() {
        Some(ns) => Api::namespaced_with(client, ns, &ar),
        None => Api::all_with(client, &ar),
    };
    let ctx = Arc::new(CronCtx { shared, workflows });
    Controller::new_with(api, watcher::Config::default(), ar)
        .with_config(ControllerConfig::default().concurrency(2))
        .graceful_shutdown_on(shutdown)
        .run(reconcile, error_policy, ctx)
        .for_each(|r| async move {
            if let Err(e) = r {
                tracing::debug!(error = %e, "cron queue");
            }
        })
        .await;
}

fn error_policy(cron: Arc<DynamicObject>, error: &Error, _: Arc<CronCtx>) -> Requeue {
    tracing::warn!(cron = %cron.name_any(), namespace = ?cron.namespace(), %error, "cron reconcile failed; retrying");
    Requeue::requeue(Duration::from_secs(5))
}

async fn reconcile(obj: Arc<DynamicObject>, ctx: Arc<CronCtx>) -> Result<Requeue, Error> {
    use futures::FutureExt;
    // A bug, whatever the input, stops this CronWorkflow, not the others.
    match std::panic::AssertUnwindSafe(run_once(obj.clone(), ctx)).catch_unwind().await {
        Ok(r) => r,
        Err(_) => {
            tracing::error!(cron = %obj.name_any(), namespace = ?obj.namespace(), "cron reconcile panicked");
            Ok(Requeue::requeue(Duration::from_secs(60)))
        }
    }
}

async fn run_once(obj: Arc<DynamicObject>, ctx: Arc<CronCtx>) -> Result<Requeue, Error> {
    if obj.metadata.deletion_timestamp.is_some() {
        return Ok(Requeue::await_change());
    }
    let (name, namespace) = (obj.name_any(), obj.namespace().unwrap_or_default());
    let raw = serde_json::to_value(obj.as_ref())?;
    let client = ctx.shared.client.clone();
    let crons: Api<DynamicObject> = Api::namespaced_with(client.clone(), &namespace, &cron_resource());
    let cron = match argo_api::load::cron_workflow(&raw) {
        Ok(c) => c,
        Err(e) => {
            // Not one we can run: say so in its status, wait for an edit.
            let body = json!({"status": {"conditions": [{"type": "SpecError", "status": "True",
                "message": format!("cannot run this CronWorkflow: {e}")}]}});
            crons.patch_status(&name, &PatchParams::default(), &Patch::Merge(&body)).await?;
            return Ok(Requeue::await_change());
        }
    };
    let runs = runs_of(&ctx.workflows, &namespace, &name, obj.metadata.uid.as_deref());
    let plan = decide(&cron, &runs, Timestamp::now());
    let workflows: Api<DynamicObject> =
        Api::namespaced_with(client, &namespace, &super::reconcile::workflow_resource());
    if let Some(body) = &plan.create {
        let wf: DynamicObject = serde_json::from_value(body.clone())?;
        match workflows.create(&PostParams::default(), &wf).await {
            Ok(_) => {}
            Err(kube::Error::Api(e)) if e.code == 409 => {}
            Err(kube::Error::Api(e)) if e.code == 400 || e.code == 403 || e.code == 422 => {
                // Refused (admission, quota): the run cannot happen; say why.
                let message = format!("could not create {}: {}", wf.name_any(), e.message);
                publish_as(&ctx.shared, CRON, &obj, true, "WorkflowRefused", message.clone()).await;
                let body = json!({"status": {"lastScheduledTime": plan.status.last_scheduled_time,
                    "conditions": [{"type": "SubmissionError", "status": "True", "message": message}]}});
                crons.patch_status(&name, &PatchParams::default(), &Patch::Merge(&body)).await?;
                return Ok(Requeue::requeue(plan.requeue.unwrap_or(Duration::from_secs(60))));
            }
            Err(e) => return Err(e.into()),
        }
    }
    let stop = json!({"spec": {"shutdown": "Terminate"}});
    for victim in &plan.terminate {
        ignore_missing(workflows.patch(victim, &PatchParams::default(), &Patch::Merge(&stop)).await)?;
    }
    for old in &plan.delete {
        ignore_missing(workflows.delete(old, &DeleteParams::background()).await.map(|_| ()))?;
    }
    let before = cron.status.clone().unwrap_or_default();
    if plan.status != before {
        let mut status = serde_json::to_value(&plan.status)?;
        // A merge patch keeps keys it does not name: null the dropped ones.
        for key in ["conditions", "active"] {
            if status.get(key).is_none() {
                status[key] = Value::Null;
            }
        }
        let body = json!({"metadata": {"resourceVersion": obj.metadata.resource_version}, "status": status});
        crons.patch_status(&name, &PatchParams::default(), &Patch::Merge(&body)).await?;
    }
    for (warning, reason, message) in plan.events {
        publish_as(&ctx.shared, CRON, &obj, warning, reason, message).await;
    }
    Ok(plan.requeue.map_or(Requeue::await_change(), Requeue::requeue))
}

fn ignore_missing<T>(r: Result<T, kube::Error>) -> Result<(), Error> {
    match r {
        Ok(_) => Ok(()),
        Err(kube::Error::Api(e)) if e.code == 404 => Ok(()),
        Err(e) => Err(e.into()),
    }
}

/// The CronWorkflow's workflows, from the workflow cache: labelled with
/// its name and owned by it (its uid, as controller). The label alone is
/// what anyone who may label a workflow could forge, and these are the
/// workflows its history limits delete.
fn runs_of(store: &Store<DynamicObject>, namespace: &str, cron: &str, uid: Option<&str>) -> Vec<Run> {
    let Some(uid) = uid else { return Vec::new() };
    store
        .state()
        .iter()
        .filter(|w| w.metadata.namespace.as_deref() == Some(namespace) && is_run_of(w, cron, uid))
        .map(|w| {
            let phase = w.data.pointer("/status/phase").cloned().and_then(|p| serde_json::from_value::<Phase>(p).ok());
            let finished = w.data.pointer("/status/finishedAt").and_then(Value::as_str).and_then(|t| t.parse().ok());
            let created = w.metadata.creation_timestamp.as_ref().map(|t| t.0);
            Run {
                name: w.name_any(),
                uid: w.metadata.uid.clone(),
                phase,
                at: finished.or(created).unwrap_or(Timestamp::UNIX_EPOCH),
            }
        })
        .collect()
}

fn is_run_of(w: &DynamicObject, cron: &str, uid: &str) -> bool {
    w.labels().get(keys::CRON_WORKFLOW).map(String::as_str) == Some(cron)
        && w.metadata
            .owner_references
            .iter()
            .flatten()
            .any(|o| o.controller == Some(true) && o.kind == "CronWorkflow" && o.name == cron && o.uid == uid)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wf(labels: Value, owners: Value) -> DynamicObject {
        serde_json::from_value(json!({"apiVersion": "argoproj.io/v1alpha1", "kind": "Workflow",
            "metadata": {"name": "w", "namespace": "ns", "labels": labels, "ownerReferences": owners}}))
        .expect("a workflow")
    }

    #[test]
    fn a_run_is_labelled_and_owned_by_the_cron_itself() {
        let owner = json!([{"apiVersion": "argoproj.io/v1alpha1", "kind": "CronWorkflow", "name": "nightly",
            "uid": "u-1", "controller": true}]);
        let label = json!({"workflows.argoproj.io/cron-workflow": "nightly"});
        assert!(is_run_of(&wf(label.clone(), owner.clone()), "nightly", "u-1"));
        assert!(!is_run_of(&wf(label.clone(), json!([])), "nightly", "u-1"), "a forged label alone");
        assert!(
            !is_run_of(&wf(label.clone(), owner.clone()), "nightly", "u-2"),
            "a cron of the same name, made again"
        );
        let mut not_controller = owner.clone();
        not_controller[0]["controller"] = json!(false);
        assert!(!is_run_of(&wf(label, not_controller), "nightly", "u-1"));
        assert!(!is_run_of(&wf(json!({}), owner), "nightly", "u-1"), "owned but unlabelled");
    }
}
