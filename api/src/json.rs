//! Merging JSON documents: defaults under values, pod spec patches, and
//! the JSON merge patch (RFC 7386) between two documents, so a status
//! write carries only what changed.

use serde_json::{Map, Value};

/// Merges `over` into `base`: objects merge key by key, anything else in
/// `over` replaces what `base` had; `null` in `over` means unset, so what
/// `base` has stays. With defaults as `base` and a user's object as `over`,
/// the user's values win, and writing `null` cannot drop a default.
pub fn merge(base: &mut Value, over: &Value) {
    match (base, over) {
        (Value::Object(b), Value::Object(o)) => {
            for (k, v) in o {
                if v.is_null() {
                    continue;
                } else if let Some(existing) = b.get_mut(k) {
                    merge(existing, v);
                } else {
                    b.insert(k.clone(), v.clone());
                }
            }
        }
        (b, o) => *b = o.clone(),
    }
}

/// `value` with `defaults` merged under it.
pub fn under(defaults: &Value, value: &Value) -> Value {
    let mut out = defaults.clone();
    merge(&mut out, value);
    out
}

/// A strategic merge patch, as far as pod specs need (`podSpecPatch`):
/// lists whose items all have a `name` merge item by item (containers,
/// env, volumes...); other lists are replaced; `null` removes a key.
pub fn strategic_merge(base: &mut Value, patch: &Value) {
    match (base, patch) {
        (Value::Object(b), Value::Object(p)) => {
            for (k, v) in p {
                if v.is_null() {
                    b.remove(k);
                } else if let Some(existing) = b.get_mut(k) {
                    strategic_merge(existing, v);
                } else {
                    b.insert(k.clone(), v.clone());
                }
            }
        }
        (Value::Array(b), Value::Array(p)) if named(b) && named(p) => {
            for item in p {
                let name = item.get("name");
                match b.iter_mut().find(|x| x.get("name") == name) {
                    Some(existing) => strategic_merge(existing, item),
                    None => b.push(item.clone()),
                }
            }
        }
        (b, p) => *b = p.clone(),
    }
}

fn named(items: &[Value]) -> bool {
    items.iter().all(|i| i.get("name").is_some_and(Value::is_string))
}

/// The merge patch turning `old` into `new`, or None when equal.
pub fn merge_patch(old: &Value, new: &Value) -> Option<Value> {
    if old == new {
        return None;
    }
    match (old, new) {
        (Value::Object(o), Value::Object(n)) => {
            let mut patch = Map::new();
            for (k, nv) in n {
                match o.get(k) {
                    Some(ov) => {
                        if let Some(d) = merge_patch(ov, nv) {
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

    use super::*;

    #[test]
    fn values_win_over_defaults_and_merging_twice_changes_nothing() {
        let defaults = json!({"retryStrategy": {"limit": 2}, "timeout": "1m", "x": 1});
        let value = json!({"retryStrategy": {"retryPolicy": "Always"}, "timeout": "5m"});
        let once = under(&defaults, &value);
        assert_eq!(once, json!({"retryStrategy": {"limit": 2, "retryPolicy": "Always"}, "timeout": "5m", "x": 1}));
        assert_eq!(under(&defaults, &once), once);
        let nulled = under(&defaults, &json!({"timeout": null, "x": 2}));
        assert_eq!(
            nulled,
            json!({"retryStrategy": {"limit": 2}, "timeout": "1m", "x": 2}),
            "null cannot drop a default"
        );
    }

    #[test]
    fn containers_merge_by_name_and_scalars_replace() {
        let mut pod = json!({"containers": [{"name": "main", "image": "a", "resources": {"limits": {"cpu": "1"}}},
                                            {"name": "side", "image": "b"}],
                             "tolerations": [{"key": "x"}], "hostNetwork": false});
        strategic_merge(
            &mut pod,
            &json!({"containers": [{"name": "main", "resources": {"limits": {"memory": "1Gi"}}},
                                   {"name": "new", "image": "c"}],
                    "tolerations": [{"key": "y"}], "hostNetwork": null}),
        );
        assert_eq!(
            pod,
            json!({"containers": [
            {"name": "main", "image": "a", "resources": {"limits": {"cpu": "1", "memory": "1Gi"}}},
            {"name": "side", "image": "b"}, {"name": "new", "image": "c"}],
            "tolerations": [{"key": "y"}]})
        );
    }

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
    fn merge_patch_then_apply_reproduces_the_new_document() {
        let old = json!({"phase": "Running", "nodes": {"a": {"phase": "Running", "children": ["b"]}, "gone": {}}, "message": "x"});
        let new = json!({"phase": "Running", "nodes": {"a": {"phase": "Succeeded", "children": ["b", "c"]}, "c": {"phase": "Pending"}}});
        let patch = merge_patch(&old, &new).unwrap();
        assert_eq!(
            patch,
            json!({"nodes": {"a": {"phase": "Succeeded", "children": ["b", "c"]}, "c": {"phase": "Pending"}, "gone": null}, "message": null})
        );
        let mut doc = old.clone();
        apply(&mut doc, &patch);
        assert_eq!(doc, new);
        assert_eq!(merge_patch(&new, &new), None);
    }
}
