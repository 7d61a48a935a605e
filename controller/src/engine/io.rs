//! What goes into one engine pass and what comes out of it.

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use argo_api::Workflow;
use argo_api::executor::Executor;
use argo_api::limits::Limits;
use argo_api::policy::Projects;
use argo_api::workflow::WorkflowStatus;
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
    /// How pods run their command and report outputs.
    pub executor: &'a Executor,
    /// How long a pod may fail to pull an image before its node fails
    /// (None: as long as the workflow's deadline lets it).
    pub image_pull_timeout: Option<Duration>,
}

/// The controller's default `--image-pull-timeout`: the kubelet's back-off
/// has tried about five times by then (0, 10, 30, 70, 150 s).
pub const DEFAULT_IMAGE_PULL_TIMEOUT: Duration = Duration::from_secs(180);

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

impl Output {
    /// Asks to be woken after `d`, unless an earlier wake-up is asked for.
    pub(super) fn wake_in(&mut self, d: Duration) {
        self.requeue_after = sooner(self.requeue_after, d);
    }
}

/// The earlier of a pending wake-up and `d` (never under 100 ms, so a
/// deadline that is due now does not spin the controller).
pub(super) fn sooner(pending: Option<Duration>, d: Duration) -> Option<Duration> {
    let d = d.max(Duration::from_millis(100));
    Some(pending.map_or(d, |r| r.min(d)))
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
