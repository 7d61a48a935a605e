//! Shared helpers for the engine tests: load a workflow from YAML and run
//! it in the simulator.

#![allow(dead_code)]

use argo_api::workflow::{NodeStatus, NodeType, Phase};
use argo_controller::engine::sim::Sim;

pub fn sim(yaml: &str) -> Sim {
    let value: serde_json::Value = serde_yaml::from_str(yaml).expect("test YAML");
    let wf = argo_api::load::workflow(&value).unwrap_or_else(|e| panic!("test workflow does not parse: {e}"));
    Sim::new(wf)
}

/// Runs to the end and returns the phase.
pub fn run(yaml: &str) -> (Sim, Phase) {
    let mut s = sim(yaml);
    let phase = s.run(10_000).expect("the workflow has a phase");
    (s, phase)
}

pub fn nodes(s: &Sim) -> Vec<&NodeStatus> {
    s.workflow.status.as_ref().map(|st| st.nodes.values().collect()).unwrap_or_default()
}

pub fn node<'a>(s: &'a Sim, display: &str) -> &'a NodeStatus {
    s.node(display).unwrap_or_else(|| {
        panic!("no node {display:?}; nodes: {:?}", nodes(s).iter().map(|n| &n.display_name).collect::<Vec<_>>())
    })
}

pub fn phase_of(s: &Sim, display: &str) -> Phase {
    node(s, display).phase
}

pub fn pod_nodes(s: &Sim) -> Vec<&NodeStatus> {
    nodes(s).into_iter().filter(|n| n.type_ == NodeType::Pod).collect()
}

pub fn started(n: &NodeStatus) -> k8s_openapi::jiff::Timestamp {
    n.started_at.as_ref().expect("startedAt").0
}

pub fn finished(n: &NodeStatus) -> k8s_openapi::jiff::Timestamp {
    n.finished_at.as_ref().expect("finishedAt").0
}

/// Asserts that no pod name was created twice.
pub fn assert_no_duplicate_pods(s: &Sim) {
    let mut names = s.created.clone();
    names.sort();
    let before = names.len();
    names.dedup();
    assert_eq!(before, names.len(), "a pod was created twice: {:?}", s.created);
}

/// A node's output parameter `name`.
pub fn param<'a>(n: &'a NodeStatus, name: &str) -> Option<&'a str> {
    n.outputs.as_ref()?.parameters.iter().find(|p| p.name == name)?.value.as_ref().map(|v| v.as_str())
}

/// The main container's args of the pod a node ran.
pub fn args(s: &Sim, display: &str) -> Vec<String> {
    let pod = node(s, display).pod_name.clone().unwrap_or_else(|| node(s, display).id.clone());
    let spec = s.pods.get(&pod).and_then(|p| p.spec.clone()).expect("the node's pod");
    spec.containers[0].args.clone().unwrap_or_default()
}
