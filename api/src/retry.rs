//! The retry request `kubectl argo retry` writes into an annotation, so
//! that only the controller writes status. New parameter values for the
//! retry go into `spec.arguments` in the same update (the one spec change
//! admission allows on a failed workflow being retried).

use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RetryRequest {
    /// When it was asked for (RFC 3339); tells requests apart.
    pub requested_at: String,
    /// Also re-run succeeded nodes that `node_field_selector` matches.
    #[serde(default)]
    pub restart_successful: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub node_field_selector: Option<String>,
}
