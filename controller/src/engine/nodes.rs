//! Bookkeeping of status nodes: creation, phase changes, the child links
//! upstream draws between them, and the counters parallelism needs.

use argo_api::names;
use argo_api::workflow::{NodeFlag, NodeStatus, NodeType, Phase};

use super::Ctx;

/// What a new node is.
pub(crate) struct NewNode<'s> {
    pub name: &'s str,
    pub display: String,
    pub type_: NodeType,
    pub phase: Phase,
    pub boundary: Option<String>,
    pub template: Option<String>,
    pub message: Option<String>,
    pub hooked: bool,
}

fn counts_as_child(t: NodeType) -> bool {
    matches!(t, NodeType::Pod | NodeType::Steps | NodeType::Dag)
}

impl Ctx<'_> {
    pub fn id(&self, name: &str) -> String {
        names::node_id(self.name, name)
    }

    pub fn phase(&self, id: &str) -> Option<Phase> {
        self.nodes.get(id).map(|n| n.phase)
    }

    pub fn fulfilled(&self, id: &str) -> bool {
        self.phase(id).is_some_and(Phase::is_completed)
    }

    /// False once the workflow has as many nodes as it may have: callers
    /// create nothing more, and the workflow fails naming the limit.
    pub fn room_for_nodes(&mut self) -> bool {
        let max = self.limits.nodes;
        if self.nodes.len() < max {
            return true;
        }
        self.over_limit
            .get_or_insert_with(|| format!("the workflow needs more than {max} nodes, the limit per workflow"));
        false
    }

    /// Creates a node (or returns the existing one's id).
    pub fn init(&mut self, n: NewNode) -> String {
        let id = self.id(n.name);
        if self.nodes.contains_key(&id) {
            return id;
        }
        let now = self.now;
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
            inputs: None,
            outputs: None,
            children: vec![],
            outbound_nodes: vec![],
            host_node_name: None,
            pod_ip: None,
            pod_name: None,
            node_flag: n.hooked.then_some(NodeFlag {
                retried: None,
                hooked: Some(true),
            }),
            resources_duration: Default::default(),
        };
        self.count(&node, 1);
        self.nodes.insert(id.clone(), node);
        id
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
    pub fn set_phase(&mut self, id: &str, phase: Phase, message: Option<String>) {
        let Some(node) = self.nodes.get(id) else {
            return;
        };
        if node.phase == phase && (message.is_none() || node.message == message) {
            return;
        }
        let before = node.clone();
        self.count(&before, -1);
        let now = self.now;
        let node = self.nodes.get_mut(id).expect("checked above");
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
        if let Some(n) = self.nodes.get_mut(id) {
            n.message = message;
        }
    }

    pub fn add_child(&mut self, parent: &str, child: &str) {
        if let Some(p) = self.nodes.get_mut(parent)
            && !p.children.iter().any(|c| c == child)
        {
            p.children.push(child.to_owned());
        }
    }

    /// The leaf nodes whose outcome is this node's outcome (upstream's
    /// getOutboundNodes): dependents hang off them. A walk with a seen set,
    /// so even a status whose links loop cannot make it run forever.
    pub fn outbound(&self, id: &str) -> Vec<String> {
        let mut out = Vec::new();
        let mut seen = std::collections::HashSet::new();
        let mut stack = vec![id.to_owned()];
        while let Some(id) = stack.pop() {
            if !seen.insert(id.clone()) {
                continue;
            }
            let Some(node) = self.nodes.get(&id) else {
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
        self.nodes.get(id).and_then(|n| n.node_flag.as_ref()).and_then(|f| f.hooked).unwrap_or(false)
    }
}
