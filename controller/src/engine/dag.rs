//! DAG templates: tasks run when their `dependencies` or `depends`
//! expression is satisfied; the DAG's phase is judged on its target tasks
//! the way upstream does (failures flow down branches through omitted
//! tasks). With `failFast` (the default) no new task starts once a task
//! has failed in a way no other task's `depends` expects.

use std::collections::{BTreeMap, BTreeSet, HashSet, VecDeque};

use argo_api::depends::{Depends, TaskResult};
use argo_api::vars::{self, Mode, Scope};
use argo_api::workflow::{DagTask, NodeType, Parameter, Phase, Template};

use super::execute::{Call, Opts};
use super::nodes::NewNode;
use super::{Ctx, loops};

struct Dag<'t> {
    name: String,
    id: String,
    tasks: BTreeMap<&'t str, &'t DagTask>,
    /// The parsed condition of each task that has dependencies, and whether
    /// it came from `dependencies` (whose bare names honour continueOn).
    conditions: BTreeMap<&'t str, (Depends, bool)>,
    /// The tasks each condition names, worked out once.
    deps: BTreeMap<&'t str, Vec<String>>,
    /// Tasks some condition asks about by a non-success result: their
    /// failure is expected, not a reason to stop under failFast.
    expected_outcomes: BTreeSet<String>,
    scope: Scope,
    child_opts: Opts,
    /// Set once a task failed unexpectedly under failFast.
    halted: Option<(Phase, String)>,
}

impl Dag<'_> {
    fn node_name(&self, task: &str) -> String {
        format!("{}.{task}", self.name)
    }

    fn deps(&self, task: &str) -> &[String] {
        self.deps.get(task).map(Vec::as_slice).unwrap_or_default()
    }

    /// `targets` and everything they depend on, dependencies first. A loop
    /// rather than recursion: a chain of thousands of tasks is fine.
    fn order(&self, targets: &[String]) -> Vec<String> {
        let mut out = Vec::new();
        let mut entered = HashSet::new();
        for t in targets {
            let mut stack = vec![(t.clone(), false)];
            while let Some((task, expanded)) = stack.pop() {
                if expanded {
                    out.push(task);
                    continue;
                }
                if !entered.insert(task.clone()) {
                    continue;
                }
                stack.push((task.clone(), true));
                for d in self.deps(&task).iter().rev() {
                    if !entered.contains(d) {
                        stack.push((d.clone(), false));
                    }
                }
            }
        }
        out
    }
}

impl Ctx<'_> {
    pub fn execute_dag(
        &mut self,
        name: &str,
        tmpl: &Template,
        tname: Option<String>,
        inputs: Vec<Parameter>,
        scope: Scope,
        opts: &Opts,
    ) -> Option<String> {
        let id = self.id(name);
        if !self.nodes.contains_key(&id) {
            let display = Self::display_name(tmpl, &scope, opts);
            self.init(NewNode {
                name,
                display,
                type_: NodeType::Dag,
                phase: Phase::Running,
                boundary: opts.boundary.clone(),
                template: tname,
                message: None,
                hooked: opts.hooked,
            });
            if let Some(n) = self.nodes.get_mut(&id) {
                n.inputs = (!inputs.is_empty()).then_some(argo_api::workflow::Inputs { parameters: inputs });
            }
        }
        if self.fulfilled(&id) {
            return Some(id);
        }
        let Some(spec) = tmpl.dag.as_ref() else {
            return Some(id);
        };
        let mut conditions = BTreeMap::new();
        for t in &spec.tasks {
            let parsed = match (&t.depends, Depends::all_of(&t.dependencies)) {
                (Some(d), _) => Depends::parse(d).map(|c| (c, false)).map_err(|e| e.to_string()),
                (None, Some(c)) => Ok((c, true)),
                (None, None) => continue,
            };
            match parsed {
                Ok(c) => {
                    conditions.insert(t.name.as_str(), c);
                }
                Err(e) => {
                    self.set_phase(&id, Phase::Error, Some(format!("task {:?}: {e}", t.name)));
                    return Some(id);
                }
            }
        }
        let deps = conditions
            .iter()
            .map(|(t, (c, _))| (*t, c.tasks().into_iter().map(str::to_owned).collect()))
            .collect();
        let expected_outcomes = spec
            .tasks
            .iter()
            .map(|t| &t.name)
            .filter(|t| conditions.values().any(|(c, _)| mentions_outcome(c, t)))
            .cloned()
            .collect();
        let mut dag = Dag {
            name: name.to_owned(),
            id: id.clone(),
            tasks: spec.tasks.iter().map(|t| (t.name.as_str(), t)).collect(),
            conditions,
            deps,
            expected_outcomes,
            scope,
            child_opts: Opts {
                boundary: Some(id.clone()),
                boundary_limit: tmpl.parallelism,
                on_exit: opts.on_exit,
                depth: opts.depth + 1,
                ..Opts::default()
            },
            halted: None,
        };
        let target = match spec.target.as_deref().map(|t| vars::replace(t, &dag.scope, Mode::Strict)) {
            Some(Ok(t)) => Some(t),
            Some(Err(e)) => {
                self.set_phase(&id, Phase::Error, Some(format!("dag.target: {e}")));
                return Some(id);
            }
            None => None,
        };
        let targets: Vec<String> = match target.as_deref() {
            Some(t) if !t.trim().is_empty() => t.split_whitespace().map(str::to_owned).collect(),
            _ => leaf_tasks(&dag),
        };
        if let Some(unknown) = targets.iter().find(|t| !dag.tasks.contains_key(t.as_str())) {
            self.set_phase(&id, Phase::Error, Some(format!("dag.target: task {unknown:?} does not exist")));
            return Some(id);
        }
        let fail_fast = spec.fail_fast.unwrap_or(true);
        if fail_fast {
            dag.halted = self.unexpected_failure(&dag);
        }
        for t in dag.order(&targets) {
            self.dag_task(&mut dag, &t);
        }
        if fail_fast && dag.halted.is_none() {
            dag.halted = self.unexpected_failure(&dag);
        }
        let (phase, message) = self.assess_dag(&dag, &targets, fail_fast);
        if phase == Phase::Running {
            return Some(id);
        }
        let outbound: Vec<String> = targets
            .iter()
            .map(|t| self.id(&dag.node_name(t)))
            .filter(|tid| self.nodes.contains_key(tid))
            .flat_map(|tid| self.outbound(&tid))
            .collect();
        if let Some(n) = self.nodes.get_mut(&id) {
            n.outbound_nodes = outbound;
        }
        self.set_phase(&id, phase, message);
        Some(id)
    }

    /// A failed task whose failure no other task's `depends` asks for and
    /// whose continueOn does not cover.
    fn unexpected_failure(&self, dag: &Dag) -> Option<(Phase, String)> {
        for (name, task) in &dag.tasks {
            let Some(phase) = self.phase(&self.id(&dag.node_name(name))) else {
                continue;
            };
            if !phase.failed_or_error() {
                continue;
            }
            let continues = task
                .continue_on
                .as_ref()
                .is_some_and(|c| (phase == Phase::Failed && c.failed()) || (phase == Phase::Error && c.error()));
            if !continues && !dag.expected_outcomes.contains(*name) {
                return Some((phase, format!("task '{}' failed", dag.node_name(name))));
            }
        }
        None
    }

    /// One task, its dependencies already handled in this pass.
    fn dag_task(&mut self, dag: &mut Dag, task_name: &str) {
        let Some(task) = dag.tasks.get(task_name).copied() else {
            return;
        };
        let node_name = dag.node_name(task_name);
        let tid = self.id(&node_name);
        if !self.nodes.contains_key(&tid) && !self.room_for_nodes() {
            return;
        }
        if self.fulfilled(&tid) {
            if let Some(on_exit) = task.on_exit.as_deref() {
                self.task_exit_handler(dag, &tid, on_exit);
            }
            return;
        }
        if !dag.deps(task_name).iter().all(|d| self.task_done(dag, d)) {
            return;
        }
        let exists = self.nodes.contains_key(&tid);
        if !exists {
            if let Some((cond, widen)) = dag.conditions.get(task_name)
                && !cond.eval(&|name, result| self.task_holds(dag, name, result, *widen))
            {
                let opts = Opts {
                    display: task_name.to_owned(),
                    ..dag.child_opts.clone()
                };
                let cid = self.failed_node(
                    &node_name,
                    NodeType::Skipped,
                    None,
                    Phase::Omitted,
                    "omitted: depends condition not met".into(),
                    &opts,
                );
                self.connect(dag, task_name, &cid);
                return;
            }
            if dag.halted.is_some() {
                return;
            }
        }
        let mut scope = dag.scope.clone();
        for a in self.referenced_ancestors(dag, task) {
            let aid = self.id(&dag.node_name(&a));
            scope.extend(&self.node_scope("tasks", &a, &aid));
        }
        let task = match vars::replace_in(task, &scope, Mode::Partial) {
            Ok(t) => t,
            Err(e) => {
                let opts = Opts {
                    display: task_name.to_owned(),
                    ..dag.child_opts.clone()
                };
                let cid = self.failed_node(&node_name, NodeType::Skipped, None, Phase::Error, e.to_string(), &opts);
                self.connect(dag, task_name, &cid);
                return;
            }
        };
        match loops::items(&task.looping) {
            Err(e) => {
                let opts = Opts {
                    display: task_name.to_owned(),
                    ..dag.child_opts.clone()
                };
                let cid = self.failed_node(&node_name, NodeType::Skipped, None, Phase::Error, e, &opts);
                self.connect(dag, task_name, &cid);
            }
            Ok(None) => {
                if let Some(cid) = self.run_task(dag, &task, &node_name, task_name, &scope) {
                    self.connect(dag, task_name, &cid);
                    if self.fulfilled(&cid)
                        && let Some(on_exit) = task.on_exit.as_deref()
                    {
                        self.task_exit_handler(dag, &cid, on_exit);
                    }
                }
            }
            Ok(Some(items)) if items.is_empty() => {
                let opts = Opts {
                    display: task_name.to_owned(),
                    ..dag.child_opts.clone()
                };
                let cid = self.skipped_node(&node_name, "Skipped, empty params".into(), &opts);
                self.connect(dag, task_name, &cid);
            }
            Ok(Some(items)) => {
                let mut bare = task;
                bare.looping = Default::default();
                self.run_task_group(dag, &bare, &node_name, task_name, &scope, &items)
            }
        }
    }

    fn run_task_group(
        &mut self,
        dag: &Dag,
        task: &DagTask,
        node_name: &str,
        task_name: &str,
        scope: &Scope,
        items: &[serde_json::Value],
    ) {
        let gid = self.id(node_name);
        if !self.nodes.contains_key(&gid) {
            self.init(NewNode {
                name: node_name,
                display: task_name.to_owned(),
                type_: NodeType::TaskGroup,
                phase: Phase::Running,
                boundary: Some(dag.id.clone()),
                template: None,
                message: None,
                hooked: false,
            });
            self.connect(dag, task_name, &gid);
        }
        let mut done = true;
        let mut failed = None;
        for (i, item) in items.iter().enumerate() {
            let child = loops::item_name(node_name, i, item);
            if !self.nodes.contains_key(&self.id(&child)) && !self.room_for_nodes() {
                done = false;
                break;
            }
            let mut item_scope = scope.clone();
            item_scope.extend(&loops::item_scope(item));
            let expanded = match vars::replace_in(task, &item_scope, Mode::Partial) {
                Ok(t) => t,
                Err(e) => {
                    let opts = Opts {
                        display: loops::item_name(task_name, i, item),
                        ..dag.child_opts.clone()
                    };
                    let cid = self.failed_node(&child, NodeType::Skipped, None, Phase::Error, e.to_string(), &opts);
                    self.add_child(&gid, &cid);
                    failed = Some(Phase::Error);
                    continue;
                }
            };
            let display = loops::item_name(task_name, i, item);
            let Some(cid) = self.run_task(dag, &expanded, &child, &display, &item_scope) else {
                done = false;
                continue;
            };
            self.add_child(&gid, &cid);
            if !self.fulfilled(&cid) {
                done = false;
                continue;
            }
            if let Some(on_exit) = expanded.on_exit.as_deref()
                && !self.task_exit_handler(dag, &cid, on_exit)
            {
                done = false;
            }
            if let Some(p) = self.phase(&cid).filter(|p| p.failed_or_error()) {
                failed = Some(p);
            }
        }
        if done {
            self.set_phase(&gid, failed.unwrap_or(Phase::Succeeded), None);
        }
    }

    /// Evaluates `when`, then runs the task's template.
    fn run_task(&mut self, dag: &Dag, task: &DagTask, node_name: &str, display: &str, scope: &Scope) -> Option<String> {
        let mut local = dag.child_opts.local.clone();
        local.set("tasks.name", task.name.as_str());
        let opts = Opts {
            display: display.to_owned(),
            local,
            ..dag.child_opts.clone()
        };
        let tid = self.id(node_name);
        if !self.nodes.contains_key(&tid) {
            if dag.halted.is_some() {
                return None;
            }
            if let Some(cond) = task.when.as_deref() {
                match self.should_run(cond, scope) {
                    Ok(true) => {}
                    Ok(false) => {
                        return Some(self.skipped_node(node_name, format!("when '{cond}' evaluated false"), &opts));
                    }
                    Err(e) => {
                        return Some(self.failed_node(node_name, NodeType::Skipped, None, Phase::Error, e, &opts));
                    }
                }
            }
        }
        let call = match (&task.template, &task.inline) {
            (_, Some(inline)) => Call::Inline(inline),
            (Some(t), None) => Call::Named(t),
            (None, None) => {
                return Some(self.failed_node(
                    node_name,
                    NodeType::Skipped,
                    None,
                    Phase::Error,
                    "task has no template".into(),
                    &opts,
                ));
            }
        };
        self.execute(node_name, call, task.arguments.as_ref(), &opts)
    }

    fn task_exit_handler(&mut self, dag: &Dag, node_id: &str, template: &str) -> bool {
        let mut opts = dag.child_opts.clone();
        let task = self.nodes[node_id].name.rsplit('.').next().unwrap_or_default().to_owned();
        opts.local.set("tasks.name", task.split('(').next().unwrap_or_default());
        self.run_exit_handler(node_id, template, &opts)
    }

    /// A task node hangs off the DAG node when it has no dependencies, else
    /// off the outbound nodes of each dependency.
    fn connect(&mut self, dag: &Dag, task_name: &str, child: &str) {
        let deps = dag.deps(task_name);
        if deps.is_empty() {
            let dag_id = dag.id.clone();
            self.add_child(&dag_id, child);
            return;
        }
        for d in deps {
            let did = self.id(&dag.node_name(d));
            for out in self.outbound(&did) {
                self.add_child(&out, child);
            }
        }
    }

    /// Finished, and so is its exit handler if it has one.
    fn task_done(&self, dag: &Dag, task: &str) -> bool {
        let tid = self.id(&dag.node_name(task));
        if !self.fulfilled(&tid) {
            return false;
        }
        let exit = self.id(&argo_api::names::on_exit_node(&dag.node_name(task)));
        match dag.tasks.get(task).and_then(|t| t.on_exit.as_ref()) {
            Some(_) if self.phase(&tid) != Some(Phase::Omitted) && self.phase(&tid) != Some(Phase::Skipped) => {
                self.fulfilled(&exit)
            }
            _ => true,
        }
    }

    fn task_holds(&self, dag: &Dag, name: &str, result: Option<TaskResult>, widen: bool) -> bool {
        let tid = self.id(&dag.node_name(name));
        let Some(node) = self.nodes.get(&tid) else {
            return false;
        };
        let phase = node.phase;
        let children = || node.children.iter().filter_map(|c| self.nodes.get(c));
        match result {
            None => {
                let continue_on = dag.tasks.get(name).and_then(|t| t.continue_on.clone()).unwrap_or_default();
                matches!(phase, Phase::Succeeded | Phase::Skipped)
                    || (widen && phase == Phase::Failed && continue_on.failed())
                    || (widen && phase == Phase::Error && continue_on.error())
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

    /// The tasks `task` names in `{{tasks.X...}}` that it transitively
    /// depends on (the only ones whose values it may use). Only tasks with
    /// such references pay for the walk.
    fn referenced_ancestors(&self, dag: &Dag, task: &DagTask) -> BTreeSet<String> {
        let mut wanted = BTreeSet::new();
        if let Ok(v) = serde_json::to_value(task) {
            collect_task_refs(&v, &mut wanted);
        }
        wanted.retain(|w| dag.tasks.contains_key(w.as_str()));
        let mut out = BTreeSet::new();
        if wanted.is_empty() {
            return out;
        }
        let mut seen = HashSet::new();
        let mut stack: Vec<&str> = dag.deps(&task.name).iter().map(String::as_str).collect();
        while let Some(t) = stack.pop() {
            if !seen.insert(t) {
                continue;
            }
            if wanted.contains(t) {
                out.insert(t.to_owned());
                if out.len() == wanted.len() {
                    break;
                }
            }
            stack.extend(dag.deps(t).iter().map(String::as_str));
        }
        out
    }

    /// Upstream's assessDAGPhase: walk the tree from the DAG node carrying
    /// each branch's last finished phase; omitted tasks inherit it.
    fn assess_dag(&self, dag: &Dag, targets: &[String], fail_fast: bool) -> (Phase, Option<String>) {
        let running = dag.tasks.keys().any(|t| {
            let tid = self.id(&dag.node_name(t));
            self.nodes.contains_key(&tid) && !self.task_done(dag, t)
        });
        if running {
            return (Phase::Running, None);
        }
        let target_ids: BTreeMap<String, &str> =
            targets.iter().map(|t| (self.id(&dag.node_name(t)), t.as_str())).collect();
        let mut branch: BTreeMap<&str, Phase> = BTreeMap::new();
        let mut queue: VecDeque<(String, Phase)> =
            self.nodes[&dag.id].children.iter().map(|c| (c.clone(), Phase::Succeeded)).collect();
        let mut seen = HashSet::new();
        while let Some((id, mut phase)) = queue.pop_front() {
            if !seen.insert((id.clone(), phase)) {
                continue;
            }
            let Some(node) = self.nodes.get(&id) else {
                continue;
            };
            if !node.phase.is_completed() {
                return (Phase::Running, None);
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
            let next: Vec<String> = if node.type_ == NodeType::Retry {
                node.children
                    .iter()
                    .rev()
                    .filter_map(|c| self.nodes.get(c))
                    .flat_map(|c| {
                        if self.is_hook(&c.id) {
                            vec![c.id.clone()]
                        } else {
                            c.children.clone()
                        }
                    })
                    .collect()
            } else {
                node.children.clone()
            };
            queue.extend(next.into_iter().map(|c| (c, phase)));
        }
        let mut result = (Phase::Succeeded, None);
        for t in targets {
            match branch.get(t.as_str()) {
                None => {
                    result = (Phase::Running, None);
                    if !fail_fast {
                        break;
                    }
                }
                Some(p) if p.failed_or_error() => {
                    let continues = dag
                        .tasks
                        .get(t.as_str())
                        .and_then(|t| t.continue_on.as_ref())
                        .is_some_and(|c| (*p == Phase::Failed && c.failed()) || (*p == Phase::Error && c.error()));
                    if continues {
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
}

/// The X of every `{{tasks.X...}}` in the strings of `v`.
fn collect_task_refs(v: &serde_json::Value, out: &mut BTreeSet<String>) {
    match v {
        serde_json::Value::String(s) if s.contains("{{") => {
            for tag in vars::tags(s).unwrap_or_default() {
                if let Some(name) = tag.strip_prefix("tasks.").and_then(|rest| rest.split('.').next()) {
                    out.insert(name.to_owned());
                }
            }
        }
        serde_json::Value::Array(items) => items.iter().for_each(|i| collect_task_refs(i, out)),
        serde_json::Value::Object(m) => m.values().for_each(|i| collect_task_refs(i, out)),
        _ => {}
    }
}

/// Tasks no other task depends on.
fn leaf_tasks(dag: &Dag) -> Vec<String> {
    let used: BTreeSet<&str> = dag.tasks.keys().flat_map(|t| dag.deps(t)).map(String::as_str).collect();
    dag.tasks.keys().filter(|t| !used.contains(**t)).map(|t| t.to_string()).collect()
}

/// Does the condition name `task` with an explicit non-success result?
fn mentions_outcome(c: &Depends, task: &str) -> bool {
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
