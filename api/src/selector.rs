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

    /// Does a node whose fields `field` returns match? An unknown field is
    /// the empty string, as in Kubernetes.
    pub fn matches_fields(&self, field: impl Fn(&str) -> Option<String>) -> bool {
        self.terms.iter().all(|t| (field(&t.key).unwrap_or_default() == t.value) == t.equal)
    }

    pub fn matches(&self, node: &NodeStatus) -> bool {
        self.matches_fields(|key| node_field(node, key))
    }
}

fn node_field(node: &NodeStatus, key: &str) -> Option<String> {
    match key {
        "name" => Some(node.name.clone()),
        "displayName" => Some(node.display_name.clone()),
        "templateName" => node.template_name.clone(),
        "phase" => Some(node.phase.to_string()),
        "id" => Some(node.id.clone()),
        "type" => Some(node.type_.to_string()),
        _ => {
            let name = key.strip_prefix("inputs.parameters.")?.strip_suffix(".value")?;
            let p = node.inputs.as_ref()?.parameters.iter().find(|p| p.name == name)?;
            p.value.as_ref().map(|v| v.0.clone())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(key: &str) -> Option<String> {
        match key {
            "phase" => Some("Failed".into()),
            "displayName" => Some("A".into()),
            _ => None,
        }
    }

    #[test]
    fn terms_all_hold() {
        let s = NodeSelector::parse("phase=Failed,displayName!=B").unwrap();
        assert!(s.matches_fields(fields));
        assert!(!NodeSelector::parse("phase==Succeeded").unwrap().matches_fields(fields));
        assert!(NodeSelector::parse("phase!=foobar").unwrap().matches_fields(fields));
        assert!(!NodeSelector::parse("unknown=x").unwrap().matches_fields(fields));
        assert!(NodeSelector::parse("unknown!=x").unwrap().matches_fields(fields));
        assert!(NodeSelector::parse("").unwrap().matches_fields(fields), "empty selects everything");
    }

    #[test]
    fn malformed_terms_are_named() {
        let e = NodeSelector::parse("phase=Failed,oops").unwrap_err();
        assert!(e.contains("\"oops\""), "{e}");
        assert!(NodeSelector::parse("=x").is_err());
    }
}
