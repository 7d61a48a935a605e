//! Steps templates: the outer list runs in sequence, each inner list (a
//! step group) in parallel. Node layout follows upstream: a Steps node,
//! one StepGroup node `name[i]` per group, steps `name[i].step`.

use argo_api::vars::{self, Mode, Scope};
use argo_api::when;
use argo_api::workflow::{NodeType, Parameter, Phase, Template, WorkflowStep};

use super::execute::{Call, Opts};
use super::nodes::NewNode;
use super::{Ctx, Start, loops};

/// A step after loop expansion: the node to run and how.
struct Child {
    name: String,
    display: String,
    step: WorkflowStep,
    item: Option<Scope>,
}

impl Ctx<'_> {
    pub fn execute_steps(
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
                type_: NodeType::Steps,
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
        let groups = tmpl.steps.clone().unwrap_or_default();
        let child_opts = Opts {
            boundary: Some(id.clone()),
            boundary_limit: tmpl.parallelism,
            on_exit: opts.on_exit,
            hooked: false,
            display: String::new(),
            local: Scope::new(),
            depth: opts.depth + 1,
        };
        let fail_fast = tmpl.fail_fast.unwrap_or(true);
        let mut step_scope = scope.clone();
        let mut last_group = None;
        for (i, group) in groups.iter().enumerate() {
            let sg_name = format!("{name}[{i}]");
            let sg_id = self.id(&sg_name);
            if !self.nodes.contains_key(&sg_id) {
                if let Start::Wait = self.may_start(opts.on_exit) {
                    return Some(id);
                }
                self.init(NewNode {
                    name: &sg_name,
                    display: format!("[{i}]"),
                    type_: NodeType::StepGroup,
                    phase: Phase::Running,
                    boundary: Some(id.clone()),
                    template: None,
                    message: None,
                    hooked: false,
                });
                self.link_group(&id, i, last_group.as_deref(), &sg_id);
            }
            self.execute_step_group(&sg_name, &sg_id, group, &step_scope, &child_opts, fail_fast);
            last_group = Some(sg_id.clone());
            if !self.fulfilled(&sg_id) {
                return Some(id);
            }
            if self.phase(&sg_id).is_some_and(Phase::failed_or_error) {
                let msg = self.nodes[&sg_id].message.clone();
                self.set_outbound_from_group(&id, &sg_id);
                self.set_phase(&id, Phase::Failed, msg);
                return Some(id);
            }
            for step in group {
                let node_id = self.id(&format!("{sg_name}.{}", step.name));
                step_scope.extend(&self.node_scope("steps", &step.name, &node_id));
            }
        }
        if let Some(sg) = last_group {
            self.set_outbound_from_group(&id, &sg);
        }
        self.set_phase(&id, Phase::Succeeded, None);
        Some(id)
    }

    /// Group 0 hangs off the Steps node, later groups off the outbound
    /// nodes of the previous group's steps.
    fn link_group(&mut self, steps_id: &str, index: usize, prev: Option<&str>, sg_id: &str) {
        match prev {
            Some(prev) if index > 0 => {
                let children = self.nodes[prev].children.clone();
                if children.is_empty() {
                    self.add_child(prev, sg_id);
                }
                for c in children {
                    for out in self.outbound(&c) {
                        self.add_child(&out, sg_id);
                    }
                }
            }
            _ => self.add_child(steps_id, sg_id),
        }
    }

    fn set_outbound_from_group(&mut self, id: &str, sg_id: &str) {
        let children = self.nodes[sg_id].children.clone();
        let outbound: Vec<String> = children.iter().flat_map(|c| self.outbound(c)).collect();
        if let Some(n) = self.nodes.get_mut(id) {
            n.outbound_nodes = outbound;
        }
    }

    /// `steps.<name>.status` and friends, from the node of a finished step.
    pub fn node_scope(&self, kind: &str, step: &str, node_id: &str) -> Scope {
        let mut s = Scope::new();
        let Some(n) = self.nodes.get(node_id) else {
            return s;
        };
        let prefix = format!("{kind}.{step}");
        s.set(format!("{prefix}.status"), n.phase.as_str());
        s.set(format!("{prefix}.id"), n.id.as_str());
        if let Some(code) = n.outputs.as_ref().and_then(|o| o.exit_code.as_deref()) {
            s.set(format!("{prefix}.exitCode"), code);
        }
        if let Some(t) = &n.started_at {
            s.set(format!("{prefix}.startedAt"), t.0.to_string());
        }
        if let Some(t) = &n.finished_at {
            s.set(format!("{prefix}.finishedAt"), t.0.to_string());
        }
        if let Some(h) = &n.host_node_name {
            s.set(format!("{prefix}.hostNodeName"), h.as_str());
        }
        if let Some(ip) = &n.pod_ip {
            s.set(format!("{prefix}.ip"), ip.as_str());
        }
        s
    }

    fn execute_step_group(
        &mut self,
        sg_name: &str,
        sg_id: &str,
        group: &[WorkflowStep],
        scope: &Scope,
        opts: &Opts,
        fail_fast: bool,
    ) {
        if self.fulfilled(sg_id) {
            return;
        }
        let mut children = Vec::new();
        let mut failure: Option<String> = None;
        for step in group {
            let step = match vars::replace_in(step, scope, Mode::Partial) {
                Ok(s) => s,
                Err(e) => {
                    self.set_phase(sg_id, Phase::Error, Some(format!("step {:?}: {e}", step.name)));
                    return;
                }
            };
            let base = format!("{sg_name}.{}", step.name);
            match loops::items(&step.looping) {
                Err(e) => {
                    let failed = Opts {
                        display: step.name.clone(),
                        ..opts.clone()
                    };
                    let cid = self.failed_node(&base, NodeType::Skipped, None, Phase::Error, e, &failed);
                    self.add_child(sg_id, &cid);
                    failure.get_or_insert_with(|| format!("child '{base}' failed"));
                }
                Ok(None) => children.push(Child {
                    name: base,
                    display: step.name.clone(),
                    step,
                    item: None,
                }),
                Ok(Some(items)) if items.is_empty() => {
                    let skipped = Opts {
                        display: step.name.clone(),
                        ..opts.clone()
                    };
                    let cid = self.skipped_node(&base, "Skipped, empty params".into(), &skipped);
                    self.add_child(sg_id, &cid);
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

        let mut done = true;
        for child in children {
            let cid = self.id(&child.name);
            if !self.nodes.contains_key(&cid) && fail_fast && failure.is_some() {
                continue;
            }
            if !self.nodes.contains_key(&cid) && !self.room_for_nodes() {
                done = false;
                break;
            }
            let Some(cid) = self.run_child(&child, scope, opts) else {
                done = false;
                continue;
            };
            self.add_child(sg_id, &cid);
            if !self.fulfilled(&cid) {
                done = false;
                continue;
            }
            if let Some(on_exit) = child.step.on_exit.as_deref() {
                let mut exit_opts = opts.clone();
                exit_opts.local.set("steps.name", child.step.name.as_str());
                if !self.run_exit_handler(&cid, on_exit, &exit_opts) {
                    done = false;
                }
            }
            let phase = self.nodes[&cid].phase;
            let continues = child
                .step
                .continue_on
                .as_ref()
                .is_some_and(|c| (phase == Phase::Failed && c.failed()) || (phase == Phase::Error && c.error()));
            if phase.failed_or_error() && !continues && failure.is_none() {
                failure = Some(format!("child '{}' failed", child.name));
            }
        }
        if done {
            match failure {
                Some(msg) => self.set_phase(sg_id, Phase::Failed, Some(msg)),
                None => self.set_phase(sg_id, Phase::Succeeded, None),
            }
        }
    }

    /// Runs one (expanded) step: its `when`, then its template.
    fn run_child(&mut self, child: &Child, scope: &Scope, opts: &Opts) -> Option<String> {
        let mut step = child.step.clone();
        let mut scope = scope.clone();
        if let Some(item) = &child.item {
            scope.extend(item);
            match vars::replace_in(&step, &scope, Mode::Partial) {
                Ok(s) => step = s,
                Err(e) => {
                    return Some(self.failed_node(
                        &child.name,
                        NodeType::Skipped,
                        None,
                        Phase::Error,
                        e.to_string(),
                        opts,
                    ));
                }
            }
        }
        let opts = Opts {
            display: child.display.clone(),
            local: {
                let mut l = opts.local.clone();
                l.set("steps.name", child.step.name.as_str());
                l
            },
            ..opts.clone()
        };
        let cid = self.id(&child.name);
        if !self.nodes.contains_key(&cid)
            && let Some(cond) = step.when.as_deref()
        {
            match self.should_run(cond, &scope) {
                Ok(true) => {}
                Ok(false) => {
                    return Some(self.skipped_node(&child.name, format!("when '{cond}' evaluated false"), &opts));
                }
                Err(e) => {
                    return Some(self.failed_node(&child.name, NodeType::Skipped, None, Phase::Error, e, &opts));
                }
            }
        }
        let call = match (&step.template, &step.inline) {
            (_, Some(inline)) => Call::Inline(inline),
            (Some(t), None) => Call::Named(t),
            (None, None) => {
                return Some(self.failed_node(
                    &child.name,
                    NodeType::Skipped,
                    None,
                    Phase::Error,
                    "step has no template".into(),
                    &opts,
                ));
            }
        };
        self.execute(&child.name, call, step.arguments.as_ref(), &opts)
    }

    /// Evaluates a `when` after substituting it.
    pub fn should_run(&self, cond: &str, scope: &Scope) -> Result<bool, String> {
        let cond = vars::replace(cond, scope, Mode::Strict).map_err(|e| format!("when: {e}"))?;
        when::evaluate(&cond)
    }

    pub fn skipped_node(&mut self, name: &str, message: String, opts: &Opts) -> String {
        self.failed_node(name, NodeType::Skipped, None, Phase::Skipped, message, opts)
    }

    /// Runs the exit handler of a finished step or task as a child of its
    /// node; true once the handler has finished. `opts.local` carries the
    /// step's or task's own variables (`steps.name`...).
    pub fn run_exit_handler(&mut self, node_id: &str, template: &str, opts: &Opts) -> bool {
        let node_name = self.nodes[node_id].name.clone();
        let name = argo_api::names::on_exit_node(&node_name);
        let exit_opts = Opts {
            boundary: opts.boundary.clone(),
            boundary_limit: None,
            on_exit: true,
            hooked: true,
            display: format!("{}.onExit", self.nodes[node_id].display_name),
            local: {
                let mut l = opts.local.clone();
                l.set("node.name", node_name.as_str());
                l
            },
            depth: opts.depth,
        };
        match self.execute(&name, Call::Named(template), None, &exit_opts) {
            Some(exit_id) => {
                self.add_child(node_id, &exit_id);
                self.fulfilled(&exit_id)
            }
            None => false,
        }
    }
}
