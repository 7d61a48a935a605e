//! Executing a template at a node: resolving it, binding its inputs,
//! wrapping it in a retry strategy when it has one, and dispatching on its
//! kind. Every call is idempotent: a fulfilled node is returned as is.

use argo_api::limits::MAX_PARAMETER_BYTES;
use argo_api::vars::{self, Mode, Scope};
use argo_api::workflow::{Arguments, NodeType, Parameter, Phase, Template, TemplateKind, WorkflowStep};

use super::ctx::Ctx;
use super::world::Start;

/// Where a node sits and how it may run.
#[derive(Clone, Debug, Default)]
pub(super) struct Opts {
    /// The id of the steps/DAG node this node belongs to.
    pub boundary: Option<String>,
    /// The enclosing steps/DAG template's parallelism.
    pub boundary_limit: Option<i64>,
    /// Part of an exit handler: runs even after `shutdown: Stop`.
    pub on_exit: bool,
    /// This node is itself an exit handler.
    pub hooked: bool,
    pub display: String,
    /// Extra variables such as `steps.name`.
    pub local: Scope,
    /// How many steps/DAG templates enclose this node.
    pub depth: usize,
}

/// The template a step, task or the workflow calls.
pub(super) enum Call<'t> {
    Named(&'t str),
    Inline(&'t Template),
}

impl<'t> Call<'t> {
    /// What a step (or a task's step) calls; an inline template wins, as
    /// upstream's does. None when it names nothing.
    pub fn of(step: &'t WorkflowStep) -> Option<Self> {
        match (&step.template, &step.inline) {
            (_, Some(inline)) => Some(Call::Inline(inline)),
            (Some(t), None) => Some(Call::Named(t)),
            (None, None) => None,
        }
    }
}

/// A template about to run at a node: what every node kind is given.
pub(super) struct Run<'r> {
    pub name: &'r str,
    pub tmpl: &'r Template,
    pub tname: Option<String>,
    pub inputs: Vec<Parameter>,
    pub scope: Scope,
    pub opts: &'r Opts,
}

pub(super) fn node_type(kind: Option<TemplateKind>) -> NodeType {
    match kind {
        Some(TemplateKind::Container | TemplateKind::Script) => NodeType::Pod,
        Some(TemplateKind::Steps) => NodeType::Steps,
        Some(TemplateKind::Dag) => NodeType::Dag,
        Some(TemplateKind::Suspend) => NodeType::Suspend,
        None => NodeType::Skipped,
    }
}

impl Ctx<'_> {
    /// Runs `call` at node `name`; returns the node's id once it exists.
    /// `None` means it could not start yet (parallelism, suspension).
    pub fn execute(&mut self, name: &str, call: Call, args: Option<&Arguments>, opts: &Opts) -> Option<String> {
        // Templates nest up to MAX_DEPTH deep and each level takes a few
        // frames: the stack grows on the heap rather than overflow.
        stacker::maybe_grow(128 * 1024, 2 * 1024 * 1024, || self.execute_here(name, call, args, opts))
    }

    fn execute_here(&mut self, name: &str, call: Call, args: Option<&Arguments>, opts: &Opts) -> Option<String> {
        let id = self.id(name);
        if self.nodes.fulfilled(&id) {
            return Some(id);
        }
        if let Some(msg) = self.too_deep(opts) {
            return Some(self.error_node(name, msg, opts));
        }
        let exists = self.nodes.contains(&id);
        if !exists && !self.room_for_nodes() {
            return None;
        }
        let (tmpl, tname) = match self.resolve(call) {
            Ok(t) => t,
            Err(msg) => return Some(self.error_node(name, msg, opts)),
        };
        let kind = node_type(tmpl.kind());
        if !exists {
            match self.world.may_start(opts.on_exit) {
                Start::Wait => return None,
                Start::Fail(msg) => return Some(self.ended_node(name, kind, tname, Phase::Failed, msg, opts)),
                Start::Go => {}
            }
            if self.boundary_full(opts) {
                return None;
            }
        }
        let mut scope = self.world.globals.merged(&self.exported).merged(&self.concluded).merged(&opts.local);
        let inputs = match bind_inputs(&tmpl, args, &scope) {
            Ok(i) => i,
            Err(msg) => return Some(self.ended_node(name, kind, tname, Phase::Error, msg, opts)),
        };
        scope.set("node.name", name);
        scope.extend(&input_scope(&inputs));
        let run = Run {
            name,
            tmpl: &tmpl,
            tname,
            inputs,
            scope,
            opts,
        };
        let world = self.world;
        match tmpl.retry_strategy.as_ref().or(world.spec.retry_strategy.as_ref()) {
            Some(strategy) => self.execute_retry(run, strategy),
            None => self.execute_kind(run),
        }
    }

    /// Runs a resolved template by its kind, without retries.
    pub fn execute_kind(&mut self, run: Run) -> Option<String> {
        match run.tmpl.kind() {
            Some(TemplateKind::Container | TemplateKind::Script) => self.execute_pod(run),
            Some(TemplateKind::Suspend) => self.execute_suspend(run),
            Some(TemplateKind::Steps) => self.execute_steps(run),
            Some(TemplateKind::Dag) => self.execute_dag(run),
            None => Some(self.ended_node(
                run.name,
                NodeType::Skipped,
                run.tname,
                Phase::Error,
                "template has no type: set exactly one of container, script, steps, dag or suspend".into(),
                run.opts,
            )),
        }
    }

    /// The template to run, with the workflow's `templateDefaults` under it.
    fn resolve(&self, call: Call) -> Result<(Template, Option<String>), String> {
        let spec = self.world.spec;
        match call {
            Call::Named(n) => match self.world.templates.get(n) {
                Some(t) => Ok((argo_api::pod::with_defaults(t, spec), Some(n.to_owned()))),
                None => Err(format!("template {n:?} not found")),
            },
            Call::Inline(t) => Ok((argo_api::pod::with_defaults(t, spec), None)),
        }
    }
}

/// The values of a template's inputs: passed arguments, else the input's
/// own value, else its default, with `scope`'s variables substituted.
fn bind_inputs(tmpl: &Template, args: Option<&Arguments>, scope: &Scope) -> Result<Vec<Parameter>, String> {
    let Some(inputs) = &tmpl.inputs else {
        return Ok(vec![]);
    };
    let mut out = Vec::with_capacity(inputs.parameters.len());
    for input in &inputs.parameters {
        let passed =
            args.and_then(|a| a.parameters.iter().find(|p| p.name == input.name)).and_then(|p| p.value.clone());
        let value = passed.or_else(|| input.value.clone()).or_else(|| input.default.clone());
        let Some(value) = value else {
            return Err(format!("inputs.parameters.{} was not supplied", input.name));
        };
        let value = vars::replace(value.as_str(), scope, Mode::Strict).map_err(|e| e.to_string())?;
        if value.len() > MAX_PARAMETER_BYTES {
            return Err(format!(
                "inputs.parameters.{} is {} bytes, more than the limit of {} per parameter",
                input.name,
                value.len(),
                argo_api::limits::bytes(MAX_PARAMETER_BYTES)
            ));
        }
        if let Some(allowed) = &input.enum_
            && !allowed.iter().any(|a| a.as_str() == value)
        {
            return Err(format!(
                "value {value:?} of inputs.parameters.{} is not one of {:?}",
                input.name,
                allowed.iter().map(|a| a.as_str()).collect::<Vec<_>>()
            ));
        }
        out.push(Parameter {
            name: input.name.clone(),
            value: Some(value.into()),
            ..Default::default()
        });
    }
    Ok(out)
}

fn input_scope(inputs: &[Parameter]) -> Scope {
    let mut s = Scope::new();
    let mut all = Vec::new();
    for p in inputs {
        let v = p.value.as_ref().map(|v| v.as_str()).unwrap_or_default();
        s.set(format!("inputs.parameters.{}", p.name), v);
        all.push(serde_json::json!({"name": p.name, "value": v}));
    }
    s.set("inputs.parameters", serde_json::Value::Array(all).to_string());
    s
}
