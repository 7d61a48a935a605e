//! `kubectl argo resubmit`: a new workflow with the old one's spec.

use std::process::ExitCode;

use kube::api::{DynamicObject, PostParams};
use serde_json::{Value, json};

use super::Ctx;
use super::shared::{Format, columns, output_parser, parse_parameter, set_parameters, show, view_of};
use crate::cluster::{Conn, split_target};
use crate::error::{Error, Result};

pub const EXAMPLES: &str = "Examples:
  kubectl argo resubmit my-wf
  # With a different parameter, then wait for it
  kubectl argo resubmit my-wf -p message=again --wait";

#[derive(Debug, clap::Args)]
pub struct ResubmitArgs {
    /// Workflow: NAME, @latest or CONTEXT/NAME
    #[arg(value_name = "NAME")]
    pub name: String,
    /// Change a workflow parameter: NAME=VALUE
    #[arg(short = 'p', long = "parameter", value_name = "NAME=VALUE")]
    pub parameters: Vec<String>,
    /// Reuse the outputs of succeeded nodes (not supported yet)
    #[arg(long)]
    pub memoized: bool,
    /// Wait until it finishes; exit non-zero unless it Succeeded
    #[arg(long)]
    pub wait: bool,
    /// Output format
    #[arg(short, long, value_parser = output_parser(&[Format::Wide, Format::Short, Format::Name]))]
    pub output: Option<Format>,
}

/// Labels and annotations the controller or kubectl own, not carried over.
fn carried(key: &str) -> bool {
    !matches!(
        key,
        argo_api::keys::PHASE
            | argo_api::keys::WORKFLOW_COMPLETED
            | argo_api::keys::RESUME
            | argo_api::keys::RESUME_PARAMETERS
            | argo_api::keys::RETRY
            | argo_api::keys::SHUTDOWN_MESSAGE
            | argo_api::keys::RESUBMITTED_FROM
            | "kubectl.kubernetes.io/last-applied-configuration"
    )
}

/// The new workflow: the old spec, the old labels, a fresh name.
pub fn resubmission(old: &DynamicObject, parameters: &[(String, String)]) -> Value {
    let name = old.metadata.name.clone().unwrap_or_default();
    let generate = old.metadata.generate_name.clone().unwrap_or_else(|| format!("{name}-"));
    let filter = |m: &Option<std::collections::BTreeMap<String, String>>| {
        m.iter()
            .flatten()
            .filter(|(k, _)| carried(k))
            .map(|(k, v)| (k.clone(), json!(v)))
            .collect::<serde_json::Map<_, _>>()
    };
    let mut labels = filter(&old.metadata.labels);
    labels.insert(argo_api::keys::RESUBMITTED_FROM.into(), json!(name));
    let mut spec = old.data.get("spec").cloned().unwrap_or_else(|| json!({}));
    set_parameters(&mut spec, parameters);
    if let Some(s) = spec.as_object_mut() {
        s.remove("shutdown");
        s.remove("suspend");
    }
    json!({
        "apiVersion": argo_api::API_VERSION,
        "kind": "Workflow",
        "metadata": {"generateName": generate, "namespace": old.metadata.namespace, "labels": labels,
            "annotations": filter(&old.metadata.annotations)},
        "spec": spec,
    })
}

/// Creates a copy of workflow `name` with new values for `parameters`:
/// what the CLI and the web UI both do.
pub async fn resubmit(conn: &Conn, name: &str, parameters: &[(String, String)]) -> Result<DynamicObject> {
    let api = conn.raw(false);
    let old = api.get(name).await.map_err(|e| conn.err(e))?;
    let new: DynamicObject = serde_json::from_value(resubmission(&old, parameters))?;
    api.create(&PostParams::default(), &new).await.map_err(|e| conn.err(e))
}

pub async fn run(args: ResubmitArgs, ctx: &Ctx) -> Result<ExitCode> {
    if args.memoized {
        return Err(Error::Usage(
            "--memoized is not supported yet: the controller does not memoize node outputs".into(),
        ));
    }
    let parameters = args.parameters.iter().map(|p| parse_parameter(p)).collect::<Result<Vec<_>>>()?;
    let (context, name) = split_target(&args.name);
    let conn = ctx.conn(context, args.wait).await?;
    let name = conn.resolve(name).await?;
    let created = resubmit(&conn, &name, &parameters).await?;
    let new_name = created.metadata.name.clone().unwrap_or_default();
    if args.output == Some(Format::Name) {
        println!("{new_name}");
    } else {
        print!("{}", show(ctx, &view_of(&created), columns(args.output), None, false));
    }
    if args.wait {
        return super::wait::wait_one(&conn, &new_name).await;
    }
    Ok(ExitCode::SUCCESS)
}
