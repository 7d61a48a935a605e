//! `kubectl argo retry`, as the controller carries it out: the failed
//! (and, if asked, selected succeeded) leaf nodes go, with everything that
//! came after them and the exit handler; the groups above them run again.
//! Their pods must be deleted before the new status is written, because a
//! node re-created under the same name gets a pod of the same name.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use argo_api::retry::RetryRequest;
use argo_api::selector::NodeSelector;
use argo_api::workflow::{NodeStatus, NodeType, Phase, WorkflowStatus};
use argo_api::{Workflow, names};

#[derive(Clone, Debug, PartialEq)]
pub struct Rerun {
    pub status: WorkflowStatus,
    /// Pods of the removed nodes; all must be gone before `status` is written.
    pub delete_pods: Vec<String>,
    /// How many nodes run again, for the event.
    pub removed: usize,
}

fn is_group(t: NodeType) -> bool {
    matches!(t, NodeType::Steps | NodeType::StepGroup | NodeType::Dag | NodeType::TaskGroup | NodeType::Retry)
}

/// The status a retry starts from, or why the workflow cannot be retried.
pub fn rerun(wf: &Workflow, req: &RetryRequest) -> Result<Rerun, String> {
    let name = wf.metadata.name.as_deref().unwrap_or_default();
    let mut status = wf.status.clone().unwrap_or_default();
    argo_api::workflow::compress::unpack(&mut status)?;
    if !status.phase.is_some_and(Phase::failed_or_error) {
        return Err(format!(
            "only Failed or Error workflows can be retried; this one is {}",
            status.phase.map_or("Pending", Phase::as_str)
        ));
    }
    let selector = match (&req.node_field_selector, req.restart_successful) {
        (Some(s), true) => Some(NodeSelector::parse(s).map_err(|e| format!("nodeFieldSelector: {e}"))?),
        _ => None,
    };
    let nodes = &status.nodes;
    let parents = parents(nodes);
    let remove = to_remove(name, nodes, &parents, req, selector.as_ref());
    let reset = groups_to_reset(nodes, &parents, &remove);
    let delete_pods: Vec<String> = remove
        .iter()
        .filter_map(|id| nodes.get(id))
        .filter(|n| n.type_ == NodeType::Pod)
        .map(|n| n.pod_name.clone().unwrap_or_else(|| names::pod_name(name, &n.name, n.template_name.as_deref())))
        .collect();
    status.nodes = kept(nodes, &remove, &reset);
    status.phase = Some(Phase::Running);
    status.finished_at = None;
    status.message = None;
    status.conditions.retain(|c| c.type_ != "Completed");
    Ok(Rerun {
        status: super::size::fit_default(wf, status),
        delete_pods,
        removed: remove.len(),
    })
}

/// Each node's parents: the nodes that list it as a child.
fn parents(nodes: &BTreeMap<String, NodeStatus>) -> HashMap<&str, Vec<&str>> {
    let mut parents: HashMap<&str, Vec<&str>> = HashMap::new();
    for n in nodes.values() {
        for c in &n.children {
            parents.entry(c.as_str()).or_default().push(n.id.as_str());
        }
    }
    parents
}

/// The failed leaves (and the selected succeeded ones), the omitted nodes
/// and the exit handler, with everything after or inside them.
fn to_remove(
    name: &str,
    nodes: &BTreeMap<String, NodeStatus>,
    parents: &HashMap<&str, Vec<&str>>,
    req: &RetryRequest,
    selector: Option<&NodeSelector>,
) -> BTreeSet<String> {
    let on_exit = names::node_id(name, &names::on_exit_node(name));
    let mut remove: BTreeSet<String> = BTreeSet::new();
    for n in nodes.values() {
        let leaf = !is_group(n.type_);
        let selected = req.restart_successful && selector.is_none_or(|s| s.matches(n));
        if (leaf && n.phase.failed_or_error())
            || n.phase == Phase::Omitted
            || (leaf && n.phase == Phase::Succeeded && selected)
            || n.id == on_exit
        {
            remove.insert(n.id.clone());
        }
    }
    // Everything after a removed node, or inside a removed boundary, goes too.
    loop {
        let before = remove.len();
        for n in nodes.values() {
            if remove.contains(&n.id) {
                continue;
            }
            let in_removed = n.boundary_id.as_ref().is_some_and(|b| remove.contains(b));
            let after_removed = parents.get(n.id.as_str()).is_some_and(|ps| ps.iter().any(|p| remove.contains(*p)));
            if in_removed || after_removed {
                remove.insert(n.id.clone());
            }
        }
        if remove.len() == before {
            return remove;
        }
    }
}

/// The groups that contain or lead to removed nodes: they run again.
fn groups_to_reset(
    nodes: &BTreeMap<String, NodeStatus>,
    parents: &HashMap<&str, Vec<&str>>,
    remove: &BTreeSet<String>,
) -> BTreeSet<String> {
    let mut reset: BTreeSet<String> = nodes
        .values()
        .filter(|n| is_group(n.type_) && n.phase.failed_or_error())
        .map(|n| n.id.clone())
        .collect();
    let mut todo: Vec<&str> = remove.iter().map(String::as_str).collect();
    while let Some(id) = todo.pop() {
        let Some(n) = nodes.get(id) else { continue };
        let ups = parents.get(id).into_iter().flatten().copied().chain(n.boundary_id.as_deref());
        for up in ups {
            let group = nodes.get(up).is_some_and(|u| is_group(u.type_));
            if group && !remove.contains(up) && reset.insert(up.to_owned()) {
                todo.push(up);
            }
        }
    }
    reset
}

/// The nodes that stay, without links to removed ones; reset groups run.
fn kept(
    nodes: &BTreeMap<String, NodeStatus>,
    remove: &BTreeSet<String>,
    reset: &BTreeSet<String>,
) -> BTreeMap<String, NodeStatus> {
    nodes
        .iter()
        .filter(|(id, _)| !remove.contains(*id))
        .map(|(id, n)| {
            let mut n = n.clone();
            n.children.retain(|c| !remove.contains(c));
            n.outbound_nodes.retain(|c| !remove.contains(c));
            if reset.contains(id) {
                n.phase = Phase::Running;
                n.finished_at = None;
                n.message = None;
            }
            (id.clone(), n)
        })
        .collect()
}
