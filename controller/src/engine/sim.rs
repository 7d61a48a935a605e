//! A simulated cluster for the engine: pods move through their lifecycle
//! as the local cluster's kwok stages move them (driven by the same
//! `kwok.test/*` annotations), time is virtual, and every action the
//! engine asks for is applied. Tests and benchmarks drive workflows to
//! completion with it in milliseconds.

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use argo_api::Workflow;
use argo_api::keys;
use argo_api::workflow::Phase;
use k8s_openapi::api::core::v1::{
    ContainerState, ContainerStateRunning, ContainerStateTerminated, ContainerStateWaiting, ContainerStatus, Pod,
    PodStatus,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use k8s_openapi::jiff::Timestamp;

use super::io::{Action, CreateError, Input, Output, PodIndex};
use super::reconcile::reconcile;
use super::rerun::{Rerun, rerun};
use argo_api::policy::Projects;

/// The project `kubectl argo install` ships: every namespace, baseline pods.
pub fn default_projects() -> Projects {
    let spec = argo_api::WorkflowProjectSpec {
        namespaces: vec!["*".into()],
        ..Default::default()
    };
    Projects::new(vec![argo_api::WorkflowProject::new(argo_api::project::DEFAULT_PROJECT, spec)])
}

pub struct Sim {
    pub workflow: Workflow,
    /// Every pod in the simulated cluster.
    pub pods: PodIndex,
    pub now: Timestamp,
    /// Names of created pods, in order; a name twice would be a bug.
    pub created: Vec<String>,
    pub events: Vec<(bool, &'static str, String)>,
    pub deleted_pods: Vec<String>,
    pub workflow_deleted: bool,
    /// How many times the engine ran.
    pub reconciles: usize,
    create_errors: BTreeMap<String, CreateError>,
    wake_at: Option<Timestamp>,
    /// The projects every pod is decided against, as the shell passes
    /// them: by default the install's `default` project.
    pub projects: Projects,
    pub limits: argo_api::limits::Limits,
    pub executor: argo_api::executor::Executor,
    pub image_pull_timeout: Option<Duration>,
    /// Images no node can pull: their pods wait in ImagePullBackOff, as a
    /// kubelet reports them, until taken out of this set.
    pub unpullable: std::collections::BTreeSet<String>,
    /// Whether pods are failed at their spec's activeDeadlineSeconds, as a
    /// kubelet does; kwok does not.
    pub kubelet_deadlines: bool,
}

impl Sim {
    pub fn new(mut workflow: Workflow) -> Sim {
        let now: Timestamp = "2026-01-01T00:00:00Z".parse().expect("valid timestamp");
        let meta = &mut workflow.metadata;
        meta.name.get_or_insert_with(|| "wf".into());
        meta.namespace.get_or_insert_with(|| "default".into());
        meta.uid.get_or_insert_with(|| "00000000-0000-0000-0000-000000000001".into());
        meta.creation_timestamp.get_or_insert(Time(now));
        Sim {
            workflow,
            pods: HashMap::new(),
            now,
            created: vec![],
            events: vec![],
            deleted_pods: vec![],
            workflow_deleted: false,
            reconciles: 0,
            create_errors: BTreeMap::new(),
            wake_at: None,
            projects: default_projects(),
            limits: Default::default(),
            executor: Default::default(),
            image_pull_timeout: Some(super::io::DEFAULT_IMAGE_PULL_TIMEOUT),
            unpullable: Default::default(),
            kubelet_deadlines: false,
        }
    }

    /// The pods the controller's watch would show: not yet marked completed.
    pub fn visible_pods(&self) -> PodIndex {
        self.pods
            .iter()
            .filter(|(_, p)| {
                p.metadata.labels.as_ref().and_then(|l| l.get(keys::COMPLETED)).map(String::as_str) != Some("true")
            })
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect()
    }

    /// Runs the engine once and applies its output.
    pub fn reconcile(&mut self) -> Output {
        let pods = self.visible_pods();
        let out = reconcile(&Input {
            workflow: &self.workflow,
            pods: &pods,
            now: self.now,
            create_errors: &self.create_errors,
            projects: &self.projects,
            limits: self.limits,
            executor: &self.executor,
            image_pull_timeout: self.image_pull_timeout,
        });
        self.reconciles += 1;
        self.apply(&out);
        out
    }

    fn apply(&mut self, out: &Output) {
        // Kept unpacked, for the tests to look at; the engine reads both.
        let mut status = out.status.clone();
        argo_api::workflow::compress::unpack(&mut status).expect("the engine packs what it can unpack");
        self.workflow.status = Some(status);
        let wf_labels = self.workflow.metadata.labels.get_or_insert_with(BTreeMap::new);
        wf_labels.extend(out.labels.clone());
        self.wake_at = out.requeue_after.and_then(|d| self.now.checked_add(d).ok());
        for a in &out.actions {
            match a {
                Action::CreatePod(pod) => {
                    let name = pod.metadata.name.clone().unwrap_or_default();
                    if !self.pods.contains_key(&name) && !self.create_errors.contains_key(&name) {
                        self.created.push(name.clone());
                        let mut pod = (**pod).clone();
                        // As a kubelet reports a pod whose image it pulls.
                        let creating = |c: &k8s_openapi::api::core::v1::Container| ContainerStatus {
                            name: c.name.clone(),
                            state: Some(ContainerState {
                                waiting: Some(ContainerStateWaiting {
                                    reason: Some("ContainerCreating".into()),
                                    message: None,
                                }),
                                ..Default::default()
                            }),
                            ..Default::default()
                        };
                        pod.status = Some(PodStatus {
                            phase: Some("Pending".into()),
                            container_statuses: pod.spec.as_ref().map(|s| s.containers.iter().map(creating).collect()),
                            ..Default::default()
                        });
                        pod.metadata.creation_timestamp = Some(Time(self.now));
                        self.pods.insert(name, pod);
                    }
                }
                Action::DeletePod { name } => {
                    if self.pods.remove(name).is_some() {
                        self.deleted_pods.push(name.clone());
                    }
                }
                Action::MarkPodCompleted { name } => {
                    if let Some(p) = self.pods.get_mut(name) {
                        p.metadata
                            .labels
                            .get_or_insert_with(BTreeMap::new)
                            .insert(keys::COMPLETED.into(), "true".into());
                    }
                }
                Action::Event {
                    warning,
                    reason,
                    message,
                } => self.events.push((*warning, reason, message.clone())),
                Action::DeleteWorkflow => self.workflow_deleted = true,
            }
        }
    }

    /// Carries out a `kubectl argo retry` as the shell does: the old pods
    /// go, then the status the engine computed is written.
    pub fn retry(&mut self, request: &argo_api::retry::RetryRequest) -> Result<Rerun, String> {
        let plan = rerun(&self.workflow, request)?;
        for pod in &plan.delete_pods {
            if self.pods.remove(pod).is_some() {
                self.deleted_pods.push(pod.clone());
            }
        }
        let mut status = plan.status.clone();
        argo_api::workflow::compress::unpack(&mut status).map_err(|e| format!("the retry's status: {e}"))?;
        self.workflow.status = Some(status);
        Ok(plan)
    }

    pub fn phase(&self) -> Option<Phase> {
        self.workflow.status.as_ref().and_then(|s| s.phase)
    }

    /// Moves every pod forward to `now` as kwok would.
    fn progress_pods(&mut self) {
        let now = self.now;
        for pod in self.pods.values_mut() {
            if stuck_pulling(pod, &self.unpullable) {
                continue;
            }
            let status = pod.status.get_or_insert_with(Default::default);
            match status.phase.as_deref() {
                Some("Pending") => {
                    status.phase = Some("Running".into());
                    status.start_time = Some(Time(now));
                    status.container_statuses = Some(
                        pod.spec
                            .iter()
                            .flat_map(|s| &s.containers)
                            .map(|c| ContainerStatus {
                                name: c.name.clone(),
                                ready: true,
                                state: Some(ContainerState {
                                    running: Some(ContainerStateRunning {
                                        started_at: Some(Time(now)),
                                    }),
                                    ..Default::default()
                                }),
                                ..Default::default()
                            })
                            .collect(),
                    );
                }
                Some("Running") => {
                    let mut plan = Plan::of(pod);
                    let deadline = self.kubelet_deadlines.then(|| kubelet_deadline(pod)).flatten();
                    let status = pod.status.as_mut().expect("set above");
                    let started = status.start_time.as_ref().map(|t| t.0).unwrap_or(now);
                    let killed = deadline.filter(|d| *d < plan.duration);
                    if let Some(d) = killed {
                        plan = Plan {
                            duration: d,
                            exit_code: 137,
                            message: None,
                        };
                    }
                    if now.duration_since(started).as_secs_f64() + 1e-9 < plan.duration.as_secs_f64() {
                        continue;
                    }
                    if killed.is_some() {
                        status.reason = Some("DeadlineExceeded".into());
                        status.message = Some("Pod was active on the node longer than the specified deadline".into());
                    }
                    status.phase = Some(if plan.exit_code == 0 { "Succeeded" } else { "Failed" }.into());
                    for c in status.container_statuses.iter_mut().flatten() {
                        c.ready = false;
                        c.state = Some(ContainerState {
                            terminated: Some(ContainerStateTerminated {
                                exit_code: plan.exit_code,
                                reason: Some(if plan.exit_code == 0 { "Completed" } else { "Error" }.into()),
                                message: plan.message.clone(),
                                started_at: Some(Time(started)),
                                finished_at: Some(Time(now)),
                                ..Default::default()
                            }),
                            ..Default::default()
                        });
                    }
                }
                _ => {}
            }
        }
    }

    /// When the next pod will finish.
    fn next_pod_event(&self) -> Option<Timestamp> {
        self.pods
            .values()
            .filter_map(|p| {
                let s = p.status.as_ref()?;
                match s.phase.as_deref() {
                    Some("Pending") if p.status.as_ref().is_some_and(|s| s.reason.as_deref() == Some(STUCK)) => None,
                    Some("Pending") => Some(self.now),
                    Some("Running") => {
                        let started = s.start_time.as_ref()?.0;
                        let mut ends = Plan::of(p).duration;
                        if let Some(d) = self.kubelet_deadlines.then(|| kubelet_deadline(p)).flatten() {
                            ends = ends.min(d);
                        }
                        started.checked_add(ends).ok()
                    }
                    _ => None,
                }
            })
            .min()
    }

    /// Runs until the workflow finishes (or `limit` reconciles pass) and
    /// returns its phase. Time jumps to the next thing that can happen.
    pub fn run(&mut self, limit: usize) -> Option<Phase> {
        for _ in 0..limit {
            let before = self.workflow.status.clone();
            let out = self.reconcile();
            if self.phase().is_some_and(Phase::is_completed)
                && out.actions.iter().all(|a| !matches!(a, Action::DeletePod { .. }))
            {
                return self.phase();
            }
            // The stored status, unpacked: a packed one always differs.
            let changed =
                before != self.workflow.status || out.actions.iter().any(|a| matches!(a, Action::CreatePod(_)));
            if changed {
                self.progress_pods_if_due();
                continue;
            }
            let next = [self.next_pod_event(), self.wake_at].into_iter().flatten().min();
            match next {
                Some(t) if t > self.now => self.now = t,
                Some(_) => {}
                None => return self.phase(),
            }
            self.progress_pods();
        }
        self.phase()
    }

    fn progress_pods_if_due(&mut self) {
        if self.next_pod_event().is_some_and(|t| t <= self.now) {
            self.progress_pods();
        }
    }

    /// Advances virtual time, moving pods along.
    pub fn advance(&mut self, d: Duration) {
        self.now = self.now.checked_add(d).unwrap_or(self.now);
        self.progress_pods();
    }

    /// The node with this display name, for assertions.
    pub fn node(&self, display: &str) -> Option<&argo_api::workflow::NodeStatus> {
        self.workflow.status.as_ref()?.nodes.values().find(|n| n.display_name == display)
    }

    /// Makes the apiserver refuse a pod for good.
    pub fn refuse_pod(&mut self, name: &str, why: &str) {
        self.create_errors.insert(
            name.into(),
            CreateError {
                message: why.into(),
                permanent: true,
            },
        );
    }
}

/// Marks a pending pod that waits on an image in `unpullable` (its first
/// such container, init containers first) as a kubelet would; true if so.
fn stuck_pulling(pod: &mut Pod, unpullable: &std::collections::BTreeSet<String>) -> bool {
    use k8s_openapi::api::core::v1::PodCondition;
    let Some(spec) = pod.spec.as_ref() else { return false };
    let status = pod.status.get_or_insert_with(Default::default);
    if status.phase.as_deref() != Some("Pending") {
        return false;
    }
    let init = spec.init_containers.iter().flatten().map(|c| (c, true));
    let Some((blocked, is_init)) = init
        .chain(spec.containers.iter().map(|c| (c, false)))
        .find(|(c, _)| c.image.as_ref().is_some_and(|i| unpullable.contains(i)))
    else {
        if status.reason.as_deref() == Some(STUCK) {
            status.reason = None;
        }
        return false;
    };
    let scheduled = pod.metadata.creation_timestamp.clone();
    let waiting = |name: &str, reason: &str, message: Option<String>| ContainerStatus {
        name: name.to_owned(),
        state: Some(ContainerState {
            waiting: Some(ContainerStateWaiting {
                reason: Some(reason.into()),
                message,
            }),
            ..Default::default()
        }),
        ..Default::default()
    };
    let image = blocked.image.clone().unwrap_or_default();
    let backoff = waiting(
        &blocked.name,
        "ImagePullBackOff",
        Some(format!("Back-off pulling image {image:?}: ErrImagePull: {image}: not found")),
    );
    let others = |containers: &[k8s_openapi::api::core::v1::Container], reason: &str| {
        containers
            .iter()
            .map(|c| {
                if c.name == blocked.name {
                    backoff.clone()
                } else {
                    waiting(&c.name, reason, None)
                }
            })
            .collect()
    };
    status.reason = Some(STUCK.into());
    status.conditions = Some(vec![PodCondition {
        type_: "PodScheduled".into(),
        status: "True".into(),
        last_transition_time: scheduled,
        ..Default::default()
    }]);
    if is_init {
        status.init_container_statuses =
            Some(others(spec.init_containers.as_deref().unwrap_or_default(), "PodInitializing"));
    }
    status.container_statuses = Some(others(
        &spec.containers,
        if is_init {
            "PodInitializing"
        } else {
            "ContainerCreating"
        },
    ));
    true
}

/// The sim's own mark on a pod it holds in ImagePullBackOff.
const STUCK: &str = "argo-rs.sim/ImagePullBackOff";

/// What a pod does, from its `kwok.test/*` annotations.
struct Plan {
    duration: Duration,
    exit_code: i32,
    message: Option<String>,
}

impl Plan {
    fn of(pod: &Pod) -> Plan {
        let a = pod.metadata.annotations.clone().unwrap_or_default();
        Plan {
            duration: a
                .get("kwok.test/duration")
                .and_then(|d| argo_api::duration::parse(d).ok())
                .unwrap_or(Duration::from_secs(1)),
            exit_code: exit_code(
                a.get("kwok.test/exit-code").map(String::as_str).unwrap_or("0"),
                a.get("kwok.test/attempt").and_then(|n| n.parse().ok()).unwrap_or(0),
            ),
            message: a.get("kwok.test/message").cloned(),
        }
    }
}

/// Item `attempt` of a comma-separated list of exit codes, the last one
/// past the end: the same rule as the local cluster's kwok stage.
fn exit_code(codes: &str, attempt: usize) -> i32 {
    let codes: Vec<&str> = codes.split(',').collect();
    let code = codes.get(attempt).or(codes.last()).copied().unwrap_or("0");
    code.trim().parse().unwrap_or(0)
}

/// When the kubelet fails a pod for its spec's activeDeadlineSeconds: at
/// its next sync, a second or two late.
fn kubelet_deadline(pod: &Pod) -> Option<Duration> {
    let secs = pod.spec.as_ref()?.active_deadline_seconds?;
    u64::try_from(secs).ok().map(|s| Duration::from_secs(s.saturating_add(2)))
}
