//! `kubectl argo list`: upstream's table (NAME STATUS AGE DURATION
//! PRIORITY MESSAGE, NAMESPACE first with -A, P/R/C and PARAMETERS with
//! -o wide), plus a CONTEXT column when several clusters are listed.

use std::cmp::Reverse;

use k8s_openapi::jiff::Timestamp;

use super::humanize::short_duration;
use super::tabwriter::TabWriter;
use crate::view::{ParameterView, WorkflowView};

#[derive(Clone, Copy, Debug, Default)]
pub struct Options {
    pub all_namespaces: bool,
    pub wide: bool,
    pub no_headers: bool,
    /// Several clusters: a CONTEXT column first.
    pub contexts: bool,
}

pub enum Row<'a> {
    Workflow {
        context: &'a str,
        workflow: &'a WorkflowView,
    },
    /// A cluster that could not be listed.
    Unreachable { context: &'a str, error: String },
}

/// Upstream's order: unfinished first, newest first; then finished, the
/// latest to finish first.
pub fn sort(workflows: &mut [(String, WorkflowView)]) {
    workflows.sort_by_key(|(_, w)| match w.finished() {
        None => (false, Reverse(None), Reverse(w.created())),
        Some(f) => (true, Reverse(Some(f)), Reverse(None)),
    });
}

pub fn table(rows: &[Row<'_>], opts: Options, now: Timestamp) -> String {
    let mut w = TabWriter::new(3);
    if !opts.no_headers {
        if opts.contexts {
            w.write("CONTEXT\t");
        }
        if opts.all_namespaces {
            w.write("NAMESPACE\t");
        }
        w.write("NAME\tSTATUS\tAGE\tDURATION\tPRIORITY\tMESSAGE");
        if opts.wide {
            w.write("\tP/R/C\tPARAMETERS");
        }
        w.write("\n");
    }
    for row in rows {
        match row {
            Row::Workflow { context, workflow: wf } => {
                if opts.contexts {
                    w.write(&format!("{context}\t"));
                }
                if opts.all_namespaces {
                    w.write(&format!("{}\t", wf.namespace()));
                }
                w.write(&format!(
                    "{}\t{}\t{}\t{}\t{}\t{}",
                    wf.name(),
                    wf.display_status(),
                    short_duration(wf.created(), Some(now), now),
                    short_duration(wf.started(), wf.finished(), now),
                    wf.spec.priority.unwrap_or(0),
                    one_line(wf.status.message.as_deref().unwrap_or("")),
                ));
                if opts.wide {
                    let (p, r, c) = wf.pod_counts();
                    w.write(&format!("\t{p}/{r}/{c}\t{}", parameter_string(wf.parameters())));
                }
            }
            Row::Unreachable { context, error } => {
                if opts.contexts {
                    w.write(&format!("{context}\t"));
                }
                if opts.all_namespaces {
                    w.write("\t");
                }
                w.write(&format!("<unreachable>\tError\t\t\t\t{}", one_line(error)));
                if opts.wide {
                    w.write("\t\t");
                }
            }
        }
        w.write("\n");
    }
    w.finish()
}

fn one_line(s: &str) -> String {
    s.replace(['\n', '\t'], " ")
}

/// `name=value,...`, values over 50 characters cut in the middle.
pub fn parameter_string(params: &[ParameterView]) -> String {
    params
        .iter()
        .filter_map(|p| p.value.as_ref().map(|v| format!("{}={}", p.name, one_line(&truncate(v.as_str(), 50)))))
        .collect::<Vec<_>>()
        .join(",")
}

fn truncate(s: &str, num: usize) -> String {
    let chars: Vec<char> = s.chars().collect();
    if chars.len() <= num {
        return s.to_owned();
    }
    let head = num - 3 - 15;
    let tail: String = chars[chars.len() - 15..].iter().collect();
    format!("{}...{tail}", chars[..head].iter().collect::<String>())
}
