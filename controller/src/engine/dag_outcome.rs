//! How a DAG ends: whether its tasks and their exit handlers are done,
//! what a `depends` term asks of a task, which failure stops new tasks
//! under failFast, and the DAG's phase judged on its targets the way
//! upstream does (failures flow down branches through omitted tasks).

use std::collections::{BTreeMap, HashSet, VecDeque};

use argo_api::depends::{Depends, TaskResult};
use argo_api::workflow::{NodeType, Phase};

use super::ctx::Ctx;
use super::dag::Dag;

impl Ctx<'_> {
    /// A failed task whose failure no other task's `depends` asks for and
    /// whose continueOn does not cover.
    pub(super) fn unexpected_failure(&self, dag: &Dag) -> Option<(Phase, String)> {
        for (name, task) in &dag.tasks {
            let Some(phase) = self.nodes.phase(&self.id(&dag.node_name(name))) else {
                continue;
            };
            if !phase.failed_or_error() {
                continue;
            }
            let continues = task.step.continue_on.as_ref().is_some_and(|c| c.covers(phase));
            if !continues && !dag.expected_outcomes.contains(*name) {
                return Some((phase, format!("task '{}' failed", dag.node_name(name))));
            }
        }
        None
    }

    /// Finished, and so is its exit handler if it has one.
    pub(super) fn task_done(&self, dag: &Dag, task: &str) -> bool {
        let tid = self.id(&dag.node_name(task));
        if !self.nodes.fulfilled(&tid) {
            return false;
        }
        let exit = self.id(&argo_api::names::on_exit_node(&dag.node_name(task)));
        let ran = !matches!(self.nodes.phase(&tid), Some(Phase::Omitted | Phase::Skipped));
        match dag.tasks.get(task).and_then(|t| t.step.on_exit.as_ref()) {
            Some(_) if ran => self.nodes.fulfilled(&exit),
            _ => true,
        }
    }

    pub(super) fn task_holds(&self, dag: &Dag, name: &str, result: Option<TaskResult>, widen: bool) -> bool {
        let tid = self.id(&dag.node_name(name));
        let Some(node) = self.nodes.get(&tid) else {
            return false;
        };
        let phase = node.phase;
        let children = || node.children.iter().filter_map(|c| self.nodes.get(c));
        match result {
            None => {
                let continue_on = dag.tasks.get(name).and_then(|t| t.step.continue_on.clone()).unwrap_or_default();
                matches!(phase, Phase::Succeeded | Phase::Skipped) || (widen && continue_on.covers(phase))
            }
            Some(TaskResult::Succeeded) => phase == Phase::Succeeded,
            Some(TaskResult::Failed) => phase == Phase::Failed,
            Some(TaskResult::Errored) => phase == Phase::Error,
            Some(TaskResult::Skipped) => phase == Phase::Skipped,
            Some(TaskResult::Omitted) => phase == Phase::Omitted,
            Some(TaskResult::Daemoned) => false,
            Some(TaskResult::AnySucceeded) => {
                node.type_ == NodeType::TaskGroup && children().any(|c| c.phase == Phase::Succeeded)
            }
            Some(TaskResult::AllFailed) => {
                node.type_ == NodeType::TaskGroup
                    && !node.children.is_empty()
                    && children().all(|c| c.phase == Phase::Failed)
            }
        }
    }

    /// Upstream's assessDAGPhase: walk the tree from the DAG node carrying
    /// each branch's last finished phase; omitted tasks inherit it.
    pub(super) fn assess_dag(&self, dag: &Dag, fail_fast: bool) -> (Phase, Option<String>) {
        let running = dag.tasks.keys().any(|t| {
            let tid = self.id(&dag.node_name(t));
            self.nodes.contains(&tid) && !self.task_done(dag, t)
        });
        let Some(branch) = (!running).then(|| self.branch_phases(dag)).flatten() else {
            return (Phase::Running, None);
        };
        let mut result = (Phase::Succeeded, None);
        for t in &dag.targets {
            match branch.get(t.as_str()) {
                None => {
                    result = (Phase::Running, None);
                    if !fail_fast {
                        break;
                    }
                }
                Some(p) if p.failed_or_error() => {
                    let continues = dag.tasks.get(t.as_str()).and_then(|t| t.step.continue_on.as_ref());
                    if continues.is_some_and(|c| c.covers(*p)) {
                        continue;
                    }
                    result = (*p, Some(format!("task '{}' failed", dag.node_name(t))));
                    if fail_fast {
                        break;
                    }
                }
                Some(_) => {}
            }
        }
        // Under failFast nothing new starts after an unexpected failure, so
        // targets that never started must not keep the DAG running.
        if result.0 == Phase::Running
            && let Some((phase, msg)) = &dag.halted
        {
            return (*phase, Some(msg.clone()));
        }
        result
    }

    /// The phase each target's branch ended in, walking down from the DAG
    /// node; None while a node on the way has not finished.
    fn branch_phases<'d>(&self, dag: &'d Dag) -> Option<BTreeMap<&'d str, Phase>> {
        let target_ids: BTreeMap<String, &str> =
            dag.targets.iter().map(|t| (self.id(&dag.node_name(t)), t.as_str())).collect();
        let mut branch: BTreeMap<&str, Phase> = BTreeMap::new();
        let roots = self.nodes.get(&dag.id).map(|n| n.children.clone()).unwrap_or_default();
        let mut queue: VecDeque<(String, Phase)> = roots.into_iter().map(|c| (c, Phase::Succeeded)).collect();
        let mut seen = HashSet::new();
        while let Some((id, mut phase)) = queue.pop_front() {
            if !seen.insert((id.clone(), phase)) {
                continue;
            }
            let Some(node) = self.nodes.get(&id) else {
                continue;
            };
            if !node.phase.is_completed() {
                return None;
            }
            if node.phase != Phase::Omitted {
                phase = node.phase;
            }
            if let Some(t) = target_ids.get(&id) {
                let prev = branch.entry(t).or_insert(phase);
                if !prev.failed_or_error() {
                    *prev = phase;
                }
            }
            queue.extend(self.next_in_branch(node).into_iter().map(|c| (c, phase)));
        }
        Some(branch)
    }

    /// Where a branch goes on from a node: its children, or for a Retry
    /// node its attempts' children (and its exit handler).
    fn next_in_branch(&self, node: &argo_api::workflow::NodeStatus) -> Vec<String> {
        if node.type_ != NodeType::Retry {
            return node.children.clone();
        }
        node.children
            .iter()
            .rev()
            .filter_map(|c| self.nodes.get(c))
            .flat_map(|c| {
                if self.nodes.is_hook(&c.id) {
                    vec![c.id.clone()]
                } else {
                    c.children.clone()
                }
            })
            .collect()
    }
}

/// Does the condition name `task` with an explicit non-success result?
pub(super) fn mentions_outcome(c: &Depends, task: &str) -> bool {
    match c {
        Depends::Task { name, result } => {
            name == task
                && matches!(
                    result,
                    Some(TaskResult::Failed | TaskResult::Errored | TaskResult::AllFailed | TaskResult::AnySucceeded)
                )
        }
        // `!A` is satisfied exactly when A did not succeed.
        Depends::Not(e) => e.tasks().contains(task),
        Depends::And(terms) | Depends::Or(terms) => terms.iter().any(|t| mentions_outcome(t, task)),
    }
}
