//! What a CronWorkflow needs now, decided from its spec and status, its
//! workflows and the time: pure, so tests give it any clock.
//!
//! Runs are named `<cron>-<unix seconds of the due time>`, as upstream's,
//! so a run created twice (a crash between creating it and recording it)
//! is the same object and the second create is refused by the apiserver.

use std::time::Duration;

use argo_api::cron::{self, Schedule};
use argo_api::keys;
use argo_api::kinds::{CronWorkflow, CronWorkflowStatus};
use argo_api::workflow::{Phase, WorkflowCondition};
use k8s_openapi::api::core::v1::ObjectReference;
use k8s_openapi::jiff::Timestamp;
use serde_json::{Map, Value, json};

/// A run due longer ago than this, with no `startingDeadlineSeconds`, was
/// missed (the controller was down) and is skipped, as upstream skips it.
pub const MISSED_AFTER: Duration = Duration::from_secs(60);
/// How often a CronWorkflow with running workflows is looked at again,
/// to count and prune them.
pub const ACTIVE_RECHECK: Duration = Duration::from_secs(10);

/// One of the CronWorkflow's workflows, as the cache shows it.
#[derive(Clone, Debug, PartialEq)]
pub struct Run {
    pub name: String,
    pub uid: Option<String>,
    pub phase: Option<Phase>,
    /// When it finished, else when it was created: history order.
    pub at: Timestamp,
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct Plan {
    /// Create this workflow (its body, ready to send).
    pub create: Option<Value>,
    /// Stop these (concurrencyPolicy Replace).
    pub terminate: Vec<String>,
    /// Past the history limits.
    pub delete: Vec<String>,
    pub status: CronWorkflowStatus,
    /// (warning, reason, message)
    pub events: Vec<(bool, &'static str, String)>,
    /// Look again after this long (the next due time, or to count runs).
    pub requeue: Option<Duration>,
}

pub fn decide(cron: &CronWorkflow, runs: &[Run], now: Timestamp) -> Plan {
    let spec = &cron.spec;
    let old = cron.status.clone().unwrap_or_default();
    let mut plan = Plan {
        status: old.clone(),
        ..Plan::default()
    };
    let problems = cron::check(spec);
    if !problems.is_empty() {
        let text: Vec<String> = problems.iter().map(ToString::to_string).collect();
        set_condition(&mut plan.status, "SpecError", Some(text.join("; ")));
        return plan;
    }
    set_condition(&mut plan.status, "SpecError", None);
    count(&old, runs, &mut plan.status);
    prune(spec, runs, &mut plan.delete);
    let tz = cron::zone(spec.timezone.as_deref()).unwrap_or(k8s_openapi::jiff::tz::TimeZone::UTC);
    let schedules: Vec<Schedule> = cron::schedules(spec).into_iter().filter_map(|s| cron::parse(s).ok()).collect();
    let created = cron.metadata.creation_timestamp.as_ref().map_or(now, |t| t.0);
    let last = old.last_scheduled_time.as_ref().map_or(created, |t| t.0);
    let stopped = plan.status.phase.as_deref() == Some("Stopped");
    if !stopped && let Some(p) = stop_expression(cron, &plan.status) {
        match p {
            Ok(true) => {
                plan.status.phase = Some("Stopped".into());
                plan.events.push((false, "CronWorkflowStopped", "its stopStrategy expression is true".into()));
            }
            Ok(false) => {}
            Err(e) => plan.events.push((true, "StopStrategyFailed", e)),
        }
    }
    if plan.status.phase.is_none() {
        plan.status.phase = Some("Running".into());
    }
    let suspended = spec.suspend == Some(true) || plan.status.phase.as_deref() == Some("Stopped");
    let due = schedules.iter().filter_map(|s| s.latest_due(last, now, &tz)).max();
    if let Some(due) = due.filter(|_| !suspended) {
        run_if_wanted(cron, due, now, runs, &mut plan);
    }
    let next = schedules.iter().filter_map(|s| s.next_after(now.max(last), &tz)).min();
    let mut wait = next.map(|t| Duration::try_from(t.duration_since(now)).unwrap_or_default());
    if !plan.status.active.is_empty() || plan.create.is_some() {
        wait = Some(wait.map_or(ACTIVE_RECHECK, |w| w.min(ACTIVE_RECHECK)));
    }
    plan.requeue = if suspended && plan.status.active.is_empty() {
        None
    } else {
        wait
    };
    plan
}

fn run_if_wanted(cron: &CronWorkflow, due: Timestamp, now: Timestamp, runs: &[Run], plan: &mut Plan) {
    let spec = &cron.spec;
    let late = Duration::try_from(now.duration_since(due)).unwrap_or_default();
    let limit = spec.starting_deadline_seconds.map_or(MISSED_AFTER, |s| Duration::from_secs(s.max(0) as u64));
    if late > limit {
        plan.events.push((
            true,
            "MissedRun",
            format!("the run due at {due} was missed by {}s: skipped", late.as_secs()),
        ));
        // Recorded so that it is not reconsidered, as a run that happened.
        plan.status.last_scheduled_time = Some(due.into());
        return;
    }
    if let Some(w) = spec.when.as_deref() {
        match evaluate(cron, &plan.status, cron::strip_braces(w)) {
            Ok(true) => {}
            Ok(false) => return,
            Err(e) => {
                plan.events.push((true, "WhenFailed", format!("spec.when: {e}: the run due at {due} is skipped")));
                return;
            }
        }
    }
    let name = run_name(cron, due);
    if runs.iter().any(|r| r.name == name) {
        plan.status.last_scheduled_time = Some(due.into());
        return;
    }
    let active: Vec<&Run> = runs.iter().filter(|r| !r.phase.is_some_and(Phase::is_completed)).collect();
    match spec.concurrency_policy.as_deref() {
        Some("Forbid") if !active.is_empty() => {
            plan.events.push((
                false,
                "RunSkipped",
                format!("{} is still running (concurrencyPolicy Forbid)", active[0].name),
            ));
            plan.status.last_scheduled_time = Some(due.into());
            return;
        }
        Some("Replace") => plan.terminate = active.iter().map(|r| r.name.clone()).collect(),
        _ => {}
    }
    plan.create = Some(workflow(cron, &name, due));
    plan.status.last_scheduled_time = Some(due.into());
    plan.status.active.push(ObjectReference {
        api_version: Some(argo_api::API_VERSION.into()),
        kind: Some("Workflow".into()),
        name: Some(name.clone()),
        namespace: cron.metadata.namespace.clone(),
        ..Default::default()
    });
    plan.events.push((false, "WorkflowCreated", format!("created {name} for the run due at {due}")));
}

pub fn run_name(cron: &CronWorkflow, due: Timestamp) -> String {
    let base = cron.metadata.name.as_deref().unwrap_or("cron");
    // Names are at most 253 characters; the suffix is at most 11.
    let base = &base[..base.len().min(240)];
    format!("{base}-{}", due.as_second())
}

/// The Workflow a run creates: the CronWorkflow's workflowSpec and
/// workflowMetadata, labelled and owned so it can be found and collected.
fn workflow(cron: &CronWorkflow, name: &str, due: Timestamp) -> Value {
    let spec = &cron.spec;
    let meta = spec.workflow_metadata.clone().unwrap_or_default();
    let mut labels = meta.labels;
    let cron_name = cron.metadata.name.clone().unwrap_or_default();
    labels.insert(keys::CRON_WORKFLOW.into(), cron_name.clone());
    let mut annotations = meta.annotations;
    annotations.insert(keys::SCHEDULED_TIME.into(), due.to_string());
    json!({
        "apiVersion": argo_api::API_VERSION,
        "kind": "Workflow",
        "metadata": {
            "name": name,
            "namespace": cron.metadata.namespace,
            "labels": labels,
            "annotations": annotations,
            "ownerReferences": [{
                "apiVersion": argo_api::API_VERSION, "kind": "CronWorkflow", "name": cron_name,
                "uid": cron.metadata.uid, "controller": true, "blockOwnerDeletion": true,
            }],
        },
        "spec": spec.workflow_spec,
    })
}

/// Workflows that were active and have finished since are counted; the
/// active list becomes what runs now.
fn count(old: &CronWorkflowStatus, runs: &[Run], status: &mut CronWorkflowStatus) {
    for was in &old.active {
        let Some(run) = runs.iter().find(|r| Some(&r.name) == was.name.as_ref()) else {
            continue;
        };
        match run.phase {
            Some(Phase::Succeeded) => *status.succeeded.get_or_insert(0) += 1,
            Some(p) if p.failed_or_error() => *status.failed.get_or_insert(0) += 1,
            _ => {}
        }
    }
    status.active = runs
        .iter()
        .filter(|r| !r.phase.is_some_and(Phase::is_completed))
        .map(|r| ObjectReference {
            api_version: Some(argo_api::API_VERSION.into()),
            kind: Some("Workflow".into()),
            name: Some(r.name.clone()),
            uid: r.uid.clone(),
            ..Default::default()
        })
        .collect();
}

/// Finished workflows past `successfulJobsHistoryLimit` (default 3) and
/// `failedJobsHistoryLimit` (default 1), oldest first.
fn prune(spec: &argo_api::kinds::CronWorkflowSpec, runs: &[Run], delete: &mut Vec<String>) {
    let mut finished: Vec<&Run> = runs.iter().filter(|r| r.phase.is_some_and(Phase::is_completed)).collect();
    finished.sort_by_key(|r| std::cmp::Reverse(r.at));
    let keep_ok = spec.successful_jobs_history_limit.unwrap_or(3).max(0) as usize;
    let keep_failed = spec.failed_jobs_history_limit.unwrap_or(1).max(0) as usize;
    let (ok, failed): (Vec<&Run>, Vec<&Run>) = finished.into_iter().partition(|r| r.phase == Some(Phase::Succeeded));
    delete.extend(ok.iter().skip(keep_ok).chain(failed.iter().skip(keep_failed)).map(|r| r.name.clone()));
}

fn stop_expression(cron: &CronWorkflow, status: &CronWorkflowStatus) -> Option<Result<bool, String>> {
    let e = cron.spec.stop_strategy.as_ref()?.expression.as_deref()?;
    Some(evaluate(cron, status, cron::strip_braces(e)).map_err(|why| format!("spec.stopStrategy.expression: {why}")))
}

/// An expression over `cronworkflow.*`, as upstream's `when` and
/// `stopStrategy` see it.
fn evaluate(cron: &CronWorkflow, status: &CronWorkflowStatus, src: &str) -> Result<bool, String> {
    let meta = &cron.metadata;
    let mut vars = Map::new();
    vars.insert("name".into(), json!(meta.name));
    vars.insert("namespace".into(), json!(meta.namespace));
    vars.insert("labels".into(), json!(meta.labels.clone().unwrap_or_default()));
    vars.insert("annotations".into(), json!(meta.annotations.clone().unwrap_or_default()));
    vars.insert("failed".into(), json!(status.failed.unwrap_or(0)));
    vars.insert("succeeded".into(), json!(status.succeeded.unwrap_or(0)));
    vars.insert(
        "lastScheduledTime".into(),
        status.last_scheduled_time.as_ref().map_or(Value::Null, |t| json!(t.0.to_string())),
    );
    let mut env = Map::new();
    env.insert("cronworkflow".into(), Value::Object(vars));
    let program = argo_api::expr::compile(src)?;
    match program.run(&env)? {
        Value::Bool(b) => Ok(b),
        Value::String(s) if s == "true" || s == "false" => Ok(s == "true"),
        other => Err(format!("{src:?} is {other}, not true or false")),
    }
}

fn set_condition(status: &mut CronWorkflowStatus, kind: &str, message: Option<String>) {
    status.conditions.retain(|c| c.type_ != kind);
    if let Some(message) = message {
        status.conditions.push(WorkflowCondition {
            type_: kind.into(),
            status: "True".into(),
            message: Some(message),
        });
    }
}
