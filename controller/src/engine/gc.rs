//! After the nodes: which pods go (pod GC, as `podGC` says) or are marked
//! completed (so the controller stops watching them), and when a finished
//! workflow itself goes (its TTL).

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use argo_api::workflow::{NodeStatus, NodeType, Phase, WorkflowStatus};
use argo_api::{duration, keys};
use k8s_openapi::jiff::Timestamp;

use super::conclude::phase_labels;
use super::io::{Action, Input, Output};

/// A finished workflow: keep its status, clean up pods, apply the TTL.
pub(super) fn after_completion(input: &Input, status: WorkflowStatus) -> Output {
    let mut out = Output {
        labels: phase_labels(status.phase),
        status,
        ..Output::default()
    };
    collect_pods(input, &mut out);
    let ttl = input.workflow.spec.ttl_strategy.as_ref();
    let secs = match out.status.phase {
        Some(Phase::Succeeded) => ttl.and_then(|t| t.seconds_after_success.or(t.seconds_after_completion)),
        _ => ttl.and_then(|t| t.seconds_after_failure.or(t.seconds_after_completion)),
    };
    if let (Some(secs), Some(finished)) = (secs, out.status.finished_at.as_ref()) {
        let at = finished.0.checked_add(Duration::from_secs(u64::try_from(secs).unwrap_or(0))).unwrap_or(finished.0);
        if input.now >= at {
            out.actions.push(Action::DeleteWorkflow);
        } else {
            out.wake_in(Duration::try_from(at.duration_since(input.now)).unwrap_or_default());
        }
    }
    out
}

/// What `podGC` asks, with what the workflow's outcome says about it.
struct Policy<'a> {
    strategy: &'a str,
    delay: Duration,
    selector: Option<&'a k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector>,
    wf_phase: Option<Phase>,
    wf_finished: Option<Timestamp>,
}

/// What happens to one pod whose node has finished.
enum Fate {
    /// Delete it once this time has come.
    DeleteAt(Timestamp),
    /// Pod GC will delete it later; keep watching it until then.
    Keep,
    /// Nothing more to learn from it: stop watching it.
    Done,
}

impl Policy<'_> {
    fn wf_done(&self) -> bool {
        self.wf_phase.is_some_and(Phase::is_completed)
    }

    fn fate(&self, node: &NodeStatus, pod_labels: Option<&BTreeMap<String, String>>) -> Fate {
        let matches = self.selector.is_none_or(|s| selector_matches(s, pod_labels));
        let node_finished = node.finished_at.as_ref().map(|t| t.0);
        let succeeded = node.phase == Phase::Succeeded;
        let wf_succeeded = self.wf_phase == Some(Phase::Succeeded);
        let collect_at = match self.strategy {
            "OnPodCompletion" => node_finished,
            "OnPodSuccess" if succeeded => node_finished,
            "OnWorkflowCompletion" if self.wf_done() => self.wf_finished,
            "OnWorkflowSuccess" if wf_succeeded => self.wf_finished,
            _ => None,
        };
        let later = match self.strategy {
            "OnPodCompletion" | "OnWorkflowCompletion" => true,
            "OnPodSuccess" => succeeded,
            "OnWorkflowSuccess" => !self.wf_done() || wf_succeeded,
            _ => false,
        };
        match collect_at {
            Some(at) if matches => Fate::DeleteAt(at.checked_add(self.delay).unwrap_or(at)),
            _ if matches && later => Fate::Keep,
            _ => Fate::Done,
        }
    }
}

/// What to do with each observed pod whose node has finished: delete it
/// (pod GC), or mark it completed so the controller stops watching it.
pub(super) fn collect_pods(input: &Input, out: &mut Output) {
    let gc = input.workflow.spec.pod_gc.as_ref();
    let policy = Policy {
        strategy: gc.and_then(|g| g.strategy.as_deref()).unwrap_or(""),
        delay: gc
            .and_then(|g| g.delete_delay_duration.as_deref())
            .and_then(|d| duration::parse(d).ok())
            .unwrap_or_default(),
        selector: gc.and_then(|g| g.label_selector.as_ref()),
        wf_phase: out.status.phase,
        wf_finished: out.status.finished_at.as_ref().map(|t| t.0),
    };
    let wf_name = input.workflow.metadata.name.as_deref().unwrap_or_default();
    // The name is derived when absent (e.g. pruned by an older CRD schema):
    // a pod must never look ownerless because a field went missing.
    let by_pod: HashMap<String, &NodeStatus> = out
        .status
        .nodes
        .values()
        .filter(|n| n.type_ == NodeType::Pod)
        .map(|n| {
            let name = n.pod_name.clone();
            (name.unwrap_or_else(|| argo_api::names::pod_name(wf_name, &n.name, n.template_name.as_deref())), n)
        })
        .collect();
    let mut actions = Vec::new();
    let mut wait: Option<Duration> = None;
    for (pod_name, pod) in input.pods.iter() {
        let Some(node) = by_pod.get(pod_name).filter(|n| n.phase.is_completed()) else {
            if policy.wf_done() {
                // No node will ever own it: a leftover.
                actions.push(Action::DeletePod { name: pod_name.clone() });
            }
            continue;
        };
        let labels = pod.metadata.labels.as_ref();
        match policy.fate(node, labels) {
            Fate::DeleteAt(due) if input.now >= due => actions.push(Action::DeletePod { name: pod_name.clone() }),
            Fate::DeleteAt(due) => {
                let left = Duration::try_from(due.duration_since(input.now)).unwrap_or_default();
                wait = Some(wait.map_or(left, |w| w.min(left)));
            }
            Fate::Keep => {}
            Fate::Done => {
                if labels.and_then(|l| l.get(keys::COMPLETED)).map(String::as_str) != Some("true") {
                    actions.push(Action::MarkPodCompleted { name: pod_name.clone() });
                }
            }
        }
    }
    actions.sort_by(|a, b| format!("{a:?}").cmp(&format!("{b:?}")));
    out.actions.extend(actions);
    if let Some(w) = wait {
        out.wake_in(w);
    }
}

fn selector_matches(
    s: &k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector,
    labels: Option<&BTreeMap<String, String>>,
) -> bool {
    let empty = BTreeMap::new();
    let labels = labels.unwrap_or(&empty);
    let equal = s.match_labels.iter().flatten().all(|(k, v)| labels.get(k) == Some(v));
    let exprs = s.match_expressions.iter().flatten().all(|e| {
        let values = e.values.clone().unwrap_or_default();
        match e.operator.as_str() {
            "In" => labels.get(&e.key).is_some_and(|v| values.contains(v)),
            "NotIn" => labels.get(&e.key).is_none_or(|v| !values.contains(v)),
            "Exists" => labels.contains_key(&e.key),
            "DoesNotExist" => !labels.contains_key(&e.key),
            _ => false,
        }
    });
    equal && exprs
}
