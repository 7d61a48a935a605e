//! Upstream's `jsonpath(json, path)`: a path that names one value gives
//! that value; one with wildcards, filters, slices or unions gives the list
//! of matches (as the Go library upstream uses does).

use serde_json::Value;

/// Paths are user input handed to a recursive parser.
const MAX_PATH_BYTES: usize = 512;
const MAX_PATH_NESTING: usize = 16;

pub(super) fn query(doc: &Value, path: &str) -> Result<Value, String> {
    if path.len() > MAX_PATH_BYTES {
        return Err(format!("jsonpath(): path longer than {MAX_PATH_BYTES} bytes"));
    }
    let mut depth = 0usize;
    for c in path.chars() {
        match c {
            '[' | '(' => depth += 1,
            ']' | ')' => depth = depth.saturating_sub(1),
            _ => {}
        }
        if depth > MAX_PATH_NESTING {
            return Err(format!("jsonpath(): path nested more than {MAX_PATH_NESTING} levels"));
        }
    }
    let parsed;
    let doc = match doc {
        Value::String(s) => {
            parsed =
                serde_json::from_str::<Value>(s).map_err(|e| format!("jsonpath(): the document is not JSON: {e}"))?;
            &parsed
        }
        v => v,
    };
    let found = std::panic::catch_unwind(|| {
        use jsonpath_rust::JsonPath as _;
        doc.query(path).map(|v| v.into_iter().cloned().collect::<Vec<Value>>())
    })
    .map_err(|_| format!("jsonpath(): cannot evaluate {path:?}"))?
    .map_err(|e| format!("jsonpath(): invalid path {path:?}: {e}"))?;
    if definite(path) {
        return found.into_iter().next().ok_or_else(|| format!("jsonpath(): nothing at {path:?}"));
    }
    Ok(Value::Array(found))
}

fn definite(path: &str) -> bool {
    let mut in_brackets = false;
    let mut quote = None;
    for (i, c) in path.char_indices() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), _) => {}
            (None, '\'' | '"') => quote = Some(c),
            (None, '[') => in_brackets = true,
            (None, ']') => in_brackets = false,
            (None, '*' | '?') => return false,
            (None, ':' | ',') if in_brackets => return false,
            (None, '.') if path[i + 1..].starts_with('.') => return false,
            _ => {}
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn employees() -> Value {
        json!(r#"{"a": "1", "employees": [{"name": "Baris", "age": 43}, {"name": "Mo", "age": 42}]}"#)
    }

    #[test]
    fn definite_paths_give_the_value_others_a_list() {
        assert_eq!(query(&employees(), "$.a"), Ok(json!("1")));
        assert_eq!(query(&employees(), "$.employees[*].name"), Ok(json!(["Baris", "Mo"])));
        assert_eq!(query(&employees(), "$.employees[?(@.name==\"Baris\")].age"), Ok(json!([43])));
        assert_eq!(query(&employees(), "$.employees[?(@.age>42 && @.age<44)].age"), Ok(json!([43])));
        assert_eq!(query(&employees(), "$.employees[0:1]"), Ok(json!([{"name": "Baris", "age": 43}])));
        assert_eq!(query(&json!([{"value": "true"}]), "$[0].value"), Ok(json!("true")));
    }

    #[test]
    fn bad_documents_and_paths_are_errors() {
        assert!(query(&json!("{nope"), "$.a").unwrap_err().contains("not JSON"));
        assert!(query(&employees(), "$.b").unwrap_err().contains("nothing at"));
        assert!(query(&employees(), "$[").is_err());
        assert!(query(&employees(), &format!("$.a{}", "[".repeat(100))).unwrap_err().contains("nested"));
    }
}
