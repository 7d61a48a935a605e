//! CronWorkflow decisions with an injected clock: no test waits a minute.

use std::time::Duration;

use argo_api::kinds::CronWorkflow;
use argo_api::workflow::Phase;
use argo_controller::cron::{MISSED_AFTER, Run, decide, run_name};
use k8s_openapi::jiff::Timestamp;
use serde_json::json;

fn at(s: &str) -> Timestamp {
    s.parse().expect("a timestamp")
}

fn cron(spec: serde_json::Value, status: Option<serde_json::Value>) -> CronWorkflow {
    let mut v = json!({"apiVersion": "argoproj.io/v1alpha1", "kind": "CronWorkflow",
        "metadata": {"name": "nightly", "namespace": "team-a", "uid": "u1", "creationTimestamp": "2026-01-01T00:00:00Z"},
        "spec": spec});
    if let Some(s) = status {
        v["status"] = s;
    }
    argo_api::load::cron_workflow(&v).expect("a CronWorkflow")
}

fn spec(extra: serde_json::Value) -> serde_json::Value {
    let mut s = json!({"schedule": "0 2 * * *", "workflowSpec": {"entrypoint": "main",
        "templates": [{"name": "main", "container": {"image": "alpine"}}]}});
    s.as_object_mut().expect("an object").extend(extra.as_object().expect("an object").clone());
    s
}

fn run(name: &str, phase: Option<Phase>, t: &str) -> Run {
    Run {
        name: name.into(),
        uid: None,
        phase,
        at: at(t),
    }
}

#[test]
fn a_due_run_creates_a_labelled_owned_workflow_and_waits_for_the_next() {
    let c = cron(spec(json!({"workflowMetadata": {"labels": {"team": "a"}}})), None);
    let before = decide(&c, &[], at("2026-01-01T01:59:00Z"));
    assert!(before.create.is_none());
    assert_eq!(before.requeue, Some(Duration::from_secs(60)), "wakes when it is due");
    let plan = decide(&c, &[], at("2026-01-01T02:00:00.5Z"));
    let wf = plan.create.expect("a run");
    assert_eq!(wf["metadata"]["name"], "nightly-1767232800");
    assert_eq!(wf["metadata"]["labels"]["workflows.argoproj.io/cron-workflow"], "nightly");
    assert_eq!(wf["metadata"]["labels"]["team"], "a");
    assert_eq!(wf["metadata"]["annotations"]["workflows.argoproj.io/scheduled-time"], "2026-01-01T02:00:00Z");
    assert_eq!(wf["metadata"]["ownerReferences"][0]["uid"], "u1");
    assert_eq!(wf["spec"]["entrypoint"], "main");
    assert_eq!(plan.status.last_scheduled_time.map(|t| t.0), Some(at("2026-01-01T02:00:00Z")));
    assert_eq!(plan.status.active.len(), 1);
    assert_eq!(plan.requeue, Some(argo_controller::cron::ACTIVE_RECHECK), "counts its run");
}

#[test]
fn a_run_is_made_once_even_if_its_status_was_not_written() {
    let c = cron(spec(json!({})), None);
    let name = run_name(&c, at("2026-01-01T02:00:00Z"));
    let plan = decide(&c, &[run(&name, Some(Phase::Running), "2026-01-01T02:00:01Z")], at("2026-01-01T02:00:05Z"));
    assert!(plan.create.is_none(), "it exists: the crash between create and status is harmless");
    assert_eq!(plan.status.last_scheduled_time.map(|t| t.0), Some(at("2026-01-01T02:00:00Z")));
}

#[test]
fn missed_runs_after_an_outage_follow_starting_deadline_seconds() {
    let status = json!({"lastScheduledTime": "2026-01-01T02:00:00Z"});
    // Down from before 2:00 on the 2nd until 2:30: the run was missed.
    let now = at("2026-01-02T02:30:00Z");
    let skipped = decide(&cron(spec(json!({})), Some(status.clone())), &[], now);
    assert!(skipped.create.is_none(), "late by more than {MISSED_AFTER:?}");
    assert!(skipped.events.iter().any(|e| e.1 == "MissedRun"));
    let caught = decide(&cron(spec(json!({"startingDeadlineSeconds": 3600})), Some(status.clone())), &[], now);
    assert_eq!(caught.create.expect("within the deadline")["metadata"]["name"], "nightly-1767319200");
    // Several missed: only the latest runs, once (as upstream).
    let week = decide(
        &cron(spec(json!({"startingDeadlineSeconds": 86400})), Some(status)),
        &[],
        at("2026-01-08T03:00:00Z"),
    );
    assert_eq!(
        week.create.expect("the latest")["metadata"]["annotations"]["workflows.argoproj.io/scheduled-time"],
        "2026-01-08T02:00:00Z"
    );
}

#[test]
fn concurrency_policies_forbid_and_replace() {
    let busy = [run("nightly-1", Some(Phase::Running), "2026-01-01T00:00:00Z")];
    let now = at("2026-01-01T02:00:01Z");
    let allow = decide(&cron(spec(json!({})), None), &busy, now);
    assert!(allow.create.is_some() && allow.terminate.is_empty());
    let forbid = decide(&cron(spec(json!({"concurrencyPolicy": "Forbid"})), None), &busy, now);
    assert!(forbid.create.is_none());
    assert!(forbid.events.iter().any(|e| e.1 == "RunSkipped"));
    let replace = decide(&cron(spec(json!({"concurrencyPolicy": "Replace"})), None), &busy, now);
    assert!(replace.create.is_some());
    assert_eq!(replace.terminate, ["nightly-1"]);
}

#[test]
fn finished_runs_are_counted_once_and_history_is_pruned() {
    let status = json!({"active": [{"name": "n-1"}, {"name": "n-2"}, {"name": "n-gone"}], "succeeded": 4});
    let runs = [
        run("n-1", Some(Phase::Succeeded), "2026-01-01T00:10:00Z"),
        run("n-2", Some(Phase::Failed), "2026-01-01T00:11:00Z"),
        run("n-0", Some(Phase::Failed), "2026-01-01T00:05:00Z"),
        run("old-ok", Some(Phase::Succeeded), "2025-12-01T00:00:00Z"),
        run("n-3", Some(Phase::Running), "2026-01-01T00:12:00Z"),
    ];
    let c = cron(spec(json!({"successfulJobsHistoryLimit": 1})), Some(status));
    let plan = decide(&c, &runs, at("2026-01-01T01:00:00Z"));
    assert_eq!((plan.status.succeeded, plan.status.failed), (Some(5), Some(1)));
    let active: Vec<_> = plan.status.active.iter().filter_map(|a| a.name.as_deref()).collect();
    assert_eq!(active, ["n-3"]);
    let mut deleted = plan.delete.clone();
    deleted.sort();
    assert_eq!(deleted, ["n-0", "old-ok"], "one success and one failure are kept");
    let again = cron(spec(json!({})), Some(serde_json::to_value(&plan.status).unwrap()));
    assert_eq!(decide(&again, &runs, at("2026-01-01T01:00:05Z")).status.succeeded, Some(5), "not twice");
}

#[test]
fn suspend_when_and_stop_strategy() {
    let now = at("2026-01-01T02:00:01Z");
    assert!(decide(&cron(spec(json!({"suspend": true})), None), &[], now).create.is_none());
    let when = |w: &str| decide(&cron(spec(json!({"when": w})), Some(json!({"failed": 2}))), &[], now);
    assert!(when("{{= cronworkflow.failed < 3 }}").create.is_some());
    assert!(when("{{= cronworkflow.failed >= 3 }}").create.is_none());
    let stop = cron(
        spec(json!({"stopStrategy": {"expression": "cronworkflow.failed >= 2"}})),
        Some(json!({"failed": 2})),
    );
    let plan = decide(&stop, &[], now);
    assert_eq!(plan.status.phase.as_deref(), Some("Stopped"));
    assert!(plan.create.is_none(), "stopped for good");
    assert_eq!(plan.requeue, None);
}

#[test]
fn schedules_time_zones_and_every() {
    let now = at("2026-01-01T01:00:01Z");
    let paris = decide(&cron(spec(json!({"timezone": "Europe/Paris"})), None), &[], now);
    assert!(paris.create.is_some(), "02:00 in Paris is 01:00 UTC");
    let many = spec(json!({"schedule": null, "schedules": ["0 5 * * *", "0 1 * * *"]}));
    assert!(decide(&cron(many, None), &[], now).create.is_some());
    let every = decide(&cron(spec(json!({"schedule": "@every 30s"})), None), &[], at("2026-01-01T00:01:05Z"));
    assert_eq!(
        every.create.expect("due")["metadata"]["annotations"]["workflows.argoproj.io/scheduled-time"],
        "2026-01-01T00:01:00Z"
    );
}

#[test]
fn an_invalid_spec_is_reported_in_the_status_and_runs_nothing() {
    let c = cron(spec(json!({"schedule": "every day", "timezone": "Nowhere/Land"})), None);
    let plan = decide(&c, &[], at("2026-01-02T02:00:00Z"));
    assert!(plan.create.is_none());
    let msg = plan.status.conditions[0].message.clone().unwrap_or_default();
    assert!(msg.contains("spec.schedule") && msg.contains("spec.timezone"), "{msg}");
}
