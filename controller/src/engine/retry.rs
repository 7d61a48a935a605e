//! Retry nodes: a `Retry` node whose children `name(0)`, `name(1)`, ...
//! are the attempts, with upstream's policies, limits and backoff.

use std::time::Duration;

use argo_api::duration;
use argo_api::vars::{self, Mode, Scope};
use argo_api::workflow::{NodeFlag, NodeType, Parameter, Phase, RetryStrategy, Template};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

use super::execute::Opts;
use super::nodes::NewNode;
use super::{Ctx, Start};

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
    #[allow(clippy::too_many_arguments)]
    pub fn execute_retry(
        &mut self,
        name: &str,
        tmpl: &Template,
        tname: Option<String>,
        inputs: Vec<Parameter>,
        scope: Scope,
        strategy: &RetryStrategy,
        opts: &Opts,
    ) -> Option<String> {
        let id = self.id(name);
        if !self.nodes.contains_key(&id) {
            let display = Self::display_name(tmpl, &scope, opts);
            self.init(NewNode {
                name,
                display,
                type_: NodeType::Retry,
                phase: Phase::Running,
                boundary: opts.boundary.clone(),
                template: tname.clone(),
                message: None,
                hooked: opts.hooked,
            });
            if let Some(n) = self.nodes.get_mut(&id) {
                n.inputs = (!inputs.is_empty()).then(|| argo_api::workflow::Inputs {
                    parameters: inputs.clone(),
                });
            }
        }
        let strategy = match vars::replace_in(strategy, &scope, Mode::Strict) {
            Ok(s) => s,
            Err(e) => {
                self.set_phase(&id, Phase::Error, Some(format!("retryStrategy: {e}")));
                return Some(id);
            }
        };
        let attempts: Vec<String> = self.nodes[&id].children.iter().filter(|c| !self.is_hook(c)).cloned().collect();
        if let Some(last) = attempts.last() {
            if !self.fulfilled(last) {
                self.run_attempt(name, attempts.len() - 1, tmpl, &tname, &inputs, &scope, opts);
            }
            if !self.fulfilled(last) {
                return Some(id);
            }
            if !self.retry_again(&id, last, &attempts, &strategy, opts) {
                return Some(id);
            }
        }
        if !attempts.is_empty() && (self.boundary_full(opts) || matches!(self.may_start(opts.on_exit), Start::Wait)) {
            return Some(id);
        }
        self.run_attempt(name, attempts.len(), tmpl, &tname, &inputs, &scope, opts);
        Some(id)
    }

    #[allow(clippy::too_many_arguments)]
    fn run_attempt(
        &mut self,
        name: &str,
        index: usize,
        tmpl: &Template,
        tname: &Option<String>,
        inputs: &[Parameter],
        scope: &Scope,
        opts: &Opts,
    ) {
        let parent = self.id(name);
        let child_name = format!("{name}({index})");
        let mut child_scope = scope.clone();
        child_scope.set("retries", index.to_string());
        child_scope.set("node.name", child_name.as_str());
        let child_opts = Opts {
            display: format!("{}({index})", self.nodes[&parent].display_name),
            ..opts.clone()
        };
        if let Some(child) =
            self.execute_kind(&child_name, tmpl, tname.clone(), inputs.to_vec(), child_scope, &child_opts)
        {
            self.add_child(&parent, &child);
            if let Some(n) = self.nodes.get_mut(&child) {
                let flag = n.node_flag.get_or_insert_with(NodeFlag::default);
                flag.retried = Some(true);
            }
        }
    }

    /// Decides what a finished attempt means: finishes the Retry node and
    /// returns false, or returns true when another attempt should start now.
    fn retry_again(&mut self, id: &str, last: &str, attempts: &[String], s: &RetryStrategy, opts: &Opts) -> bool {
        let last_node = &self.nodes[last];
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
        if let Some(why) = self.must_stop(opts.on_exit) {
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
        let first_start = self.nodes[&attempts[0]].started_at.clone().map(|t| t.0).unwrap_or(self.now);
        let max_deadline = backoff.max_duration.as_ref().and_then(duration_of).map(|d| add(first_start, d));
        if let Some(deadline) = max_deadline
            && self.now >= deadline
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
        let ready_at = add(finished_at.map(|t| t.0).unwrap_or(self.now), wait);
        if max_deadline.is_some_and(|d| ready_at > d) {
            finish(self, phase, Some("Backoff would exceed max duration limit".into()));
            return false;
        }
        if self.now < ready_at {
            let left = Duration::try_from(ready_at.duration_since(self.now)).unwrap_or_default();
            self.requeue_in(left);
            self.set_message(id, Some(format!("Backoff for {}", duration::format(wait))));
            return false;
        }
        self.set_message(id, None);
        true
    }
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
