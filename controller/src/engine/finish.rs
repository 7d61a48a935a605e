//! The workflow as a whole: starting it, running its entrypoint and exit
//! handler, judging its phase, and what follows completion (events, pod
//! garbage collection, the TTL).

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use argo_api::vars::Scope;
use argo_api::workflow::{NodeStatus, NodeType, Phase, WorkflowCondition, WorkflowStatus};
use argo_api::{duration, labels, validate};
use k8s_openapi::jiff::Timestamp;

use super::execute::{Call, Opts};
use super::{Action, Ctx, Gate, Input, Output};

pub(crate) fn reconcile(input: &Input) -> Output {
    let wf = input.workflow;
    let old = wf.status.clone().unwrap_or_default();
    if old.phase.is_some_and(Phase::is_completed) {
        return after_completion(input, old);
    }
    let problems = validate::workflow(wf);
    if !problems.is_empty() {
        let list: Vec<String> = problems.iter().map(ToString::to_string).collect();
        return super::refuse(Some(&old), format!("invalid workflow: {}", list.join("; ")), input.now);
    }
    let name = wf.metadata.name.as_deref().unwrap_or_default();
    let spec = &wf.spec;
    let mut ctx = Ctx {
        wf,
        name,
        spec,
        templates: spec.templates.iter().map(|t| (t.name.as_str(), t)).collect(),
        pods: input.pods,
        now: input.now,
        create_errors: input.create_errors,
        projects: input.projects,
        limits: input.limits,
        nodes: consistent(old.nodes.clone()),
        actions: vec![],
        requeue: None,
        globals: globals(input),
        gate: Gate::Open,
        active_pods: 0,
        active_children: HashMap::new(),
        resume_at: wf.metadata.annotations.as_ref().and_then(|a| a.get(labels::RESUME)).and_then(|t| t.parse().ok()),
        pod_level: std::cell::OnceCell::new(),
        over_limit: None,
    };
    let all: Vec<NodeStatus> = ctx.nodes.values().cloned().collect();
    for n in &all {
        ctx.count_existing(n);
    }
    let mut status = old.clone();
    if status.phase.is_none() || status.phase == Some(Phase::Pending) {
        status.phase = Some(Phase::Running);
        status.started_at = Some(input.now.into());
        ctx.actions.push(Action::Event {
            warning: false,
            reason: "WorkflowRunning",
            message: "Workflow Running".into(),
        });
    }
    let started = status.started_at.clone().map(|t| t.0).unwrap_or(input.now);
    ctx.gate = gate(&ctx, started);
    if let Some(left) = deadline_in(spec.active_deadline_seconds, started, input.now) {
        ctx.requeue_in(left);
    }

    let opts = Opts {
        display: name.to_owned(),
        ..Opts::default()
    };
    let entry = spec.entrypoint.clone().unwrap_or_default();
    let main = ctx.execute(name, Call::Named(&entry), spec.arguments.as_ref(), &opts);
    let main_node = main.as_ref().and_then(|id| ctx.nodes.get(id)).cloned();
    if let Some(why) = ctx.over_limit.clone() {
        stop_everything(&mut ctx, &mut status, why);
    } else if let Some(main) = main_node.filter(|n| n.phase.is_completed()) {
        conclude(&mut ctx, &mut status, &main, started);
    }
    status.nodes = std::mem::take(&mut ctx.nodes);
    status.progress = Some(progress(&mut status.nodes));
    let mut actions = std::mem::take(&mut ctx.actions);
    node_failure_events(&old.nodes, &status.nodes, &mut actions);
    let mut out = Output {
        status,
        actions,
        requeue_after: ctx.requeue,
        labels: BTreeMap::new(),
    };
    collect_pods(input, &mut out);
    let budget = status_budget(input);
    if let Some(size) = too_large(&out.status, budget) {
        return status_too_large(input, old, size, budget);
    }
    out.labels = phase_labels(out.status.phase);
    out
}

/// The workflow outgrew a limit: every unfinished node fails, every pod
/// stops, and the workflow ends in Error saying which limit.
fn stop_everything(ctx: &mut Ctx, status: &mut WorkflowStatus, why: String) {
    let unfinished: Vec<(String, Option<String>)> = ctx
        .nodes
        .values()
        .filter(|n| !n.phase.is_completed())
        .map(|n| (n.id.clone(), n.pod_name.clone()))
        .collect();
    for (id, pod) in unfinished {
        ctx.set_phase(&id, Phase::Failed, Some(format!("stopped: {why}")));
        if let Some(name) = pod {
            ctx.actions.push(Action::DeletePod { name });
        }
    }
    status.phase = Some(Phase::Error);
    status.message = Some(why.clone());
    status.finished_at = Some(ctx.now.into());
    ctx.actions.push(Action::Event {
        warning: true,
        reason: "WorkflowError",
        message: format!("Workflow error: {why}"),
    });
}

/// What the status may take: what the spec and metadata leave of the
/// object size etcd accepts.
fn status_budget(input: &Input) -> usize {
    let wf = input.workflow;
    let taken = json_size(&wf.spec, usize::MAX).unwrap_or(0) + json_size(&wf.metadata, usize::MAX).unwrap_or(0);
    input.limits.object_bytes.saturating_sub(taken)
}

/// The size of the status as JSON when it is over the limit.
fn too_large(status: &WorkflowStatus, limit: usize) -> Option<usize> {
    json_size(status, limit).err()
}

/// The size of `v` as JSON, or Err(bytes so far) once past `limit`.
fn json_size<T: serde::Serialize>(v: &T, limit: usize) -> Result<usize, usize> {
    struct Count(usize, usize);
    impl std::io::Write for Count {
        fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
            self.0 += b.len();
            if self.0 > self.1 {
                // Stop serializing: the answer is known.
                return Err(std::io::Error::other("over"));
            }
            Ok(b.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let mut count = Count(0, limit);
    match serde_json::to_writer(&mut count, v) {
        Ok(()) => Ok(count.0),
        Err(_) => Err(count.0),
    }
}

/// A status too large to store: the last stored one is kept, with the
/// workflow failed and its pods stopped.
fn status_too_large(input: &Input, mut status: WorkflowStatus, size: usize, budget: usize) -> Output {
    let why = format!(
        "the workflow's status grew past {} KiB, what is left for it of the {} a stored workflow may take (too many nodes or too large parameters)",
        budget / 1024,
        argo_api::limits::bytes(input.limits.object_bytes)
    );
    let mut actions = vec![Action::Event {
        warning: true,
        reason: "WorkflowError",
        message: format!("Workflow error: {why} (at least {size} bytes)"),
    }];
    for n in status.nodes.values_mut().filter(|n| !n.phase.is_completed()) {
        n.phase = Phase::Failed;
        n.message = Some(format!("stopped: {why}"));
        n.finished_at = Some(input.now.into());
        if let Some(pod) = &n.pod_name {
            actions.push(Action::DeletePod { name: pod.clone() });
        }
    }
    status.phase = Some(Phase::Error);
    status.message = Some(why);
    status.finished_at = Some(input.now.into());
    Output {
        labels: phase_labels(status.phase),
        status,
        actions,
        requeue_after: None,
    }
}

/// The stored nodes with every link pointing at a node that exists and
/// every node under its own id. The controller writes nothing else, but the
/// status is input like the rest: a hand-edited one must not send the
/// engine looking for nodes that are not there.
fn consistent(mut nodes: BTreeMap<String, NodeStatus>) -> BTreeMap<String, NodeStatus> {
    let ids: std::collections::HashSet<String> = nodes.keys().cloned().collect();
    for (id, n) in nodes.iter_mut() {
        if n.id != *id {
            n.id = id.clone();
        }
        n.children.retain(|c| ids.contains(c));
        n.outbound_nodes.retain(|c| ids.contains(c));
        if n.boundary_id.as_ref().is_some_and(|b| !ids.contains(b)) {
            n.boundary_id = None;
        }
    }
    nodes
}

impl Ctx<'_> {
    fn count_existing(&mut self, n: &NodeStatus) {
        if n.phase.is_completed() {
            return;
        }
        if n.type_ == NodeType::Pod {
            self.active_pods += 1;
        }
        if matches!(n.type_, NodeType::Pod | NodeType::Steps | NodeType::Dag)
            && let Some(b) = &n.boundary_id
        {
            *self.active_children.entry(b.clone()).or_default() += 1;
        }
    }
}

/// Time left before the workflow's activeDeadlineSeconds, if any is left.
fn deadline_in(seconds: Option<i64>, started: Timestamp, now: Timestamp) -> Option<Duration> {
    let secs = u64::try_from(seconds?).ok()?;
    let deadline = started.checked_add(Duration::from_secs(secs)).ok()?;
    (now < deadline).then(|| Duration::try_from(deadline.duration_since(now)).unwrap_or_default())
}

fn gate(ctx: &Ctx, started: Timestamp) -> Gate {
    let spec = ctx.spec;
    match spec.shutdown.as_deref() {
        Some("Terminate") => return Gate::Shutdown { terminate: true },
        Some("Stop") => return Gate::Shutdown { terminate: false },
        _ => {}
    }
    if let Some(secs) = spec.active_deadline_seconds.and_then(|s| u64::try_from(s).ok()) {
        let deadline = started.checked_add(Duration::from_secs(secs)).unwrap_or(started);
        if ctx.now >= deadline {
            return Gate::Deadline;
        }
    }
    if spec.suspend == Some(true) {
        return Gate::Suspended;
    }
    Gate::Open
}

/// The main node is done: run the exit handler, then settle the phase.
fn conclude(ctx: &mut Ctx, status: &mut WorkflowStatus, main: &NodeStatus, started: Timestamp) {
    let phase = match main.phase {
        Phase::Failed => Phase::Failed,
        Phase::Error => Phase::Error,
        _ => Phase::Succeeded,
    };
    ctx.globals.set("workflow.status", phase.as_str());
    ctx.globals.set("workflow.failures", failures(&ctx.nodes));
    ctx.globals.set("workflow.duration", format!("{:.6}", seconds_between(started, ctx.now)));
    let mut exit_phase = None;
    let terminate = matches!(ctx.gate, Gate::Shutdown { terminate: true });
    if let Some(on_exit) = ctx.spec.on_exit.clone().filter(|_| !terminate) {
        let exit_name = argo_api::names::on_exit_node(ctx.name);
        let opts = Opts {
            on_exit: true,
            hooked: true,
            display: exit_name.clone(),
            ..Opts::default()
        };
        let args = ctx.spec.arguments.clone();
        match ctx.execute(&exit_name, Call::Named(&on_exit), args.as_ref(), &opts) {
            Some(id) if ctx.fulfilled(&id) => exit_phase = ctx.nodes.get(&id).map(|n| (n.phase, n.message.clone())),
            _ => return,
        }
    }
    let shutdown = matches!(ctx.gate, Gate::Shutdown { .. });
    let mut message = if phase.failed_or_error() && shutdown {
        let strategy = if terminate { "Terminate" } else { "Stop" };
        // `kubectl argo stop --message` says why.
        let why = ctx.wf.metadata.annotations.as_ref().and_then(|a| a.get(labels::SHUTDOWN_MESSAGE));
        Some(match why {
            Some(why) => format!("Stopped with strategy '{strategy}': {why}"),
            None => format!("Stopped with strategy '{strategy}'"),
        })
    } else {
        main.message.clone()
    };
    let mut final_phase = phase;
    if let Some((exit, exit_msg)) = exit_phase
        && phase == Phase::Succeeded
        && exit.failed_or_error()
    {
        final_phase = if exit == Phase::Failed {
            Phase::Failed
        } else {
            Phase::Error
        };
        message = exit_msg;
    }
    status.phase = Some(final_phase);
    status.message = if final_phase == Phase::Succeeded {
        None
    } else {
        message.clone()
    };
    status.finished_at = Some(ctx.now.into());
    status.conditions.retain(|c| c.type_ != "Completed");
    status.conditions.push(WorkflowCondition {
        type_: "Completed".into(),
        status: "True".into(),
        message: None,
    });
    let (warning, reason) = match final_phase {
        Phase::Succeeded => (false, "WorkflowSucceeded"),
        Phase::Failed => (true, "WorkflowFailed"),
        _ => (true, "WorkflowError"),
    };
    let text = match &message {
        Some(m) if final_phase != Phase::Succeeded => {
            format!("Workflow {}: {m}", final_phase.as_str().to_lowercase())
        }
        _ => format!("Workflow {}", final_phase.as_str().to_lowercase()),
    };
    ctx.actions.push(Action::Event {
        warning,
        reason,
        message: text,
    });
}

fn seconds_between(a: Timestamp, b: Timestamp) -> f64 {
    b.duration_since(a).as_secs_f64()
}

/// `{{workflow.failures}}`: the failed nodes as upstream lists them.
fn failures(nodes: &BTreeMap<String, NodeStatus>) -> String {
    let mut failed: Vec<&NodeStatus> = nodes
        .values()
        .filter(|n| n.phase.failed_or_error() && !matches!(n.type_, NodeType::StepGroup | NodeType::TaskGroup))
        .collect();
    // The nodes that failed first, and leaves before what contains them.
    failed.sort_by_key(|n| (n.finished_at.as_ref().map(|t| t.0), n.type_ != NodeType::Pod, n.name.clone()));
    let list: Vec<serde_json::Value> = failed
        .into_iter()
        .map(|n| {
            serde_json::json!({
                "displayName": n.display_name,
                "message": n.message.clone().unwrap_or_default(),
                "templateName": n.template_name.clone().unwrap_or_default(),
                "phase": n.phase.as_str(),
                "podName": n.pod_name.clone().unwrap_or_default(),
                "finishedAt": n.finished_at.as_ref().map(|t| t.0.to_string()),
            })
        })
        .collect();
    serde_json::Value::Array(list).to_string()
}

fn globals(input: &Input) -> Scope {
    let wf = input.workflow;
    let spec = &wf.spec;
    let mut s = Scope::new();
    let meta = &wf.metadata;
    s.set("workflow.name", meta.name.clone().unwrap_or_default());
    s.set("workflow.namespace", meta.namespace.clone().unwrap_or_default());
    s.set("workflow.uid", meta.uid.clone().unwrap_or_default());
    s.set("workflow.mainEntrypoint", spec.entrypoint.clone().unwrap_or_default());
    s.set("workflow.serviceAccountName", spec.service_account_name.clone().unwrap_or_default());
    if let Some(p) = spec.priority {
        s.set("workflow.priority", p.to_string());
    }
    if let Some(t) = &meta.creation_timestamp {
        s.set("workflow.creationTimestamp", t.0.to_string());
        s.set("workflow.creationTimestamp.RFC3339", t.0.to_string());
        s.set("workflow.creationTimestamp.s", t.0.as_second().to_string());
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

/// Finished over all Pod nodes, as upstream counts it.
fn progress(nodes: &mut BTreeMap<String, NodeStatus>) -> String {
    let (mut done, mut total) = (0, 0);
    for n in nodes.values_mut().filter(|n| n.type_ == NodeType::Pod) {
        let ok = n.phase == Phase::Succeeded;
        n.progress = Some(if ok { "1/1" } else { "0/1" }.into());
        total += 1;
        done += usize::from(ok);
    }
    format!("{done}/{total}")
}

fn node_failure_events(
    old: &BTreeMap<String, NodeStatus>,
    new: &BTreeMap<String, NodeStatus>,
    actions: &mut Vec<Action>,
) {
    for n in new.values() {
        let was_failed = old.get(&n.id).is_some_and(|o| o.phase.failed_or_error());
        if n.phase.failed_or_error() && !was_failed && !matches!(n.type_, NodeType::StepGroup | NodeType::TaskGroup) {
            let msg = n.message.as_deref().unwrap_or(n.phase.as_str());
            actions.push(Action::Event {
                warning: true,
                reason: "WorkflowNodeFailed",
                message: format!("{} node {}: {msg}", n.phase.as_str(), n.name),
            });
        }
    }
}

pub(crate) fn phase_labels(phase: Option<Phase>) -> BTreeMap<String, String> {
    let mut l = BTreeMap::new();
    if let Some(p) = phase {
        l.insert(labels::PHASE.to_owned(), p.as_str().to_owned());
        l.insert(labels::WORKFLOW_COMPLETED.to_owned(), p.is_completed().to_string());
    }
    l
}

/// A finished workflow: keep its status, clean up pods, apply the TTL.
fn after_completion(input: &Input, status: WorkflowStatus) -> Output {
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
            let wait = Duration::try_from(at.duration_since(input.now)).unwrap_or_default();
            requeue(&mut out, wait);
        }
    }
    out
}

fn requeue(out: &mut Output, d: Duration) {
    let d = d.max(Duration::from_millis(100));
    out.requeue_after = Some(out.requeue_after.map_or(d, |r| r.min(d)));
}

/// What to do with each observed pod whose node has finished: delete it
/// (pod GC), or mark it completed so the controller stops watching it.
fn collect_pods(input: &Input, out: &mut Output) {
    let spec = &input.workflow.spec;
    let gc = spec.pod_gc.as_ref();
    let strategy = gc.and_then(|g| g.strategy.as_deref()).unwrap_or("");
    let delay = gc
        .and_then(|g| g.delete_delay_duration.as_deref())
        .and_then(|d| duration::parse(d).ok())
        .unwrap_or_default();
    let selector = gc.and_then(|g| g.label_selector.as_ref());
    let wf_phase = out.status.phase;
    let wf_done = wf_phase.is_some_and(Phase::is_completed);
    let wf_finished = out.status.finished_at.as_ref().map(|t| t.0);
    let wf_name = input.workflow.metadata.name.as_deref().unwrap_or_default();
    // The name is derived when absent (e.g. pruned by an older CRD schema):
    // a pod must never look ownerless because a field went missing.
    let by_pod: HashMap<String, &NodeStatus> = out
        .status
        .nodes
        .values()
        .filter(|n| n.type_ == NodeType::Pod)
        .map(|n| {
            let pod = n
                .pod_name
                .clone()
                .unwrap_or_else(|| argo_api::names::pod_name(wf_name, &n.name, n.template_name.as_deref()));
            (pod, n)
        })
        .collect();
    let mut actions = Vec::new();
    let mut wait: Option<Duration> = None;
    for (pod_name, pod) in input.pods.iter() {
        let node = by_pod.get(pod_name);
        let node_done = node.is_some_and(|n| n.phase.is_completed());
        if !node_done {
            if wf_done {
                // No node will ever own it: a leftover.
                actions.push(Action::DeletePod { name: pod_name.clone() });
            }
            continue;
        }
        let node = node.expect("checked above");
        let matches = selector.is_none_or(|s| selector_matches(s, pod.metadata.labels.as_ref()));
        let collect_at = match strategy {
            "OnPodCompletion" => node.finished_at.as_ref().map(|t| t.0),
            "OnPodSuccess" if node.phase == Phase::Succeeded => node.finished_at.as_ref().map(|t| t.0),
            "OnWorkflowCompletion" if wf_done => wf_finished,
            "OnWorkflowSuccess" if wf_phase == Some(Phase::Succeeded) => wf_finished,
            _ => None,
        };
        let keep_for_gc = matches
            && match strategy {
                "OnPodCompletion" => true,
                "OnPodSuccess" => node.phase == Phase::Succeeded,
                "OnWorkflowCompletion" => true,
                "OnWorkflowSuccess" => !wf_done || wf_phase == Some(Phase::Succeeded),
                _ => false,
            };
        match collect_at {
            Some(at) if matches => {
                let due = at.checked_add(delay).unwrap_or(at);
                if input.now >= due {
                    actions.push(Action::DeletePod { name: pod_name.clone() });
                } else {
                    let left = Duration::try_from(due.duration_since(input.now)).unwrap_or_default();
                    wait = Some(wait.map_or(left, |w| w.min(left)));
                }
            }
            _ if keep_for_gc => {}
            _ => {
                if pod.metadata.labels.as_ref().and_then(|l| l.get(labels::COMPLETED)).map(String::as_str)
                    != Some("true")
                {
                    actions.push(Action::MarkPodCompleted { name: pod_name.clone() });
                }
            }
        }
    }
    actions.sort_by(|a, b| format!("{a:?}").cmp(&format!("{b:?}")));
    out.actions.extend(actions);
    if let Some(w) = wait {
        requeue(out, w);
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
