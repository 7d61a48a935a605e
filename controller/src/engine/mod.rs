//! The engine: a pure function from (workflow, observed pods, now) to the
//! new status and the actions that bring the cluster in line with it. It
//! does no I/O, so it can be tested in milliseconds and driven by a
//! simulator; running it twice on its own output changes nothing.

mod dag;
mod execute;
mod finish;
mod leaf;
mod loops;
mod nodes;
mod pod;
mod rerun;
mod retry;
pub mod sim;
pub use rerun::{Rerun, rerun};
mod steps;

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use argo_api::limits::Limits;
use argo_api::policy::Projects;
use argo_api::vars::Scope;
use argo_api::workflow::{NodeStatus, Phase, Template, WorkflowSpec, WorkflowStatus};
use argo_api::{Workflow, labels};
use k8s_openapi::api::core::v1::Pod;
use k8s_openapi::jiff::Timestamp;

/// Pods of one workflow, by name.
pub type PodIndex = HashMap<String, Pod>;

pub struct Input<'a> {
    pub workflow: &'a Workflow,
    pub pods: &'a PodIndex,
    pub now: Timestamp,
    /// Pods whose last create attempt failed (name -> why).
    pub create_errors: &'a BTreeMap<String, CreateError>,
    /// The cluster's WorkflowProjects: every pod is decided against the
    /// project its namespace selects just before it is created, since
    /// parameters can change what admission saw. No project, no pod.
    pub projects: &'a Projects,
    pub limits: Limits,
}

/// Why the apiserver did not create a pod.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CreateError {
    pub message: String,
    /// Retrying cannot help (the pod is invalid, or admission denied it).
    pub permanent: bool,
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct Output {
    pub status: WorkflowStatus,
    pub actions: Vec<Action>,
    /// Reconcile again after this long (a backoff, a deadline...).
    pub requeue_after: Option<Duration>,
    /// Labels the Workflow object should carry.
    pub labels: BTreeMap<String, String>,
}

#[derive(Clone, Debug, PartialEq)]
pub enum Action {
    CreatePod(Box<Pod>),
    /// Stop or garbage-collect a pod.
    DeletePod {
        name: String,
    },
    /// The pod's outcome is in the status; stop watching it.
    MarkPodCompleted {
        name: String,
    },
    Event {
        warning: bool,
        reason: &'static str,
        message: String,
    },
    /// The TTL strategy says the finished workflow should go.
    DeleteWorkflow,
}

/// Whether new nodes may start.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Gate {
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
pub(crate) enum Start {
    Go,
    Wait,
    Fail(String),
}

pub(crate) struct Ctx<'a> {
    pub wf: &'a Workflow,
    pub name: &'a str,
    pub spec: &'a WorkflowSpec,
    pub templates: HashMap<&'a str, &'a Template>,
    pub pods: &'a PodIndex,
    pub now: Timestamp,
    pub create_errors: &'a BTreeMap<String, CreateError>,
    pub projects: &'a Projects,
    pub limits: Limits,
    pub nodes: BTreeMap<String, NodeStatus>,
    pub actions: Vec<Action>,
    pub requeue: Option<Duration>,
    pub globals: Scope,
    pub gate: Gate,
    /// Pod nodes not yet finished, for workflow-level parallelism.
    pub active_pods: i64,
    /// Unfinished Pod/Steps/DAG nodes by boundary, for template parallelism.
    pub active_children: HashMap<String, i64>,
    /// `kubectl argo resume` time: suspend nodes started before it resume.
    pub resume_at: Option<Timestamp>,
    /// The workflow's pod-level fields with its globals substituted,
    /// made once per pass when the first pod is rendered.
    pub pod_level: std::cell::OnceCell<Result<WorkflowSpec, String>>,
    /// Set when the workflow outgrew a limit: it fails with this message.
    pub over_limit: Option<String>,
}

impl Ctx<'_> {
    pub fn requeue_in(&mut self, d: Duration) {
        let d = d.max(Duration::from_millis(100));
        self.requeue = Some(self.requeue.map_or(d, |r| r.min(d)));
    }

    /// May a new node start in this context?
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

/// Runs the engine once.
pub fn reconcile(input: &Input) -> Output {
    let mut out = finish::reconcile(input);
    // Says which spec this status answers: whoever waits for the controller
    // to have seen a change (a suspend, a stop) waits for this.
    if let Some(generation) = input.workflow.metadata.generation {
        out.status.observed_generation = Some(generation);
    }
    out
}

/// The output for a workflow that cannot run at all: phase Error, with
/// the reason, keeping whatever status it had.
pub fn refuse(workflow_status: Option<&WorkflowStatus>, message: String, now: Timestamp) -> Output {
    let mut status = workflow_status.cloned().unwrap_or_default();
    let mut actions = Vec::new();
    if !status.phase.is_some_and(Phase::is_completed) {
        status.phase = Some(Phase::Error);
        status.message = Some(message.clone());
        status.started_at.get_or_insert(now.into());
        status.finished_at = Some(now.into());
        actions.push(Action::Event {
            warning: true,
            reason: "WorkflowFailed",
            message,
        });
    }
    let labels = finish::phase_labels(status.phase);
    Output {
        status,
        actions,
        requeue_after: None,
        labels,
    }
}

/// True when the workflow's outcome is final and recorded.
pub fn is_finished(wf: &Workflow) -> bool {
    wf.status.as_ref().and_then(|s| s.phase).is_some_and(Phase::is_completed)
        && wf.metadata.labels.as_ref().and_then(|l| l.get(labels::COMPLETED)).is_some_and(|v| v == "true")
}
