//! The entry of the engine: one pass over a workflow, from what it was
//! (its stored status, its pods, the time) to what it becomes and the
//! actions that bring the cluster in line.

use argo_api::validate;
use argo_api::workflow::{Phase, WorkflowStatus, compress};
use k8s_openapi::jiff::Timestamp;

use super::conclude::{conclude, node_failure_events, phase_labels, progress, stop_everything};
use super::ctx::Ctx;
use super::execute::{Call, Opts};
use super::gc::{after_completion, collect_pods};
use super::io::{Action, Input, Output};
use super::nodes::Nodes;
use super::outputs;
use super::size::{fit, status_budget, status_too_large};
use super::world::{World, deadline_in};

/// Runs the engine once.
pub fn reconcile(input: &Input) -> Output {
    let mut out = pass(input);
    // Says which spec this status answers: whoever waits for the controller
    // to have seen a change (a suspend, a stop) waits for this.
    if let Some(generation) = input.workflow.metadata.generation {
        out.status.observed_generation = Some(generation);
    }
    out
}

/// `out` with its status in a form that can be stored: the paths that
/// keep the old status (a finished workflow, a refused one) read it
/// unpacked and must not write it back so when it was stored packed.
fn stored(input: &Input, mut out: Output) -> Output {
    if let Ok(status) = fit(out.status.clone(), status_budget(input)) {
        out.status = status;
    }
    out
}

fn pass(input: &Input) -> Output {
    let wf = input.workflow;
    let mut old = wf.status.clone().unwrap_or_default();
    if let Err(e) = compress::unpack(&mut old) {
        return refuse(Some(&old), format!("cannot read the stored nodes: {e}"), input.now);
    }
    if old.phase.is_some_and(Phase::is_completed) {
        return stored(input, after_completion(input, old));
    }
    let problems = validate::workflow(wf);
    if !problems.is_empty() {
        let list: Vec<String> = problems.iter().map(ToString::to_string).collect();
        return stored(input, refuse(Some(&old), format!("invalid workflow: {}", list.join("; ")), input.now));
    }
    let mut status = old.clone();
    let mut actions = Vec::new();
    if status.phase.is_none() || status.phase == Some(Phase::Pending) {
        status.phase = Some(Phase::Running);
        status.started_at = Some(input.now.into());
        actions.push(Action::Event {
            warning: false,
            reason: "WorkflowRunning",
            message: "Workflow Running".into(),
        });
    }
    let started = status.started_at.clone().map_or(input.now, |t| t.0);
    let world = World::new(input, started);
    let mut ctx = Ctx::new(&world, Nodes::new(world.name, old.nodes.clone()));
    ctx.actions = actions;
    // Every pod node has outputs now: sort them only when something exports.
    let exports = wf.spec.templates.iter().flat_map(|t| t.outputs.iter().flat_map(|o| &o.parameters));
    if exports.into_iter().any(|p| p.global_name.is_some()) {
        ctx.exported = outputs::exported_by(old.nodes.values());
    }
    run(&mut ctx, &mut status, started);
    status.outputs = outputs::workflow_outputs(&ctx.exported).or(status.outputs);
    status.nodes = ctx.nodes.into_map();
    status.progress = Some(progress(&mut status.nodes));
    node_failure_events(&old.nodes, &status.nodes, &mut ctx.actions);
    let mut out = Output {
        status,
        actions: ctx.actions,
        requeue_after: ctx.requeue,
        ..Output::default()
    };
    collect_pods(input, &mut out);
    let budget = status_budget(input);
    match fit(std::mem::take(&mut out.status), budget) {
        Ok(status) => out.status = status,
        Err(size) => return status_too_large(input, old, size, budget),
    }
    out.labels = phase_labels(out.status.phase);
    out
}

/// The entrypoint, then the end of the workflow once it has finished.
fn run(ctx: &mut Ctx, status: &mut WorkflowStatus, started: Timestamp) {
    let world = ctx.world;
    if let Some(left) = deadline_in(world.spec.active_deadline_seconds, started, world.now) {
        ctx.requeue_in(left);
    }
    let opts = Opts {
        display: world.name.to_owned(),
        ..Opts::default()
    };
    let entry = world.spec.entrypoint.clone().unwrap_or_default();
    let main = ctx.execute(world.name, Call::Named(&entry), world.spec.arguments.as_ref(), &opts);
    let main_node = main.as_ref().and_then(|id| ctx.nodes.get(id)).cloned();
    if let Some(why) = ctx.over_limit.clone() {
        stop_everything(ctx, status, why);
    } else if let Some(main) = main_node.filter(|n| n.phase.is_completed()) {
        conclude(ctx, status, &main, started);
    }
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
    Output {
        labels: phase_labels(status.phase),
        status,
        actions,
        requeue_after: None,
    }
}
