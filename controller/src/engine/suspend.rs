//! Suspend nodes: they wait for their duration, or until `kubectl argo
//! resume` asks (the resume annotation's time is after they started).

use argo_api::duration;
use argo_api::vars::{self, Mode};
use argo_api::workflow::{NodeType, Phase};

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
            self.set_phase(&id, Phase::Succeeded, Some("Resumed".into()));
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
