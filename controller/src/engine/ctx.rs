//! The state of one engine pass: the world it reads, the node set it
//! builds, and what it decides besides (actions, when to look again, a
//! limit the workflow outgrew). The node kinds are methods on it.

use std::time::Duration;

use argo_api::limits::MAX_DEPTH;
use argo_api::vars::{self, Mode, Scope};
use argo_api::workflow::{NodeType, Phase, Template};
use k8s_openapi::jiff::Timestamp;

use super::execute::{Opts, Run};
use super::io::{Action, sooner};
use super::nodes::{NewNode, Nodes};
use super::outputs;
use super::world::World;

pub(super) struct Ctx<'a> {
    pub world: &'a World<'a>,
    pub nodes: Nodes,
    pub actions: Vec<Action>,
    pub requeue: Option<Duration>,
    /// Set when the workflow outgrew a limit: it fails with this message.
    pub over_limit: Option<String>,
    /// `workflow.status`, `workflow.failures` and `workflow.duration`, set
    /// once the main node has finished, for the exit handler.
    pub concluded: Scope,
    /// Output parameters exported with `globalName`, as
    /// `workflow.outputs.parameters.*`: seen by what runs after them in
    /// this pass too, and the workflow's `status.outputs`.
    pub exported: Scope,
}

impl<'a> Ctx<'a> {
    pub fn new(world: &'a World<'a>, nodes: Nodes) -> Self {
        Ctx {
            world,
            nodes,
            actions: vec![],
            requeue: None,
            over_limit: None,
            concluded: Scope::new(),
            exported: Scope::new(),
        }
    }

    pub fn requeue_in(&mut self, d: Duration) {
        self.requeue = sooner(self.requeue, d);
    }

    /// True when `start + d` has passed; otherwise asks to be woken then.
    pub fn past(&mut self, start: Timestamp, d: Duration) -> bool {
        let now = self.world.now;
        let deadline = start.checked_add(d).unwrap_or(start);
        if now >= deadline {
            return true;
        }
        self.requeue_in(Duration::try_from(deadline.duration_since(now)).unwrap_or_default());
        false
    }

    pub fn id(&self, name: &str) -> String {
        self.nodes.id(name)
    }

    pub fn set_phase(&mut self, id: &str, phase: Phase, message: Option<String>) {
        self.nodes.set_phase(id, phase, message, self.world.now);
    }

    /// False once the workflow has as many nodes as it may have: callers
    /// create nothing more, and the workflow fails naming the limit.
    pub fn room_for_nodes(&mut self) -> bool {
        let max = self.world.limits.nodes;
        if self.nodes.len() < max {
            return true;
        }
        self.over_limit
            .get_or_insert_with(|| format!("the workflow needs more than {max} nodes, the limit per workflow"));
        false
    }

    /// Too deep to go on: templates calling templates without end.
    pub fn too_deep(&self, opts: &Opts) -> Option<String> {
        (opts.depth > MAX_DEPTH).then(|| {
            format!("templates nested more than {MAX_DEPTH} levels deep (a template calling itself without end?)")
        })
    }

    /// The node of a template run, created (with its inputs) in `phase`
    /// unless it exists: every node kind starts here.
    pub fn ensure_node(&mut self, run: &Run, type_: NodeType, phase: Phase) -> (String, bool) {
        let id = self.id(run.name);
        if self.nodes.contains(&id) {
            return (id, false);
        }
        let node = NewNode {
            display: display_name(run.tmpl, &run.scope, run.opts),
            boundary: run.opts.boundary.clone(),
            template: run.tname.clone(),
            hooked: run.opts.hooked,
            inputs: run.inputs.clone(),
            ..NewNode::new(run.name, type_, phase)
        };
        self.nodes.ensure(node, self.world.now)
    }

    /// A node that ends at once in `phase` (created if absent).
    pub fn ended_node(
        &mut self,
        name: &str,
        type_: NodeType,
        template: Option<String>,
        phase: Phase,
        message: String,
        opts: &Opts,
    ) -> String {
        let id = self.id(name);
        if self.nodes.contains(&id) {
            self.set_phase(&id, phase, Some(message));
            return id;
        }
        let node = NewNode {
            display: opts.display.clone(),
            boundary: opts.boundary.clone(),
            template,
            message: Some(message),
            hooked: opts.hooked,
            ..NewNode::new(name, type_, phase)
        };
        self.nodes.ensure(node, self.world.now).0
    }

    /// A node that could not run: Error, with why.
    pub fn error_node(&mut self, name: &str, message: String, opts: &Opts) -> String {
        self.ended_node(name, NodeType::Skipped, None, Phase::Error, message, opts)
    }

    /// A node that did not run; its template names the outputs it would
    /// have made (their defaults stand in for them).
    pub fn skipped_node(&mut self, name: &str, template: Option<String>, message: String, opts: &Opts) -> String {
        self.ended_node(name, NodeType::Skipped, template, Phase::Skipped, message, opts)
    }

    /// Is the enclosing template's parallelism used up?
    pub fn boundary_full(&self, opts: &Opts) -> bool {
        match (&opts.boundary, opts.boundary_limit) {
            (Some(b), Some(limit)) => self.nodes.active_children(b) >= limit,
            _ => false,
        }
    }

    /// `steps.<name>.status` and friends (or `tasks.`), from a node.
    pub fn node_scope(&self, kind: &str, step: &str, node_id: &str) -> Scope {
        let mut s = Scope::new();
        let Some(n) = self.nodes.get(node_id) else {
            return s;
        };
        let prefix = format!("{kind}.{step}");
        s.set(format!("{prefix}.status"), n.phase.as_str());
        s.set(format!("{prefix}.id"), n.id.as_str());
        if let Some(o) = &n.outputs {
            if let Some(code) = &o.exit_code {
                s.set(format!("{prefix}.exitCode"), code.as_str());
            }
            if let Some(result) = &o.result {
                s.set(format!("{prefix}.outputs.result"), result.as_str());
            }
            for p in &o.parameters {
                if let Some(v) = &p.value {
                    s.set(format!("{prefix}.outputs.parameters.{}", p.name), v.as_str());
                }
            }
        }
        let times = [("startedAt", &n.started_at), ("finishedAt", &n.finished_at)];
        for (field, t) in times {
            if let Some(t) = t {
                s.set(format!("{prefix}.{field}"), t.0.to_string());
            }
        }
        if let Some(h) = &n.host_node_name {
            s.set(format!("{prefix}.hostNodeName"), h.as_str());
        }
        if let Some(ip) = &n.pod_ip {
            s.set(format!("{prefix}.ip"), ip.as_str());
        }
        if n.type_ == NodeType::TaskGroup {
            s.extend(&self.loop_scope(kind, step, &n.children));
        }
        if matches!(n.phase, Phase::Skipped | Phase::Omitted) && n.outputs.is_none() {
            let tmpl = n.template_name.as_deref().and_then(|t| self.world.templates.get(t));
            let declared = tmpl.and_then(|t| t.outputs.as_ref()).map(|o| o.parameters.as_slice()).unwrap_or_default();
            s.extend(&outputs::skipped(&prefix, declared));
        }
        s
    }

    /// The aggregated outputs of a loop's nodes.
    pub fn loop_scope(&self, kind: &str, step: &str, ids: &[String]) -> Scope {
        let mut nodes: Vec<_> = ids.iter().filter_map(|c| self.nodes.get(c)).collect();
        outputs::aggregate(&format!("{kind}.{step}"), &mut nodes)
    }

    /// A finished steps or DAG node's outputs (`valueFrom.parameter`); an
    /// output that cannot be resolved fails the node.
    pub fn set_nested_outputs(&mut self, id: &str, tmpl: &Template, scope: &Scope) -> Result<(), String> {
        let declared = tmpl.outputs.as_ref().map(|o| o.parameters.as_slice()).unwrap_or_default();
        if declared.is_empty() {
            return Ok(());
        }
        let params = outputs::nested(declared, scope)?;
        self.export(&params);
        if let Some(n) = self.nodes.get_mut(id) {
            n.outputs.get_or_insert_with(Default::default).parameters = params;
        }
        Ok(())
    }

    /// Makes output parameters with a `globalName` workflow outputs.
    pub fn export(&mut self, params: &[argo_api::workflow::Parameter]) {
        self.exported.extend(&outputs::exported(params));
    }

    /// Evaluates a `when` after substituting it.
    pub fn should_run(&self, cond: &str, scope: &Scope) -> Result<bool, String> {
        let cond = vars::replace(cond, scope, Mode::Strict).map_err(|e| format!("when: {e}"))?;
        argo_api::when::evaluate(&cond)
    }
}

/// The display name: the template's `workflows.argoproj.io/display-name`
/// annotation when it has one.
pub(super) fn display_name(tmpl: &Template, scope: &Scope, opts: &Opts) -> String {
    tmpl.annotations
        .get("workflows.argoproj.io/display-name")
        .and_then(|d| vars::replace(d, scope, Mode::Strict).ok())
        .unwrap_or_else(|| opts.display.clone())
}
