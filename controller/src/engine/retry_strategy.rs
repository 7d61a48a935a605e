//! A template's `retryStrategy`: a `Retry` node whose children `name(0)`,
//! `name(1)`, ... are the attempts, with upstream's policies, limits and
//! backoff. (`kubectl argo retry` is `rerun`.)

use std::time::Duration;

use argo_api::duration;
use argo_api::vars::{self, Mode, Scope};
use argo_api::workflow::{NodeFlag, NodeType, Phase, RetryStrategy};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

use super::ctx::Ctx;
use super::execute::{Opts, Run};
use super::world::Start;

/// Messages of failures that a retry may cure (OnTransientError).
const TRANSIENT: [&str; 7] = [
    "pod deleted",
    "was deleted",
    "failed to create pod",
    "Evicted",
    "connection refused",
    "TooManyRequests",
    "leader changed",
];

impl Ctx<'_> {
    /// A Retry node around the template's attempts.
    pub fn execute_retry(&mut self, run: Run, strategy: &RetryStrategy) -> Option<String> {
        let (id, _) = self.ensure_node(&run, NodeType::Retry, Phase::Running);
        let strategy = match vars::replace_in(strategy, &run.scope, Mode::Strict) {
            Ok(s) => s,
            Err(e) => {
                self.set_phase(&id, Phase::Error, Some(format!("retryStrategy: {e}")));
                return Some(id);
            }
        };
        let attempts: Vec<String> = self
            .nodes
            .get(&id)
            .map(|n| n.children.iter().filter(|c| !self.nodes.is_hook(c)).cloned().collect())
            .unwrap_or_default();
        if let Some(last) = attempts.last() {
            if !self.nodes.fulfilled(last) {
                self.run_attempt(&run, attempts.len() - 1);
            }
            if !self.nodes.fulfilled(last) {
                return Some(id);
            }
            if !self.retry_again(&id, last, &attempts, &strategy, run.opts) {
                return Some(id);
            }
        }
        let waiting = matches!(self.world.may_start(run.opts.on_exit), Start::Wait);
        if !attempts.is_empty() && (self.boundary_full(run.opts) || waiting) {
            return Some(id);
        }
        self.run_attempt(&run, attempts.len());
        Some(id)
    }

    /// Attempt `index`: the template itself at node `name(index)`.
    fn run_attempt(&mut self, run: &Run, index: usize) {
        let parent = self.id(run.name);
        let child_name = format!("{}({index})", run.name);
        let mut scope = run.scope.clone();
        scope.set("retries", index.to_string());
        scope.set("node.name", child_name.as_str());
        let display = self.nodes.get(&parent).map(|n| n.display_name.clone()).unwrap_or_default();
        let opts = Opts {
            display: format!("{display}({index})"),
            ..run.opts.clone()
        };
        let attempt = Run {
            name: &child_name,
            tmpl: run.tmpl,
            tname: run.tname.clone(),
            inputs: run.inputs.clone(),
            scope,
            opts: &opts,
        };
        if let Some(child) = self.execute_kind(attempt) {
            self.nodes.add_child(&parent, &child);
            if let Some(n) = self.nodes.get_mut(&child) {
                n.node_flag.get_or_insert_with(NodeFlag::default).retried = Some(true);
            }
        }
    }

    /// Decides what a finished attempt means: finishes the Retry node and
    /// returns false, or returns true when another attempt should start now.
    fn retry_again(&mut self, id: &str, last: &str, attempts: &[String], s: &RetryStrategy, opts: &Opts) -> bool {
        let Some(last_node) = self.nodes.get(last) else {
            return false;
        };
        let (phase, message, outputs) = (last_node.phase, last_node.message.clone(), last_node.outputs.clone());
        let finished_at = last_node.finished_at.clone();
        let finish = |ctx: &mut Self, phase: Phase, message: Option<String>| {
            if let Some(n) = ctx.nodes.get_mut(id) {
                n.outputs = outputs.clone();
            }
            ctx.set_phase(id, phase, message);
        };
        if !phase.failed_or_error() {
            finish(self, phase, None);
            return false;
        }
        if let Some(why) = self.world.must_stop(opts.on_exit) {
            finish(self, phase, Some(message.unwrap_or(why)));
            return false;
        }
        let policy = s.retry_policy.as_deref().unwrap_or("OnFailure");
        let retryable = match policy {
            "Always" => true,
            "OnError" => phase == Phase::Error,
            "OnTransientError" => {
                let m = message.as_deref().unwrap_or_default();
                phase == Phase::Error && TRANSIENT.iter().any(|t| m.contains(t))
            }
            _ => phase == Phase::Failed,
        };
        if !retryable {
            finish(self, phase, message);
            return false;
        }
        if let Some(e) = &s.expression {
            match last_retry_allows(e, last_node_scope(phase, message.as_deref(), &outputs, &self.nodes, last)) {
                Ok(true) => {}
                Ok(false) => {
                    finish(self, phase, Some("retryStrategy.expression evaluated to false".into()));
                    return false;
                }
                Err(e) => {
                    finish(self, Phase::Error, Some(format!("retryStrategy.expression: {e}")));
                    return false;
                }
            }
        }
        let retries_done = attempts.len() as i64 - 1;
        if let Some(limit) = s.limit.as_ref().map(int_of)
            && retries_done >= limit
        {
            finish(self, phase, Some("No more retries left".into()));
            return false;
        }
        let Some(backoff) = &s.backoff else {
            return true;
        };
        let now = self.world.now;
        let first_start = self.nodes.get(&attempts[0]).and_then(|n| n.started_at.clone()).map_or(now, |t| t.0);
        let max_deadline = backoff.max_duration.as_ref().and_then(duration_of).map(|d| add(first_start, d));
        if let Some(deadline) = max_deadline
            && now >= deadline
        {
            finish(self, phase, Some("Max duration limit exceeded".into()));
            return false;
        }
        let base = backoff.duration.as_ref().and_then(duration_of).unwrap_or_default();
        let factor = backoff.factor.as_ref().map(float_of).unwrap_or(1.0).max(1.0);
        let mut wait = base.mul_f64(factor.powi(retries_done.try_into().unwrap_or(i32::MAX)));
        if let Some(cap) = backoff.cap.as_ref().and_then(duration_of) {
            wait = wait.min(cap);
        }
        let ready_at = add(finished_at.map_or(now, |t| t.0), wait);
        if max_deadline.is_some_and(|d| ready_at > d) {
            finish(self, phase, Some("Backoff would exceed max duration limit".into()));
            return false;
        }
        if now < ready_at {
            let left = Duration::try_from(ready_at.duration_since(now)).unwrap_or_default();
            self.requeue_in(left);
            self.nodes.set_message(id, Some(format!("Backoff for {}", duration::format(wait))));
            return false;
        }
        self.nodes.set_message(id, None);
        true
    }
}

/// `lastRetry.*`, as upstream gives a retry expression: the exit code
/// (-1 without one), the phase, the seconds it ran and its message.
fn last_node_scope(
    phase: Phase,
    message: Option<&str>,
    outputs: &Option<argo_api::workflow::Outputs>,
    nodes: &super::nodes::Nodes,
    last: &str,
) -> Scope {
    let node = nodes.get(last);
    let secs = node
        .and_then(|n| Some(n.finished_at.as_ref()?.0.duration_since(n.started_at.as_ref()?.0).as_secs()))
        .unwrap_or(0);
    let mut s = Scope::new();
    s.set("lastRetry.exitCode", outputs.as_ref().and_then(|o| o.exit_code.clone()).unwrap_or("-1".into()))
        .set("lastRetry.status", phase.as_str())
        .set("lastRetry.duration", secs.to_string())
        .set("lastRetry.message", message.unwrap_or_default());
    s
}

fn last_retry_allows(src: &str, scope: Scope) -> Result<bool, String> {
    let v = argo_api::expr::compile(src)?.run(&argo_api::expr::env(&scope))?;
    v.as_bool().ok_or_else(|| format!("expected true or false, got {v}"))
}

fn add(t: k8s_openapi::jiff::Timestamp, d: Duration) -> k8s_openapi::jiff::Timestamp {
    t.checked_add(d).unwrap_or(t)
}

fn int_of(v: &IntOrString) -> i64 {
    match v {
        IntOrString::Int(n) => i64::from(*n),
        IntOrString::String(s) => s.trim().parse().unwrap_or(0),
    }
}

fn float_of(v: &IntOrString) -> f64 {
    match v {
        IntOrString::Int(n) => f64::from(*n),
        IntOrString::String(s) => s.trim().parse().unwrap_or(1.0),
    }
}

/// Backoff durations: a number of seconds or a Go duration.
fn duration_of(v: &IntOrString) -> Option<Duration> {
    match v {
        IntOrString::Int(n) => u64::try_from(*n).ok().map(Duration::from_secs),
        IntOrString::String(s) => duration::parse(s).ok(),
    }
}
