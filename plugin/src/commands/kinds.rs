//! `kubectl argo template|cluster-template|cron ...`: WorkflowTemplates,
//! ClusterWorkflowTemplates and CronWorkflows, as upstream's `argo
//! template`, `argo cluster-template` and `argo cron` commands.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use argo_api::kinds::{ClusterWorkflowTemplate, CronWorkflow, WorkflowTemplate};
use kube::api::{Api, DeleteParams, DynamicObject, ListParams, Patch, PatchParams, PostParams};
use kube::core::ApiResource;
use serde_json::{Value, json};

use super::Ctx;
use super::shared::{Format, list_all, now, output_parser, print_objects};
use crate::cluster::Conn;
use crate::error::{Error, Result};
use crate::lint::read;
use crate::print::humanize;
use crate::print::tabwriter::TabWriter;

pub const TEMPLATE_EXAMPLES: &str = "Examples:
  kubectl argo template create templates.yaml
  kubectl argo template list -A
  kubectl argo template get my-template -o yaml
  kubectl argo template lint templates.yaml
  # Run one, with a parameter
  kubectl argo submit --from workflowtemplate/my-template -p message=hi --wait";

pub const CLUSTER_TEMPLATE_EXAMPLES: &str = "Examples:
  kubectl argo cluster-template create shared.yaml
  kubectl argo cluster-template list
  kubectl argo submit --from clusterworkflowtemplate/shared --watch";

pub const CRON_EXAMPLES: &str = "Examples:
  kubectl argo cron create nightly.yaml
  kubectl argo cron list -A
  kubectl argo cron get nightly
  kubectl argo cron suspend nightly
  kubectl argo cron resume nightly
  # Run it now, outside its schedule
  kubectl argo submit --from cronwf/nightly";

/// Which of the three kinds a command acts on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Template,
    ClusterTemplate,
    Cron,
}

impl Kind {
    pub fn name(self) -> &'static str {
        match self {
            Kind::Template => "WorkflowTemplate",
            Kind::ClusterTemplate => "ClusterWorkflowTemplate",
            Kind::Cron => "CronWorkflow",
        }
    }

    fn resource(self) -> ApiResource {
        match self {
            Kind::Template => ApiResource::erase::<WorkflowTemplate>(&()),
            Kind::ClusterTemplate => ApiResource::erase::<ClusterWorkflowTemplate>(&()),
            Kind::Cron => ApiResource::erase::<CronWorkflow>(&()),
        }
    }

    pub fn api(self, conn: &Conn, all_namespaces: bool) -> Api<DynamicObject> {
        let ar = self.resource();
        match self {
            Kind::ClusterTemplate => Api::all_with(conn.client.clone(), &ar),
            _ if all_namespaces => Api::all_with(conn.client.clone(), &ar),
            _ => Api::namespaced_with(conn.client.clone(), &conn.namespace, &ar),
        }
    }

    /// Parses a document of this kind strictly, for `file:line` errors
    /// before anything is sent.
    fn check(self, v: &Value) -> std::result::Result<(), argo_api::Error> {
        match self {
            Kind::Template => argo_api::load::workflow_template(v).map(|_| ()),
            Kind::ClusterTemplate => argo_api::load::cluster_workflow_template(v).map(|_| ()),
            Kind::Cron => argo_api::load::cron_workflow(v).map(|_| ()),
        }
    }
}

#[derive(Debug, clap::Subcommand)]
pub enum KindCommand {
    /// Create from files (or - for stdin)
    Create(CreateArgs),
    /// List them
    List(KindListArgs),
    /// Show one
    Get(KindGetArgs),
    /// Delete by name, or --all
    Delete(KindDeleteArgs),
    /// Validate files offline, as admission would
    Lint(super::lint::LintArgs),
    /// Stop scheduling runs (CronWorkflows)
    Suspend(NamesArgs),
    /// Schedule runs again (CronWorkflows)
    Resume(NamesArgs),
}

#[derive(Debug, clap::Args)]
pub struct CreateArgs {
    #[arg(value_name = "FILE|-", required = true)]
    pub files: Vec<PathBuf>,
    #[arg(short, long, value_parser = output_parser(&[Format::Name, Format::Json, Format::Yaml]))]
    pub output: Option<Format>,
}

#[derive(Debug, clap::Args)]
pub struct KindListArgs {
    /// All namespaces
    #[arg(short = 'A', long)]
    pub all_namespaces: bool,
    /// Label selector
    #[arg(short = 'l', long)]
    pub selector: Option<String>,
    #[arg(short, long, value_parser = output_parser(&[Format::Name, Format::Json, Format::Yaml, Format::Wide]))]
    pub output: Option<Format>,
}

#[derive(Debug, clap::Args)]
pub struct KindGetArgs {
    pub name: String,
    #[arg(short, long, value_parser = output_parser(&[Format::Json, Format::Yaml]))]
    pub output: Option<Format>,
}

#[derive(Debug, clap::Args)]
pub struct KindDeleteArgs {
    pub names: Vec<String>,
    /// Every one in the namespace
    #[arg(long)]
    pub all: bool,
}

#[derive(Debug, clap::Args)]
pub struct NamesArgs {
    #[arg(required = true)]
    pub names: Vec<String>,
}

pub async fn run(kind: Kind, cmd: KindCommand, ctx: &Ctx) -> Result<ExitCode> {
    match &cmd {
        KindCommand::Lint(args) => return super::lint::run(args, ctx, &mut std::io::stdout()),
        KindCommand::Suspend(_) | KindCommand::Resume(_) if kind != Kind::Cron => {
            return Err(Error::Usage(format!("suspend and resume are for CronWorkflows, not {}s", kind.name())));
        }
        _ => {}
    }
    let conn = ctx.conn(None, false).await?;
    match cmd {
        KindCommand::Create(args) => create(kind, &conn, ctx, args).await,
        KindCommand::List(args) => list(kind, &conn, args).await,
        KindCommand::Get(args) => {
            let obj = kind.api(&conn, false).get(&args.name).await.map_err(|e| conn.err(e))?;
            match args.output {
                Some(f) => print_objects(&[obj], f, true)?,
                None => print!("{}", describe(kind, &obj, now())),
            }
            Ok(ExitCode::SUCCESS)
        }
        KindCommand::Delete(args) => delete(kind, &conn, args).await,
        KindCommand::Suspend(args) => set_suspend(&conn, &args.names, true).await,
        KindCommand::Resume(args) => set_suspend(&conn, &args.names, false).await,
        KindCommand::Lint(_) => unreachable!("answered above"),
    }
}

async fn create(kind: Kind, conn: &Conn, ctx: &Ctx, args: CreateArgs) -> Result<ExitCode> {
    let mut objects = Vec::new();
    let mut problems = Vec::new();
    for path in &args.files {
        let file = crate::lint::display_name(path);
        let text = read(path)?;
        let docs = argo_api::load::documents(&text).map_err(|e| Error::Other(format!("{file}: {e}")))?;
        for doc in docs {
            if doc.kind() != Some(kind.name()) {
                problems.push(format!("{file}:{}: {:?} is not a {}", doc.line, doc.kind().unwrap_or(""), kind.name()));
                continue;
            }
            if let Err(e) = kind.check(&doc.value) {
                for p in e.problems() {
                    problems.push(format!("{file}:{}: {p}", crate::locate::line_of(&text, doc.line, &p.path)));
                }
                continue;
            }
            objects.push(doc.value);
        }
    }
    if !problems.is_empty() {
        for p in &problems {
            eprintln!("{p}");
        }
        return Err(Error::Other(format!("{} problem(s) found; nothing was created", problems.len())));
    }
    let mut created = Vec::new();
    let mut failed = false;
    for mut v in objects {
        let own = v.pointer("/metadata/namespace").and_then(Value::as_str).map(str::to_owned);
        let ns = match (&ctx.flags.namespace, own) {
            (Some(flag), Some(own)) if *flag != own && kind != Kind::ClusterTemplate => {
                return Err(Error::Usage(format!(
                    "the namespace from the provided object \"{own}\" does not match the namespace \"{flag}\""
                )));
            }
            (_, Some(own)) => own,
            _ => conn.namespace.clone(),
        };
        if kind != Kind::ClusterTemplate {
            v["metadata"]["namespace"] = json!(ns);
        }
        let obj: DynamicObject = serde_json::from_value(v)?;
        let api = match kind {
            Kind::ClusterTemplate => kind.api(conn, true),
            _ => Api::namespaced_with(conn.client.clone(), &ns, &kind.resource()),
        };
        match api.create(&PostParams::default(), &obj).await {
            Ok(o) => created.push(o),
            Err(e) => {
                eprintln!("{}", conn.err(e).report());
                failed = true;
            }
        }
    }
    match args.output {
        Some(Format::Name) => created.iter().for_each(|o| println!("{}", o.metadata.name.as_deref().unwrap_or(""))),
        Some(f) => print_objects(&created, f, true)?,
        None => created.iter().for_each(|o| print!("{}", describe(kind, o, now()))),
    }
    Ok(if failed { ExitCode::FAILURE } else { ExitCode::SUCCESS })
}

async fn list(kind: Kind, conn: &Conn, args: KindListArgs) -> Result<ExitCode> {
    let mut params = ListParams::default();
    if let Some(s) = &args.selector {
        params = params.labels(s);
    }
    let mut items = list_all(&kind.api(conn, args.all_namespaces), &params).await.map_err(|e| conn.err(e))?;
    items.sort_by(|a, b| (&a.metadata.namespace, &a.metadata.name).cmp(&(&b.metadata.namespace, &b.metadata.name)));
    match args.output {
        Some(Format::Name) => items.iter().for_each(|o| println!("{}", o.metadata.name.as_deref().unwrap_or(""))),
        Some(f) if f.raw() => print_objects(&items, f, false)?,
        _ => {
            let namespaces = args.all_namespaces && kind != Kind::ClusterTemplate;
            print!("{}", table(kind, &items, namespaces, now()));
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// The list as upstream prints it: NAME for templates; for CronWorkflows
/// NAME AGE LAST RUN NEXT RUN SCHEDULE TIMEZONE SUSPENDED.
pub fn table(kind: Kind, items: &[DynamicObject], namespaces: bool, at: k8s_openapi::jiff::Timestamp) -> String {
    let mut tw = TabWriter::new(3);
    let ns = if namespaces { "NAMESPACE\t" } else { "" };
    if kind == Kind::Cron {
        tw.write(&format!("{ns}NAME\tAGE\tLAST RUN\tNEXT RUN\tSCHEDULE\tTIMEZONE\tSUSPENDED\n"));
    } else {
        tw.write(&format!("{ns}NAME\n"));
    }
    for o in items {
        let name = o.metadata.name.as_deref().unwrap_or("");
        let ns = if namespaces {
            format!("{}\t", o.metadata.namespace.as_deref().unwrap_or(""))
        } else {
            String::new()
        };
        if kind != Kind::Cron {
            tw.write(&format!("{ns}{name}\n"));
            continue;
        }
        let c = cron_fields(o, at);
        let age = humanize::short_duration(o.metadata.creation_timestamp.as_ref().map(|t| t.0), None, at);
        tw.write(&format!(
            "{ns}{name}\t{age}\t{}\t{}\t{}\t{}\t{}\n",
            c.last.map_or("N/A".into(), |t| humanize::short_duration(Some(t), None, at)),
            c.next.map_or("N/A".into(), |t| humanize::short_duration(Some(at), Some(t), at)),
            c.schedule,
            c.timezone,
            c.suspended
        ));
    }
    tw.finish()
}

struct CronFields {
    schedule: String,
    timezone: String,
    suspended: bool,
    last: Option<k8s_openapi::jiff::Timestamp>,
    next: Option<k8s_openapi::jiff::Timestamp>,
    active: Vec<String>,
}

fn cron_fields(o: &DynamicObject, at: k8s_openapi::jiff::Timestamp) -> CronFields {
    let spec = o.data.get("spec").cloned().unwrap_or_default();
    let spec: argo_api::kinds::CronWorkflowSpec = serde_json::from_value(spec).unwrap_or_default();
    let status = o.data.get("status").cloned().unwrap_or_default();
    let status: argo_api::kinds::CronWorkflowStatus = serde_json::from_value(status).unwrap_or_default();
    let tz = argo_api::cron::zone(spec.timezone.as_deref()).unwrap_or(k8s_openapi::jiff::tz::TimeZone::UTC);
    let next = argo_api::cron::schedules(&spec)
        .into_iter()
        .filter_map(|s| argo_api::cron::parse(s).ok())
        .filter_map(|s| s.next_after(status.last_scheduled_time.as_ref().map_or(at, |t| t.0.max(at)), &tz))
        .min();
    CronFields {
        schedule: argo_api::cron::schedules(&spec).join(","),
        timezone: spec.timezone.clone().unwrap_or_default(),
        suspended: spec.suspend.unwrap_or(false),
        last: status.last_scheduled_time.map(|t| t.0),
        next: next.filter(|_| !spec.suspend.unwrap_or(false)),
        active: status.active.iter().filter_map(|a| a.name.clone()).collect(),
    }
}

/// `get` without -o: upstream's key-value block.
pub fn describe(kind: Kind, o: &DynamicObject, at: k8s_openapi::jiff::Timestamp) -> String {
    let tz = k8s_openapi::jiff::tz::TimeZone::system();
    let mut tw = TabWriter::new(1);
    let mut row = |k: &str, v: &str| tw.write(&format!("{k}:\t{v}\n"));
    row("Name", o.metadata.name.as_deref().unwrap_or(""));
    if kind != Kind::ClusterTemplate {
        row("Namespace", o.metadata.namespace.as_deref().unwrap_or(""));
    }
    if let Some(t) = &o.metadata.creation_timestamp {
        row("Created", &humanize::timestamp_in(t.0, at, &tz));
    }
    if kind == Kind::Cron {
        let c = cron_fields(o, at);
        let spec = o.data.get("spec");
        let field = |k: &str| spec.and_then(|s| s.get(k)).map(|v| v.as_str().map_or(v.to_string(), str::to_owned));
        row("Schedule", &c.schedule);
        if !c.timezone.is_empty() {
            row("Timezone", &c.timezone);
        }
        row("Suspended", &c.suspended.to_string());
        if let Some(v) = field("startingDeadlineSeconds") {
            row("StartingDeadlineSeconds", &v);
        }
        row("ConcurrencyPolicy", &field("concurrencyPolicy").unwrap_or_else(|| "Allow".into()));
        if let Some(t) = c.last {
            row("LastScheduledTime", &humanize::timestamp_in(t, at, &tz));
        }
        if let Some(t) = c.next {
            row("NextScheduledTime", &humanize::timestamp_in(t, at, &tz));
        }
        if !c.active.is_empty() {
            row("Active Workflows", &c.active.join(", "));
        }
        let status = o.data.get("status");
        for (k, label) in [("succeeded", "Succeeded"), ("failed", "Failed"), ("phase", "Phase")] {
            if let Some(v) = status.and_then(|s| s.get(k)) {
                row(label, &v.as_str().map_or(v.to_string(), str::to_owned));
            }
        }
        for c in status.and_then(|s| s.get("conditions")).and_then(Value::as_array).into_iter().flatten() {
            let t = c.get("type").and_then(Value::as_str).unwrap_or("");
            row(&format!("Condition {t}"), c.get("message").and_then(Value::as_str).unwrap_or(""));
        }
    }
    tw.finish()
}

async fn delete(kind: Kind, conn: &Conn, args: KindDeleteArgs) -> Result<ExitCode> {
    let api = kind.api(conn, false);
    let names = if args.all {
        let items = list_all(&api, &ListParams::default()).await.map_err(|e| conn.err(e))?;
        items.into_iter().filter_map(|o| o.metadata.name).collect()
    } else if args.names.is_empty() {
        return Err(Error::Usage("give the names to delete, or --all".into()));
    } else {
        args.names
    };
    let mut failed = false;
    let mut out = std::io::stdout().lock();
    for name in names {
        match api.delete(&name, &DeleteParams::default()).await {
            Ok(_) => writeln!(out, "{} \"{name}\" deleted", kind.name())?,
            Err(e) => {
                eprintln!("{}", conn.err(e).report());
                failed = true;
            }
        }
    }
    Ok(if failed { ExitCode::FAILURE } else { ExitCode::SUCCESS })
}

async fn set_suspend(conn: &Conn, names: &[String], suspend: bool) -> Result<ExitCode> {
    let api = Kind::Cron.api(conn, false);
    let body = json!({"spec": {"suspend": suspend}});
    for name in names {
        api.patch(name, &PatchParams::default(), &Patch::Merge(&body)).await.map_err(|e| conn.err(e))?;
        println!("CronWorkflow '{name}' {}", if suspend { "suspended" } else { "resumed" });
    }
    Ok(ExitCode::SUCCESS)
}
