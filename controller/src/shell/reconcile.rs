//! One reconcile: read the workflow and its pods from the caches, run the
//! engine (or carry out a `kubectl argo retry`), and apply what it decided.
//! A panic anywhere in it fails that workflow, not the process.

use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use argo_api::keys;
use futures::FutureExt;
use k8s_openapi::api::core::v1::{Pod, PodSpec};
use k8s_openapi::jiff::Timestamp;
use kube::ResourceExt;
use kube::api::{Api, DynamicObject, Patch, PatchParams};
use kube::core::{ApiResource, GroupVersionKind};
use kube::runtime::controller::Action as Requeue;
use kube::runtime::reflector::Store;
use serde_json::{Value, json};

use super::Error;
use super::apply::{Target, apply, publish};
use super::metrics::ResultLabel;
use super::shared::Shared;
use crate::engine::{self, Input, PodIndex};

pub fn workflow_resource() -> ApiResource {
    ApiResource::from_gvk_with_plural(&GroupVersionKind::gvk("argoproj.io", "v1alpha1", "Workflow"), "workflows")
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
    let name = meta.name.clone().ok_or_else(|| Error::invalid("workflow", "it has no name"))?;
    let namespace = meta
        .namespace
        .clone()
        .ok_or_else(|| Error::invalid(format!("workflow {name}"), "it has no namespace"))?;
    let key = format!("{namespace}/{name}");
    if meta.deletion_timestamp.is_some() {
        ctx.forget(&key);
        return Ok(Requeue::await_change());
    }
    let obj = ctx.freshest(&key, cached);
    let obj = obj.as_ref();
    let raw = serde_json::to_value(obj)?;
    let target = Target {
        obj,
        raw: &raw,
        name: &name,
        namespace: &namespace,
        key: &key,
    };
    let now = Timestamp::now();
    let loaded = argo_api::load::workflow(&raw).map_err(|e| e.to_string()).and_then(|wf| {
        match resolved(wf, &namespace, &projects, ctx) {
            Resolved::Ready(wf) => Ok(wf),
            Resolved::NotYet => Err(String::new()),
            Resolved::Refused(why) => Err(why),
        }
    });
    if matches!(&loaded, Err(why) if why.is_empty()) {
        return Ok(Requeue::requeue(Duration::from_millis(500)));
    }
    let out = match loaded {
        Ok(wf) => {
            let request = wf.metadata.annotations.as_ref().and_then(|a| a.get(keys::RETRY));
            if let Some(request) = request {
                return super::rerun::rerun(&target, &wf, request, ctx).await;
            }
            let done = wf.status.as_ref().and_then(|s| s.phase).is_some_and(argo_api::workflow::Phase::is_completed);
            if ctx.test_panics
                && !done
                && meta.annotations.as_ref().is_some_and(|a| a.contains_key("argo-rs.test/panic"))
            {
                panic!("a panic asked for by the annotation argo-rs.test/panic (--test-panic-annotation)");
            }
            let pods = pods_of(&ctx.pods, &namespace, &name);
            let project = projects.select(&namespace);
            let allowed = |image: &str| match &project {
                Ok(p) => argo_api::policy::may_look_up(p, image),
                Err(p) => Err(p.message.clone()),
            };
            let executor = match ctx.images.executor_for(&ctx.executor, &wf, allowed) {
                super::images::Lookup::Ready(e) => e,
                // Off this path: the lookups run in the background.
                super::images::Lookup::Waiting => return Ok(Requeue::requeue(Duration::from_millis(250))),
            };
            let errors = ctx.errors().get(&key).cloned().unwrap_or_default();
            engine::reconcile(&Input {
                workflow: &wf,
                pods: &pods,
                now,
                create_errors: &errors,
                projects: &projects,
                limits: Default::default(),
                executor: &executor,
                image_pull_timeout: ctx.image_pull_timeout,
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
    apply(&target, out, ctx).await.inspect(|_| {
        if completed {
            ctx.errors().remove(&key);
        }
    })
}

enum Resolved {
    Ready(Box<argo_api::Workflow>),
    /// The template cache has not been filled yet.
    NotYet,
    Refused(String),
}

/// The workflow with what it references in place, from its status once
/// it has started (see `argo_api::templates`), checked against its
/// project's template rules on this path too.
fn resolved(wf: argo_api::Workflow, namespace: &str, projects: &argo_api::policy::Projects, ctx: &Shared) -> Resolved {
    use argo_api::templates;
    let started = wf.status.as_ref().is_some_and(|s| s.phase.is_some());
    if !templates::references(&wf.spec) {
        return Resolved::Ready(Box::new(wf));
    }
    let source: &dyn templates::Source = match &ctx.templates {
        Some(t) if t.is_synced() => t.as_ref(),
        Some(_) if !started => return Resolved::NotYet,
        _ => &templates::NoTemplates,
    };
    let mut resolved = match templates::resolve(&wf, source) {
        Ok(r) => r,
        Err(problems) => {
            let list: Vec<String> = problems.iter().map(ToString::to_string).collect();
            return Resolved::Refused(list.join("; "));
        }
    };
    if let Ok(project) = projects.select(namespace) {
        // Which templates may be used is decided once, when it starts.
        let problems = if started {
            Vec::new()
        } else {
            argo_api::policy::check_templates(&wf, &resolved, project)
        };
        if !problems.is_empty() {
            let list: Vec<String> = problems.iter().map(ToString::to_string).collect();
            return Resolved::Refused(list.join("; "));
        }
        argo_api::policy::resolved_with_defaults(&mut resolved, project);
    }
    Resolved::Ready(Box::new(resolved))
}

fn pods_of(store: &Store<Pod>, namespace: &str, workflow: &str) -> PodIndex {
    store
        .state_filter(|p| {
            p.metadata.namespace.as_deref() == Some(namespace)
                && p.metadata.labels.as_ref().and_then(|l| l.get(keys::WORKFLOW)).map(String::as_str) == Some(workflow)
        })
        .into_iter()
        .map(|p| (p.name_any(), (*p).clone()))
        .collect()
}
