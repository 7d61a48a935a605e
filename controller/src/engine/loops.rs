//! Loop expansion: `withItems`, `withParam` and `withSequence` turn one
//! step or task into one node per item, named `name(i:item)` as upstream
//! names them, with `{{item}}` and `{{item.field}}` in scope.

use argo_api::limits::MAX_LOOP_ITEMS;
use argo_api::vars::Scope;
use argo_api::workflow::{Loop, Sequence};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use serde_json::Value;

/// The items of a loop (after substitution), or None for no loop. More
/// than `MAX_LOOP_ITEMS` is an error, found before anything is allocated.
pub(crate) fn items(l: &Loop) -> Result<Option<Vec<Value>>, String> {
    let too_many = |n: &dyn std::fmt::Display, what: &str| {
        format!("{what} has {n} items, more than the limit of {MAX_LOOP_ITEMS} per loop")
    };
    if let Some(items) = &l.with_items {
        if items.len() > MAX_LOOP_ITEMS {
            return Err(too_many(&items.len(), "withItems"));
        }
        return Ok(Some(items.clone()));
    }
    if let Some(param) = &l.with_param {
        return match serde_json::from_str::<Value>(param) {
            Ok(Value::Array(items)) if items.len() > MAX_LOOP_ITEMS => Err(too_many(&items.len(), "withParam")),
            Ok(Value::Array(items)) => Ok(Some(items)),
            _ => Err(format!(
                "withParam value could not be parsed as a JSON list: {}",
                argo_api::text::shorten(param.trim(), 200)
            )),
        };
    }
    if let Some(seq) = &l.with_sequence {
        return sequence(seq).map(Some);
    }
    Ok(None)
}

fn int(v: &IntOrString, field: &str) -> Result<i64, String> {
    match v {
        IntOrString::Int(n) => Ok(i64::from(*n)),
        IntOrString::String(s) => s.trim().parse().map_err(|_| {
            format!("withSequence.{field} must be a whole number, not {:?}", argo_api::text::shorten(s, 40))
        }),
    }
}

fn sequence(seq: &Sequence) -> Result<Vec<Value>, String> {
    let start = seq.start.as_ref().map(|s| int(s, "start")).transpose()?.unwrap_or(0);
    let (first, count, step): (i64, u64, i64) = match (&seq.count, &seq.end) {
        (Some(c), None) => {
            let count = int(c, "count")?;
            if count < 0 {
                return Err(format!("withSequence.count must not be negative, not {count}"));
            }
            (start, count.unsigned_abs(), 1)
        }
        (None, Some(e)) => {
            let end = int(e, "end")?;
            let span = end.abs_diff(start);
            (start, span.saturating_add(1), if end >= start { 1 } else { -1 })
        }
        _ => return Err("withSequence needs exactly one of count and end".into()),
    };
    if count > MAX_LOOP_ITEMS as u64 {
        return Err(format!("withSequence has {count} items, more than the limit of {MAX_LOOP_ITEMS} per loop"));
    }
    // Within the limit, first + step * i cannot overflow unless first is at
    // the edge of i64: checked all the same.
    let mut out = Vec::with_capacity(count as usize);
    for i in 0..count as i64 {
        let n = step
            .checked_mul(i)
            .and_then(|d| first.checked_add(d))
            .ok_or_else(|| "withSequence goes past the largest whole number".to_owned())?;
        out.push(Value::String(match &seq.format {
            Some(f) => printf(f, n),
            None => n.to_string(),
        }));
    }
    Ok(out)
}

/// A printf subset for withSequence formats: `%d`, `%x`, `%X`, `%o`, with
/// an optional zero flag and width (e.g. `test%02X`).
fn printf(fmt: &str, n: i64) -> String {
    let mut out = String::new();
    let mut chars = fmt.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '%' {
            out.push(c);
            continue;
        }
        let zero = chars.peek() == Some(&'0');
        if zero {
            chars.next();
        }
        let mut width = 0usize;
        while let Some(d) = chars.peek().and_then(|c| c.to_digit(10)) {
            width = width * 10 + d as usize;
            chars.next();
        }
        let body = match chars.next() {
            Some('d' | 'v' | 's') => n.to_string(),
            Some('x') => format!("{n:x}"),
            Some('X') => format!("{n:X}"),
            Some('o') => format!("{n:o}"),
            Some('%') => "%".into(),
            Some(other) => format!("%{other}"),
            None => "%".into(),
        };
        let pad = if zero { '0' } else { ' ' };
        for _ in body.len()..width {
            out.push(pad);
        }
        out.push_str(&body);
    }
    out
}

/// How an item reads when substituted for `{{item}}`.
pub(crate) fn text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

/// Go's `%v` of a value, for node names.
fn go_text(v: &Value) -> String {
    match v {
        Value::Array(items) => format!("[{}]", items.iter().map(go_text).collect::<Vec<_>>().join(" ")),
        Value::Object(m) => {
            let mut kv: Vec<String> = m.iter().map(|(k, v)| format!("{k}:{}", go_text(v))).collect();
            kv.sort();
            format!("map[{}]", kv.join(" "))
        }
        other => text(other),
    }
}

/// `name(i:desc)`, upstream's name for the i-th item's node.
pub(crate) fn item_name(name: &str, index: usize, item: &Value) -> String {
    let desc = match item {
        Value::Object(m) => {
            let mut kv: Vec<String> = m.iter().map(|(k, v)| format!("{k}:{}", go_text(v))).collect();
            kv.sort();
            kv.join(",")
        }
        other => go_text(other),
    };
    format!("{name}({index}:{})", desc.replace(['(', ')'], ""))
}

/// `item` and `item.<key>` for one item.
pub(crate) fn item_scope(item: &Value) -> Scope {
    let mut s = Scope::new();
    s.set("item", text(item));
    if let Value::Object(m) = item {
        for (k, v) in m {
            s.set(format!("item.{k}"), text(v));
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use argo_api::workflow::Loop;

    #[test]
    fn names_follow_upstream() {
        assert_eq!(item_name("A", 0, &json!("x")), "A(0:x)");
        assert_eq!(item_name("A", 1, &json!(3)), "A(1:3)");
        assert_eq!(item_name("A", 2, &json!({"os": "debian", "v": 9})), "A(2:os:debian,v:9)");
        assert_eq!(item_name("A", 3, &json!("f(x)")), "A(3:fx)");
    }

    #[test]
    fn sequences_count_and_format() {
        let s = |count: Option<i32>, start: Option<i32>, end: Option<i32>, fmt: Option<&str>| {
            sequence(&Sequence {
                count: count.map(IntOrString::Int),
                start: start.map(IntOrString::Int),
                end: end.map(IntOrString::Int),
                format: fmt.map(str::to_owned),
            })
            .unwrap()
            .iter()
            .map(text)
            .collect::<Vec<_>>()
        };
        assert_eq!(s(Some(3), None, None, None), ["0", "1", "2"]);
        assert_eq!(s(None, Some(100), Some(102), Some("test%02X")), ["test64", "test65", "test66"]);
        assert_eq!(s(None, Some(5), Some(3), None), ["5", "4", "3"]);
    }

    #[test]
    fn sequences_and_lists_are_bounded_before_allocating() {
        let seq = |count: &str, start: &str| Sequence {
            count: Some(IntOrString::String(count.into())),
            start: Some(IntOrString::String(start.into())),
            end: None,
            format: None,
        };
        let e = sequence(&seq("1125899906842624", "0")).unwrap_err();
        assert!(e.contains("more than the limit of 10000"), "{e}");
        let e = sequence(&seq("9223372036854775807", "9223372036854775807")).unwrap_err();
        assert!(e.contains("more than the limit"), "{e}");
        let e = sequence(&seq("2", "9223372036854775807")).unwrap_err();
        assert!(e.contains("largest whole number"), "{e}");
        let huge_span = Sequence {
            count: None,
            start: Some(IntOrString::String("-9223372036854775808".into())),
            end: Some(IntOrString::String("9223372036854775807".into())),
            format: None,
        };
        assert!(sequence(&huge_span).unwrap_err().contains("more than the limit"));
        let many = Loop {
            with_param: Some(serde_json::to_string(&vec![1; 10_001]).unwrap()),
            ..Loop::default()
        };
        assert!(items(&many).unwrap_err().contains("withParam has 10001 items"));
    }

    #[test]
    fn item_scopes_expose_fields() {
        let s = item_scope(&json!({"image": "debian", "tag": 9}));
        assert_eq!(s.get("item.image"), Some("debian"));
        assert_eq!(s.get("item.tag"), Some("9"));
        assert_eq!(s.get("item"), Some(r#"{"image":"debian","tag":9}"#));
    }
}
