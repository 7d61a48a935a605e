//! Suspend nodes: they wait for their duration, or until `kubectl argo
//! resume` asks (the resume annotation's time is after they started).

use std::collections::BTreeMap;

use argo_api::duration;
use argo_api::limits::{self, MAX_PARAMETER_BYTES};
use argo_api::vars::{self, Mode};
use argo_api::workflow::{AnyString, NodeType, Outputs, Parameter, Phase};

use super::ctx::Ctx;
use super::execute::Run;
use super::world::Start;

impl Ctx<'_> {
    pub fn execute_suspend(&mut self, run: Run) -> Option<String> {
        let world = self.world;
        let id = self.id(run.name);
        if !self.nodes.contains(&id) && matches!(world.may_start(run.opts.on_exit), Start::Wait) {
            return None;
        }
        self.ensure_node(&run, NodeType::Suspend, Phase::Running);
        if self.nodes.fulfilled(&id) {
            return Some(id);
        }
        if let Some(why) = world.must_stop(run.opts.on_exit) {
            self.set_phase(&id, Phase::Failed, Some(why));
            return Some(id);
        }
        let started = self.nodes.get(&id).and_then(|n| n.started_at.clone()).map_or(world.now, |t| t.0);
        if world.resume_at.is_some_and(|r| r >= started) {
            match supplied_outputs(&run, world.supplied.as_ref()) {
                Ok(outputs) => {
                    if let Some(n) = self.nodes.get_mut(&id) {
                        n.outputs = outputs;
                    }
                    self.set_phase(&id, Phase::Succeeded, Some("Resumed".into()));
                }
                Err(why) => self.set_phase(&id, Phase::Error, Some(why)),
            }
            return Some(id);
        }
        let wait = run.tmpl.suspend.as_ref().and_then(|s| s.duration.as_ref()).map(|d| {
            vars::replace(d.as_str(), &run.scope, Mode::Strict)
                .map_err(|e| e.to_string())
                .and_then(|d| duration::parse(&d))
        });
        match wait {
            Some(Ok(d)) if self.past(started, d) => self.set_phase(&id, Phase::Succeeded, None),
            Some(Ok(_)) | None => {}
            Some(Err(e)) => self.set_phase(&id, Phase::Error, Some(format!("suspend.duration: {e}"))),
        }
        Some(id)
    }
}

/// The outputs a resumed suspend node declares with `valueFrom.supplied`:
/// what `kubectl argo resume -p` gave, else its input of the same name (as
/// upstream's UI offers it), else `valueFrom.default`.
fn supplied_outputs(
    run: &Run,
    given: Option<&Result<BTreeMap<String, String>, String>>,
) -> Result<Option<Outputs>, String> {
    let declared = run.tmpl.outputs.iter().flat_map(|o| &o.parameters);
    let wanted: Vec<&Parameter> =
        declared.filter(|p| p.value_from.as_ref().is_some_and(|f| f.supplied.is_some())).collect();
    if wanted.is_empty() {
        return Ok(None);
    }
    let given = given.cloned().transpose()?.unwrap_or_default();
    let inputs: Vec<&Parameter> = run.inputs.iter().collect();
    let mut parameters = Vec::new();
    for p in wanted {
        let input = inputs.iter().find(|i| i.name == p.name);
        let value = match given.get(&p.name) {
            Some(v) => v.clone(),
            None => match (
                input.and_then(|i| i.value.as_ref().or(i.default.as_ref())),
                p.value_from.as_ref().and_then(|f| f.default.as_ref()),
            ) {
                (Some(v), _) | (None, Some(v)) => v.0.clone(),
                (None, None) => {
                    return Err(format!(
                        "output parameter {:?} was not supplied: resume with kubectl argo resume -p {}=VALUE",
                        p.name, p.name
                    ));
                }
            },
        };
        if value.len() > MAX_PARAMETER_BYTES {
            return Err(format!(
                "output parameter {:?}: more than the limit of {} per parameter",
                p.name,
                limits::bytes(MAX_PARAMETER_BYTES)
            ));
        }
        let declared_input = run.tmpl.inputs.iter().flat_map(|i| &i.parameters).find(|i| i.name == p.name);
        if let Some(allowed) = declared_input.and_then(|i| i.enum_.as_ref())
            && !allowed.iter().any(|a| a.0 == value)
        {
            let list: Vec<&str> = allowed.iter().map(|a| a.0.as_str()).collect();
            return Err(format!("output parameter {:?}: {value:?} is not one of {}", p.name, list.join(", ")));
        }
        parameters.push(Parameter {
            name: p.name.clone(),
            value: Some(AnyString(value)),
            global_name: p.global_name.clone(),
            ..Default::default()
        });
    }
    Ok(Some(Outputs {
        parameters,
        ..Default::default()
    }))
}
