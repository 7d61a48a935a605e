//! The world one engine pass reads and never changes: the workflow and its
//! templates, the pods the cluster shows, the time, the projects, the
//! global variables, and whether new nodes may start at all.

use std::cell::OnceCell;
use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use argo_api::Workflow;
use argo_api::executor::Executor;
use argo_api::keys;
use argo_api::limits::Limits;
use argo_api::policy::Projects;
use argo_api::vars::Scope;
use argo_api::workflow::{Template, WorkflowSpec};
use k8s_openapi::jiff::Timestamp;

use super::io::{CreateError, Input, PodIndex};

pub(super) struct World<'a> {
    pub wf: &'a Workflow,
    /// The workflow's name: the root node's name and every id's prefix.
    pub name: &'a str,
    pub spec: &'a WorkflowSpec,
    pub templates: HashMap<&'a str, &'a Template>,
    pub pods: &'a PodIndex,
    pub now: Timestamp,
    pub create_errors: &'a BTreeMap<String, CreateError>,
    pub projects: &'a Projects,
    pub limits: Limits,
    pub executor: &'a Executor,
    pub image_pull_timeout: Option<Duration>,
    /// `workflow.*` variables.
    pub globals: Scope,
    pub gate: Gate,
    /// `kubectl argo resume` time: suspend nodes started before it resume.
    pub resume_at: Option<Timestamp>,
    /// Output values `kubectl argo resume -p` supplied, or why they cannot
    /// be read.
    pub supplied: Option<Result<BTreeMap<String, String>, String>>,
    /// The workflow's pod-level fields with its globals substituted, made
    /// once per pass when the first pod is rendered.
    pub pod_level: OnceCell<Result<WorkflowSpec, String>>,
}

/// Whether new nodes may start.
#[derive(Clone, Debug, PartialEq)]
pub(super) enum Gate {
    Open,
    /// `spec.suspend`: nothing new starts; running pods carry on.
    Suspended,
    /// `spec.shutdown`: running pods stop; only Stop lets exit handlers run.
    Shutdown {
        terminate: bool,
    },
    /// The workflow's activeDeadlineSeconds has passed.
    Deadline,
}

/// What happens to a node that wants to start now.
pub(super) enum Start {
    Go,
    Wait,
    Fail(String),
}

impl<'a> World<'a> {
    /// The world of a workflow that started at `started`.
    pub fn new(input: &Input<'a>, started: Timestamp) -> World<'a> {
        let wf = input.workflow;
        let spec = &wf.spec;
        let annotations = wf.metadata.annotations.as_ref();
        World {
            wf,
            name: wf.metadata.name.as_deref().unwrap_or_default(),
            spec,
            templates: spec.templates.iter().map(|t| (t.name.as_str(), t)).collect(),
            pods: input.pods,
            now: input.now,
            create_errors: input.create_errors,
            projects: input.projects,
            limits: input.limits,
            executor: input.executor,
            image_pull_timeout: input.image_pull_timeout,
            globals: globals(wf),
            gate: gate(spec, started, input.now),
            resume_at: annotations.and_then(|a| a.get(keys::RESUME)).and_then(|t| t.parse().ok()),
            supplied: annotations.and_then(|a| a.get(keys::RESUME_PARAMETERS)).map(|v| {
                serde_json::from_str(v).map_err(|e| {
                    format!("the annotation {}: not a JSON object of strings: {e}", keys::RESUME_PARAMETERS)
                })
            }),
            pod_level: OnceCell::new(),
        }
    }

    /// May a new node start in this world?
    pub fn may_start(&self, on_exit: bool) -> Start {
        match &self.gate {
            Gate::Open => Start::Go,
            Gate::Suspended => Start::Wait,
            Gate::Shutdown { terminate: false } if on_exit => Start::Go,
            Gate::Shutdown { terminate } => Start::Fail(shutdown_message(*terminate)),
            Gate::Deadline if on_exit => Start::Go,
            Gate::Deadline => Start::Fail("Max duration limit exceeded".into()),
        }
    }

    /// Why a running node must stop now, if it must.
    pub fn must_stop(&self, on_exit: bool) -> Option<String> {
        match &self.gate {
            Gate::Shutdown { terminate } if *terminate || !on_exit => Some(shutdown_message(*terminate)),
            Gate::Deadline if !on_exit => Some("Step exceeded its deadline".into()),
            _ => None,
        }
    }
}

fn shutdown_message(terminate: bool) -> String {
    format!("workflow shutdown with strategy: {}", if terminate { "Terminate" } else { "Stop" })
}

fn gate(spec: &WorkflowSpec, started: Timestamp, now: Timestamp) -> Gate {
    match spec.shutdown.as_deref() {
        Some("Terminate") => return Gate::Shutdown { terminate: true },
        Some("Stop") => return Gate::Shutdown { terminate: false },
        _ => {}
    }
    if let Some(secs) = spec.active_deadline_seconds.and_then(|s| u64::try_from(s).ok()) {
        let deadline = started.checked_add(Duration::from_secs(secs)).unwrap_or(started);
        if now >= deadline {
            return Gate::Deadline;
        }
    }
    if spec.suspend == Some(true) {
        return Gate::Suspended;
    }
    Gate::Open
}

/// Time left before the workflow's activeDeadlineSeconds, if any is left.
pub(super) fn deadline_in(seconds: Option<i64>, started: Timestamp, now: Timestamp) -> Option<Duration> {
    let secs = u64::try_from(seconds?).ok()?;
    let deadline = started.checked_add(Duration::from_secs(secs)).ok()?;
    (now < deadline).then(|| Duration::try_from(deadline.duration_since(now)).unwrap_or_default())
}

/// The `workflow.*` variables of a workflow.
fn globals(wf: &Workflow) -> Scope {
    let spec = &wf.spec;
    let meta = &wf.metadata;
    let mut s = Scope::new();
    s.set("workflow.name", meta.name.clone().unwrap_or_default());
    s.set("workflow.namespace", meta.namespace.clone().unwrap_or_default());
    s.set("workflow.uid", meta.uid.clone().unwrap_or_default());
    s.set("workflow.mainEntrypoint", spec.entrypoint.clone().unwrap_or_default());
    s.set("workflow.serviceAccountName", spec.pod.service_account_name.clone().unwrap_or_default());
    if let Some(p) = spec.priority {
        s.set("workflow.priority", p.to_string());
    }
    if let Some(t) = &meta.creation_timestamp {
        s.set("workflow.creationTimestamp", t.0.to_string());
        s.set("workflow.creationTimestamp.RFC3339", t.0.to_string());
        s.set("workflow.creationTimestamp.s", t.0.as_second().to_string());
    }
    // When a CronWorkflow made it, the time it was due (upstream's); else
    // when it was created.
    let scheduled = meta.annotations.as_ref().and_then(|a| a.get(argo_api::keys::SCHEDULED_TIME)).cloned();
    if let Some(t) = scheduled.or_else(|| meta.creation_timestamp.as_ref().map(|t| t.0.to_string())) {
        s.set("workflow.scheduledTime", t);
    }
    let params: Vec<_> = spec.arguments.iter().flat_map(|a| &a.parameters).collect();
    for p in &params {
        s.set(format!("workflow.parameters.{}", p.name), p.value.as_ref().map(|v| v.as_str()).unwrap_or_default());
    }
    s.set("workflow.parameters", serde_json::to_string(&params).unwrap_or_default());
    for (kind, map) in [("labels", &meta.labels), ("annotations", &meta.annotations)] {
        let map = map.clone().unwrap_or_default();
        for (k, v) in &map {
            s.set(format!("workflow.{kind}.{k}"), v.as_str());
        }
        s.set(format!("workflow.{kind}"), serde_json::to_string(&map).unwrap_or_default());
    }
    s
}
