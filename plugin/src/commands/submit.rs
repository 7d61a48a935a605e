//! `kubectl argo submit`: workflows from files or stdin, checked offline
//! first (nothing is created when any of them is wrong), then created.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use kube::api::{Api, DynamicObject, PostParams};
use serde_json::{Value, json};

use super::Ctx;
use super::shared::{Format, columns, output_parser, parse_parameter, print_objects, set_parameters, show, view_of};
use crate::error::{Error, Result};
use crate::follow::until_done;
use crate::lint::{Finding, lint_workflow, read};

pub const EXAMPLES: &str = "Examples:
  kubectl argo submit workflow.yaml
  # With parameters, and wait for the outcome (exit code 1 unless it Succeeded)
  kubectl argo submit workflow.yaml -p message=hi -p count=3 --wait
  # From stdin, following it until it finishes
  cat workflow.yaml | kubectl argo submit - --watch
  # See what the server (and its admission webhook) would store
  kubectl argo submit workflow.yaml --server-dry-run -o yaml";

#[derive(Debug, clap::Args)]
pub struct SubmitArgs {
    /// Workflow files (YAML or JSON, several documents each), or - for stdin
    #[arg(value_name = "FILE|-")]
    pub files: Vec<PathBuf>,
    /// A workflow parameter: NAME=VALUE (repeatable)
    #[arg(short = 'p', long = "parameter", value_name = "NAME=VALUE")]
    pub parameters: Vec<String>,
    /// A YAML or JSON file of parameters (NAME: VALUE)
    #[arg(long, value_name = "FILE")]
    pub parameter_file: Option<PathBuf>,
    /// Run this template instead of the workflow's entrypoint
    #[arg(long)]
    pub entrypoint: Option<String>,
    /// The workflow's name
    #[arg(long)]
    pub name: Option<String>,
    /// A name prefix; the server adds a random suffix
    #[arg(long)]
    pub generate_name: Option<String>,
    /// The service account the workflow's pods run as
    #[arg(long)]
    pub serviceaccount: Option<String>,
    /// Labels to add: key=value,key2=value2
    #[arg(short = 'l', long)]
    pub labels: Option<String>,
    /// Submit from workflowtemplate/NAME, clusterworkflowtemplate/NAME or cronwf/NAME
    #[arg(long, value_name = "KIND/NAME")]
    pub from: Option<String>,
    /// Follow the workflow until it finishes, redrawing its tree
    #[arg(long)]
    pub watch: bool,
    /// Wait until it finishes; exit non-zero unless it Succeeded
    #[arg(long)]
    pub wait: bool,
    /// Print its pods' logs until it finishes
    #[arg(long)]
    pub log: bool,
    /// Print what would be submitted; submit nothing
    #[arg(long)]
    pub dry_run: bool,
    /// Ask the server what it would store (admission included); store nothing
    #[arg(long)]
    pub server_dry_run: bool,
    /// Output format
    #[arg(short, long, value_parser = output_parser(&[Format::Name, Format::Json, Format::Yaml, Format::Wide]))]
    pub output: Option<Format>,
}

fn parameter_file(path: &Path) -> Result<Vec<(String, String)>> {
    let text = read(path)?;
    let map: BTreeMap<String, Value> = serde_yaml::from_str(&text)
        .map_err(|e| Error::Usage(format!("{}: expected a map of NAME: VALUE: {e}", path.display())))?;
    map.into_iter()
        .map(|(k, v)| match v {
            Value::String(s) => Ok((k, s)),
            Value::Number(_) | Value::Bool(_) => Ok((k, v.to_string())),
            other => Ok((k, serde_json::to_string(&other)?)),
        })
        .collect()
}

fn labels(text: &str) -> Result<Vec<(String, String)>> {
    text.split(',')
        .filter(|s| !s.trim().is_empty())
        .map(|kv| match kv.split_once('=') {
            Some((k, v)) if !k.trim().is_empty() => Ok((k.trim().to_owned(), v.trim().to_owned())),
            _ => Err(Error::Usage(format!("invalid label {kv:?}: expected key=value"))),
        })
        .collect()
}

pub struct Submission {
    pub file: String,
    pub line: usize,
    pub value: Value,
}

/// Applies the command-line options to one workflow object.
fn apply(args: &SubmitArgs, params: &[(String, String)], extra_labels: &[(String, String)], wf: &mut Value) {
    let meta = wf.as_object_mut().map(|o| o.entry("metadata").or_insert_with(|| json!({})));
    if let Some(Value::Object(meta)) = meta {
        if let Some(n) = &args.name {
            meta.insert("name".into(), json!(n));
            meta.remove("generateName");
        }
        if let Some(g) = &args.generate_name {
            meta.insert("generateName".into(), json!(g));
            meta.remove("name");
        }
        if !extra_labels.is_empty() {
            let labels = meta.entry("labels").or_insert_with(|| json!({}));
            for (k, v) in extra_labels {
                labels[k] = json!(v);
            }
        }
    }
    let spec = wf.as_object_mut().map(|o| o.entry("spec").or_insert_with(|| json!({})));
    if let Some(spec) = spec {
        if let Some(e) = &args.entrypoint {
            spec["entrypoint"] = json!(e);
        }
        if let Some(sa) = &args.serviceaccount {
            spec["serviceAccountName"] = json!(sa);
        }
        set_parameters(spec, params);
    }
}

/// The parameters and labels the command line adds.
type Options = (Vec<(String, String)>, Vec<(String, String)>);

fn options(args: &SubmitArgs) -> Result<Options> {
    let mut params = match &args.parameter_file {
        Some(p) => parameter_file(p)?,
        None => Vec::new(),
    };
    for p in &args.parameters {
        params.push(parse_parameter(p)?);
    }
    let extra_labels = args.labels.as_deref().map(labels).transpose()?.unwrap_or_default();
    Ok((params, extra_labels))
}

fn prepare(args: &SubmitArgs) -> Result<(Vec<Submission>, Vec<Finding>)> {
    let (params, extra_labels) = options(args)?;
    let mut subs = Vec::new();
    let mut findings = Vec::new();
    for path in &args.files {
        let file = crate::lint::display_name(path);
        let (s, f) = check(&file, &read(path)?, |value| apply(args, &params, &extra_labels, value))?;
        subs.extend(s);
        findings.extend(f);
    }
    Ok((subs, findings))
}

/// The workflows in `text` (read from `file`), each changed by `edit`, and
/// what is wrong with them, as admission would say: what the CLI and the
/// web UI's submit both check before creating anything.
pub fn check(file: &str, text: &str, edit: impl Fn(&mut Value)) -> Result<(Vec<Submission>, Vec<Finding>)> {
    let mut subs = Vec::new();
    let mut findings = Vec::new();
    let docs = argo_api::load::documents(text).map_err(|e| Error::Other(format!("{file}: {e}")))?;
    for doc in docs {
        if doc.kind() != Some("Workflow") {
            findings.push(Finding {
                file: file.to_owned(),
                line: doc.line,
                object: None,
                problem: argo_api::Problem::new(
                    "kind",
                    format!("{:?} is not a Workflow; submit takes Workflows", doc.kind().unwrap_or("")),
                ),
            });
            continue;
        }
        let mut value = doc.value;
        edit(&mut value);
        let named = ["name", "generateName"]
            .iter()
            .any(|k| value.pointer(&format!("/metadata/{k}")).and_then(Value::as_str).is_some_and(|s| !s.is_empty()));
        // What it references is in the cluster: the server checks it all.
        let refers = argo_api::load::workflow(&value).is_ok_and(|w| argo_api::templates::references(&w.spec));
        let mut problems = if refers {
            Vec::new()
        } else {
            lint_workflow(&value, None, "default", &argo_api::templates::NoTemplates)
        };
        if !named {
            problems.push(argo_api::Problem::new("metadata", "needs a name or generateName (or use --name)"));
        }
        findings.extend(problems.into_iter().map(|problem| Finding {
            file: file.to_owned(),
            line: crate::locate::line_of(text, doc.line, &problem.path),
            object: Some("Workflow".into()),
            problem,
        }));
        subs.push(Submission {
            file: file.to_owned(),
            line: doc.line,
            value,
        });
    }
    Ok((subs, findings))
}

/// The object of `sub` in its own namespace, else `namespace`, else the
/// context's; -n must not contradict the object's own.
fn placed(conn: &crate::cluster::Conn, namespace: Option<&str>, sub: Submission) -> Result<DynamicObject> {
    let mut obj: DynamicObject = serde_json::from_value(sub.value)?;
    let ns = match (namespace, obj.metadata.namespace.clone()) {
        (Some(flag), Some(own)) if flag != own => {
            return Err(Error::Usage(format!(
                "{}:{}: the namespace from the provided object \"{own}\" does not match the namespace \"{flag}\". You must pass '--namespace={own}' to perform this operation.",
                sub.file, sub.line
            )));
        }
        (_, Some(own)) => own,
        (_, None) => conn.namespace.clone(),
    };
    obj.metadata.namespace = Some(ns);
    Ok(obj)
}

/// Creates one checked workflow in its own namespace, else `namespace`
/// (the one asked for with -n must not contradict the object's).
pub async fn create(
    conn: &crate::cluster::Conn,
    namespace: Option<&str>,
    sub: Submission,
    server_dry_run: bool,
) -> Result<DynamicObject> {
    let obj = placed(conn, namespace, sub)?;
    let ns = obj.metadata.namespace.clone().unwrap_or_default();
    let api: Api<DynamicObject> =
        Api::namespaced_with(conn.client.clone(), &ns, &kube::core::ApiResource::erase::<argo_api::Workflow>(&()));
    let params = PostParams {
        dry_run: server_dry_run,
        ..Default::default()
    };
    api.create(&params, &obj).await.map_err(|e| conn.err(e))
}

/// The workflow `--from KIND/NAME` submits: a reference to a
/// (Cluster)WorkflowTemplate, or a CronWorkflow's workflowSpec, as
/// upstream's `argo submit --from`.
async fn from(args: &SubmitArgs, from: &str, ctx: &Ctx) -> Result<Vec<Submission>> {
    use super::kinds::Kind;
    if !args.files.is_empty() {
        return Err(Error::Usage("--from takes no files".into()));
    }
    let (kind, name) = from
        .split_once('/')
        .filter(|(_, n)| !n.is_empty())
        .ok_or_else(|| Error::Usage(format!("--from {from}: expected KIND/NAME, e.g. workflowtemplate/my-template")))?;
    let (kind, label) = match kind.to_ascii_lowercase().as_str() {
        "workflowtemplate" | "wftmpl" | "template" => (Kind::Template, "workflows.argoproj.io/workflow-template"),
        "clusterworkflowtemplate" | "cwftmpl" | "cwft" | "clustertemplate" => {
            (Kind::ClusterTemplate, "workflows.argoproj.io/cluster-workflow-template")
        }
        "cronwf" | "cronworkflow" | "cwf" => (Kind::Cron, "workflows.argoproj.io/cron-workflow-submitted"),
        other => {
            return Err(Error::Usage(format!(
                "--from {from}: unknown kind {other:?} (workflowtemplate, clusterworkflowtemplate or cronwf)"
            )));
        }
    };
    let conn = ctx.conn(None, false).await?;
    let source = kind.api(&conn, false).get(name).await.map_err(|e| conn.err(e))?;
    let spec = match kind {
        Kind::Cron => source.data.pointer("/spec/workflowSpec").cloned().unwrap_or_else(|| json!({})),
        _ => json!({"workflowTemplateRef": {"name": name, "clusterScope": kind == Kind::ClusterTemplate}}),
    };
    let mut value = json!({"apiVersion": argo_api::API_VERSION, "kind": "Workflow",
        "metadata": {"generateName": format!("{name}-"), "labels": {label: name}}, "spec": spec});
    if kind == Kind::Cron
        && let Some(meta) = source.data.pointer("/spec/workflowMetadata")
    {
        for field in ["labels", "annotations"] {
            for (k, v) in meta.get(field).and_then(Value::as_object).into_iter().flatten() {
                value["metadata"][field][k] = v.clone();
            }
        }
    }
    Ok(vec![Submission {
        file: format!("--from {from}"),
        line: 1,
        value,
    }])
}

pub async fn run(args: SubmitArgs, ctx: &Ctx) -> Result<ExitCode> {
    let (subs, findings) = match &args.from {
        Some(f) => {
            let text = serde_yaml::to_string(&from(&args, f, ctx).await?[0].value)?;
            let file = format!("--from {f}");
            let (params, extra) = options(&args)?;
            check(&file, &text, |v| apply(&args, &params, &extra, v))?
        }
        None if args.files.is_empty() => {
            return Err(Error::Usage("requires at least one file (or - for stdin), or --from KIND/NAME".into()));
        }
        None => prepare(&args)?,
    };
    if !findings.is_empty() {
        for f in &findings {
            eprintln!("{f}");
        }
        return Err(Error::Other(format!("{} problem(s) found; nothing was submitted", findings.len())));
    }
    if subs.is_empty() {
        return Err(Error::Usage("no workflows in the given files".into()));
    }
    if subs.len() > 1 && args.name.is_some() {
        return Err(Error::Usage("--name needs exactly one workflow; use --generate-name".into()));
    }
    let format = args.output.filter(|f| f.raw() || *f == Format::Name);
    let follow = args.wait || args.watch || args.log;
    let conn = ctx.conn(None, follow).await?;
    let mut done = Vec::new();
    let mut failed = false;
    for sub in subs {
        if args.dry_run {
            done.push(placed(&conn, ctx.flags.namespace.as_deref(), sub)?);
            continue;
        }
        match create(&conn, ctx.flags.namespace.as_deref(), sub, args.server_dry_run).await {
            Ok(created) => done.push(created),
            Err(e @ Error::Usage(_)) => return Err(e),
            Err(e) => {
                eprintln!("{}", e.report());
                failed = true;
            }
        }
    }
    let mut out = std::io::stdout().lock();
    match format {
        Some(Format::Name) => {
            for o in &done {
                writeln!(out, "{}", o.metadata.name.as_deref().or(o.metadata.generate_name.as_deref()).unwrap_or(""))?;
            }
        }
        Some(f) => print_objects(&done, f, true)?,
        None => {
            for (i, o) in done.iter().enumerate() {
                if i > 0 {
                    writeln!(out)?;
                }
                write!(out, "{}", show(ctx, &view_of(o), columns(args.output), None, false))?;
            }
        }
    }
    drop(out);
    if args.dry_run || args.server_dry_run || !follow {
        return Ok(if failed { ExitCode::FAILURE } else { ExitCode::SUCCESS });
    }
    let mut all_ok = !failed;
    for o in &done {
        let name = o.metadata.name.clone().unwrap_or_default();
        let wf_conn = crate::cluster::Conn {
            namespace: o.metadata.namespace.clone().unwrap_or_default(),
            ..conn.clone()
        };
        let last = if args.log {
            super::logs::follow_workflow(&wf_conn, &name, &super::logs::LogOptions::following(ctx)).await?
        } else if args.watch {
            let watch = super::watch::WatchArgs {
                name: name.clone(),
                tree: Default::default(),
            };
            let tty = std::io::IsTerminal::is_terminal(&std::io::stdout());
            super::watch::follow(ctx, &wf_conn, &name, &watch, tty).await?
        } else {
            until_done(&wf_conn, &name, |_| {}).await?
        };
        if args.wait || args.log {
            println!("{}", super::wait::line(&last));
        }
        all_ok &= last.phase() == "Succeeded";
    }
    Ok(if all_ok || !args.wait {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}
