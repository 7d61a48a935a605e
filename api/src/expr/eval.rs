//! Evaluation with a budget: every step and every byte copied costs fuel,
//! so an expression over large parameters (or a loop over a range) ends
//! with an error instead of taking the controller's CPU or memory.

use serde_json::{Map, Value};

use super::funcs::{self, type_error};
use super::num::{Num, arith};
use super::parse::Expr;
use crate::limits::{MAX_EXPRESSION_STEPS, MAX_LOOP_ITEMS, MAX_SUBSTITUTED_BYTES};

pub(super) struct Eval<'a> {
    root: &'a Map<String, Value>,
    fuel: usize,
    /// `#` and `#index` of the predicates being evaluated, innermost last.
    this: Vec<(Value, usize)>,
}

/// What copying a value costs: its size, roughly.
fn cost(v: &Value) -> usize {
    match v {
        Value::String(s) => 1 + s.len() / 16,
        Value::Array(items) => 1 + items.iter().map(cost).sum::<usize>(),
        Value::Object(map) => 1 + map.iter().map(|(k, v)| k.len() / 16 + cost(v)).sum::<usize>(),
        _ => 1,
    }
}

fn truth(what: &str, v: &Value) -> Result<bool, String> {
    v.as_bool().ok_or_else(|| type_error(&format!("{what} needs a boolean;"), v))
}

fn equal(a: &Value, b: &Value) -> bool {
    match (Num::of(a), Num::of(b)) {
        (Some(Num::I(x)), Some(Num::I(y))) => x == y,
        (Some(x), Some(y)) => x.f() == y.f(),
        _ => a == b,
    }
}

impl<'a> Eval<'a> {
    pub(super) fn new(root: &'a Map<String, Value>) -> Self {
        Eval {
            root,
            fuel: MAX_EXPRESSION_STEPS,
            this: Vec::new(),
        }
    }

    fn charge(&mut self, n: usize) -> Result<(), String> {
        self.fuel = self.fuel.checked_sub(n).ok_or_else(|| {
            format!("evaluation stopped: more than {MAX_EXPRESSION_STEPS} steps (the values it copies count by size)")
        })?;
        Ok(())
    }

    /// A value just made: paid for, and within the size every string has.
    fn made(&mut self, v: Value) -> Result<Value, String> {
        self.charge(cost(&v))?;
        if let Value::String(s) = &v
            && s.len() > MAX_SUBSTITUTED_BYTES
        {
            return Err(format!("a string longer than {}", crate::limits::bytes(MAX_SUBSTITUTED_BYTES)));
        }
        Ok(v)
    }

    pub(super) fn eval(&mut self, e: &Expr) -> Result<Value, String> {
        self.charge(1)?;
        match e {
            Expr::Lit(v) => self.made(v.clone()),
            Expr::Ident(name) => {
                let v = match name.as_str() {
                    "#" => self.this.last().map(|t| t.0.clone()).ok_or("'#' outside a predicate")?,
                    "#index" => Value::from(self.this.last().ok_or("'#index' outside a predicate")?.1),
                    n => self.root.get(n).cloned().ok_or_else(|| format!("unknown name '{n}'"))?,
                };
                self.made(v)
            }
            Expr::Member { base, key, optional } => {
                let base = self.eval(base)?;
                let key = self.eval(key)?;
                let v = member(base, &key, *optional)?;
                self.made(v)
            }
            Expr::Slice(base, from, to) => {
                let base = self.eval(base)?;
                let from = from.as_ref().map(|e| self.eval(e)).transpose()?;
                let to = to.as_ref().map(|e| self.eval(e)).transpose()?;
                slice(base, from, to)
            }
            Expr::Call { name, args, predicate } => {
                let mut values = Vec::with_capacity(args.len());
                for a in args {
                    values.push(self.eval(a)?);
                }
                let out = match predicate {
                    Some(p) => self.with_predicate(name, values, p)?,
                    None => funcs::call(name, values)?,
                };
                self.made(out)
            }
            Expr::Unary(op, operand) => {
                let v = self.eval(operand)?;
                match (*op, Num::of(&v)) {
                    ("!", _) => Ok(Value::Bool(!truth("!", &v)?)),
                    ("-", Some(Num::I(i))) => Ok(Value::from(i.checked_neg().ok_or("negation overflows")?)),
                    ("-", Some(Num::F(f))) => Num::F(-f).value(),
                    ("+", Some(_)) => Ok(v),
                    (op, _) => Err(type_error(&format!("unary {op}"), &v)),
                }
            }
            Expr::Binary(op, l, r) => self.binary(op, l, r),
            Expr::Ternary(cond, yes, no) => {
                let c = self.eval(cond)?;
                if truth("?:", &c)? {
                    self.eval(yes)
                } else {
                    self.eval(no)
                }
            }
            Expr::Array(items) => {
                let mut out = Vec::with_capacity(items.len());
                for i in items {
                    out.push(self.eval(i)?);
                }
                Ok(Value::Array(out))
            }
            Expr::Map(entries) => {
                let mut out = Map::new();
                for (k, v) in entries {
                    let v = self.eval(v)?;
                    out.insert(k.clone(), v);
                }
                Ok(Value::Object(out))
            }
        }
    }

    fn binary(&mut self, op: &str, l: &Expr, r: &Expr) -> Result<Value, String> {
        let a = self.eval(l)?;
        match op {
            "&&" | "||" => {
                let short = op == "||";
                if truth(op, &a)? == short {
                    return Ok(Value::Bool(short));
                }
                let b = self.eval(r)?;
                return Ok(Value::Bool(truth(op, &b)?));
            }
            "??" if !a.is_null() => return Ok(a),
            "??" => return self.eval(r),
            _ => {}
        }
        let b = self.eval(r)?;
        let out = match (op, &a, &b) {
            ("==", ..) => Value::Bool(equal(&a, &b)),
            ("!=", ..) => Value::Bool(!equal(&a, &b)),
            ("<" | ">" | "<=" | ">=", Value::String(x), Value::String(y)) => Value::Bool(compare(op, x.cmp(y))),
            ("<" | ">" | "<=" | ">=", ..) => {
                let (Some(x), Some(y)) = (Num::of(&a), Num::of(&b)) else {
                    return Err(format!("cannot compare {} {op} {}", short(&a), short(&b)));
                };
                let ord = x.f().partial_cmp(&y.f()).ok_or("cannot compare NaN")?;
                Value::Bool(compare(op, ord))
            }
            ("+", Value::String(x), Value::String(y)) => {
                if x.len() + y.len() > MAX_SUBSTITUTED_BYTES {
                    return Err(format!("a string longer than {}", crate::limits::bytes(MAX_SUBSTITUTED_BYTES)));
                }
                Value::String(format!("{x}{y}"))
            }
            ("+", Value::Array(x), Value::Array(y)) => Value::Array(x.iter().chain(y).cloned().collect()),
            ("in", x, Value::Array(items)) => Value::Bool(items.iter().any(|i| equal(x, i))),
            ("in", Value::String(k), Value::Object(m)) => Value::Bool(m.contains_key(k)),
            ("contains", Value::String(x), Value::String(y)) => Value::Bool(x.contains(y.as_str())),
            ("startsWith", Value::String(x), Value::String(y)) => Value::Bool(x.starts_with(y.as_str())),
            ("endsWith", Value::String(x), Value::String(y)) => Value::Bool(x.ends_with(y.as_str())),
            ("matches", Value::String(x), Value::String(y)) => Value::Bool(regex(y)?.is_match(x)),
            ("..", ..) => {
                let (Some(Num::I(from)), Some(Num::I(to))) = (Num::of(&a), Num::of(&b)) else {
                    return Err(format!("a range needs integers, got {} .. {}", short(&a), short(&b)));
                };
                let n = to.saturating_sub(from).saturating_add(1).max(0) as u64;
                if n > MAX_LOOP_ITEMS as u64 {
                    return Err(format!("the range {from}..{to} has more than {MAX_LOOP_ITEMS} items"));
                }
                Value::Array((from..=to).map(Value::from).collect())
            }
            (_, x, y) => match (Num::of(x), Num::of(y)) {
                (Some(x), Some(y)) => arith(op, x, y)?.value()?,
                _ => return Err(format!("cannot apply {op} to {} and {}", short(&a), short(&b))),
            },
        };
        self.made(out)
    }

    fn with_predicate(&mut self, name: &str, args: Vec<Value>, p: &Expr) -> Result<Value, String> {
        let [Value::Array(items)] = &args[..] else {
            return match args.first() {
                Some(v) => Err(type_error(&format!("{name}() needs an array;"), v)),
                None => Err(format!("{name}() needs an array")),
            };
        };
        let mut kept = Vec::new();
        let mut hits = 0usize;
        for (i, item) in items.iter().enumerate() {
            self.charge(cost(item))?;
            self.this.push((item.clone(), i));
            let out = self.eval(p);
            self.this.pop();
            let out = out?;
            if name == "map" {
                kept.push(out);
                continue;
            }
            let hit = truth(&format!("{name}()'s predicate"), &out)?;
            match (name, hit) {
                ("filter", true) => kept.push(item.clone()),
                ("all", false) => return Ok(Value::Bool(false)),
                ("any", true) => return Ok(Value::Bool(true)),
                ("none", true) => return Ok(Value::Bool(false)),
                ("find", true) => return Ok(item.clone()),
                ("findIndex", true) => return Ok(Value::from(i)),
                (_, true) => hits += 1,
                _ => {}
            }
        }
        Ok(match name {
            "filter" | "map" => Value::Array(kept),
            "all" | "none" => Value::Bool(true),
            "any" => Value::Bool(false),
            "one" => Value::Bool(hits == 1),
            "count" => Value::from(hits),
            "find" => Value::Null,
            _ => Value::from(-1),
        })
    }
}

fn short(v: &Value) -> String {
    crate::text::shorten(&super::num::go_display(v), 40)
}

fn compare(op: &str, ord: std::cmp::Ordering) -> bool {
    use std::cmp::Ordering::{Equal, Greater, Less};
    matches!((op, ord), ("<", Less) | (">", Greater) | ("<=", Less | Equal) | (">=", Greater | Equal))
}

fn regex(pattern: &str) -> Result<regex::Regex, String> {
    regex::RegexBuilder::new(pattern)
        .size_limit(1 << 20)
        .build()
        .map_err(|e| format!("invalid regular expression {pattern:?}: {e}"))
}

/// `base.key` / `base[key]`. A missing map key is nil, as in expr-lang;
/// so is any key of nil, so that `tasks.x.outputs.parameters.p ?? 'd'`
/// works for a task that never ran.
fn member(base: Value, key: &Value, optional: bool) -> Result<Value, String> {
    match (base, key) {
        (Value::Null, _) => Ok(Value::Null),
        (Value::Object(mut m), Value::String(k)) => Ok(m.remove(k).unwrap_or(Value::Null)),
        (Value::Array(mut items), k) => match index(items.len(), k) {
            Some(i) => Ok(items.swap_remove(i)),
            None if optional => Ok(Value::Null),
            None => Err(format!("index {} out of range for an array of {}", short(k), items.len())),
        },
        (Value::String(s), k) => {
            let chars: Vec<char> = s.chars().collect();
            match index(chars.len(), k) {
                Some(i) => Ok(Value::String(chars[i].into())),
                None => Err(format!("index {} out of range for a string of {}", short(k), chars.len())),
            }
        }
        (base, key) => Err(format!("cannot read [{}] of {}", short(key), short(&base))),
    }
}

/// An index into `len` items; negative counts from the end.
fn index(len: usize, k: &Value) -> Option<usize> {
    let i = k.as_i64()?;
    let i = if i < 0 { i.checked_add(len as i64)? } else { i };
    usize::try_from(i).ok().filter(|i| *i < len)
}

fn slice(base: Value, from: Option<Value>, to: Option<Value>) -> Result<Value, String> {
    let bound = |v: Option<Value>, len: usize, dflt: usize| -> Result<usize, String> {
        match v {
            None => Ok(dflt),
            Some(v) => {
                let i = v.as_i64().ok_or_else(|| format!("a slice bound must be an integer, got {}", short(&v)))?;
                let i = if i < 0 { i.saturating_add(len as i64) } else { i };
                Ok(i.clamp(0, len as i64) as usize)
            }
        }
    };
    match base {
        Value::Array(items) => {
            let (a, b) = (bound(from, items.len(), 0)?, bound(to, items.len(), items.len())?);
            Ok(Value::Array(items.get(a..b.max(a)).unwrap_or_default().to_vec()))
        }
        Value::String(s) => {
            let chars: Vec<char> = s.chars().collect();
            let (a, b) = (bound(from, chars.len(), 0)?, bound(to, chars.len(), chars.len())?);
            Ok(Value::String(chars.get(a..b.max(a)).unwrap_or_default().iter().collect()))
        }
        v => Err(type_error("slicing needs an array or a string;", &v)),
    }
}
