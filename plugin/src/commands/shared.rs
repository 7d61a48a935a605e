//! What several commands use: output formats and printing, the `get`
//! tree of one workflow, selecting and listing workflows, parameters.

use std::io::Write;
use std::time::Duration;

use argo_api::selector::NodeSelector;
use k8s_openapi::jiff::Timestamp;
use k8s_openapi::jiff::tz::TimeZone;
use kube::api::{Api, DynamicObject, ListParams};
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

use super::Ctx;
use crate::cluster::parse_duration;
use crate::error::{Error, Result};
use crate::print::get::{Options, render};
use crate::print::tree::Columns;
use crate::view::WorkflowView;

/// Output formats (`-o`) of the commands that print workflows; each
/// command accepts the ones its `output_parser` lists.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Json,
    Yaml,
    Wide,
    Name,
    Short,
}

impl Format {
    pub const fn name(self) -> &'static str {
        match self {
            Format::Json => "json",
            Format::Yaml => "yaml",
            Format::Wide => "wide",
            Format::Name => "name",
            Format::Short => "short",
        }
    }

    /// One of the names clap has already checked.
    fn known(name: &str) -> Format {
        [Format::Json, Format::Yaml, Format::Wide, Format::Name]
            .into_iter()
            .find(|f| f.name() == name)
            .unwrap_or(Format::Short)
    }

    /// The raw object formats; None for the tables and names.
    pub fn raw(self) -> bool {
        matches!(self, Format::Json | Format::Yaml)
    }
}

/// `-o` accepting `allowed`, in that order in `--help`.
pub fn output_parser(allowed: &'static [Format]) -> impl clap::builder::TypedValueParser<Value = Format> {
    use clap::builder::TypedValueParser;
    clap::builder::PossibleValuesParser::new(allowed.iter().map(|f| f.name())).map(|s| Format::known(&s))
}

/// Prints objects as JSON (one object, or an array) or YAML documents;
/// nodes the controller stored packed (`compressedNodes`) are shown as
/// `nodes`, as upstream's CLI shows them.
pub fn print_objects<T: serde::Serialize>(objects: &[T], format: Format, single: bool) -> Result<()> {
    let mut objects = objects.iter().map(serde_json::to_value).collect::<Result<Vec<_>, _>>()?;
    for status in objects.iter_mut().filter_map(|o| o.get_mut("status")) {
        argo_api::workflow::compress::unpack_value(status).map_err(crate::error::Error::Other)?;
    }
    let mut out = std::io::stdout().lock();
    match format {
        Format::Json if single && objects.len() == 1 => {
            writeln!(out, "{}", serde_json::to_string_pretty(&objects[0])?)?
        }
        Format::Json => writeln!(out, "{}", serde_json::to_string_pretty(&objects)?)?,
        Format::Yaml if single && objects.len() == 1 => write!(out, "{}", serde_yaml::to_string(&objects[0])?)?,
        Format::Yaml => write!(out, "{}", serde_yaml::to_string(&objects)?)?,
        _ => {}
    }
    Ok(())
}

/// `name=value`, as `-p` takes it.
pub fn parse_parameter(s: &str) -> Result<(String, String)> {
    match s.split_once('=') {
        Some((k, v)) if !k.trim().is_empty() => Ok((k.trim().to_owned(), v.to_owned())),
        _ => Err(Error::Usage(format!("invalid parameter {s:?}: expected NAME=VALUE"))),
    }
}

/// Which nodes the tree shows, and how (get and watch).
#[derive(Debug, Default, clap::Args)]
pub struct TreeArgs {
    /// Only nodes in this phase (shorthand for --node-field-selector phase=PHASE)
    #[arg(long)]
    pub status: Option<String>,
    /// Only nodes matching this field selector (e.g. phase=Failed,templateName=main)
    #[arg(long)]
    pub node_field_selector: Option<String>,
    /// Words instead of UTF-8 symbols and glyphs
    #[arg(long)]
    pub no_utf8: bool,
}

impl TreeArgs {
    pub fn selector(&self) -> Result<Option<NodeSelector>> {
        selector(self.status.as_deref(), self.node_field_selector.as_deref())
    }
}

/// The node selector of `--status` / `--node-field-selector`.
pub fn selector(status: Option<&str>, fields: Option<&str>) -> Result<Option<NodeSelector>> {
    let text = match (status, fields) {
        (Some(_), Some(_)) => return Err(Error::Usage("cannot use both --status and --node-field-selector".into())),
        (Some(s), None) => format!("phase={s}"),
        (None, Some(f)) => f.to_owned(),
        (None, None) => return Ok(None),
    };
    NodeSelector::parse(&text)
        .map(Some)
        .map_err(|e| Error::Usage(format!("--node-field-selector: {e}")))
}

pub fn columns(output: Option<Format>) -> Columns {
    match output {
        Some(Format::Wide) => Columns::Wide,
        Some(Format::Short) => Columns::Short,
        _ => Columns::Default,
    }
}

/// The `get` view of one workflow, as text.
/// The `get` view of a workflow; its notices are kept for the end.
pub fn show(ctx: &Ctx, wf: &WorkflowView, columns: Columns, selector: Option<&NodeSelector>, no_utf8: bool) -> String {
    if let Some(text) = crate::print::get::notices(wf) {
        ctx.notice(text);
    }
    render(
        wf,
        &Options {
            style: ctx.style(no_utf8),
            columns,
            selector,
            now: now(),
            tz: TimeZone::system(),
        },
    )
}

/// Server-side label selector for the filters that have labels.
pub fn label_selector(user: Option<&str>, running: bool, completed: bool, status: Option<&str>) -> Result<String> {
    let mut parts: Vec<String> = user.filter(|s| !s.is_empty()).map(|s| vec![s.to_owned()]).unwrap_or_default();
    if running {
        parts.push(format!("{}!=true", argo_api::keys::WORKFLOW_COMPLETED));
    }
    if completed {
        parts.push(format!("{}=true", argo_api::keys::WORKFLOW_COMPLETED));
    }
    if let Some(status) = status {
        let phases = status.split(',').map(|p| phase_name(p.trim())).collect::<Result<Vec<_>>>()?;
        parts.push(format!("{} in ({})", argo_api::keys::PHASE, phases.join(",")));
    }
    Ok(parts.join(","))
}

fn phase_name(p: &str) -> Result<&'static str> {
    ["Pending", "Running", "Succeeded", "Failed", "Error"]
        .into_iter()
        .find(|known| known.eq_ignore_ascii_case(p))
        .ok_or_else(|| {
            Error::Usage(format!("unknown status {p:?}: expected Pending, Running, Succeeded, Failed or Error"))
        })
}

/// Client-side filters: name prefix, creation and finish times.
pub struct Filter {
    pub prefix: Option<String>,
    pub created_after: Option<Timestamp>,
    pub finished_before: Option<Timestamp>,
}

impl Filter {
    pub fn keeps(&self, wf: &WorkflowView) -> bool {
        self.prefix.as_deref().is_none_or(|p| wf.name().starts_with(p))
            && self.created_after.is_none_or(|t| wf.created().is_some_and(|c| c >= t))
            && self.finished_before.is_none_or(|t| wf.is_completed() && wf.finished().is_some_and(|f| f <= t))
    }

    pub fn from_flags(prefix: Option<&str>, since: Option<&str>, older: Option<&str>) -> Result<Filter> {
        let ago = |d: Option<&str>| -> Result<Option<Timestamp>> {
            d.map(|d| {
                let d = parse_duration(d)?;
                now().checked_sub(signed(d)).map_err(|e| Error::Usage(e.to_string()))
            })
            .transpose()
        };
        Ok(Filter {
            prefix: prefix.map(str::to_owned),
            created_after: ago(since)?,
            finished_before: ago(older)?,
        })
    }
}

fn signed(d: Duration) -> k8s_openapi::jiff::SignedDuration {
    k8s_openapi::jiff::SignedDuration::try_from(d).unwrap_or(k8s_openapi::jiff::SignedDuration::MAX)
}

/// Every object the API returns, a page of `chunk` at a time.
pub async fn list_all<K>(api: &Api<K>, params: &ListParams) -> std::result::Result<Vec<K>, kube::Error>
where
    K: Clone + DeserializeOwned + std::fmt::Debug,
{
    let mut out = Vec::new();
    let mut params = params.clone();
    loop {
        let page = api.list(&params).await?;
        out.extend(page.items);
        match page.metadata.continue_.filter(|c| !c.is_empty()) {
            Some(token) => params.continue_token = Some(token),
            None => return Ok(out),
        }
    }
}

/// The printers' view of a raw object.
pub fn view_of(o: &DynamicObject) -> WorkflowView {
    serde_json::to_value(o).ok().and_then(|v| serde_json::from_value(v).ok()).unwrap_or_default()
}

/// Sets workflow parameters: existing ones get the value, others are added.
pub fn set_parameters(spec: &mut Value, parameters: &[(String, String)]) {
    if parameters.is_empty() {
        return;
    }
    let Some(spec) = spec.as_object_mut() else { return };
    let args = spec.entry("arguments").or_insert_with(|| json!({}));
    let Some(args) = args.as_object_mut() else { return };
    let list = args.entry("parameters").or_insert_with(|| json!([]));
    let Some(list) = list.as_array_mut() else { return };
    for (name, value) in parameters {
        match list.iter_mut().find(|p| p.get("name").and_then(Value::as_str) == Some(name)) {
            Some(p) => {
                p["value"] = json!(value);
                if let Some(p) = p.as_object_mut() {
                    p.remove("valueFrom");
                }
            }
            None => list.push(json!({"name": name, "value": value})),
        }
    }
}

/// Now, from the system clock.
pub fn now() -> k8s_openapi::jiff::Timestamp {
    k8s_openapi::jiff::Timestamp::now()
}
