//! DAG templates: tasks run when their `dependencies` or `depends`
//! expression is satisfied, each after the tasks it depends on (a loop in
//! dependency order, not recursion: a chain of thousands is fine). How the
//! DAG's phase is judged is `dag_outcome`.

use std::collections::{BTreeMap, BTreeSet, HashSet};

use argo_api::depends::Depends;
use argo_api::vars::{self, Mode, Scope};
use argo_api::workflow::{DagTask, NodeType, Phase};

use super::ctx::Ctx;
use super::dag_outcome::mentions_outcome;
use super::execute::{Call, Opts, Run};
use super::loops;
use super::nodes::NewNode;
use super::outputs;

pub(super) struct Dag<'t> {
    pub name: String,
    pub id: String,
    pub tasks: BTreeMap<&'t str, &'t DagTask>,
    /// The parsed condition of each task that has dependencies, and whether
    /// it came from `dependencies` (whose bare names honour continueOn).
    pub conditions: BTreeMap<&'t str, (Depends, bool)>,
    /// The tasks each condition names, worked out once.
    pub deps: BTreeMap<&'t str, Vec<String>>,
    /// Tasks some condition asks about by a non-success result: their
    /// failure is expected, not a reason to stop under failFast.
    pub expected_outcomes: BTreeSet<String>,
    pub scope: Scope,
    pub child_opts: Opts,
    /// The tasks whose outcome is the DAG's (`target`, else the leaves).
    pub targets: Vec<String>,
    /// Set once a task failed unexpectedly under failFast.
    pub halted: Option<(Phase, String)>,
}

impl Dag<'_> {
    pub fn node_name(&self, task: &str) -> String {
        format!("{}.{task}", self.name)
    }

    pub fn deps(&self, task: &str) -> &[String] {
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
    pub fn execute_dag(&mut self, run: Run) -> Option<String> {
        let (id, _) = self.ensure_node(&run, NodeType::Dag, Phase::Running);
        if self.nodes.fulfilled(&id) {
            return Some(id);
        }
        let mut dag = match plan(&run, &id) {
            Ok(Some(d)) => d,
            Ok(None) => return Some(id),
            Err(why) => {
                self.set_phase(&id, Phase::Error, Some(why));
                return Some(id);
            }
        };
        let fail_fast = run.tmpl.dag.as_ref().and_then(|d| d.fail_fast).unwrap_or(true);
        if fail_fast {
            dag.halted = self.unexpected_failure(&dag);
        }
        let targets = dag.targets.clone();
        for t in dag.order(&targets) {
            self.dag_task(&dag, &t);
        }
        if fail_fast && dag.halted.is_none() {
            dag.halted = self.unexpected_failure(&dag);
        }
        let (phase, message) = self.assess_dag(&dag, fail_fast);
        if phase == Phase::Running {
            return Some(id);
        }
        let outbound: Vec<String> = targets
            .iter()
            .map(|t| self.id(&dag.node_name(t)))
            .filter(|tid| self.nodes.contains(tid))
            .flat_map(|tid| self.nodes.outbound(&tid))
            .collect();
        if let Some(n) = self.nodes.get_mut(&id) {
            n.outbound_nodes = outbound;
        }
        if phase == Phase::Succeeded {
            let mut scope = dag.scope.clone();
            for t in dag.tasks.keys() {
                scope.extend(&self.node_scope("tasks", t, &self.id(&dag.node_name(t))));
            }
            if let Err(e) = self.set_nested_outputs(&id, run.tmpl, &scope) {
                self.set_phase(&id, Phase::Error, Some(e));
                return Some(id);
            }
        }
        self.set_phase(&id, phase, message);
        Some(id)
    }

    /// One task, its dependencies already handled in this pass.
    fn dag_task(&mut self, dag: &Dag, task_name: &str) {
        let Some(task) = dag.tasks.get(task_name).copied() else {
            return;
        };
        let node_name = dag.node_name(task_name);
        let tid = self.id(&node_name);
        let exists = self.nodes.contains(&tid);
        if !exists && !self.room_for_nodes() {
            return;
        }
        if self.nodes.fulfilled(&tid) {
            if let Some(on_exit) = task.step.on_exit.as_deref() {
                self.task_exit_handler(dag, &tid, on_exit);
            }
            return;
        }
        if !dag.deps(task_name).iter().all(|d| self.task_done(dag, d)) {
            return;
        }
        if !exists {
            if let Some((cond, widen)) = dag.conditions.get(task_name)
                && !cond.eval(&|name, result| self.task_holds(dag, name, result, *widen))
            {
                let omitted = "omitted: depends condition not met".to_owned();
                self.end_task(dag, task_name, Phase::Omitted, omitted);
                return;
            }
            if dag.halted.is_some() {
                return;
            }
        }
        self.start_task(dag, task, &node_name);
    }

    /// Substitutes what the task may use (the DAG's scope, and the tasks it
    /// names and depends on), then runs it, or its loop.
    fn start_task(&mut self, dag: &Dag, task: &DagTask, node_name: &str) {
        let task_name = task.step.name.as_str();
        let mut scope = dag.scope.clone();
        for a in self.referenced_ancestors(dag, task) {
            let aid = self.id(&dag.node_name(&a));
            scope.extend(&self.node_scope("tasks", &a, &aid));
        }
        let mut task = match vars::replace_in(task, &scope, Mode::Partial) {
            Ok(t) => t,
            Err(e) => return self.end_task(dag, task_name, Phase::Error, e.to_string()),
        };
        outputs::drop_absent(&mut task.step, &scope);
        match loops::items(&task.step.looping) {
            Err(e) => self.end_task(dag, task_name, Phase::Error, e),
            Ok(None) => {
                if let Some(cid) = self.run_task(dag, &task, node_name, task_name, &scope) {
                    self.connect(dag, task_name, &cid);
                    if self.nodes.fulfilled(&cid)
                        && let Some(on_exit) = task.step.on_exit.as_deref()
                    {
                        self.task_exit_handler(dag, &cid, on_exit);
                    }
                }
            }
            Ok(Some(items)) if items.is_empty() => {
                self.end_task(dag, task_name, Phase::Skipped, "Skipped, empty params".into())
            }
            Ok(Some(items)) => {
                let mut bare = task;
                bare.step.looping = Default::default();
                self.run_task_group(dag, &bare, node_name, &scope, &items)
            }
        }
    }

    /// A task that ends before it runs (omitted, skipped, or an error),
    /// hung where it belongs in the graph.
    fn end_task(&mut self, dag: &Dag, task_name: &str, phase: Phase, message: String) {
        let opts = Opts {
            display: task_name.to_owned(),
            ..dag.child_opts.clone()
        };
        let template = dag.tasks.get(task_name).and_then(|t| t.step.template.clone());
        let cid = self.ended_node(&dag.node_name(task_name), NodeType::Skipped, template, phase, message, &opts);
        self.connect(dag, task_name, &cid);
    }

    fn run_task_group(
        &mut self,
        dag: &Dag,
        task: &DagTask,
        node_name: &str,
        scope: &Scope,
        items: &[serde_json::Value],
    ) {
        let task_name = task.step.name.as_str();
        let gid = self.id(node_name);
        if !self.nodes.contains(&gid) {
            let group = NewNode {
                display: task_name.to_owned(),
                boundary: Some(dag.id.clone()),
                ..NewNode::new(node_name, NodeType::TaskGroup, Phase::Running)
            };
            self.nodes.ensure(group, self.world.now);
            self.connect(dag, task_name, &gid);
        }
        let mut done = true;
        let mut failed = None;
        for (i, item) in items.iter().enumerate() {
            let child = loops::item_name(node_name, i, item);
            if !self.nodes.contains(&self.id(&child)) && !self.room_for_nodes() {
                done = false;
                break;
            }
            let display = loops::item_name(task_name, i, item);
            let mut item_scope = scope.clone();
            item_scope.extend(&loops::item_scope(item));
            let (cid, finished) = self.run_task_item(dag, task, &child, &display, &item_scope);
            let Some(cid) = cid else {
                done = false;
                continue;
            };
            self.nodes.add_child(&gid, &cid);
            done &= finished;
            if let Some(p) = self.nodes.phase(&cid).filter(|p| p.failed_or_error()) {
                failed = Some(p);
            }
        }
        if done {
            self.set_phase(&gid, failed.unwrap_or(Phase::Succeeded), None);
        }
    }

    /// One item of a task's loop: its node, and whether it (and its exit
    /// handler) finished.
    fn run_task_item(
        &mut self,
        dag: &Dag,
        task: &DagTask,
        child: &str,
        display: &str,
        scope: &Scope,
    ) -> (Option<String>, bool) {
        let expanded = match vars::replace_in(task, scope, Mode::Partial) {
            Ok(t) => t,
            Err(e) => {
                let opts = Opts {
                    display: display.to_owned(),
                    ..dag.child_opts.clone()
                };
                return (Some(self.error_node(child, e.to_string(), &opts)), true);
            }
        };
        let Some(cid) = self.run_task(dag, &expanded, child, display, scope) else {
            return (None, false);
        };
        if !self.nodes.fulfilled(&cid) {
            return (Some(cid), false);
        }
        let exit_done = match expanded.step.on_exit.as_deref() {
            Some(on_exit) => self.task_exit_handler(dag, &cid, on_exit),
            None => true,
        };
        (Some(cid), exit_done)
    }

    /// Evaluates `when`, then runs the task's template.
    fn run_task(&mut self, dag: &Dag, task: &DagTask, node_name: &str, display: &str, scope: &Scope) -> Option<String> {
        let mut local = dag.child_opts.local.clone();
        local.set("tasks.name", task.step.name.as_str());
        let opts = Opts {
            display: display.to_owned(),
            local,
            ..dag.child_opts.clone()
        };
        let tid = self.id(node_name);
        if !self.nodes.contains(&tid) {
            if dag.halted.is_some() {
                return None;
            }
            if let Some(cond) = task.step.when.as_deref() {
                match self.should_run(cond, scope) {
                    Ok(true) => {}
                    Ok(false) => {
                        return Some(self.skipped_node(
                            node_name,
                            task.step.template.clone(),
                            format!("when '{cond}' evaluated false"),
                            &opts,
                        ));
                    }
                    Err(e) => return Some(self.error_node(node_name, e, &opts)),
                }
            }
        }
        let Some(call) = Call::of(&task.step) else {
            return Some(self.error_node(node_name, "task has no template".into(), &opts));
        };
        self.execute(node_name, call, task.step.arguments.as_ref(), &opts)
    }

    fn task_exit_handler(&mut self, dag: &Dag, node_id: &str, template: &str) -> bool {
        let mut opts = dag.child_opts.clone();
        let name = self.nodes.get(node_id).map(|n| n.name.clone()).unwrap_or_default();
        let task = name.rsplit('.').next().unwrap_or_default();
        opts.local.set("tasks.name", task.split('(').next().unwrap_or_default());
        self.run_exit_handler(node_id, template, &opts)
    }

    /// A task node hangs off the DAG node when it has no dependencies, else
    /// off the outbound nodes of each dependency.
    fn connect(&mut self, dag: &Dag, task_name: &str, child: &str) {
        let deps = dag.deps(task_name);
        if deps.is_empty() {
            self.nodes.add_child(&dag.id, child);
            return;
        }
        for d in deps {
            let did = self.id(&dag.node_name(d));
            for out in self.nodes.outbound(&did) {
                self.nodes.add_child(&out, child);
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
        let mut stack: Vec<&str> = dag.deps(&task.step.name).iter().map(String::as_str).collect();
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
}

/// The DAG of a template: its tasks' conditions parsed and its targets
/// known; None when the template has no DAG (it is left running).
fn plan<'t>(run: &Run<'t>, id: &str) -> Result<Option<Dag<'t>>, String> {
    let Some(spec) = run.tmpl.dag.as_ref() else {
        return Ok(None);
    };
    let mut conditions = BTreeMap::new();
    for t in &spec.tasks {
        let parsed = match (&t.depends, Depends::all_of(&t.dependencies)) {
            (Some(d), _) => Depends::parse(d).map(|c| (c, false)).map_err(|e| e.to_string()),
            (None, Some(c)) => Ok((c, true)),
            (None, None) => continue,
        };
        conditions.insert(t.step.name.as_str(), parsed.map_err(|e| format!("task {:?}: {e}", t.step.name))?);
    }
    let deps = conditions
        .iter()
        .map(|(t, (c, _))| (*t, c.tasks().into_iter().map(str::to_owned).collect()))
        .collect();
    let expected_outcomes = spec
        .tasks
        .iter()
        .map(|t| &t.step.name)
        .filter(|t| conditions.values().any(|(c, _)| mentions_outcome(c, t)))
        .cloned()
        .collect();
    let mut dag = Dag {
        name: run.name.to_owned(),
        id: id.to_owned(),
        tasks: spec.tasks.iter().map(|t| (t.step.name.as_str(), t)).collect(),
        conditions,
        deps,
        expected_outcomes,
        scope: run.scope.clone(),
        child_opts: Opts {
            boundary: Some(id.to_owned()),
            boundary_limit: run.tmpl.parallelism,
            on_exit: run.opts.on_exit,
            depth: run.opts.depth + 1,
            ..Opts::default()
        },
        targets: vec![],
        halted: None,
    };
    let target = spec
        .target
        .as_deref()
        .map(|t| vars::replace(t, &dag.scope, Mode::Strict).map_err(|e| format!("dag.target: {e}")))
        .transpose()?;
    dag.targets = match target.as_deref() {
        Some(t) if !t.trim().is_empty() => t.split_whitespace().map(str::to_owned).collect(),
        _ => leaf_tasks(&dag),
    };
    if let Some(unknown) = dag.targets.iter().find(|t| !dag.tasks.contains_key(t.as_str())) {
        return Err(format!("dag.target: task {unknown:?} does not exist"));
    }
    Ok(Some(dag))
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
