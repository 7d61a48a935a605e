//! Merging JSON documents: defaults under values.

use serde_json::Value;

/// Merges `over` into `base`: objects merge key by key, anything else in
/// `over` replaces what `base` had; `null` in `over` removes the key. With
/// defaults as `base` and a user's object as `over`, the user's values win.
pub fn merge(base: &mut Value, over: &Value) {
    match (base, over) {
        (Value::Object(b), Value::Object(o)) => {
            for (k, v) in o {
                if v.is_null() {
                    b.remove(k);
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
    }
}
