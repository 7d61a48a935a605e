//! `kubectl argo retry`: asks the controller (through an annotation) to
//! re-run a failed workflow's failed nodes, then shows it running again.

use std::process::ExitCode;
use std::time::Duration;

use argo_api::retry::RetryRequest;
use kube::api::{Patch, PatchParams};
use serde_json::json;

use super::Ctx;
use super::shared::{Format, columns, output_parser, parse_parameter, set_parameters, show, view_of};
use crate::cluster::{Conn, split_target};
use crate::error::{Error, Result};

pub const EXAMPLES: &str = "Examples:
  # Re-run the failed nodes of a failed workflow
  kubectl argo retry my-wf
  # Also re-run the succeeded nodes of template main, with a new parameter
  kubectl argo retry my-wf --restart-successful --node-field-selector templateName=main -p mode=safe
  # Retry and wait for the outcome
  kubectl argo retry @latest --wait";

#[derive(Debug, clap::Args)]
pub struct RetryArgs {
    /// Workflow: NAME, @latest or CONTEXT/NAME
    #[arg(value_name = "NAME")]
    pub name: String,
    /// Also re-run succeeded nodes that --node-field-selector matches
    #[arg(long)]
    pub restart_successful: bool,
    /// Which succeeded nodes --restart-successful re-runs (e.g. templateName=main)
    #[arg(long)]
    pub node_field_selector: Option<String>,
    /// Change a workflow parameter for the new attempt: NAME=VALUE
    #[arg(short = 'p', long = "parameter", value_name = "NAME=VALUE")]
    pub parameters: Vec<String>,
    /// Wait until it finishes; exit non-zero unless it Succeeded
    #[arg(long)]
    pub wait: bool,
    /// Output format of the workflow shown after the retry
    #[arg(short, long, value_parser = output_parser(&[Format::Wide, Format::Short, Format::Name]))]
    pub output: Option<Format>,
}

/// Asks the controller to retry failed workflow `name`, with new values
/// for `parameters`: what the CLI and the web UI both do.
pub async fn request(
    conn: &Conn,
    name: &str,
    restart_successful: bool,
    node_field_selector: Option<String>,
    parameters: &[(String, String)],
) -> Result<()> {
    let raw = conn.raw(false).get(name).await.map_err(|e| conn.err(e))?;
    let wf = view_of(&raw);
    if !matches!(wf.phase(), "Failed" | "Error") {
        return Err(Error::Other(format!(
            "workflow {name} is {}: only Failed or Error workflows can be retried",
            if wf.phase().is_empty() { "Pending" } else { wf.phase() }
        )));
    }
    let request = RetryRequest {
        requested_at: super::shared::now().to_string(),
        restart_successful,
        node_field_selector,
    };
    // New parameter values go into the spec with the request, in one
    // update conditional on the version read.
    let mut body = json!({"metadata": {
        "resourceVersion": raw.metadata.resource_version,
        "annotations": {argo_api::keys::RETRY: serde_json::to_string(&request)?},
    }});
    if !parameters.is_empty() {
        let mut spec = raw.data.get("spec").cloned().unwrap_or_else(|| json!({}));
        set_parameters(&mut spec, parameters);
        body["spec"] = json!({"arguments": spec["arguments"]});
    }
    conn.raw(false)
        .patch(name, &PatchParams::default(), &Patch::Merge(&body))
        .await
        .map_err(|e| conn.err(e))?;
    Ok(())
}

pub async fn run(args: RetryArgs, ctx: &Ctx) -> Result<ExitCode> {
    if let Some(s) = &args.node_field_selector {
        argo_api::selector::NodeSelector::parse(s).map_err(|e| Error::Usage(format!("--node-field-selector: {e}")))?;
    }
    if args.node_field_selector.is_some() && !args.restart_successful {
        return Err(Error::Usage("--node-field-selector needs --restart-successful".into()));
    }
    let parameters = args.parameters.iter().map(|p| parse_parameter(p)).collect::<Result<Vec<_>>>()?;
    let (context, name) = split_target(&args.name);
    let conn = ctx.conn(context, args.wait).await?;
    let name = conn.resolve(name).await?;
    request(&conn, &name, args.restart_successful, args.node_field_selector.clone(), &parameters).await?;
    // Show the workflow once the controller has taken the request.
    let mut current = conn.view(&name).await?;
    for _ in 0..50 {
        if !current.metadata.annotations.as_ref().is_some_and(|a| a.contains_key(argo_api::keys::RETRY)) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
        current = conn.view(&name).await?;
    }
    if args.output == Some(Format::Name) {
        println!("{name}");
    } else {
        print!("{}", show(ctx, &current, columns(args.output), None, false));
    }
    if current.metadata.annotations.as_ref().is_some_and(|a| a.contains_key(argo_api::keys::RETRY)) {
        eprintln!("note: the controller has not taken the retry request yet; is argo-controller running?");
    }
    if args.wait {
        return super::wait::wait_one(&conn, &name).await;
    }
    Ok(ExitCode::SUCCESS)
}
