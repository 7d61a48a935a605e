//! The functions an expression may call: expr-lang's builtins that upstream's
//! examples and documentation use, upstream Argo's own (`asInt`, `asFloat`,
//! `jsonpath`, `toJson`) and the `sprig.*` functions. None of them can grow
//! a value beyond what its arguments already hold.

use base64::Engine as _;
use serde_json::Value;

use super::num::{Num, arith, go_display};

/// Functions taking `{...}` over each element as their second argument.
const PREDICATE: &[&str] = &[
    "filter",
    "map",
    "all",
    "any",
    "none",
    "one",
    "count",
    "find",
    "findIndex",
];

const PLAIN: &[&str] = &[
    "asInt",
    "asFloat",
    "int",
    "float",
    "string",
    "toJson",
    "fromJson",
    "jsonpath",
    "len",
    "abs",
    "ceil",
    "floor",
    "round",
    "max",
    "min",
    "sum",
    "upper",
    "lower",
    "trim",
    "trimPrefix",
    "trimSuffix",
    "split",
    "join",
    "replace",
    "indexOf",
    "hasPrefix",
    "hasSuffix",
    "toBase64",
    "fromBase64",
    "first",
    "last",
    "keys",
    "values",
    "reverse",
];

const SPRIG: &[&str] = &[
    "date",
    "b64dec",
    "b64enc",
    "add",
    "sub",
    "mul",
    "div",
    "mod",
    "max",
    "min",
    "int",
    "int64",
    "float64",
    "atoi",
    "toString",
    "upper",
    "lower",
    "trim",
    "trimPrefix",
    "trimSuffix",
    "replace",
    "contains",
    "hasPrefix",
    "hasSuffix",
    "toJson",
    "fromJson",
    "default",
    "empty",
    "quote",
    "squote",
    "splitList",
    "join",
    "list",
    "first",
    "last",
    "title",
];

pub(super) fn known(name: &str) -> bool {
    match name.strip_prefix("sprig.") {
        Some(f) => SPRIG.contains(&f),
        None => PREDICATE.contains(&name) || PLAIN.contains(&name),
    }
}

pub(super) fn takes_predicate(name: &str) -> bool {
    PREDICATE.contains(&name)
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "nil",
        Value::Bool(_) => "bool",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "map",
    }
}

pub(super) fn type_error(what: &str, v: &Value) -> String {
    format!("{what} got {} {}", kind(v), crate::text::shorten(&go_display(v), 40))
}

fn arity(name: &str, args: &[Value], n: usize) -> Result<(), String> {
    if args.len() != n {
        return Err(format!("{name}() takes {n} argument(s), got {}", args.len()));
    }
    Ok(())
}

fn text<'a>(name: &str, v: &'a Value) -> Result<&'a str, String> {
    v.as_str().ok_or_else(|| type_error(&format!("{name}() needs a string;"), v))
}

fn number(name: &str, v: &Value) -> Result<Num, String> {
    Num::of(v).ok_or_else(|| type_error(&format!("{name}() needs a number;"), v))
}

fn list<'a>(name: &str, v: &'a Value) -> Result<&'a [Value], String> {
    v.as_array().map(Vec::as_slice).ok_or_else(|| type_error(&format!("{name}() needs an array;"), v))
}

/// Go's cast.ToInt64, as sprig uses it: lenient, 0 when it cannot.
fn sprig_int(v: &Value) -> i64 {
    match v {
        Value::Bool(b) => i64::from(*b),
        Value::String(s) => s.trim().parse::<i64>().unwrap_or(0),
        v => match Num::of(v) {
            Some(Num::I(i)) => i,
            Some(Num::F(f)) => f as i64,
            None => 0,
        },
    }
}

fn sprig_float(v: &Value) -> f64 {
    match v {
        Value::String(s) => s.trim().parse::<f64>().unwrap_or(0.0),
        v => Num::of(v).map_or(0.0, Num::f),
    }
}

fn empty(v: &Value) -> bool {
    match v {
        Value::Null => true,
        Value::Bool(b) => !b,
        Value::String(s) => s.is_empty(),
        Value::Array(a) => a.is_empty(),
        Value::Object(m) => m.is_empty(),
        Value::Number(_) => Num::of(v).is_some_and(|n| n.f() == 0.0),
    }
}

fn extreme(name: &str, items: &[Value], want_max: bool) -> Result<Value, String> {
    let mut best: Option<Num> = None;
    for v in items {
        let n = number(name, v)?;
        let better = best.is_none_or(|b| if want_max { n.f() > b.f() } else { n.f() < b.f() });
        if better {
            best = Some(n);
        }
    }
    best.ok_or_else(|| format!("{name}() of nothing"))?.value()
}

fn b64(name: &str, s: &str) -> Result<Value, String> {
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(s.trim())
        .map_err(|e| format!("{name}(): not base64: {e}"))?;
    Ok(Value::String(String::from_utf8_lossy(&bytes).into_owned()))
}

pub(super) fn call(name: &str, args: Vec<Value>) -> Result<Value, String> {
    if let Some(f) = name.strip_prefix("sprig.") {
        return sprig(f, args);
    }
    let one = |args: &[Value]| arity(name, args, 1);
    Ok(match name {
        "asInt" | "int" => {
            one(&args)?;
            match &args[0] {
                Value::String(s) => {
                    Value::from(s.trim().parse::<i64>().map_err(|_| format!("{name}(): {s:?} is not an integer"))?)
                }
                v => match number(name, v)? {
                    Num::I(i) => Value::from(i),
                    Num::F(f) => Value::from(f.trunc() as i64),
                },
            }
        }
        "asFloat" | "float" => {
            one(&args)?;
            match &args[0] {
                Value::String(s) => {
                    Num::F(s.trim().parse::<f64>().map_err(|_| format!("{name}(): {s:?} is not a number"))?).value()?
                }
                v => Num::F(number(name, v)?.f()).value()?,
            }
        }
        "string" => {
            one(&args)?;
            Value::String(go_display(&args[0]))
        }
        "toJson" => {
            one(&args)?;
            Value::String(args[0].to_string())
        }
        "fromJson" => {
            one(&args)?;
            serde_json::from_str(text(name, &args[0])?).map_err(|e| format!("fromJson(): {e}"))?
        }
        "jsonpath" => {
            arity(name, &args, 2)?;
            super::jsonpath::query(&args[0], text(name, &args[1])?)?
        }
        "len" => {
            one(&args)?;
            Value::from(match &args[0] {
                Value::String(s) => s.chars().count(),
                Value::Array(a) => a.len(),
                Value::Object(m) => m.len(),
                v => return Err(type_error("len() needs a string, array or map;", v)),
            })
        }
        "abs" | "ceil" | "floor" | "round" => {
            one(&args)?;
            match (name, number(name, &args[0])?) {
                ("abs", Num::I(i)) => Value::from(i.checked_abs().ok_or("abs() overflows")?),
                (_, Num::I(i)) => Value::from(i),
                ("abs", Num::F(f)) => Num::F(f.abs()).value()?,
                ("ceil", Num::F(f)) => Num::F(f.ceil()).value()?,
                ("floor", Num::F(f)) => Num::F(f.floor()).value()?,
                (_, Num::F(f)) => Num::F(f.round()).value()?,
            }
        }
        "max" | "min" => match args.as_slice() {
            [Value::Array(items)] => extreme(name, items, name == "max")?,
            items => extreme(name, items, name == "max")?,
        },
        "sum" => {
            one(&args)?;
            let mut total = Num::I(0);
            for v in list(name, &args[0])? {
                total = arith("+", total, number(name, v)?)?;
            }
            total.value()?
        }
        "upper" | "lower" | "trim" => {
            one(&args)?;
            let s = text(name, &args[0])?;
            Value::String(match name {
                "upper" => s.to_uppercase(),
                "lower" => s.to_lowercase(),
                _ => s.trim().to_owned(),
            })
        }
        "trimPrefix" | "trimSuffix" | "hasPrefix" | "hasSuffix" | "indexOf" | "split" => {
            arity(name, &args, 2)?;
            let (s, p) = (text(name, &args[0])?, text(name, &args[1])?);
            match name {
                "trimPrefix" => Value::String(s.strip_prefix(p).unwrap_or(s).to_owned()),
                "trimSuffix" => Value::String(s.strip_suffix(p).unwrap_or(s).to_owned()),
                "hasPrefix" => Value::Bool(s.starts_with(p)),
                "hasSuffix" => Value::Bool(s.ends_with(p)),
                "indexOf" => Value::from(s.find(p).map_or(-1, |i| s[..i].chars().count() as i64)),
                _ if p.is_empty() => Value::Array(s.chars().map(|c| Value::String(c.into())).collect()),
                _ => Value::Array(s.split(p).map(|x| Value::String(x.into())).collect()),
            }
        }
        "join" => {
            let items = list(name, args.first().ok_or("join() needs an array")?)?;
            let sep = match args.get(1) {
                Some(v) => text(name, v)?,
                None => "",
            };
            let parts: Result<Vec<&str>, String> = items.iter().map(|v| text(name, v)).collect();
            Value::String(parts?.join(sep))
        }
        "replace" => {
            arity(name, &args, 3)?;
            let (s, old, new) = (text(name, &args[0])?, text(name, &args[1])?, text(name, &args[2])?);
            Value::String(bounded_replace(s, old, new)?)
        }
        "toBase64" => {
            one(&args)?;
            Value::String(base64::engine::general_purpose::STANDARD.encode(text(name, &args[0])?))
        }
        "fromBase64" => {
            one(&args)?;
            b64(name, text(name, &args[0])?)?
        }
        "first" | "last" => {
            one(&args)?;
            let items = list(name, &args[0])?;
            let item = if name == "first" { items.first() } else { items.last() };
            item.cloned().unwrap_or(Value::Null)
        }
        "keys" | "values" => {
            one(&args)?;
            let map = args[0].as_object().ok_or_else(|| type_error(&format!("{name}() needs a map;"), &args[0]))?;
            Value::Array(match name {
                "keys" => map.keys().map(|k| Value::String(k.clone())).collect(),
                _ => map.values().cloned().collect(),
            })
        }
        "reverse" => {
            one(&args)?;
            Value::Array(list(name, &args[0])?.iter().rev().cloned().collect())
        }
        other => return Err(format!("unknown function {other}()")),
    })
}

/// `replace` can multiply a string's length; the result is refused
/// before it is built when it would be too long.
fn bounded_replace(s: &str, old: &str, new: &str) -> Result<String, String> {
    let count = if old.is_empty() {
        s.chars().count() + 1
    } else {
        s.matches(old).count()
    };
    let len = s.len() + count * new.len();
    if len > crate::limits::MAX_SUBSTITUTED_BYTES {
        return Err(format!(
            "replace() would make a string longer than {}",
            crate::limits::bytes(crate::limits::MAX_SUBSTITUTED_BYTES)
        ));
    }
    Ok(s.replace(old, new))
}

fn sprig(f: &str, args: Vec<Value>) -> Result<Value, String> {
    let name = format!("sprig.{f}");
    let s = |i: usize| -> Result<String, String> {
        match args.get(i) {
            Some(Value::String(s)) => Ok(s.clone()),
            Some(v) => Ok(go_display(v)),
            None => Err(format!("{name}() needs {} argument(s)", i + 1)),
        }
    };
    let ints = || -> Vec<i64> { args.iter().map(sprig_int).collect() };
    Ok(match f {
        "date" => Value::String(super::date::format(&s(0)?, args.get(1).unwrap_or(&Value::Null))?),
        "b64dec" => b64(&name, &s(0)?)?,
        "b64enc" => Value::String(base64::engine::general_purpose::STANDARD.encode(s(0)?)),
        "add" | "mul" => {
            let mut acc = Num::I(if f == "add" { 0 } else { 1 });
            for i in ints() {
                acc = arith(if f == "add" { "+" } else { "*" }, acc, Num::I(i))?;
            }
            // sprig works in int64: an overflow wraps there; here it is an error.
            match acc {
                Num::I(_) => acc.value()?,
                Num::F(_) => return Err(format!("{name}() overflows a 64-bit integer")),
            }
        }
        "sub" | "div" | "mod" => {
            let [a, b] = ints()[..] else {
                return Err(format!("{name}() takes 2 arguments"));
            };
            match f {
                "sub" => Value::from(a.checked_sub(b).ok_or_else(|| format!("{name}() overflows"))?),
                _ if b == 0 => return Err(format!("{name}(): division by zero")),
                "div" => Value::from(a.wrapping_div(b)),
                _ => Value::from(a.wrapping_rem(b)),
            }
        }
        "max" | "min" => {
            let v = ints();
            let best = if f == "max" { v.iter().max() } else { v.iter().min() };
            Value::from(*best.ok_or_else(|| format!("{name}() needs an argument"))?)
        }
        "int" | "int64" | "atoi" => Value::from(sprig_int(args.first().unwrap_or(&Value::Null))),
        "float64" => Num::F(sprig_float(args.first().unwrap_or(&Value::Null))).value()?,
        "toString" => Value::String(s(0)?),
        "upper" => Value::String(s(0)?.to_uppercase()),
        "lower" => Value::String(s(0)?.to_lowercase()),
        "trim" => Value::String(s(0)?.trim().to_owned()),
        "title" => Value::String(
            s(0)?
                .split(' ')
                .map(|w| {
                    let mut c = w.chars();
                    c.next().map(|h| h.to_uppercase().chain(c).collect()).unwrap_or_default()
                })
                .collect::<Vec<String>>()
                .join(" "),
        ),
        // sprig puts the string last.
        "trimPrefix" => Value::String(s(1)?.strip_prefix(&s(0)?).map(str::to_owned).unwrap_or(s(1)?)),
        "trimSuffix" => Value::String(s(1)?.strip_suffix(&s(0)?).map(str::to_owned).unwrap_or(s(1)?)),
        "contains" => Value::Bool(s(1)?.contains(&s(0)?)),
        "hasPrefix" => Value::Bool(s(1)?.starts_with(&s(0)?)),
        "hasSuffix" => Value::Bool(s(1)?.ends_with(&s(0)?)),
        "replace" => Value::String(bounded_replace(&s(2)?, &s(0)?, &s(1)?)?),
        "toJson" => Value::String(args.first().unwrap_or(&Value::Null).to_string()),
        "fromJson" => serde_json::from_str(&s(0)?).unwrap_or(Value::Object(Default::default())),
        "default" => match args.get(1) {
            Some(given) if !empty(given) => given.clone(),
            _ => args.first().cloned().unwrap_or(Value::Null),
        },
        "empty" => Value::Bool(empty(args.first().unwrap_or(&Value::Null))),
        "quote" => Value::String(format!("{:?}", s(0)?)),
        "squote" => Value::String(format!("'{}'", s(0)?)),
        "splitList" => Value::Array(s(1)?.split(&s(0)?).map(|x| Value::String(x.into())).collect()),
        "join" => {
            let sep = s(0)?;
            let items = list(&name, args.get(1).unwrap_or(&Value::Null))?;
            Value::String(items.iter().map(go_display).collect::<Vec<_>>().join(&sep))
        }
        "list" => Value::Array(args),
        "first" | "last" => {
            let items = list(&name, args.first().unwrap_or(&Value::Null))?;
            let item = if f == "first" { items.first() } else { items.last() };
            item.cloned().unwrap_or(Value::Null)
        }
        other => return Err(format!("unknown function sprig.{other}()")),
    })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn every_listed_function_is_implemented() {
        for f in PLAIN {
            let e = call(f, vec![]).err().unwrap_or_default();
            assert!(!e.starts_with("unknown function"), "{f}: {e}");
        }
        for f in SPRIG {
            let e = call(&format!("sprig.{f}"), vec![]).err().unwrap_or_default();
            assert!(!e.starts_with("unknown function"), "{f}: {e}");
        }
    }

    #[test]
    fn upstream_conversions() {
        assert_eq!(call("asInt", vec![json!("3")]), Ok(json!(3)));
        assert!(call("asInt", vec![json!("3.5")]).unwrap_err().contains("not an integer"));
        assert_eq!(call("asFloat", vec![json!("3.5")]), Ok(json!(3.5)));
        assert_eq!(call("toJson", vec![json!([3])]), Ok(json!("[3]")));
        assert_eq!(call("string", vec![json!([1, 2])]), Ok(json!("[1 2]")));
        assert_eq!(call("sprig.add", vec![json!(34.0), json!(27), json!("15")]), Ok(json!(76)));
        assert_eq!(call("sprig.max", vec![json!(34.0), json!(57)]), Ok(json!(57)));
        assert_eq!(call("sprig.b64dec", vec![json!("eyJhIjogMX0=")]), Ok(json!("{\"a\": 1}")));
        assert_eq!(call("sprig.default", vec![json!("d"), json!("")]), Ok(json!("d")));
        assert_eq!(call("sprig.trimPrefix", vec![json!("a-"), json!("a-b")]), Ok(json!("b")));
    }

    #[test]
    fn nothing_grows_without_bound() {
        let big = json!("x".repeat(100_000));
        let e = call("replace", vec![big, json!("x"), json!("yyyyyyyyyyyyyyyyyyyy")]).unwrap_err();
        assert!(e.contains("longer than 1 MiB"), "{e}");
        assert!(call("sprig.add", vec![json!(i64::MAX), json!(1)]).unwrap_err().contains("overflows"));
        assert!(call("sprig.div", vec![json!(1), json!(0)]).unwrap_err().contains("division by zero"));
        assert!(call("abs", vec![json!(i64::MIN)]).is_err());
    }
}
