//! `{{...}}` substitution, as upstream's templating does it: tags inside
//! string values are replaced from a scope of named values. Substitution
//! walks JSON values structurally, so nothing needs escaping.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde_json::Value;

use crate::limits::{self, MAX_SUBSTITUTED_BYTES};

/// Named values visible to a template: `workflow.name`,
/// `inputs.parameters.x`, `item`, ...
///
/// Cloning is cheap and values are shared: a loop of ten thousand items
/// gets ten thousand scopes without ten thousand copies of a large
/// workflow parameter.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Scope(Arc<BTreeMap<Arc<str>, Arc<str>>>);

impl Scope {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn set(&mut self, key: impl Into<String>, value: impl Into<String>) -> &mut Self {
        let (key, value): (String, String) = (key.into(), value.into());
        Arc::make_mut(&mut self.0).insert(key.into(), value.into());
        self
    }

    pub fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).map(AsRef::as_ref)
    }

    /// Every name and value, by name.
    pub fn entries(&self) -> impl Iterator<Item = (&str, &str)> {
        self.0.iter().map(|(k, v)| (k.as_ref(), v.as_ref()))
    }

    /// This scope with `other`'s entries added (other wins).
    pub fn merged(&self, other: &Scope) -> Scope {
        let mut out = self.clone();
        out.extend(other);
        out
    }

    pub fn extend(&mut self, other: &Scope) {
        if other.0.is_empty() {
            return;
        }
        if self.0.is_empty() {
            self.0 = other.0.clone();
            return;
        }
        Arc::make_mut(&mut self.0).extend(other.0.iter().map(|(k, v)| (k.clone(), v.clone())));
    }
}

/// What to do with a tag the scope does not know.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// Leave it for a later, inner substitution (e.g. `{{item}}` before
    /// loop expansion).
    Partial,
    /// Fail: the value is about to be used (a pod, a `when`).
    Strict,
}

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum VarError {
    #[error("failed to resolve {{{{{0}}}}}: no such variable in this template's scope")]
    Unresolved(String),
    #[error("failed to evaluate {{{{={0}}}}}: {1}")]
    Expression(String, String),
    #[error("unterminated {{{{ in {0:?}")]
    Unterminated(String),
    #[error("after substituting variables the value is no longer valid: {0}")]
    Shape(String),
    #[error("substituting variables into {0:?} makes it longer than {1}")]
    TooLong(String, String),
}

/// Every tag in `s`, trimmed, e.g. `inputs.parameters.x`.
pub fn tags(s: &str) -> Result<Vec<&str>, VarError> {
    let mut out = Vec::new();
    let mut rest = s;
    while let Some(start) = rest.find("{{") {
        let after = &rest[start + 2..];
        let end = after.find("}}").ok_or_else(|| VarError::Unterminated(s.to_owned()))?;
        out.push(after[..end].trim());
        rest = &after[end + 2..];
    }
    Ok(out)
}

/// `s` with every tag replaced by `placeholder`, to check the shape of a
/// value (e.g. that a podSpecPatch is YAML) before its tags are known.
pub fn blank_tags(s: &str, placeholder: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(start) = rest.find("{{") {
        let Some(end) = rest[start..].find("}}") else {
            break;
        };
        out.push_str(&rest[..start]);
        out.push_str(placeholder);
        rest = &rest[start + end + 2..];
    }
    out.push_str(rest);
    out
}

/// Replaces the tags in one string.
pub fn replace(s: &str, scope: &Scope, mode: Mode) -> Result<String, VarError> {
    if !s.contains("{{") {
        return Ok(s.to_owned());
    }
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    // Built once, at the first `{{=...}}`.
    let mut env = None;
    while let Some(start) = rest.find("{{") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let Some(end) = after.find("}}") else {
            return match mode {
                Mode::Partial => {
                    out.push_str(&rest[start..]);
                    Ok(out)
                }
                Mode::Strict => Err(VarError::Unterminated(s.to_owned())),
            };
        };
        let raw = &after[..end];
        let name = raw.trim();
        if let Some(src) = name.strip_prefix('=') {
            let env = env.get_or_insert_with(|| crate::expr::env(scope));
            match crate::expr::compile(src).and_then(|p| crate::expr::render(&p.run(env)?)) {
                Ok(v) if out.len() + v.len() > MAX_SUBSTITUTED_BYTES => {
                    return Err(VarError::TooLong(crate::text::shorten(s, 60), limits::bytes(MAX_SUBSTITUTED_BYTES)));
                }
                Ok(v) => out.push_str(&v),
                // Later, when more of the scope is known (e.g. `item`).
                Err(_) if mode == Mode::Partial => {
                    out.push_str("{{");
                    out.push_str(raw);
                    out.push_str("}}");
                }
                Err(e) => return Err(VarError::Expression(crate::text::shorten(src.trim(), 200), e)),
            }
            rest = &after[end + 2..];
            continue;
        }
        match scope.get(name) {
            // Checked before growing, so a value used many times (or a
            // recursive template doubling it) cannot exhaust memory.
            Some(v) if out.len() + v.len() > MAX_SUBSTITUTED_BYTES => {
                return Err(VarError::TooLong(crate::text::shorten(s, 60), limits::bytes(MAX_SUBSTITUTED_BYTES)));
            }
            Some(v) => out.push_str(v),
            None if mode == Mode::Strict => return Err(VarError::Unresolved(name.to_owned())),
            None => {
                out.push_str("{{");
                out.push_str(raw);
                out.push_str("}}");
            }
        }
        rest = &after[end + 2..];
    }
    out.push_str(rest);
    Ok(out)
}

/// Replaces tags in every string inside `v` (object keys are left alone).
pub fn replace_value(v: &mut Value, scope: &Scope, mode: Mode) -> Result<(), VarError> {
    match v {
        Value::String(s) if s.contains("{{") => {
            *s = replace(s, scope, mode)?;
        }
        Value::Array(items) => {
            for item in items {
                replace_value(item, scope, mode)?;
            }
        }
        Value::Object(map) => {
            for item in map.values_mut() {
                replace_value(item, scope, mode)?;
            }
        }
        _ => {}
    }
    Ok(())
}

/// Replaces tags inside any serializable value, returning a new one.
pub fn replace_in<T>(value: &T, scope: &Scope, mode: Mode) -> Result<T, VarError>
where
    T: serde::Serialize + serde::de::DeserializeOwned,
{
    let mut v = serde_json::to_value(value).map_err(|e| VarError::Shape(e.to_string()))?;
    replace_value(&mut v, scope, mode)?;
    serde_json::from_value(v).map_err(|e| VarError::Shape(e.to_string()))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn scope() -> Scope {
        let mut s = Scope::new();
        s.set("workflow.name", "wf-1").set("inputs.parameters.msg", "hi \"there\"");
        s
    }

    #[test]
    fn replaces_trimmed_tags() {
        let out = replace("{{workflow.name}}: {{ inputs.parameters.msg }}", &scope(), Mode::Strict);
        assert_eq!(out.unwrap(), "wf-1: hi \"there\"");
    }

    #[test]
    fn strict_mode_names_the_unresolved_variable() {
        let err = replace("x {{inputs.parameters.nope}}", &scope(), Mode::Strict).unwrap_err();
        assert_eq!(
            err.to_string(),
            "failed to resolve {{inputs.parameters.nope}}: no such variable in this template's scope"
        );
    }

    #[test]
    fn partial_mode_keeps_unknown_tags_verbatim() {
        let out = replace("{{item}}-{{workflow.name}}", &scope(), Mode::Partial).unwrap();
        assert_eq!(out, "{{item}}-wf-1");
    }

    #[test]
    fn expression_tags_are_evaluated_in_the_scope() {
        let out = replace("{{workflow.name}}-{{= len(workflow.name) + 1 }}", &scope(), Mode::Strict);
        assert_eq!(out.unwrap(), "wf-1-5");
        let err = replace("{{= item + 1 }}", &scope(), Mode::Strict).unwrap_err();
        assert_eq!(err.to_string(), "failed to evaluate {{=item + 1}}: unknown name 'item'");
        // Not yet known: left for the substitution that knows `item`.
        assert_eq!(replace("a {{=item}}", &scope(), Mode::Partial).unwrap(), "a {{=item}}");
    }

    #[test]
    fn values_are_walked_structurally() {
        let mut v = json!({"args": ["{{inputs.parameters.msg}}"], "n": 1, "{{workflow.name}}": "k"});
        replace_value(&mut v, &scope(), Mode::Strict).unwrap();
        assert_eq!(v, json!({"args": ["hi \"there\""], "n": 1, "{{workflow.name}}": "k"}));
    }

    #[test]
    fn substitution_cannot_grow_without_bound() {
        let mut s = Scope::new();
        s.set("big", "x".repeat(300 * 1024));
        let err = replace("{{big}}{{big}}{{big}}{{big}}", &s, Mode::Strict).unwrap_err();
        assert!(err.to_string().contains("longer than 1 MiB"), "{err}");
        assert_eq!(replace("{{big}}{{big}}", &s, Mode::Strict).unwrap().len(), 600 * 1024);
    }

    #[test]
    fn clones_share_values() {
        let mut a = Scope::new();
        a.set("x", "1");
        let mut b = a.clone();
        b.set("y", "2");
        assert_eq!((a.get("y"), b.get("x"), b.get("y")), (None, Some("1"), Some("2")));
        assert_eq!(a.merged(&b).get("y"), Some("2"));
    }

    #[test]
    fn tags_lists_every_tag() {
        assert_eq!(tags("a {{x}} b {{ y.z }}").unwrap(), ["x", "y.z"]);
        assert!(tags("{{x").is_err());
    }
}
