//! JSON merge patches (RFC 7386) computed as the difference between two
//! documents, so a status write carries only what changed.

use serde_json::{Map, Value};

/// The merge patch turning `old` into `new`, or None when equal.
pub fn diff(old: &Value, new: &Value) -> Option<Value> {
    if old == new {
        return None;
    }
    match (old, new) {
        (Value::Object(o), Value::Object(n)) => {
            let mut patch = Map::new();
            for (k, nv) in n {
                match o.get(k) {
                    Some(ov) => {
                        if let Some(d) = diff(ov, nv) {
                            patch.insert(k.clone(), d);
                        }
                    }
                    None => {
                        patch.insert(k.clone(), nv.clone());
                    }
                }
            }
            for k in o.keys().filter(|k| !n.contains_key(*k)) {
                patch.insert(k.clone(), Value::Null);
            }
            Some(Value::Object(patch))
        }
        _ => Some(new.clone()),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::diff;

    /// RFC 7386 application, to check that a diff reproduces `new`.
    fn apply(target: &mut serde_json::Value, patch: &serde_json::Value) {
        match (target, patch) {
            (serde_json::Value::Object(t), serde_json::Value::Object(p)) => {
                for (k, v) in p {
                    if v.is_null() {
                        t.remove(k);
                    } else {
                        apply(t.entry(k.clone()).or_insert(serde_json::Value::Null), v);
                    }
                }
            }
            (t, p) => *t = p.clone(),
        }
    }

    #[test]
    fn diff_then_apply_reproduces_the_new_document() {
        let old = json!({"phase": "Running", "nodes": {"a": {"phase": "Running", "children": ["b"]}, "gone": {}}, "message": "x"});
        let new = json!({"phase": "Running", "nodes": {"a": {"phase": "Succeeded", "children": ["b", "c"]}, "c": {"phase": "Pending"}}});
        let patch = diff(&old, &new).unwrap();
        assert_eq!(
            patch,
            json!({"nodes": {"a": {"phase": "Succeeded", "children": ["b", "c"]}, "c": {"phase": "Pending"}, "gone": null}, "message": null})
        );
        let mut doc = old.clone();
        apply(&mut doc, &patch);
        assert_eq!(doc, new);
        assert_eq!(diff(&new, &new), None);
    }
}
