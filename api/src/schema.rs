//! Schema fragments for fields whose CRD schema must stay permissive.
//!
//! The CRD keeps every unknown field (`x-kubernetes-preserve-unknown-fields`)
//! so that nothing a user wrote is pruned before the webhook or the controller
//! can name it. Embedded Kubernetes core types (Container, Volume, ...) are
//! opaque objects in the schema: the apiserver would otherwise carry their
//! whole OpenAPI tree in every CRD, and our own strict parse checks them.

use schemars::{Schema, SchemaGenerator, json_schema};

/// An object of any shape; its content is checked by `strict::parse`.
pub fn opaque_object(_: &mut SchemaGenerator) -> Schema {
    json_schema!({
        "type": "object",
        "x-kubernetes-preserve-unknown-fields": true,
    })
}

/// A list of objects of any shape.
pub fn opaque_object_list(_: &mut SchemaGenerator) -> Schema {
    json_schema!({
        "type": "array",
        "items": { "type": "object", "x-kubernetes-preserve-unknown-fields": true },
    })
}

/// Any JSON value: upstream accepts strings, numbers and booleans for
/// parameter values, and any value as a loop item.
pub fn any_value(_: &mut SchemaGenerator) -> Schema {
    json_schema!({ "x-kubernetes-preserve-unknown-fields": true })
}

/// A list of any JSON values.
pub fn any_value_list(_: &mut SchemaGenerator) -> Schema {
    json_schema!({
        "type": "array",
        "items": { "x-kubernetes-preserve-unknown-fields": true },
    })
}

/// An integer or a string (upstream's `intstr.IntOrString`).
pub fn int_or_string(_: &mut SchemaGenerator) -> Schema {
    json_schema!({ "x-kubernetes-int-or-string": true })
}

/// A string-to-string map (labels, annotations, node selectors).
pub fn string_map(_: &mut SchemaGenerator) -> Schema {
    json_schema!({
        "type": "object",
        "additionalProperties": { "type": "string" },
    })
}

/// A map of resource names to quantities (`{cpu: "4", memory: 8Gi}`).
pub fn quantity_map(_: &mut SchemaGenerator) -> Schema {
    json_schema!({
        "type": "object",
        "additionalProperties": { "x-kubernetes-int-or-string": true },
    })
}
