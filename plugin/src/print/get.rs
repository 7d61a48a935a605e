//! `kubectl argo get`: upstream's header block (`%-20s %v` lines) and the
//! node tree.

use std::collections::BTreeMap;
use std::fmt::Write;

use argo_api::selector::NodeSelector;
use k8s_openapi::jiff::Timestamp;
use k8s_openapi::jiff::tz::TimeZone;

use super::Style;
use super::humanize::{long_duration, timestamp_in};
use super::tabwriter::TabWriter;
use super::tree::{Columns, Render, Tree};
use crate::view::WorkflowView;

pub struct Options<'a> {
    pub style: Style,
    pub columns: Columns,
    pub selector: Option<&'a NodeSelector>,
    pub now: Timestamp,
    pub tz: TimeZone,
}

/// Upstream's nudge under `argo get`, for a workflow without a pod
/// security context.
pub const NUDGE: &str = "\nThis workflow does not have security context set. You can run your workflow pods more securely by setting it.\nLearn more at https://argo-workflows.readthedocs.io/en/latest/workflow-pod-security-context/\n";

pub fn render(wf: &WorkflowView, opts: &Options<'_>) -> String {
    let mut out = String::new();
    let line = |out: &mut String, k: &str, v: &str| {
        let _ = writeln!(out, "{k:<20} {v}");
    };
    line(&mut out, "Name:", wf.name());
    line(&mut out, "Namespace:", wf.namespace());
    let sa = match wf.spec.service_account_name.as_deref().filter(|s| !s.is_empty()) {
        Some(sa) => sa.to_owned(),
        None if wf.spec.workflow_template_ref.is_some() => "unset".into(),
        None => "unset (will run with the default ServiceAccount)".into(),
    };
    line(&mut out, "ServiceAccount:", &sa);
    line(&mut out, "Status:", &wf.display_status());
    if let Some(m) = wf.status.message.as_deref().filter(|m| !m.is_empty()) {
        line(&mut out, "Message:", m);
    }
    if !wf.status.conditions.is_empty() {
        line(&mut out, "Conditions:", "");
        for c in &wf.status.conditions {
            let message = c.message.clone().filter(|m| !m.is_empty()).unwrap_or_else(|| c.status.clone());
            line(&mut out, &format!("{} {}", opts.style.condition_icon(&c.type_), c.type_), &message);
        }
    }
    let when = |t: Timestamp| timestamp_in(t, opts.now, &opts.tz);
    line(&mut out, "Created:", &wf.created().map(when).unwrap_or_else(|| GO_ZERO_TIME.into()));
    if let Some(t) = wf.started() {
        line(&mut out, "Started:", &when(t));
    }
    if let Some(t) = wf.finished() {
        line(&mut out, "Finished:", &when(t));
    }
    if wf.started().is_some() {
        line(&mut out, "Duration:", &long_duration(wf.started(), wf.finished(), opts.now));
    }
    if wf.phase() == "Running"
        && let Some(secs) = wf.status.estimated_duration.filter(|s| *s > 0)
    {
        line(
            &mut out,
            "EstimatedDuration:",
            &long_duration(Some(Timestamp::UNIX_EPOCH), Some(epoch_plus(secs)), opts.now),
        );
    }
    line(&mut out, "Progress:", wf.status.progress.as_deref().unwrap_or(""));
    if !wf.status.resources_duration.is_empty() {
        line(&mut out, "ResourcesDuration:", &resources_duration(&wf.status.resources_duration));
    }
    if !wf.parameters().is_empty() {
        line(&mut out, "Parameters:", "");
        for p in wf.parameters() {
            if let Some(v) = &p.value {
                line(&mut out, &format!("  {}:", p.name), v.as_str());
            }
        }
    }
    if let Some(o) = wf.status.outputs.as_ref().filter(|o| !o.parameters.is_empty()) {
        line(&mut out, "Output Parameters:", "");
        for p in &o.parameters {
            line(&mut out, &format!("  {}:", p.name), p.value.as_ref().map(|v| v.as_str()).unwrap_or_default());
        }
    }
    let tree = Tree::new(wf);
    if tree.has_root(wf.name()) {
        out.push('\n');
        let render = Render {
            style: opts.style,
            columns: opts.columns,
            selector: opts.selector,
            now: opts.now,
        };
        let table = render.table(&tree);
        if opts.columns == Columns::Short {
            out = table;
        } else {
            out.push_str(&table);
            out.push_str(&node_outputs(wf, opts.selector));
        }
    }
    out
}

/// The notices to print once after the command's output.
pub fn notices(wf: &WorkflowView) -> Option<&'static str> {
    wf.spec.security_context.is_none().then_some(NUDGE)
}

/// What each step reported, after the tree: its result and output
/// parameters, one line each, values on one line and shortened.
fn node_outputs(wf: &WorkflowView, selector: Option<&NodeSelector>) -> String {
    let mut nodes: Vec<_> = wf
        .status
        .nodes()
        .values()
        .filter(|n| selector.is_none_or(|s| s.matches(*n)))
        .filter_map(|n| Some((n, n.outputs.as_ref()?)))
        .collect();
    nodes.sort_by_key(|(n, _)| (n.started_at.as_ref().map(|t| t.0), n.name.as_str()));
    let mut w = TabWriter::new(3);
    for (n, o) in nodes {
        let values =
            o.result.iter().filter(|r| !r.is_empty()).map(|r| ("result", r.as_str())).chain(
                o.parameters.iter().map(|p| (p.name.as_str(), p.value.as_ref().map(|v| v.as_str()).unwrap_or(""))),
            );
        for (name, value) in values {
            w.write(&format!("  {}\t{name}:\t{}\n", n.display_name, one_line(value, 60)));
        }
    }
    let table = w.finish();
    if table.is_empty() {
        table
    } else {
        format!("\nOUTPUTS:\n{table}")
    }
}

fn one_line(s: &str, max: usize) -> String {
    let flat = s.replace('\n', "\\n");
    if flat.chars().count() <= max {
        return flat;
    }
    let cut: String = flat.chars().take(max.saturating_sub(3)).collect();
    format!("{cut}...")
}

fn epoch_plus(secs: i64) -> Timestamp {
    Timestamp::from_second(secs).unwrap_or(Timestamp::UNIX_EPOCH)
}

/// Go prints an unset creation time as its zero time.
const GO_ZERO_TIME: &str = "Mon Jan 01 00:00:00 +0000 (a long while ago)";

/// Upstream's ResourcesDuration string: `1m30s*(1 cpu),5s*(100Mi memory)`.
pub fn resources_duration(map: &BTreeMap<String, i64>) -> String {
    let mut parts: Vec<String> = map
        .iter()
        .map(|(name, secs)| {
            let denominator = match name.as_str() {
                "memory" => "100Mi",
                "storage" | "ephemeral-storage" => "10Gi",
                _ => "1",
            };
            format!("{}*({denominator} {name})", go_duration(*secs))
        })
        .collect();
    parts.sort();
    parts.join(",")
}

/// Go's time.Duration String for whole seconds: `0s`, `45s`, `1m30s`, `2h0m5s`.
fn go_duration(secs: i64) -> String {
    let sign = if secs < 0 { "-" } else { "" };
    let s = secs.unsigned_abs();
    let (h, m, sec) = (s / 3600, (s / 60) % 60, s % 60);
    if h > 0 {
        format!("{sign}{h}h{m}m{sec}s")
    } else if m > 0 {
        format!("{sign}{m}m{sec}s")
    } else {
        format!("{sign}{sec}s")
    }
}
