//! Why a pod that has not started waits, read from its status as upstream
//! reads it (a container's waiting reason and message, else the scheduler's
//! Unschedulable condition), and whether it waits on an image that cannot
//! be pulled, and since when. Pure functions of the pod: a restarted
//! controller reaches the same answer.

use k8s_openapi::api::core::v1::{ContainerStatus, Pod, PodStatus};
use k8s_openapi::jiff::Timestamp;

/// The kubelet's waiting reasons for an image it could not get.
const PULL_FAILURES: [&str; 5] = [
    "ErrImagePull",
    "ImagePullBackOff",
    "ErrImageInspect",
    "RegistryUnavailable",
    "ErrSignatureValidation",
];
/// Waiting reasons no amount of waiting changes: the name cannot be
/// parsed, or the policy forbids pulling an image the node lacks.
const PULL_IMPOSSIBLE: [&str; 2] = ["InvalidImageName", "ErrImageNeverPull"];
/// Reasons that only say the pod is on its way; another container's
/// reason, if any, says more.
const PROGRESS: [&str; 2] = ["PodInitializing", "ContainerCreating"];
/// Kubelet messages can hold a whole error chain.
const MAX_MESSAGE: usize = 1024;

/// A container whose image cannot be pulled.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PullFailure {
    /// What the node's message says (the kubelet's reason and message).
    pub message: String,
    /// The earliest the kubelet could have started pulling it: when the
    /// pod was scheduled, when the init containers before it were done,
    /// or when the pod was initialized (for the main containers).
    pub since: Option<Timestamp>,
    /// Waiting cannot help (an invalid name, pull policy Never).
    pub hopeless: bool,
}

/// The node's message while its pod waits: the first container (init
/// containers first, as they run first) waiting for a reason other than
/// "on its way", else the first waiting at all, else Unschedulable.
pub fn pending_reason(pod: &Pod) -> Option<String> {
    let status = pod.status.as_ref()?;
    let waiting = waiting_containers(status);
    let pick = waiting.iter().find(|(_, reason, _)| !PROGRESS.contains(reason)).or(waiting.first());
    if let Some((c, _, _)) = pick {
        return describe(c);
    }
    status.conditions.iter().flatten().find(|c| c.reason.as_deref() == Some("Unschedulable")).map(|c| {
        match c.message.as_deref().filter(|m| !m.is_empty()) {
            Some(m) => format!("Unschedulable: {}", argo_api::text::shorten(m, MAX_MESSAGE)),
            None => "Unschedulable".into(),
        }
    })
}

/// The first container that waits on an image it cannot get, if any.
pub fn pull_failure(pod: &Pod) -> Option<PullFailure> {
    let status = pod.status.as_ref()?;
    let (c, reason, init_index) = waiting_containers(status)
        .into_iter()
        .find(|(_, reason, _)| PULL_FAILURES.contains(reason) || PULL_IMPOSSIBLE.contains(reason))?;
    Some(PullFailure {
        message: describe(c)?,
        since: could_pull_since(status, init_index),
        hopeless: PULL_IMPOSSIBLE.contains(&reason),
    })
}

/// Waiting containers in the order they run, each with its reason and,
/// for an init container, its index among them.
fn waiting_containers(status: &PodStatus) -> Vec<(&ContainerStatus, &str, Option<usize>)> {
    let init = status.init_container_statuses.iter().flatten().enumerate().map(|(i, c)| (c, Some(i)));
    let main = status.container_statuses.iter().flatten().map(|c| (c, None));
    init.chain(main)
        .filter_map(|(c, i)| {
            let w = c.state.as_ref()?.waiting.as_ref()?;
            Some((c, w.reason.as_deref().filter(|r| !r.is_empty())?, i))
        })
        .collect()
}

/// `Reason: message`, as upstream words it; a container other than main
/// is named, since the kubelet's message may not say whose it is.
fn describe(c: &ContainerStatus) -> Option<String> {
    let w = c.state.as_ref()?.waiting.as_ref()?;
    let reason = w.reason.as_deref().filter(|r| !r.is_empty())?;
    let mut text = match w.message.as_deref().map(str::trim).filter(|m| !m.is_empty()) {
        Some(m) => format!("{reason}: {}", argo_api::text::shorten(m, MAX_MESSAGE)),
        None => reason.to_owned(),
    };
    if c.name != "main" {
        text = format!("{text} (container {})", c.name);
    }
    Some(text)
}

fn could_pull_since(status: &PodStatus, init_index: Option<usize>) -> Option<Timestamp> {
    let condition = |type_: &str| {
        status
            .conditions
            .iter()
            .flatten()
            .find(|c| c.type_ == type_ && c.status == "True")
            .and_then(|c| c.last_transition_time.as_ref())
            .map(|t| t.0)
    };
    let scheduled = condition("PodScheduled");
    let after = match init_index {
        // Init containers run one after another; a native sidecar lets the
        // next start once it runs.
        Some(i) => status.init_container_statuses.iter().flatten().take(i).filter_map(done_or_started).max(),
        None => condition("Initialized"),
    };
    scheduled.into_iter().chain(after).max()
}

fn done_or_started(c: &ContainerStatus) -> Option<Timestamp> {
    let state = c.state.as_ref()?;
    let terminated = state.terminated.as_ref().and_then(|t| t.finished_at.as_ref());
    let running = state.running.as_ref().and_then(|r| r.started_at.as_ref());
    terminated.or(running).map(|t| t.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pod(status: serde_json::Value) -> Pod {
        serde_json::from_value(serde_json::json!({"status": status})).expect("a pod")
    }

    fn waiting(name: &str, reason: &str, message: &str) -> serde_json::Value {
        serde_json::json!({"name": name, "image": "x", "imageID": "", "ready": false, "restartCount": 0,
            "state": {"waiting": {"reason": reason, "message": message}}})
    }

    const BACKOFF: &str = r#"Back-off pulling image "ghcr.io/argo-rs/argo-exec:v0.1.0": ErrImagePull: not found"#;

    #[test]
    fn an_init_container_that_cannot_pull_is_the_reason_not_pod_initializing() {
        let p = pod(serde_json::json!({
            "phase": "Pending",
            "conditions": [{"type": "PodScheduled", "status": "True", "lastTransitionTime": "2026-01-01T00:00:10Z"}],
            "initContainerStatuses": [waiting("argo-init", "ImagePullBackOff", BACKOFF)],
            "containerStatuses": [waiting("main", "PodInitializing", "")]
        }));
        assert_eq!(pending_reason(&p).as_deref(), Some(&*format!("ImagePullBackOff: {BACKOFF} (container argo-init)")));
        let f = pull_failure(&p).expect("a pull failure");
        assert_eq!(f.since, Some("2026-01-01T00:00:10Z".parse().unwrap()));
        assert!(!f.hopeless);
    }

    #[test]
    fn the_main_container_is_worded_as_upstream_words_it() {
        let p = pod(serde_json::json!({
            "phase": "Pending",
            "conditions": [
                {"type": "PodScheduled", "status": "True", "lastTransitionTime": "2026-01-01T00:00:10Z"},
                {"type": "Initialized", "status": "True", "lastTransitionTime": "2026-01-01T00:00:40Z"}],
            "containerStatuses": [waiting("main", "ErrImagePull", "pull access denied")]
        }));
        assert_eq!(pending_reason(&p).as_deref(), Some("ErrImagePull: pull access denied"));
        assert_eq!(pull_failure(&p).unwrap().since, Some("2026-01-01T00:00:40Z".parse().unwrap()), "after init");
    }

    #[test]
    fn a_later_init_container_counts_from_when_the_one_before_ended() {
        let mut first = waiting("argo-init", "", "");
        first["state"] = serde_json::json!({"terminated": {"exitCode": 0, "finishedAt": "2026-01-01T00:01:00Z"}});
        let p = pod(serde_json::json!({
            "conditions": [{"type": "PodScheduled", "status": "True", "lastTransitionTime": "2026-01-01T00:00:10Z"}],
            "initContainerStatuses": [first, waiting("setup", "InvalidImageName", "bad name")]
        }));
        let f = pull_failure(&p).unwrap();
        assert_eq!(f.since, Some("2026-01-01T00:01:00Z".parse().unwrap()));
        assert!(f.hopeless);
        assert_eq!(f.message, "InvalidImageName: bad name (container setup)");
    }

    #[test]
    fn other_reasons_are_shown_but_are_no_pull_failure() {
        let p = pod(serde_json::json!({
            "containerStatuses": [waiting("main", "CreateContainerConfigError", "secret \"creds\" not found")]
        }));
        assert_eq!(pending_reason(&p).as_deref(), Some("CreateContainerConfigError: secret \"creds\" not found"));
        assert_eq!(pull_failure(&p), None);
        let unscheduled = pod(serde_json::json!({"conditions": [{"type": "PodScheduled", "status": "False",
            "reason": "Unschedulable", "message": "0/4 nodes are available: 4 Insufficient cpu."}]}));
        assert_eq!(
            pending_reason(&unscheduled).as_deref(),
            Some("Unschedulable: 0/4 nodes are available: 4 Insufficient cpu.")
        );
        let creating = pod(serde_json::json!({"containerStatuses": [waiting("main", "ContainerCreating", "")]}));
        assert_eq!(pending_reason(&creating).as_deref(), Some("ContainerCreating"));
    }

    #[test]
    fn a_huge_kubelet_message_is_cut() {
        let p = pod(serde_json::json!({"containerStatuses": [waiting("main", "ErrImagePull", &"x".repeat(100_000))]}));
        assert!(pending_reason(&p).unwrap().len() < 1100);
    }
}
