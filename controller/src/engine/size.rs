//! The size of what the controller stores: a workflow's status may take
//! what its spec and metadata leave of the object size etcd accepts; a
//! status past that fails the workflow instead of failing every write.

use argo_api::limits::json_size;
use argo_api::workflow::{Phase, WorkflowStatus, compress};

use super::conclude::phase_labels;
use super::io::{Action, Input, Output};

/// What the status may take: what the spec and metadata leave of the
/// object size etcd accepts.
pub(super) fn status_budget(input: &Input) -> usize {
    budget(input.workflow, input.limits)
}

fn budget(wf: &argo_api::Workflow, limits: argo_api::limits::Limits) -> usize {
    let taken = json_size(&wf.spec, usize::MAX).unwrap_or(0) + json_size(&wf.metadata, usize::MAX).unwrap_or(0);
    // The spec here is resolved: what it references is in it, and stored
    // again in the status (which the budget is for). Counted there only.
    let stored = wf.status.as_ref().map_or(0, |s| {
        json_size(&s.stored_templates, usize::MAX).unwrap_or(0)
            + json_size(&s.stored_workflow_template_spec, usize::MAX).unwrap_or(0)
    });
    limits.object_bytes.saturating_sub(taken.saturating_sub(stored))
}

/// The status as it can be stored: as it is, or with its nodes packed
/// into `compressedNodes` when only that fits (upstream does the same);
/// Err(its size unpacked) when neither fits.
pub(super) fn fit(mut status: WorkflowStatus, budget: usize) -> Result<WorkflowStatus, usize> {
    let Some(size) = too_large(&status, budget) else {
        return Ok(status);
    };
    if compress::pack(&mut status).is_ok() && too_large(&status, budget).is_none() {
        return Ok(status);
    }
    Err(size)
}

/// `fit` for a workflow's status outside a reconcile (a retry's).
pub(super) fn fit_default(wf: &argo_api::Workflow, status: WorkflowStatus) -> WorkflowStatus {
    match fit(status.clone(), budget(wf, Default::default())) {
        Ok(s) => s,
        // Stored before in some form: the write says what is wrong.
        Err(_) => status,
    }
}

/// The size of the status as JSON when it is over the limit.
pub(super) fn too_large(status: &WorkflowStatus, limit: usize) -> Option<usize> {
    json_size(status, limit).err()
}

/// A status too large to store: the last stored one is kept, with the
/// workflow failed and its pods stopped.
pub(super) fn status_too_large(input: &Input, mut status: WorkflowStatus, size: usize, budget: usize) -> Output {
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
    // The last stored status fitted, packed or not; if it was never stored
    // (the first write, with what the workflow references), what a
    // finished workflow no longer needs goes.
    let status = fit(status.clone(), budget).unwrap_or_else(|_| {
        status.stored_templates.clear();
        status.stored_workflow_template_spec = None;
        fit(status.clone(), budget).unwrap_or(status)
    });
    Output {
        labels: phase_labels(status.phase),
        status,
        actions,
        requeue_after: None,
    }
}
