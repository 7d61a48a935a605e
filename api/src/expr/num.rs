//! Numbers and printing as upstream's Go does them: integers stay integers
//! until an operation needs a float, and values print the way Go's `%v`
//! prints them (upstream renders `{{=...}}` results with `fmt.Sprintf("%v")`).

use serde_json::Value;

#[derive(Clone, Copy, Debug, PartialEq)]
pub(super) enum Num {
    I(i64),
    F(f64),
}

impl Num {
    pub(super) fn of(v: &Value) -> Option<Num> {
        let n = v.as_number()?;
        Some(match n.as_i64() {
            Some(i) => Num::I(i),
            None => Num::F(n.as_f64()?),
        })
    }

    pub(super) fn f(self) -> f64 {
        match self {
            Num::I(i) => i as f64,
            Num::F(f) => f,
        }
    }

    pub(super) fn value(self) -> Result<Value, String> {
        match self {
            Num::I(i) => Ok(Value::from(i)),
            Num::F(f) => serde_json::Number::from_f64(f)
                .map(Value::Number)
                .ok_or_else(|| format!("{f} is not a finite number")),
        }
    }
}

/// `a op b` over numbers: integer arithmetic while it does not overflow.
pub(super) fn arith(op: &str, a: Num, b: Num) -> Result<Num, String> {
    use Num::{F, I};
    Ok(match (op, a, b) {
        ("+", I(x), I(y)) if x.checked_add(y).is_some() => I(x + y),
        ("-", I(x), I(y)) if x.checked_sub(y).is_some() => I(x - y),
        ("*", I(x), I(y)) if x.checked_mul(y).is_some() => I(x * y),
        ("%", I(_), I(0)) => return Err("integer modulo by zero".into()),
        ("%", I(x), I(y)) => I(x.wrapping_rem(y)),
        ("%", ..) => return Err("% needs integers".into()),
        ("/", _, b) if b.f() == 0.0 => return Err("division by zero".into()),
        ("+", a, b) => F(a.f() + b.f()),
        ("-", a, b) => F(a.f() - b.f()),
        ("*", a, b) => F(a.f() * b.f()),
        ("/", a, b) => F(a.f() / b.f()),
        ("**", a, b) => F(a.f().powf(b.f())),
        (op, ..) => return Err(format!("unknown operator {op}")),
    })
}

/// Go's `%v`: `[a b]` for lists, `map[k:v]` for maps, `<nil>` for nil,
/// and floats in Go's shortest form (`35.8`, `1e+06`).
pub(super) fn go_display(v: &Value) -> String {
    let mut out = String::new();
    write_go(v, &mut out);
    out
}

fn write_go(v: &Value, out: &mut String) {
    match v {
        Value::Null => out.push_str("<nil>"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::String(s) => out.push_str(s),
        Value::Number(_) => match Num::of(v) {
            Some(Num::I(i)) => out.push_str(&i.to_string()),
            Some(Num::F(f)) => out.push_str(&go_float(f)),
            None => out.push_str(&v.to_string()),
        },
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(' ');
                }
                write_go(item, out);
            }
            out.push(']');
        }
        Value::Object(map) => {
            out.push_str("map[");
            for (i, (k, item)) in map.iter().enumerate() {
                if i > 0 {
                    out.push(' ');
                }
                out.push_str(k);
                out.push(':');
                write_go(item, out);
            }
            out.push(']');
        }
    }
}

/// strconv.FormatFloat(f, 'g', -1, 64): exponent form below 1e-4 and from
/// 1e21 up... but `%v` uses precision 6 for that choice, so from 1e6 up.
pub(super) fn go_float(f: f64) -> String {
    if f == 0.0 || !f.is_finite() {
        return format!("{f}");
    }
    let sci = format!("{f:e}");
    let (mantissa, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    if !(-4..6).contains(&exp) {
        let sign = if exp < 0 { '-' } else { '+' };
        return format!("{mantissa}e{sign}{:02}", exp.abs());
    }
    format!("{f}")
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn prints_like_go() {
        assert_eq!(go_display(&json!(35.8)), "35.8");
        assert_eq!(go_display(&json!(100.0)), "100");
        assert_eq!(go_display(&json!(1_000_000.0)), "1e+06");
        assert_eq!(go_display(&json!(123_456_789.0)), "1.23456789e+08");
        assert_eq!(go_display(&json!(0.00001)), "1e-05");
        assert_eq!(go_display(&json!(0.0001)), "0.0001");
        assert_eq!(go_display(&json!(30)), "30");
        assert_eq!(go_display(&json!([1, "a", [true]])), "[1 a [true]]");
        assert_eq!(go_display(&json!({"b": 1, "a": null})), "map[a:<nil> b:1]");
    }

    #[test]
    fn integers_stay_integers_until_they_cannot() {
        assert_eq!(arith("+", Num::I(2), Num::I(3)), Ok(Num::I(5)));
        assert_eq!(arith("/", Num::I(179), Num::I(5)), Ok(Num::F(35.8)));
        assert_eq!(arith("*", Num::I(i64::MAX), Num::I(2)), Ok(Num::F(i64::MAX as f64 * 2.0)));
        assert_eq!(arith("%", Num::I(i64::MIN), Num::I(-1)), Ok(Num::I(0)));
        assert!(arith("/", Num::I(1), Num::I(0)).is_err());
        assert!(arith("%", Num::I(1), Num::I(0)).is_err());
        assert!(Num::F(f64::INFINITY).value().is_err());
    }
}
