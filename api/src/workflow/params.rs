//! Parameters, arguments, inputs and outputs.

use std::fmt;

use schemars::JsonSchema;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::schema;

/// A string that upstream also accepts as a YAML number or boolean
/// (`value: 3`, `value: true`), kept as the text the user would see.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct AnyString(pub String);

impl AnyString {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for AnyString {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl From<&str> for AnyString {
    fn from(s: &str) -> Self {
        Self(s.to_owned())
    }
}

impl From<String> for AnyString {
    fn from(s: String) -> Self {
        Self(s)
    }
}

impl Serialize for AnyString {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for AnyString {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        use serde::de::Error;
        match serde_json::Value::deserialize(d)? {
            serde_json::Value::String(s) => Ok(Self(s)),
            serde_json::Value::Number(n) => Ok(Self(n.to_string())),
            serde_json::Value::Bool(b) => Ok(Self(b.to_string())),
            other => Err(D::Error::custom(format!(
                "expected a string, number or boolean, found {}",
                crate::strict::kind_of(&other)
            ))),
        }
    }
}

impl JsonSchema for AnyString {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "AnyString".into()
    }
    fn json_schema(g: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schema::any_value(g)
    }
}

/// `arguments` of a workflow, step or task.
#[serde_with::skip_serializing_none]
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", default)]
pub struct Arguments {
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub parameters: Vec<Parameter>,
}

/// `inputs` of a template.
#[serde_with::skip_serializing_none]
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", default)]
pub struct Inputs {
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub parameters: Vec<Parameter>,
}

/// `outputs` of a template, and the observed outputs of a node.
#[serde_with::skip_serializing_none]
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", default)]
pub struct Outputs {
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub parameters: Vec<Parameter>,
    /// Standard output of a script or container (status only).
    pub result: Option<String>,
    /// Exit code of the main container, as upstream writes it: a string.
    pub exit_code: Option<String>,
}

/// One named parameter.
#[serde_with::skip_serializing_none]
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Parameter {
    pub name: String,
    pub value: Option<AnyString>,
    pub default: Option<AnyString>,
    #[serde(rename = "enum")]
    pub enum_: Option<Vec<AnyString>>,
    pub description: Option<String>,
    pub value_from: Option<ValueFrom>,
    /// Exports the output parameter as a workflow-global one.
    pub global_name: Option<String>,
}

/// Where an output parameter's value comes from.
#[serde_with::skip_serializing_none]
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", default)]
pub struct ValueFrom {
    /// A file in the main container.
    pub path: Option<String>,
    /// Another parameter, e.g. `{{steps.x.outputs.parameters.y}}`.
    pub parameter: Option<String>,
    /// An expression over the steps' or tasks' outputs (expr-lang), e.g.
    /// `tasks.a.outputs.result == 'x' ? tasks.b.outputs.result : 'y'`.
    pub expression: Option<String>,
    /// The value when the source is missing.
    pub default: Option<AnyString>,
    /// The value is supplied later (by resuming a suspend node).
    #[schemars(schema_with = "schema::opaque_object")]
    pub supplied: Option<serde_json::Map<String, serde_json::Value>>,
}
