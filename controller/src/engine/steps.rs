//! Steps templates: the outer list runs in sequence, each inner list (a
//! step group) in parallel. Node layout follows upstream: a Steps node,
//! one StepGroup node `name[i]` per group, steps `name[i].step`.

use argo_api::vars::{self, Mode, Scope};
use argo_api::workflow::{NodeType, Phase, WorkflowStep};

use super::ctx::Ctx;
use super::execute::{Call, Opts, Run};
use super::loops;
use super::nodes::NewNode;
use super::outputs;
use super::world::Start;

/// A step after loop expansion: the node to run and how.
struct Child {
    name: String,
    display: String,
    step: WorkflowStep,
    item: Option<Scope>,
}

/// One step group being run.
struct Group<'g> {
    name: String,
    id: String,
    steps: &'g [WorkflowStep],
    /// What the children may use: the template's scope and the earlier
    /// groups' `steps.*` variables.
    scope: &'g Scope,
    opts: &'g Opts,
    fail_fast: bool,
}

impl Ctx<'_> {
    pub fn execute_steps(&mut self, run: Run) -> Option<String> {
        let (id, _) = self.ensure_node(&run, NodeType::Steps, Phase::Running);
        if self.nodes.fulfilled(&id) {
            return Some(id);
        }
        let child_opts = Opts {
            boundary: Some(id.clone()),
            boundary_limit: run.tmpl.parallelism,
            on_exit: run.opts.on_exit,
            depth: run.opts.depth + 1,
            ..Opts::default()
        };
        let mut scope = run.scope.clone();
        let mut last_group: Option<String> = None;
        for (i, steps) in run.tmpl.steps.iter().flatten().enumerate() {
            let name = format!("{}[{i}]", run.name);
            let Some(sg_id) = self.ensure_group(&id, &name, i, last_group.as_deref(), run.opts.on_exit) else {
                return Some(id);
            };
            let group = Group {
                name: name.clone(),
                id: sg_id.clone(),
                steps,
                scope: &scope,
                opts: &child_opts,
                fail_fast: run.tmpl.fail_fast.unwrap_or(true),
            };
            self.execute_step_group(&group);
            last_group = Some(sg_id.clone());
            if !self.nodes.fulfilled(&sg_id) {
                return Some(id);
            }
            if self.nodes.phase(&sg_id).is_some_and(Phase::failed_or_error) {
                let msg = self.nodes.get(&sg_id).and_then(|n| n.message.clone());
                self.set_outbound_from_group(&id, &sg_id);
                self.set_phase(&id, Phase::Failed, msg);
                return Some(id);
            }
            for step in steps {
                let step_name = format!("{name}.{}", step.name);
                let node_id = self.id(&step_name);
                if step.looping.is_set() {
                    let items = self.loop_children(&sg_id, &step_name);
                    scope.extend(&self.loop_scope("steps", &step.name, &items));
                }
                scope.extend(&self.node_scope("steps", &step.name, &node_id));
            }
        }
        if let Some(sg) = last_group {
            self.set_outbound_from_group(&id, &sg);
        }
        match self.set_nested_outputs(&id, run.tmpl, &scope) {
            Ok(()) => self.set_phase(&id, Phase::Succeeded, None),
            Err(e) => self.set_phase(&id, Phase::Error, Some(e)),
        }
        Some(id)
    }

    /// The nodes a looped step expanded to in its group.
    fn loop_children(&self, sg_id: &str, step_name: &str) -> Vec<String> {
        let prefix = format!("{step_name}(");
        let children = self.nodes.get(sg_id).map(|n| n.children.as_slice()).unwrap_or_default();
        children
            .iter()
            .filter(|c| self.nodes.get(c).is_some_and(|n| n.name.starts_with(&prefix)))
            .cloned()
            .collect()
    }

    /// The StepGroup node `name` (index `i`), created when it may start.
    fn ensure_group(
        &mut self,
        steps_id: &str,
        name: &str,
        i: usize,
        prev: Option<&str>,
        on_exit: bool,
    ) -> Option<String> {
        let sg_id = self.id(name);
        if self.nodes.contains(&sg_id) {
            return Some(sg_id);
        }
        if let Start::Wait = self.world.may_start(on_exit) {
            return None;
        }
        let node = NewNode {
            display: format!("[{i}]"),
            boundary: Some(steps_id.to_owned()),
            ..NewNode::new(name, NodeType::StepGroup, Phase::Running)
        };
        self.nodes.ensure(node, self.world.now);
        self.link_group(steps_id, i, prev, &sg_id);
        Some(sg_id)
    }

    /// Group 0 hangs off the Steps node, later groups off the outbound
    /// nodes of the previous group's steps.
    fn link_group(&mut self, steps_id: &str, index: usize, prev: Option<&str>, sg_id: &str) {
        match prev {
            Some(prev) if index > 0 => {
                let children = self.nodes.get(prev).map(|n| n.children.clone()).unwrap_or_default();
                if children.is_empty() {
                    self.nodes.add_child(prev, sg_id);
                }
                for c in children {
                    for out in self.nodes.outbound(&c) {
                        self.nodes.add_child(&out, sg_id);
                    }
                }
            }
            _ => self.nodes.add_child(steps_id, sg_id),
        }
    }

    fn set_outbound_from_group(&mut self, id: &str, sg_id: &str) {
        let children = self.nodes.get(sg_id).map(|n| n.children.clone()).unwrap_or_default();
        let outbound: Vec<String> = children.iter().flat_map(|c| self.nodes.outbound(c)).collect();
        if let Some(n) = self.nodes.get_mut(id) {
            n.outbound_nodes = outbound;
        }
    }

    fn execute_step_group(&mut self, g: &Group) {
        if self.nodes.fulfilled(&g.id) {
            return;
        }
        let Some((children, mut failure)) = self.expand(g) else {
            return;
        };
        let mut done = true;
        for child in children {
            let cid = self.id(&child.name);
            let new = !self.nodes.contains(&cid);
            if new && g.fail_fast && failure.is_some() {
                continue;
            }
            if new && !self.room_for_nodes() {
                done = false;
                break;
            }
            let Some(cid) = self.run_child(&child, g.scope, g.opts) else {
                done = false;
                continue;
            };
            self.nodes.add_child(&g.id, &cid);
            if !self.nodes.fulfilled(&cid) {
                done = false;
                continue;
            }
            if !self.exit_handler_done(&child, &cid, g.opts) {
                done = false;
            }
            let phase = self.nodes.phase(&cid).unwrap_or(Phase::Error);
            let continues = child.step.continue_on.as_ref().is_some_and(|c| c.covers(phase));
            if phase.failed_or_error() && !continues && failure.is_none() {
                failure = Some(format!("child '{}' failed", child.name));
            }
        }
        if done {
            match failure {
                Some(msg) => self.set_phase(&g.id, Phase::Failed, Some(msg)),
                None => self.set_phase(&g.id, Phase::Succeeded, None),
            }
        }
    }

    /// The group's steps after loop expansion, and a failure already known
    /// (a loop that could not expand); None when the group itself failed.
    fn expand(&mut self, g: &Group) -> Option<(Vec<Child>, Option<String>)> {
        let mut children = Vec::new();
        let mut failure = None;
        for step in g.steps {
            let step = match vars::replace_in(step, g.scope, Mode::Partial) {
                Ok(mut s) => {
                    outputs::drop_absent(&mut s, g.scope);
                    s
                }
                Err(e) => {
                    self.set_phase(&g.id, Phase::Error, Some(format!("step {:?}: {e}", step.name)));
                    return None;
                }
            };
            let base = format!("{}.{}", g.name, step.name);
            let opts = Opts {
                display: step.name.clone(),
                ..g.opts.clone()
            };
            match loops::items(&step.looping) {
                Err(e) => {
                    let cid = self.error_node(&base, e, &opts);
                    self.nodes.add_child(&g.id, &cid);
                    failure.get_or_insert_with(|| format!("child '{base}' failed"));
                }
                Ok(None) => children.push(Child {
                    name: base,
                    display: step.name.clone(),
                    step,
                    item: None,
                }),
                Ok(Some(items)) if items.is_empty() => {
                    let cid = self.skipped_node(&base, step.template.clone(), "Skipped, empty params".into(), &opts);
                    self.nodes.add_child(&g.id, &cid);
                }
                Ok(Some(items)) => {
                    // Each item gets the step without its (possibly large)
                    // list of items: copying the list per item is quadratic.
                    let mut bare = step;
                    bare.looping = Default::default();
                    for (i, item) in items.iter().enumerate() {
                        children.push(Child {
                            name: loops::item_name(&base, i, item),
                            display: loops::item_name(&bare.name, i, item),
                            step: bare.clone(),
                            item: Some(loops::item_scope(item)),
                        });
                    }
                }
            }
        }
        Some((children, failure))
    }

    /// Has the finished step's exit handler (if it has one) finished?
    fn exit_handler_done(&mut self, child: &Child, cid: &str, opts: &Opts) -> bool {
        let Some(on_exit) = child.step.on_exit.as_deref() else {
            return true;
        };
        let mut exit_opts = opts.clone();
        exit_opts.local.set("steps.name", child.step.name.as_str());
        self.run_exit_handler(cid, on_exit, &exit_opts)
    }

    /// Runs one (expanded) step: its `when`, then its template.
    fn run_child(&mut self, child: &Child, scope: &Scope, opts: &Opts) -> Option<String> {
        let mut step = child.step.clone();
        let mut scope = scope.clone();
        if let Some(item) = &child.item {
            scope.extend(item);
            match vars::replace_in(&step, &scope, Mode::Partial) {
                Ok(s) => step = s,
                Err(e) => return Some(self.error_node(&child.name, e.to_string(), opts)),
            }
        }
        let mut local = opts.local.clone();
        local.set("steps.name", child.step.name.as_str());
        let opts = Opts {
            display: child.display.clone(),
            local,
            ..opts.clone()
        };
        let cid = self.id(&child.name);
        if !self.nodes.contains(&cid)
            && let Some(cond) = step.when.as_deref()
        {
            match self.should_run(cond, &scope) {
                Ok(true) => {}
                Ok(false) => {
                    return Some(self.skipped_node(
                        &child.name,
                        step.template.clone(),
                        format!("when '{cond}' evaluated false"),
                        &opts,
                    ));
                }
                Err(e) => return Some(self.error_node(&child.name, e, &opts)),
            }
        }
        let Some(call) = Call::of(&step) else {
            return Some(self.error_node(&child.name, "step has no template".into(), &opts));
        };
        self.execute(&child.name, call, step.arguments.as_ref(), &opts)
    }

    /// Runs the exit handler of a finished step or task as a child of its
    /// node; true once the handler has finished. `opts.local` carries the
    /// step's or task's own variables (`steps.name`...).
    pub fn run_exit_handler(&mut self, node_id: &str, template: &str, opts: &Opts) -> bool {
        let Some(node) = self.nodes.get(node_id) else {
            return false;
        };
        let (node_name, display) = (node.name.clone(), node.display_name.clone());
        let name = argo_api::names::on_exit_node(&node_name);
        let mut local = opts.local.clone();
        local.set("node.name", node_name.as_str());
        let exit_opts = Opts {
            boundary: opts.boundary.clone(),
            boundary_limit: None,
            on_exit: true,
            hooked: true,
            display: format!("{display}.onExit"),
            local,
            depth: opts.depth,
        };
        match self.execute(&name, Call::Named(template), None, &exit_opts) {
            Some(exit_id) => {
                self.nodes.add_child(node_id, &exit_id);
                self.nodes.fulfilled(&exit_id)
            }
            None => false,
        }
    }
}
