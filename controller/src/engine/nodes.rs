//! The node set a pass builds: the nodes of the stored status, then every
//! node created or changed since, the links upstream draws between them,
//! and the counters parallelism needs. Every node kind creates its node
//! through `ensure`.

use std::collections::{BTreeMap, HashMap, HashSet};

use argo_api::names;
use argo_api::workflow::{Inputs, NodeFlag, NodeStatus, NodeType, Parameter, Phase};
use k8s_openapi::jiff::Timestamp;

/// What a new node is.
pub(super) struct NewNode<'s> {
    pub name: &'s str,
    pub display: String,
    pub type_: NodeType,
    pub phase: Phase,
    pub boundary: Option<String>,
    pub template: Option<String>,
    pub message: Option<String>,
    /// An exit handler's node.
    pub hooked: bool,
    pub inputs: Vec<Parameter>,
    pub pod_name: Option<String>,
}

impl<'s> NewNode<'s> {
    /// A node of `type_` named `name`, starting in `phase`; the rest empty.
    pub fn new(name: &'s str, type_: NodeType, phase: Phase) -> Self {
        NewNode {
            name,
            display: String::new(),
            type_,
            phase,
            boundary: None,
            template: None,
            message: None,
            hooked: false,
            inputs: vec![],
            pod_name: None,
        }
    }
}

pub(super) struct Nodes {
    /// The workflow's name, which every node id starts with.
    workflow: String,
    map: BTreeMap<String, NodeStatus>,
    /// Pod nodes not yet finished, for workflow-level parallelism.
    active_pods: i64,
    /// Unfinished Pod/Steps/DAG nodes by boundary, for template parallelism.
    active_children: HashMap<String, i64>,
}

fn counts_as_child(t: NodeType) -> bool {
    matches!(t, NodeType::Pod | NodeType::Steps | NodeType::Dag)
}

impl Nodes {
    /// The stored nodes, made consistent: every node under its own id and
    /// every link pointing at a node that exists. The controller writes
    /// nothing else, but the status is input like the rest: a hand-edited
    /// one must not send the engine looking for nodes that are not there.
    pub fn new(workflow: &str, mut map: BTreeMap<String, NodeStatus>) -> Nodes {
        let ids: HashSet<String> = map.keys().cloned().collect();
        for (id, n) in map.iter_mut() {
            if n.id != *id {
                n.id = id.clone();
            }
            n.children.retain(|c| ids.contains(c));
            n.outbound_nodes.retain(|c| ids.contains(c));
            if n.boundary_id.as_ref().is_some_and(|b| !ids.contains(b)) {
                n.boundary_id = None;
            }
        }
        let mut nodes = Nodes {
            workflow: workflow.to_owned(),
            map: BTreeMap::new(),
            active_pods: 0,
            active_children: HashMap::new(),
        };
        for n in map.values() {
            nodes.count(n, 1);
        }
        nodes.map = map;
        nodes
    }

    pub fn into_map(self) -> BTreeMap<String, NodeStatus> {
        self.map
    }

    pub fn id(&self, name: &str) -> String {
        names::node_id(&self.workflow, name)
    }

    pub fn get(&self, id: &str) -> Option<&NodeStatus> {
        self.map.get(id)
    }

    /// For any field but the phase (see `set_phase`).
    pub fn get_mut(&mut self, id: &str) -> Option<&mut NodeStatus> {
        self.map.get_mut(id)
    }

    pub fn contains(&self, id: &str) -> bool {
        self.map.contains_key(id)
    }

    pub fn len(&self) -> usize {
        self.map.len()
    }

    pub fn values(&self) -> impl Iterator<Item = &NodeStatus> {
        self.map.values()
    }

    pub fn phase(&self, id: &str) -> Option<Phase> {
        self.map.get(id).map(|n| n.phase)
    }

    pub fn fulfilled(&self, id: &str) -> bool {
        self.phase(id).is_some_and(Phase::is_completed)
    }

    pub fn active_pods(&self) -> i64 {
        self.active_pods
    }

    pub fn active_children(&self, boundary: &str) -> i64 {
        self.active_children.get(boundary).copied().unwrap_or(0)
    }

    /// The node `n` describes, created unless it exists; its id, and
    /// whether it was created now.
    pub fn ensure(&mut self, n: NewNode, now: Timestamp) -> (String, bool) {
        let id = self.id(n.name);
        if self.map.contains_key(&id) {
            return (id, false);
        }
        let node = NodeStatus {
            id: id.clone(),
            name: n.name.to_owned(),
            display_name: n.display,
            type_: n.type_,
            template_name: n.template,
            template_scope: Some("local/".into()),
            phase: n.phase,
            boundary_id: n.boundary,
            message: n.message,
            started_at: Some(now.into()),
            finished_at: n.phase.is_completed().then(|| now.into()),
            progress: None,
            inputs: (!n.inputs.is_empty()).then_some(Inputs { parameters: n.inputs }),
            outputs: None,
            children: vec![],
            outbound_nodes: vec![],
            host_node_name: None,
            pod_ip: None,
            pod_name: n.pod_name,
            node_flag: n.hooked.then_some(NodeFlag {
                retried: None,
                hooked: Some(true),
            }),
            resources_duration: Default::default(),
        };
        self.count(&node, 1);
        self.map.insert(id.clone(), node);
        (id, true)
    }

    fn count(&mut self, node: &NodeStatus, delta: i64) {
        if node.phase.is_completed() {
            return;
        }
        if node.type_ == NodeType::Pod {
            self.active_pods += delta;
        }
        if counts_as_child(node.type_)
            && let Some(b) = &node.boundary_id
        {
            *self.active_children.entry(b.clone()).or_default() += delta;
        }
    }

    /// Moves a node to `phase`; a finished node gets its finishedAt.
    pub fn set_phase(&mut self, id: &str, phase: Phase, message: Option<String>, now: Timestamp) {
        let Some(node) = self.map.get(id) else {
            return;
        };
        if node.phase == phase && (message.is_none() || node.message == message) {
            return;
        }
        let before = node.clone();
        self.count(&before, -1);
        let Some(node) = self.map.get_mut(id) else {
            return;
        };
        node.phase = phase;
        if message.is_some() {
            node.message = message;
        }
        if phase.is_completed() && node.finished_at.is_none() {
            node.finished_at = Some(now.into());
        }
        let after = node.clone();
        self.count(&after, 1);
    }

    pub fn set_message(&mut self, id: &str, message: Option<String>) {
        if let Some(n) = self.map.get_mut(id) {
            n.message = message;
        }
    }

    pub fn add_child(&mut self, parent: &str, child: &str) {
        if let Some(p) = self.map.get_mut(parent)
            && !p.children.iter().any(|c| c == child)
        {
            p.children.push(child.to_owned());
        }
    }

    /// The leaf nodes whose outcome is this node's outcome (upstream's
    /// getOutboundNodes): dependents hang off them. A walk with a seen set,
    /// so even links that loop cannot make it run forever.
    pub fn outbound(&self, id: &str) -> Vec<String> {
        let mut out = Vec::new();
        let mut seen = HashSet::new();
        let mut stack = vec![id.to_owned()];
        while let Some(id) = stack.pop() {
            if !seen.insert(id.clone()) {
                continue;
            }
            let Some(node) = self.map.get(&id) else {
                continue;
            };
            let next: Vec<String> = match node.type_ {
                NodeType::Pod | NodeType::Skipped | NodeType::Suspend => vec![],
                NodeType::TaskGroup => node.children.clone(),
                NodeType::Retry => node.children.iter().rev().find(|c| !self.is_hook(c)).cloned().into_iter().collect(),
                _ => node.outbound_nodes.clone(),
            };
            if next.is_empty() {
                out.push(id);
            } else {
                // Reversed so that the walk keeps the children's order.
                stack.extend(next.into_iter().rev());
            }
        }
        out
    }

    pub fn is_hook(&self, id: &str) -> bool {
        self.map.get(id).and_then(|n| n.node_flag.as_ref()).and_then(|f| f.hooked).unwrap_or(false)
    }
}
