//! Node ids and pod names, computed exactly as upstream Argo does so that
//! names are deterministic: a restarted controller finds the pod it made.

/// 32-bit FNV-1a, the hash upstream uses for node ids and pod names.
pub fn fnv32a(s: &str) -> u32 {
    s.bytes().fold(0x811c_9dc5_u32, |h, b| (h ^ u32::from(b)).wrapping_mul(0x0100_0193))
}

/// `<wf>-<fnv32a(nodeName)>`; the root node's id is the workflow name.
pub fn node_id(workflow: &str, node_name: &str) -> String {
    if node_name == workflow {
        workflow.to_owned()
    } else {
        format!("{workflow}-{}", fnv32a(node_name))
    }
}

/// Upstream's "v2" pod name: `<wf>-<template>-<fnv32a(nodeName)>`, the
/// prefix cut so the whole name fits Kubernetes' 253-character limit.
pub fn pod_name(workflow: &str, node_name: &str, template: Option<&str>) -> String {
    if node_name == workflow {
        return workflow.to_owned();
    }
    const MAX_PREFIX: usize = 253 - 10 - 1;
    let mut prefix = match template {
        // A referenced template is named for itself, as upstream's.
        Some(t) if !t.is_empty() => format!("{workflow}-{}", crate::templates::short_name(t)),
        _ => workflow.to_owned(),
    };
    if prefix.len() > MAX_PREFIX {
        let mut cut = MAX_PREFIX;
        while !prefix.is_char_boundary(cut) {
            cut -= 1;
        }
        prefix.truncate(cut);
    }
    format!("{prefix}-{}", fnv32a(node_name))
}

/// The name of the node that runs a node's exit handler.
pub fn on_exit_node(parent: &str) -> String {
    format!("{parent}.onExit")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fnv32a_matches_the_reference_vectors() {
        assert_eq!(fnv32a(""), 0x811c_9dc5);
        assert_eq!(fnv32a("a"), 0xe40c_292c);
        assert_eq!(fnv32a("foobar"), 0xbf9c_f968);
    }

    #[test]
    fn ids_and_pod_names_follow_upstream() {
        assert_eq!(node_id("wf", "wf"), "wf");
        assert_eq!(node_id("wf", "wf.A"), format!("wf-{}", fnv32a("wf.A")));
        assert_eq!(pod_name("wf", "wf.A", Some("echo")), format!("wf-echo-{}", fnv32a("wf.A")));
        assert_eq!(pod_name("wf", "wf.A", None), format!("wf-{}", fnv32a("wf.A")));
        let long = "x".repeat(300);
        let name = pod_name(&long, "n", Some("t"));
        assert!(name.len() <= 253, "{}", name.len());
    }
}
