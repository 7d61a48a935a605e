//! Where referenced templates come from: the cluster's watched
//! WorkflowTemplates (webhook, controller), the files being linted, or
//! nowhere.

use serde_json::Value;

use crate::load;
use crate::workflow::WorkflowSpec;

pub enum Found {
    Spec(Box<WorkflowSpec>),
    Missing,
    /// It cannot be used: why, for the user (not known yet, invalid...).
    Refused(String),
}

pub trait Source {
    /// The spec of WorkflowTemplate `name` in `namespace`, or of
    /// ClusterWorkflowTemplate `name` when `cluster`.
    fn spec(&self, cluster: bool, namespace: &str, name: &str) -> Found;
}

/// No templates at all: every reference is missing.
pub struct NoTemplates;

impl Source for NoTemplates {
    fn spec(&self, _: bool, _: &str, _: &str) -> Found {
        Found::Missing
    }
}

/// Templates given as objects (the documents of the files being linted,
/// or a test's), matched by kind, name and, when they say one, namespace.
#[derive(Default)]
pub struct Documents(pub Vec<Value>);

impl Source for Documents {
    fn spec(&self, cluster: bool, namespace: &str, name: &str) -> Found {
        let kind = if cluster {
            "ClusterWorkflowTemplate"
        } else {
            "WorkflowTemplate"
        };
        let doc = self.0.iter().find(|d| {
            let meta = |k: &str| d.pointer(&format!("/metadata/{k}")).and_then(Value::as_str);
            d.get("kind").and_then(Value::as_str) == Some(kind)
                && meta("name") == Some(name)
                && (cluster || meta("namespace").is_none_or(|n| n == namespace))
        });
        let Some(doc) = doc else { return Found::Missing };
        let parsed = if cluster {
            load::cluster_workflow_template(doc).map(|t| t.spec.spec)
        } else {
            load::workflow_template(doc).map(|t| t.spec.spec)
        };
        match parsed {
            Ok(spec) => Found::Spec(Box::new(spec)),
            Err(e) => Found::Refused(format!("{kind} {name:?} is invalid: {e}")),
        }
    }
}
