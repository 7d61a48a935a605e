//! suspend, resume, stop and terminate: each writes the user's intent into
//! the spec (or an annotation); the controller acts on it and writes the
//! status.

use std::process::ExitCode;

use kube::api::{Patch, PatchParams};
use serde_json::{Value, json};

use super::Ctx;
use crate::cluster::{Conn, split_target};
use crate::error::{Error, Result};
use crate::view::WorkflowView;

pub const SUSPEND_EXAMPLES: &str = "Examples:
  kubectl argo suspend my-wf
  kubectl argo suspend @latest";
pub const RESUME_EXAMPLES: &str = "Examples:
  # Resume a suspended workflow, and its suspend nodes
  kubectl argo resume my-wf
  # Give the suspend nodes' outputs declared with valueFrom.supplied
  kubectl argo resume my-wf -p approve=YES";
pub const STOP_EXAMPLES: &str = "Examples:
  kubectl argo stop my-wf
  kubectl argo stop my-wf --message \"stopped for maintenance\"";
pub const TERMINATE_EXAMPLES: &str = "Examples:
  kubectl argo terminate my-wf
  kubectl argo terminate wf-a wf-b";

#[derive(Debug, clap::Args)]
pub struct TargetsArgs {
    /// Workflows: NAME, @latest or CONTEXT/NAME
    #[arg(required = true, value_name = "NAME")]
    pub names: Vec<String>,
}

#[derive(Debug, clap::Args)]
pub struct ShutdownArgs {
    #[command(flatten)]
    pub targets: TargetsArgs,
    /// Why: becomes the workflow's message
    #[arg(long)]
    pub message: Option<String>,
}

/// Patches each workflow; `patch` sees the workflow's phase and may refuse.
async fn each(
    ctx: &Ctx,
    names: &[String],
    verb: &str,
    patch: impl Fn(&WorkflowView) -> std::result::Result<Value, String>,
) -> Result<ExitCode> {
    let mut failed = false;
    for target in names {
        let (context, name) = split_target(target);
        let conn = ctx.conn(context, false).await?;
        let name = conn.resolve(name).await?;
        match apply(&conn, &name, &patch).await {
            Ok(()) => println!("workflow {name} {verb}"),
            Err(e) => {
                eprintln!("{}", e.report());
                failed = true;
            }
        }
    }
    Ok(if failed { ExitCode::FAILURE } else { ExitCode::SUCCESS })
}

/// Reads workflow `name` and writes the patch `patch` makes of it: what
/// the CLI's commands and the web UI's buttons both do.
pub async fn apply(
    conn: &Conn,
    name: &str,
    patch: impl Fn(&WorkflowView) -> std::result::Result<Value, String>,
) -> Result<()> {
    let wf = conn.view(name).await?;
    let body = patch(&wf).map_err(|why| Error::Other(format!("workflow {name}: {why}")))?;
    conn.raw(false)
        .patch(name, &PatchParams::default(), &Patch::Merge(&body))
        .await
        .map_err(|e| conn.err(e))?;
    Ok(())
}

fn completed(phase: &str) -> bool {
    matches!(phase, "Succeeded" | "Failed" | "Error")
}

pub async fn suspend(args: TargetsArgs, ctx: &Ctx) -> Result<ExitCode> {
    each(ctx, &args.names, "suspended", suspend_patch).await
}

pub fn suspend_patch(wf: &WorkflowView) -> std::result::Result<Value, String> {
    if completed(wf.phase()) {
        return Err("cannot suspend completed workflows".into());
    }
    Ok(json!({"spec": {"suspend": true}}))
}

#[derive(Debug, clap::Args)]
pub struct ResumeArgs {
    #[command(flatten)]
    pub targets: TargetsArgs,
    /// An output of the suspend nodes being resumed (`valueFrom.supplied`):
    /// NAME=VALUE (repeatable)
    #[arg(short = 'p', long = "parameter", value_name = "NAME=VALUE")]
    pub parameters: Vec<String>,
}

pub async fn resume(args: ResumeArgs, ctx: &Ctx) -> Result<ExitCode> {
    let at = super::shared::now().to_string();
    let mut supplied = serde_json::Map::new();
    for p in &args.parameters {
        let (name, value) = super::shared::parse_parameter(p)?;
        supplied.insert(name, Value::String(value));
    }
    each(ctx, &args.targets.names, "resumed", |wf| resume_patch(wf, &at, &supplied)).await
}

/// The patch that resumes `wf`, with the outputs to supply; refused for a
/// finished workflow or a name no suspend template declares as supplied.
pub fn resume_patch(
    wf: &WorkflowView,
    at: &str,
    supplied: &serde_json::Map<String, Value>,
) -> std::result::Result<Value, String> {
    if completed(wf.phase()) {
        return Err("cannot resume completed workflows".into());
    }
    let declared = wf.supplied_outputs();
    if let Some(unknown) = supplied.keys().find(|k| !declared.contains(k.as_str())) {
        return Err(format!(
            "no suspend template declares an output {unknown:?} with valueFrom.supplied (it has: {})",
            if declared.is_empty() {
                "none".to_owned()
            } else {
                declared.into_iter().collect::<Vec<_>>().join(", ")
            }
        ));
    }
    let mut annotations = json!({argo_api::keys::RESUME: at});
    if !supplied.is_empty() {
        annotations[argo_api::keys::RESUME_PARAMETERS] = Value::String(Value::Object(supplied.clone()).to_string());
    }
    Ok(json!({"spec": {"suspend": null}, "metadata": {"annotations": annotations}}))
}

pub fn shutdown(
    strategy: &'static str,
    message: Option<String>,
) -> impl Fn(&WorkflowView) -> std::result::Result<Value, String> {
    move |wf: &WorkflowView| {
        if completed(wf.phase()) {
            return Err("cannot shutdown a completed workflow".into());
        }
        let mut body = json!({"spec": {"shutdown": strategy}});
        if let Some(m) = &message {
            body["metadata"] = json!({"annotations": {argo_api::keys::SHUTDOWN_MESSAGE: m}});
        }
        Ok(body)
    }
}

pub async fn stop(args: ShutdownArgs, ctx: &Ctx) -> Result<ExitCode> {
    each(ctx, &args.targets.names, "stopped", shutdown("Stop", args.message)).await
}

pub async fn terminate(args: TargetsArgs, ctx: &Ctx) -> Result<ExitCode> {
    each(ctx, &args.names, "terminated", shutdown("Terminate", None)).await
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn resume_supplies_only_declared_outputs() {
        let wf: WorkflowView = serde_json::from_value(json!({
            "spec": {"templates": [
                {"name": "gate", "suspend": {}, "outputs": {"parameters": [{"name": "approve", "valueFrom": {"supplied": {}}}]}},
                {"name": "c", "container": {}, "outputs": {"parameters": [{"name": "p", "valueFrom": {"path": "/p"}}]}}]},
            "status": {"phase": "Running"}}))
        .unwrap();
        let given = |k: &str| json!({k: "YES"}).as_object().cloned().unwrap();
        let patch = resume_patch(&wf, "t", &given("approve")).unwrap();
        let annotations = &patch["metadata"]["annotations"];
        assert_eq!(annotations[argo_api::keys::RESUME], "t");
        assert_eq!(annotations[argo_api::keys::RESUME_PARAMETERS], r#"{"approve":"YES"}"#);
        let e = resume_patch(&wf, "t", &given("p")).unwrap_err();
        assert_eq!(e, r#"no suspend template declares an output "p" with valueFrom.supplied (it has: approve)"#);
        let done: WorkflowView = serde_json::from_value(json!({"status": {"phase": "Succeeded"}})).unwrap();
        assert!(resume_patch(&done, "t", &Default::default()).unwrap_err().contains("completed"));
    }
}
