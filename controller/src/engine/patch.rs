//! A pod spec patch (`podSpecPatch`) over a rendered pod, with
//! strategic-merge semantics for the lists Kubernetes merges by name
//! (containers, env, volumes...).

use serde_json::Value;

/// A strategic merge patch, as far as pod specs need: lists whose items
/// all have a `name` merge item by item; other lists are replaced.
pub(crate) fn strategic_merge(base: &mut Value, patch: &Value) {
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

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn containers_merge_by_name_and_scalars_replace() {
        let mut pod = json!({"containers": [{"name": "main", "image": "a", "resources": {"limits": {"cpu": "1"}}},
                                            {"name": "side", "image": "b"}],
                             "tolerations": [{"key": "x"}]});
        strategic_merge(
            &mut pod,
            &json!({"containers": [{"name": "main", "resources": {"limits": {"memory": "1Gi"}}},
                                                         {"name": "new", "image": "c"}],
                                          "tolerations": [{"key": "y"}]}),
        );
        assert_eq!(
            pod,
            json!({"containers": [
            {"name": "main", "image": "a", "resources": {"limits": {"cpu": "1", "memory": "1Gi"}}},
            {"name": "side", "image": "b"}, {"name": "new", "image": "c"}],
            "tolerations": [{"key": "y"}]})
        );
    }
}
