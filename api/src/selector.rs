//! Field selectors over workflow nodes (`--node-field-selector`), with
//! Kubernetes' field-selector syntax: `key=value`, `key==value`,
//! `key!=value`, comma-separated, all must hold. Keys are upstream's:
//! `name`, `displayName`, `templateName`, `phase`, `id`, `type` and
//! `inputs.parameters.<name>.value`.

use crate::workflow::NodeStatus;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NodeSelector {
    terms: Vec<Term>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
struct Term {
    key: String,
    value: String,
    equal: bool,
}

impl NodeSelector {
    /// Parses a selector; the error says which term is malformed.
    pub fn parse(text: &str) -> Result<Self, String> {
        let mut terms = Vec::new();
        for raw in text.split(',').map(str::trim).filter(|t| !t.is_empty()) {
            let (key, value, equal) = if let Some((k, v)) = raw.split_once("!=") {
                (k, v, false)
            } else if let Some((k, v)) = raw.split_once("==") {
                (k, v, true)
            } else if let Some((k, v)) = raw.split_once('=') {
                (k, v, true)
            } else {
                return Err(format!("invalid selector {raw:?}: expected key=value, key==value or key!=value"));
            };
            let key = key.trim();
            if key.is_empty() {
                return Err(format!("invalid selector {raw:?}: the key is empty"));
            }
            terms.push(Term {
                key: key.to_owned(),
                value: value.trim().to_owned(),
                equal,
            });
        }
        Ok(NodeSelector { terms })
    }

    /// Does the node match? An unknown field is the empty string, as in
    /// Kubernetes.
    pub fn matches(&self, node: &impl SelectableNode) -> bool {
        self.terms.iter().all(|t| (field(node, &t.key).unwrap_or_default() == t.value) == t.equal)
    }
}

/// A node as a selector sees it, whatever form it was read in (the
/// controller's typed status, the plugin's lenient view).
pub trait SelectableNode {
    fn name(&self) -> &str;
    fn display_name(&self) -> &str;
    fn template_name(&self) -> Option<&str>;
    fn phase(&self) -> Option<&str>;
    fn id(&self) -> &str;
    fn type_name(&self) -> &str;
    /// `(name, template)` of a `templateRef`.
    fn template_ref(&self) -> Option<(&str, &str)> {
        None
    }
    /// The value of the input parameter `name`.
    fn input(&self, name: &str) -> Option<&str>;
}

/// The one mapping of selector keys to node fields (upstream's keys).
fn field(node: &impl SelectableNode, key: &str) -> Option<String> {
    let text = match key {
        "name" => Some(node.name()),
        "displayName" => Some(node.display_name()),
        "templateName" => node.template_name(),
        "phase" => node.phase(),
        "id" => Some(node.id()),
        "type" => Some(node.type_name()),
        "templateRef.name" => node.template_ref().map(|(name, _)| name),
        "templateRef.template" => node.template_ref().map(|(_, template)| template),
        _ => key
            .strip_prefix("inputs.parameters.")
            .and_then(|k| k.strip_suffix(".value"))
            .and_then(|p| node.input(p)),
    };
    text.map(str::to_owned)
}

impl SelectableNode for NodeStatus {
    fn name(&self) -> &str {
        &self.name
    }

    fn display_name(&self) -> &str {
        &self.display_name
    }

    fn template_name(&self) -> Option<&str> {
        self.template_name.as_deref()
    }

    fn phase(&self) -> Option<&str> {
        Some(self.phase.as_str())
    }

    fn id(&self) -> &str {
        &self.id
    }

    fn type_name(&self) -> &str {
        self.type_.as_str()
    }

    fn input(&self, name: &str) -> Option<&str> {
        let p = self.inputs.as_ref()?.parameters.iter().find(|p| p.name == name)?;
        p.value.as_ref().map(|v| v.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Fake;

    impl SelectableNode for Fake {
        fn name(&self) -> &str {
            "wf.A"
        }
        fn display_name(&self) -> &str {
            "A"
        }
        fn template_name(&self) -> Option<&str> {
            None
        }
        fn phase(&self) -> Option<&str> {
            Some("Failed")
        }
        fn id(&self) -> &str {
            "wf-1"
        }
        fn type_name(&self) -> &str {
            "Pod"
        }
        fn template_ref(&self) -> Option<(&str, &str)> {
            Some(("lib", "hello"))
        }
        fn input(&self, name: &str) -> Option<&str> {
            (name == "msg").then_some("hi")
        }
    }

    #[test]
    fn terms_all_hold() {
        let m = |s: &str| NodeSelector::parse(s).unwrap().matches(&Fake);
        assert!(m("phase=Failed,displayName!=B"));
        assert!(!m("phase==Succeeded"));
        assert!(m("phase!=foobar"));
        assert!(!m("unknown=x"));
        assert!(m("unknown!=x"));
        assert!(m(""), "empty selects everything");
        assert!(m("templateRef.name=lib,templateRef.template=hello,inputs.parameters.msg.value=hi,type=Pod,id=wf-1"));
    }

    #[test]
    fn malformed_terms_are_named() {
        let e = NodeSelector::parse("phase=Failed,oops").unwrap_err();
        assert!(e.contains("\"oops\""), "{e}");
        assert!(NodeSelector::parse("=x").is_err());
    }
}
