//! How a workflow ends: once its main node has finished, the exit handler
//! runs with `workflow.status` and friends set, then the workflow's phase
//! and message are settled as upstream settles them; or a limit it outgrew
//! stops everything. Also the progress count and node failure events.

use std::collections::BTreeMap;

use argo_api::keys;
use argo_api::vars::Scope;
use argo_api::workflow::{NodeStatus, NodeType, Phase, WorkflowCondition, WorkflowStatus};
use k8s_openapi::jiff::Timestamp;

use super::ctx::Ctx;
use super::execute::{Call, Opts};
use super::io::Action;
use super::world::Gate;

/// The main node is done: run the exit handler, then settle the phase.
pub(super) fn conclude(ctx: &mut Ctx, status: &mut WorkflowStatus, main: &NodeStatus, started: Timestamp) {
    let world = ctx.world;
    let phase = match main.phase {
        Phase::Failed => Phase::Failed,
        Phase::Error => Phase::Error,
        _ => Phase::Succeeded,
    };
    let mut outcome = Scope::new();
    outcome.set("workflow.status", phase.as_str());
    outcome.set("workflow.failures", failures(ctx.nodes.values()));
    outcome.set("workflow.duration", format!("{:.6}", world.now.duration_since(started).as_secs_f64()));
    ctx.concluded = outcome;
    let terminate = matches!(world.gate, Gate::Shutdown { terminate: true });
    let mut exit_phase = None;
    if let Some(on_exit) = world.spec.on_exit.as_deref().filter(|_| !terminate) {
        let exit_name = argo_api::names::on_exit_node(world.name);
        let opts = Opts {
            on_exit: true,
            hooked: true,
            display: exit_name.clone(),
            ..Opts::default()
        };
        match ctx.execute(&exit_name, Call::Named(on_exit), world.spec.arguments.as_ref(), &opts) {
            Some(id) if ctx.nodes.fulfilled(&id) => {
                exit_phase = ctx.nodes.get(&id).map(|n| (n.phase, n.message.clone()))
            }
            _ => return,
        }
    }
    let (final_phase, message) = settle(ctx, phase, main.message.clone(), exit_phase);
    status.phase = Some(final_phase);
    status.message = (final_phase != Phase::Succeeded).then(|| message.clone()).flatten();
    status.finished_at = Some(world.now.into());
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
    let word = final_phase.as_str().to_lowercase();
    let text = match &message {
        Some(m) if final_phase != Phase::Succeeded => format!("Workflow {word}: {m}"),
        _ => format!("Workflow {word}"),
    };
    ctx.actions.push(Action::Event {
        warning,
        reason,
        message: text,
    });
}

/// The workflow's final phase and message, from its main node's, a stop
/// or termination, and a failed exit handler (which fails a success).
fn settle(
    ctx: &Ctx,
    phase: Phase,
    main_message: Option<String>,
    exit: Option<(Phase, Option<String>)>,
) -> (Phase, Option<String>) {
    let world = ctx.world;
    let message = match &world.gate {
        Gate::Shutdown { terminate } if phase.failed_or_error() => {
            let strategy = if *terminate { "Terminate" } else { "Stop" };
            // `kubectl argo stop --message` says why.
            let why = world.wf.metadata.annotations.as_ref().and_then(|a| a.get(keys::SHUTDOWN_MESSAGE));
            Some(match why {
                Some(why) => format!("Stopped with strategy '{strategy}': {why}"),
                None => format!("Stopped with strategy '{strategy}'"),
            })
        }
        _ => main_message,
    };
    match exit {
        Some((exit, exit_msg)) if phase == Phase::Succeeded && exit.failed_or_error() => (
            if exit == Phase::Failed {
                Phase::Failed
            } else {
                Phase::Error
            },
            exit_msg,
        ),
        _ => (phase, message),
    }
}

/// The workflow outgrew a limit: every unfinished node fails, every pod
/// stops, and the workflow ends in Error saying which limit.
pub(super) fn stop_everything(ctx: &mut Ctx, status: &mut WorkflowStatus, why: String) {
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
    status.finished_at = Some(ctx.world.now.into());
    ctx.actions.push(Action::Event {
        warning: true,
        reason: "WorkflowError",
        message: format!("Workflow error: {why}"),
    });
}

/// `{{workflow.failures}}`: the failed nodes as upstream lists them.
fn failures<'n>(nodes: impl Iterator<Item = &'n NodeStatus>) -> String {
    let mut failed: Vec<&NodeStatus> = nodes
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

/// Finished over all Pod nodes, as upstream counts it.
pub(super) fn progress(nodes: &mut BTreeMap<String, NodeStatus>) -> String {
    let (mut done, mut total) = (0, 0);
    for n in nodes.values_mut().filter(|n| n.type_ == NodeType::Pod) {
        let ok = n.phase == Phase::Succeeded;
        n.progress = Some(if ok { "1/1" } else { "0/1" }.into());
        total += 1;
        done += usize::from(ok);
    }
    format!("{done}/{total}")
}

pub(super) fn node_failure_events(
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

pub(super) fn phase_labels(phase: Option<Phase>) -> BTreeMap<String, String> {
    let mut l = BTreeMap::new();
    if let Some(p) = phase {
        l.insert(keys::PHASE.to_owned(), p.as_str().to_owned());
        l.insert(keys::WORKFLOW_COMPLETED.to_owned(), p.is_completed().to_string());
    }
    l
}
