//! Pod nodes: rendering the pod (decided against the project first),
//! creating it once, and following it to its outcome; a deadline or a
//! shutdown stops it.

use std::time::Duration;

use argo_api::vars::{self, Mode};
use argo_api::workflow::{NodeType, Phase, Template};
use argo_api::{duration, names};
use k8s_openapi::api::core::v1::{ContainerStatus, Pod};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use k8s_openapi::jiff::Timestamp;

use super::ctx::Ctx;
use super::execute::{Opts, Run};
use super::io::Action;
use super::outputs;
use super::waiting::{pending_reason, pull_failure};

/// How long a node may wait for the pod it created to be observed before
/// the pod is considered lost (it is re-created meanwhile, idempotently).
const POD_APPEAR_GRACE: Duration = Duration::from_secs(60);
/// A template's activeDeadlineSeconds is in the pod's spec: the kubelet
/// fails the pod and keeps it, with its logs. Deleting it is the backstop
/// for a node that does not (kwok, a kubelet gone), after this grace.
const POD_DEADLINE_GRACE: Duration = Duration::from_secs(60);

impl Ctx<'_> {
    pub fn execute_pod(&mut self, mut run: Run) -> Option<String> {
        let world = self.world;
        let id = self.id(run.name);
        let pod_name = names::pod_name(world.name, run.name, run.tname.as_deref());
        run.scope.set("pod.name", pod_name.as_str());
        let exists = self.nodes.contains(&id);
        if exists && self.nodes.fulfilled(&id) {
            return Some(id);
        }
        let adopted = world.pods.contains_key(&pod_name);
        if !exists && !adopted && world.spec.parallelism.is_some_and(|limit| self.nodes.active_pods() >= limit) {
            return None;
        }
        let refuse = |ctx: &mut Self, run: &Run, why: String| {
            ctx.ended_node(run.name, NodeType::Pod, run.tname.clone(), Phase::Error, why, run.opts)
        };
        let rendered = match vars::replace_in(run.tmpl, &run.scope, Mode::Strict) {
            Ok(t) => t,
            Err(e) => return Some(refuse(self, &run, e.to_string())),
        };
        if !exists {
            let opts = run.opts;
            let pod =
                match self.pod_to_create(run.name, &id, &pod_name, &rendered, run.tname.as_deref(), &opts.boundary) {
                    Ok(p) => p,
                    Err(e) => return Some(refuse(self, &run, e)),
                };
            let as_rendered = Run { tmpl: &rendered, ..run };
            self.ensure_node(&as_rendered, NodeType::Pod, Phase::Pending);
            if let Some(n) = self.nodes.get_mut(&id) {
                n.pod_name = Some(pod_name.clone());
            }
            if !adopted {
                self.actions.push(Action::CreatePod(Box::new(pod)));
                return Some(id);
            }
            self.observe_pod(&id, &pod_name, &rendered, as_rendered.opts);
            return Some(id);
        }
        self.observe_pod(&id, &pod_name, &rendered, run.opts);
        Some(id)
    }

    /// Brings a Pod node up to date with its pod, and stops the pod when
    /// the workflow or the template says so.
    fn observe_pod(&mut self, id: &str, pod_name: &str, tmpl: &Template, opts: &Opts) {
        if let Some(why) = self.world.must_stop(opts.on_exit) {
            self.kill(id, pod_name, Phase::Failed, why);
            return;
        }
        let world = self.world;
        let Some(pod) = world.pods.get(pod_name) else {
            self.pod_missing(id, pod_name, tmpl, opts);
            return;
        };
        self.update_from_pod(id, pod, tmpl);
        if self.nodes.fulfilled(id) {
            return;
        }
        let started = pod
            .status
            .as_ref()
            .and_then(|s| s.start_time.clone())
            .map(|t| t.0)
            .or_else(|| self.nodes.get(id).and_then(|n| n.started_at.clone()).map(|t| t.0))
            .unwrap_or(world.now);
        let created = self.nodes.get(id).and_then(|n| n.started_at.clone()).map_or(world.now, |t| t.0);
        if let Some(ads) = tmpl.active_deadline_seconds.as_ref().and_then(seconds)
            && self.past(started, ads.saturating_add(POD_DEADLINE_GRACE))
        {
            self.kill(
                id,
                pod_name,
                Phase::Failed,
                "Pod was active on the node longer than the specified deadline".into(),
            );
            return;
        }
        if let Some(t) = tmpl.timeout.as_deref().and_then(|t| duration::parse(t).ok())
            && self.past(created, t)
        {
            self.kill(id, pod_name, Phase::Failed, format!("Step exceeded its timeout of {}", duration::format(t)));
            return;
        }
        self.give_up_pulling(id, pod_name, pod, created);
    }

    /// A pod whose image cannot be pulled fails its node after the
    /// controller's image pull timeout (at once when waiting cannot help),
    /// rather than waiting for the workflow's deadline.
    fn give_up_pulling(&mut self, id: &str, pod_name: &str, pod: &Pod, created: Timestamp) {
        let Some(timeout) = self.world.image_pull_timeout else {
            return;
        };
        let Some(failure) = pull_failure(pod) else { return };
        if failure.hopeless || self.past(failure.since.unwrap_or(created), timeout) {
            let why = if failure.hopeless {
                "it cannot be pulled".to_owned()
            } else {
                format!("not pulled within the image pull timeout of {}", duration::format(timeout))
            };
            self.kill(id, pod_name, Phase::Error, format!("{}; {why}", failure.message));
        }
    }

    fn kill(&mut self, id: &str, pod_name: &str, phase: Phase, why: String) {
        self.set_phase(id, phase, Some(why));
        // Even when the watch has not shown the pod yet: it may exist.
        self.actions.push(Action::DeletePod {
            name: pod_name.to_owned(),
        });
    }

    fn pod_missing(&mut self, id: &str, pod_name: &str, tmpl: &Template, opts: &Opts) {
        let failure = self.world.create_errors.get(pod_name).cloned();
        if let Some(e) = failure.as_ref().filter(|e| e.permanent) {
            self.set_phase(id, Phase::Error, Some(format!("failed to create pod {pod_name}: {}", e.message)));
            return;
        }
        let Some(node) = self.nodes.get(id) else { return };
        let now = self.world.now;
        let created = node.started_at.clone().map_or(now, |t| t.0);
        let young = now.duration_since(created) < POD_APPEAR_GRACE.try_into().unwrap_or_default();
        let (pending, name, tname) = (node.phase == Phase::Pending, node.name.clone(), node.template_name.clone());
        // A pod never seen on a node may never have been created (a create
        // that timed out, then a controller restart that forgot it, then a
        // first look only minutes later on a busy cluster): creating it is
        // still right, however late. A pod seen scheduled and then gone
        // was deleted.
        let never_seen = pending && node.host_node_name.is_none();
        let recreate = pending && (young || (never_seen && failure.is_none()));
        match (recreate, failure) {
            (true, failure) => {
                // Created but not yet seen (watch lag, a crash before the
                // create, a passing apiserver error): creating again is
                // idempotent, the name is fixed.
                // Decided again: the projects may have changed since.
                match self.pod_to_create(&name, id, pod_name, tmpl, tname.as_deref(), &opts.boundary) {
                    Ok(pod) => self.actions.push(Action::CreatePod(Box::new(pod))),
                    Err(e) => {
                        self.set_phase(id, Phase::Error, Some(e));
                        return;
                    }
                }
                if let Some(e) = failure {
                    self.nodes.set_message(id, Some(format!("waiting to create pod: {}", e.message)));
                }
                self.requeue_in(Duration::from_secs(5));
            }
            (false, Some(e)) => {
                self.set_phase(id, Phase::Error, Some(format!("failed to create pod {pod_name}: {}", e.message)));
            }
            (false, None) => {
                self.set_phase(id, Phase::Error, Some(format!("pod {pod_name} was deleted before it finished")));
            }
        }
    }

    fn update_from_pod(&mut self, id: &str, pod: &Pod, tmpl: &Template) {
        let now = self.world.now;
        let status = pod.status.clone().unwrap_or_default();
        let main = status.container_statuses.iter().flatten().find(|c| c.name == "main");
        let terminated = main.and_then(|c| c.state.as_ref()).and_then(|s| s.terminated.as_ref());
        let finished_at = terminated.and_then(|t| t.finished_at.clone());
        let reported = terminated.map(|t| {
            let wrapped = argo_api::executor::is_wrapped(pod);
            let declared = tmpl.outputs.as_ref().map(|o| o.parameters.as_slice()).unwrap_or_default();
            outputs::reported(t.message.as_deref().filter(|_| wrapped), declared, Some(t.exit_code.to_string()))
        });
        let (mut phase, mut message) = match status.phase.as_deref() {
            Some("Running") => (Phase::Running, None),
            Some("Succeeded") => (Phase::Succeeded, None),
            Some("Failed") => failed_reason(pod),
            _ => (Phase::Pending, pending_reason(pod)),
        };
        if let Some(n) = self.nodes.get_mut(id) {
            n.host_node_name = pod.spec.as_ref().and_then(|s| s.node_name.clone()).or(n.host_node_name.take());
            n.pod_ip = status.pod_ip.clone().or(n.pod_ip.take());
            if let Some(r) = &reported {
                n.outputs = Some(r.outputs.clone());
            }
            if phase.is_completed() {
                n.finished_at = finished_at.or(Some(now.into()));
            }
        }
        if let Some(r) = reported {
            self.export(&r.outputs.parameters);
            match (r.problem, phase) {
                (Some(p), Phase::Succeeded) => (phase, message) = (Phase::Error, Some(p)),
                (Some(p), _) => message = Some(message.map_or(p.clone(), |m| format!("{m}; {p}"))),
                (None, _) => message = message.or(r.note),
            }
        }
        let ran = matches!(phase, Phase::Running | Phase::Succeeded);
        self.set_phase(id, phase, message.clone());
        if ran && message.is_none() {
            // A pending reason (ContainerCreating...) no longer holds.
            self.nodes.set_message(id, None);
        }
    }
}

/// activeDeadlineSeconds of a template, once substituted.
fn seconds(v: &IntOrString) -> Option<Duration> {
    match v {
        IntOrString::Int(n) => u64::try_from(*n).ok().map(Duration::from_secs),
        IntOrString::String(s) => s.trim().parse::<u64>().ok().map(Duration::from_secs),
    }
}

/// Phase and message of a Failed pod, preferring (as upstream does) the
/// pod's own message, then init containers, the main container, sidecars.
fn failed_reason(pod: &Pod) -> (Phase, Option<String>) {
    let status = pod.status.clone().unwrap_or_default();
    if let Some(m) = status.message.filter(|m| !m.is_empty()) {
        return (Phase::Failed, Some(m));
    }
    let describe = |c: &ContainerStatus| -> Option<String> {
        let t = c.state.as_ref()?.terminated.as_ref()?;
        if t.exit_code == 0 {
            return None;
        }
        let mut msg = format!("{} (exit code {})", t.reason.as_deref().unwrap_or("Error"), t.exit_code);
        if let Some(m) = t.message.as_deref().filter(|m| !m.is_empty()) {
            msg = format!("{msg}: {}", m.trim_end());
        }
        Some(format!("{}: {msg}", c.name))
    };
    // Native sidecars (restartPolicy Always) are stopped by the kubelet
    // once main ends: their exit is no init container failure.
    let sidecars: Vec<&str> = pod
        .spec
        .iter()
        .flat_map(|s| s.init_containers.iter().flatten())
        .filter(|c| c.restart_policy.as_deref() == Some("Always"))
        .map(|c| c.name.as_str())
        .collect();
    let (sidecar_statuses, init): (Vec<&ContainerStatus>, Vec<&ContainerStatus>) =
        status.init_container_statuses.iter().flatten().partition(|c| sidecars.contains(&c.name.as_str()));
    for c in init {
        if let Some(m) = describe(c) {
            return (Phase::Error, Some(m));
        }
    }
    let containers = status.container_statuses.unwrap_or_default();
    for c in containers.iter().filter(|c| c.name == "main") {
        if let Some(w) = c.state.as_ref().and_then(|s| s.waiting.as_ref()) {
            return (
                Phase::Error,
                Some(format!(
                    "Pod failed before main container starts due to {}: {}",
                    w.reason.clone().unwrap_or_default(),
                    w.message.clone().unwrap_or_default()
                )),
            );
        }
        if let Some(m) = describe(c) {
            return (Phase::Failed, Some(m));
        }
    }
    for c in containers.iter().filter(|c| c.name != "main").chain(sidecar_statuses) {
        let code = c.state.as_ref().and_then(|s| s.terminated.as_ref()).map(|t| t.exit_code);
        if !matches!(code, Some(137 | 143))
            && let Some(m) = describe(c)
        {
            return (Phase::Failed, Some(m));
        }
    }
    (Phase::Failed, Some("pod failed: main container did not complete successfully".into()))
}

#[cfg(test)]
mod tests {
    use k8s_openapi::api::core::v1::Pod;

    use super::{Phase, failed_reason};

    fn pod(statuses: serde_json::Value) -> Pod {
        serde_json::from_value(serde_json::json!({
            "spec": {
                "containers": [{"name": "main"}],
                "initContainers": [{"name": "init"}, {"name": "proxy", "restartPolicy": "Always"}]
            },
            "status": statuses
        }))
        .expect("a pod")
    }

    fn ended(name: &str, code: i32) -> serde_json::Value {
        serde_json::json!({"name": name, "image": "x", "imageID": "", "ready": false, "restartCount": 0,
            "state": {"terminated": {"exitCode": code, "reason": if code == 0 { "Completed" } else { "Error" }}}})
    }

    #[test]
    fn a_stopped_native_sidecar_is_not_a_failed_init_container() {
        let p = pod(serde_json::json!({
            "phase": "Failed",
            "initContainerStatuses": [ended("init", 0), ended("proxy", 143)],
            "containerStatuses": [ended("main", 2)]
        }));
        assert_eq!(failed_reason(&p), (Phase::Failed, Some("main: Error (exit code 2)".into())));
    }

    #[test]
    fn a_failed_init_container_errors_the_node() {
        let p = pod(serde_json::json!({
            "phase": "Failed",
            "initContainerStatuses": [ended("init", 1)],
            "containerStatuses": []
        }));
        assert_eq!(failed_reason(&p), (Phase::Error, Some("init: Error (exit code 1)".into())));
    }
}
