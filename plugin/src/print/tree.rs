//! The node tree of `kubectl argo get`, built and drawn with upstream's
//! algorithm: DAG and Steps nodes are boundaries that contain the nodes
//! whose boundaryID names them; StepGroup and Retry nodes parent their
//! children; children are ordered by start time, then by loop index or
//! name. StepGroups are hidden (their children take the ┬─ ├─ └─ glyphs),
//! as are Retry nodes with one attempt, Omitted nodes and nodes the
//! selector filters out.

use std::collections::HashMap;

use argo_api::selector::NodeSelector;
use k8s_openapi::jiff::Timestamp;

use super::Style;
use super::humanize::short_duration;
use super::tabwriter::TabWriter;
use crate::view::{NodeView, WorkflowView};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Columns {
    #[default]
    Default,
    Wide,
    Short,
}

pub struct Tree<'a> {
    wf: &'a WorkflowView,
    children: HashMap<&'a str, Vec<&'a str>>,
    roots: Vec<&'a str>,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Boundary,
    Parent,
    Execution,
}

fn kind(node: &NodeView) -> Option<Kind> {
    match node.type_.as_str() {
        "DAG" | "Steps" => Some(Kind::Boundary),
        "StepGroup" | "Retry" => Some(Kind::Parent),
        "Pod" | "Skipped" | "Suspend" | "HTTP" | "Plugin" => Some(Kind::Execution),
        _ => None,
    }
}

/// upstream's RecoverIndexFromNodeName: `x(3:foo)` is 3.
fn loop_index(name: &str) -> Option<i64> {
    let open = name.find('(')?;
    let colon = name.find(':')?;
    name.get(open + 1..colon)?.parse().ok()
}

struct SortKey<'a> {
    started: Option<Timestamp>,
    index: Option<i64>,
    name: &'a str,
}

impl SortKey<'_> {
    /// Does `self` go before `other` (upstream's insertSorted test)?
    fn before(&self, other: &SortKey<'_>) -> bool {
        if self.started != other.started {
            return self.started < other.started;
        }
        match (self.index, other.index) {
            (Some(a), Some(b)) => a < b,
            _ => self.name < other.name,
        }
    }
}

impl<'a> Tree<'a> {
    pub fn new(wf: &'a WorkflowView) -> Self {
        let nodes = wf.status.nodes();
        // A child of a StepGroup or Retry hangs there, not in its boundary.
        let mut parent_of: HashMap<&str, &str> = HashMap::new();
        for (id, node) in nodes {
            if kind(node) == Some(Kind::Parent) {
                for child in &node.children {
                    parent_of.insert(child.as_str(), id.as_str());
                }
            }
        }
        let mut children: HashMap<&str, Vec<&str>> = HashMap::new();
        let mut keys: HashMap<&str, Vec<SortKey<'_>>> = HashMap::new();
        let mut roots = Vec::new();
        for (id, node) in nodes {
            if kind(node).is_none() {
                continue;
            }
            let parent = match parent_of.get(id.as_str()) {
                Some(p) => Some(*p),
                None => match node.boundary_id.as_deref().filter(|b| !b.is_empty()) {
                    None => {
                        roots.push(id.as_str());
                        continue;
                    }
                    // Upstream drops nodes whose boundary is not a DAG/Steps node.
                    Some(b) if nodes.get(b).and_then(kind) == Some(Kind::Boundary) => Some(b),
                    Some(_) => None,
                },
            };
            let Some(parent) = parent else { continue };
            let key = SortKey {
                started: node.started(),
                index: loop_index(&node.display_name),
                name: &node.display_name,
            };
            let list_keys = keys.entry(parent).or_default();
            let at = list_keys.iter().position(|k| key.before(k)).unwrap_or(list_keys.len());
            list_keys.insert(at, key);
            children.entry(parent).or_default().insert(at, id.as_str());
        }
        Tree { wf, children, roots }
    }

    pub fn has_root(&self, id: &str) -> bool {
        self.roots.contains(&id)
    }
}

pub struct Render<'a> {
    pub style: Style,
    pub columns: Columns,
    pub selector: Option<&'a NodeSelector>,
    pub now: Timestamp,
}

impl Render<'_> {
    /// The STEP table: header, the main tree, then the exit handler's.
    pub fn table(&self, tree: &Tree<'_>) -> String {
        let mut w = TabWriter::new(2);
        let step = self.style.paint("STEP", super::FG_DEFAULT);
        w.write(&match self.columns {
            Columns::Wide => {
                format!("{step}\tTEMPLATE\tPODNAME\tDURATION\tARTIFACTS\tMESSAGE\tRESOURCESDURATION\tNODENAME\n")
            }
            Columns::Short => format!("{step}\tTEMPLATE\tPODNAME\tDURATION\tMESSAGE\tNODENAME\n"),
            Columns::Default => format!("{step}\tTEMPLATE\tPODNAME\tDURATION\tMESSAGE\n"),
        });
        let name = tree.wf.name();
        self.render(tree, &mut w, name, " ", " ");
        let on_exit = argo_api::names::node_id(name, &argo_api::names::on_exit_node(name));
        if tree.has_root(&on_exit) {
            w.write("\t\t\t\t\t\n");
            self.render(tree, &mut w, &on_exit, " ", " ");
        }
        w.finish()
    }

    /// (hidden, do its children take the StepGroup glyphs)
    fn filtered(&self, node: &NodeView) -> (bool, bool) {
        if node.type_ == "StepGroup" {
            return (true, true);
        }
        let single_retry = node.type_ == "Retry" && node.children.len() == 1;
        let omitted = node.type_ == "Skipped" && node.phase() == "Omitted";
        let unselected = self.selector.is_some_and(|s| !s.matches(node));
        (single_retry || omitted || unselected, false)
    }

    fn render(&self, tree: &Tree<'_>, w: &mut TabWriter, id: &str, node_prefix: &str, child_prefix: &str) {
        let Some(node) = tree.wf.status.nodes().get(id) else {
            return;
        };
        let (filtered, child_indent) = self.filtered(node);
        if !filtered {
            self.line(tree.wf, node, node_prefix, w);
        }
        let kids = tree.children.get(id).map(Vec::as_slice).unwrap_or_default();
        let last = kids.len().saturating_sub(1);
        for (i, kid) in kids.iter().enumerate() {
            let (part, sub) = self.glyphs(filtered && child_indent, !filtered, i, last);
            let (kid_prefix, grandkid_prefix) = if !filtered {
                (format!("{child_prefix}{part}"), format!("{child_prefix}{sub}"))
            } else if i == 0 {
                (format!("{node_prefix}{part}"), format!("{child_prefix}{sub}"))
            } else {
                (format!("{child_prefix}{part}"), format!("{child_prefix}{sub}"))
            };
            self.render(tree, w, kid, &kid_prefix, &grandkid_prefix);
        }
    }

    fn glyphs(&self, group: bool, plain: bool, i: usize, last: usize) -> (&'static str, &'static str) {
        let u = self.style.utf8;
        if group {
            match (last == 0, i == 0, i == last) {
                (true, ..) => (if u { "──" } else { "--" }, "  "),
                (_, true, _) => (if u { "┬─" } else { "+-" }, if u { "│ " } else { "| " }),
                (_, _, true) => (if u { "└─" } else { "`-" }, "  "),
                _ => (if u { "├─" } else { "|-" }, if u { "│ " } else { "| " }),
            }
        } else if plain {
            if i == last {
                (if u { "└─" } else { "`-" }, "  ")
            } else {
                (if u { "├─" } else { "|-" }, if u { "│ " } else { "| " })
            }
        } else {
            ("", "")
        }
    }

    fn line(&self, wf: &WorkflowView, node: &NodeView, prefix: &str, w: &mut TabWriter) {
        let icon = if node.is_active_suspend() {
            self.style.suspend_icon()
        } else {
            self.style.phase_icon(node.phase())
        };
        let name = format!("{icon} {}", node.display_name);
        let template = node.template();
        let message = node.message.as_deref().unwrap_or("").replace(['\n', '\t'], " ");
        let is_pod = node.type_ == "Pod";
        let (pod, duration) = if is_pod {
            (node.pod(wf.name(), wf.v1_pod_names()), short_duration(node.started(), node.finished(), self.now))
        } else {
            (String::new(), String::new())
        };
        let host = if is_pod {
            node.host_node_name.clone().unwrap_or_default()
        } else {
            String::new()
        };
        w.write(&match self.columns {
            Columns::Wide => format!(
                "{prefix}{name}\t{template}\t{pod}\t{duration}\t{}\t{message}\t{}\t{host}\n",
                artifacts(node),
                super::get::resources_duration(&node.resources_duration)
            ),
            Columns::Short => format!("{prefix}{name}\t{template}\t{pod}\t{duration}\t{message}\t{host}\n"),
            Columns::Default => format!("{prefix}{name}\t{template}\t{pod}\t{duration}\t{message}\t\n"),
        });
    }
}

fn artifacts(node: &NodeView) -> String {
    node.outputs
        .as_ref()
        .map(|o| o.artifacts.iter().map(|a| a.name.as_str()).collect::<Vec<_>>().join(","))
        .unwrap_or_default()
}
