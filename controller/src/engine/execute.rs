//! Executing a template at a node: resolving it, binding its inputs,
//! wrapping it in a retry when it has a strategy, and dispatching on its
//! kind. Every call is idempotent: a fulfilled node is returned as is.

use argo_api::limits::{MAX_DEPTH, MAX_PARAMETER_BYTES};
use argo_api::vars::{self, Mode, Scope};
use argo_api::workflow::{Arguments, NodeType, Parameter, Phase, Template, TemplateKind};

use super::nodes::NewNode;
use super::{Ctx, Start};

/// Where a node sits and how it may run.
#[derive(Clone, Debug, Default)]
pub(crate) struct Opts {
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
pub(crate) enum Call<'t> {
    Named(&'t str),
    Inline(&'t Template),
}

pub(crate) fn node_type(kind: Option<TemplateKind>) -> NodeType {
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
        if self.fulfilled(&id) {
            return Some(id);
        }
        let exists = self.nodes.contains_key(&id);
        if opts.depth > MAX_DEPTH {
            let msg =
                format!("templates nested more than {MAX_DEPTH} levels deep (a template calling itself without end?)");
            return Some(self.failed_node(name, NodeType::Skipped, None, Phase::Error, msg, opts));
        }
        if !exists && !self.room_for_nodes() {
            return None;
        }
        let (tmpl, tname) = match self.resolve(call) {
            Ok(t) => t,
            Err(msg) => {
                return Some(self.failed_node(name, NodeType::Skipped, None, Phase::Error, msg, opts));
            }
        };
        let kind = tmpl.kind();
        if !exists {
            match self.may_start(opts.on_exit) {
                Start::Wait => return None,
                Start::Fail(msg) => {
                    return Some(self.failed_node(name, node_type(kind), tname, Phase::Failed, msg, opts));
                }
                Start::Go => {}
            }
            if self.boundary_full(opts) {
                return None;
            }
        }
        let inputs = match bind_inputs(&tmpl, args, &self.globals) {
            Ok(i) => i,
            Err(msg) => {
                return Some(self.failed_node(name, node_type(kind), tname, Phase::Error, msg, opts));
            }
        };
        let mut scope = self.globals.merged(&opts.local);
        scope.set("node.name", name);
        scope.extend(&input_scope(&inputs));
        let retry = tmpl.retry_strategy.clone().or_else(|| self.spec.retry_strategy.clone());
        match retry {
            Some(strategy) => self.execute_retry(name, &tmpl, tname, inputs, scope, &strategy, opts),
            None => self.execute_kind(name, &tmpl, tname, inputs, scope, opts),
        }
    }

    /// Runs a resolved template by its kind, without retries.
    pub fn execute_kind(
        &mut self,
        name: &str,
        tmpl: &Template,
        tname: Option<String>,
        inputs: Vec<Parameter>,
        scope: Scope,
        opts: &Opts,
    ) -> Option<String> {
        match tmpl.kind() {
            Some(TemplateKind::Container | TemplateKind::Script) => {
                self.execute_pod(name, tmpl, tname, inputs, scope, opts)
            }
            Some(TemplateKind::Suspend) => self.execute_suspend(name, tmpl, tname, inputs, scope, opts),
            Some(TemplateKind::Steps) => self.execute_steps(name, tmpl, tname, inputs, scope, opts),
            Some(TemplateKind::Dag) => self.execute_dag(name, tmpl, tname, inputs, scope, opts),
            None => Some(self.failed_node(
                name,
                NodeType::Skipped,
                tname,
                Phase::Error,
                "template has no type: set exactly one of container, script, steps, dag or suspend".into(),
                opts,
            )),
        }
    }

    /// The template to run, with the workflow's `templateDefaults` under it.
    fn resolve(&mut self, call: Call) -> Result<(Template, Option<String>), String> {
        match call {
            Call::Named(n) => match self.templates.get(n) {
                Some(t) => Ok((argo_api::pod::with_defaults(t, self.spec), Some(n.to_owned()))),
                None => Err(format!("template {n:?} not found")),
            },
            Call::Inline(t) => Ok((argo_api::pod::with_defaults(t, self.spec), None)),
        }
    }

    /// Is the enclosing template's parallelism used up?
    pub fn boundary_full(&self, opts: &Opts) -> bool {
        match (&opts.boundary, opts.boundary_limit) {
            (Some(b), Some(limit)) => self.active_children.get(b).copied().unwrap_or(0) >= limit,
            _ => false,
        }
    }

    /// Creates (if absent) a node that ends at once in `phase`.
    pub fn failed_node(
        &mut self,
        name: &str,
        type_: NodeType,
        template: Option<String>,
        phase: Phase,
        message: String,
        opts: &Opts,
    ) -> String {
        let id = self.id(name);
        if self.nodes.contains_key(&id) {
            self.set_phase(&id, phase, Some(message));
            return id;
        }
        self.init(NewNode {
            name,
            display: opts.display.clone(),
            type_,
            phase,
            boundary: opts.boundary.clone(),
            template,
            message: Some(message),
            hooked: opts.hooked,
        })
    }

    /// The display name: the template's `workflows.argoproj.io/display-name`
    /// annotation when it has one.
    pub fn display_name(tmpl: &Template, scope: &Scope, opts: &Opts) -> String {
        tmpl.annotations
            .get("workflows.argoproj.io/display-name")
            .and_then(|d| vars::replace(d, scope, Mode::Strict).ok())
            .unwrap_or_else(|| opts.display.clone())
    }
}

/// The values of a template's inputs: passed arguments, else the input's
/// own value, else its default.
pub(crate) fn bind_inputs(
    tmpl: &Template,
    args: Option<&Arguments>,
    globals: &Scope,
) -> Result<Vec<Parameter>, String> {
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
        let value = vars::replace(value.as_str(), globals, Mode::Strict).map_err(|e| e.to_string())?;
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

pub(crate) fn input_scope(inputs: &[Parameter]) -> Scope {
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
