//! expr-lang's grammar, as far as upstream's examples and documentation use
//! it, with its operator precedence. Nesting is bounded: the parser and the
//! evaluator recurse, and an expression is untrusted input.

use serde_json::Value;

use super::funcs;
use super::lex::{Tok, tokenize};
use crate::limits::MAX_EXPRESSION_DEPTH;

#[derive(Clone, Debug, PartialEq)]
pub(super) enum Expr {
    Lit(Value),
    Ident(String),
    /// `base.key`, `base[key]`; `optional` for `?.`.
    Member {
        base: Box<Expr>,
        key: Box<Expr>,
        optional: bool,
    },
    Slice(Box<Expr>, Option<Box<Expr>>, Option<Box<Expr>>),
    /// `name(args)`; `sprig.date(...)` is named `sprig.date`. A predicate
    /// (`filter(xs, {# > 1})`) is evaluated once per element.
    Call {
        name: String,
        args: Vec<Expr>,
        predicate: Option<Box<Expr>>,
    },
    Unary(&'static str, Box<Expr>),
    Binary(&'static str, Box<Expr>, Box<Expr>),
    Ternary(Box<Expr>, Box<Expr>, Box<Expr>),
    Array(Vec<Expr>),
    Map(Vec<(String, Expr)>),
}

pub(super) fn parse(s: &str) -> Result<Expr, String> {
    let mut p = Parser {
        toks: tokenize(s)?,
        pos: 0,
        depth: 0,
    };
    if p.toks.is_empty() {
        return Err("empty expression".into());
    }
    let e = p.expression()?;
    match p.toks.get(p.pos) {
        None => Ok(e),
        Some(t) => Err(format!("unexpected {} after a complete expression", show(t))),
    }
}

struct Parser {
    toks: Vec<Tok>,
    pos: usize,
    depth: usize,
}

/// Binary operators: (token, left binding power, right associative).
fn binary(t: &Tok) -> Option<(&'static str, u8, bool)> {
    let op = match t {
        Tok::Punct(p) => *p,
        Tok::Ident(w) => match w.as_str() {
            "or" => "||",
            "and" => "&&",
            "in" => "in",
            "matches" => "matches",
            "contains" => "contains",
            "startsWith" => "startsWith",
            "endsWith" => "endsWith",
            _ => return None,
        },
        Tok::Lit(_) => return None,
    };
    let (bp, right) = match op {
        "||" => (10, false),
        "&&" => (15, false),
        "==" | "!=" | "<" | ">" | "<=" | ">=" | "in" | "matches" | "contains" | "startsWith" | "endsWith" => {
            (20, false)
        }
        ".." => (25, false),
        "+" | "-" => (30, false),
        "*" | "/" | "%" => (60, false),
        "**" | "^" => (100, true),
        "??" => (200, false),
        _ => return None,
    };
    Some((if op == "^" { "**" } else { op }, bp, right))
}

fn show(t: &Tok) -> String {
    match t {
        Tok::Lit(v) => v.to_string(),
        Tok::Ident(w) => format!("'{w}'"),
        Tok::Punct(p) => format!("'{p}'"),
    }
}

impl Parser {
    fn peek(&self) -> Option<&Tok> {
        self.toks.get(self.pos)
    }

    fn eat(&mut self, p: &str) -> bool {
        if matches!(self.peek(), Some(Tok::Punct(q)) if *q == p) {
            self.pos += 1;
            return true;
        }
        false
    }

    fn expect(&mut self, p: &str) -> Result<(), String> {
        if self.eat(p) {
            return Ok(());
        }
        Err(match self.peek() {
            Some(t) => format!("expected '{p}', found {}", show(t)),
            None => format!("expected '{p}', found the end of the expression"),
        })
    }

    fn deeper(&mut self) -> Result<(), String> {
        self.depth += 1;
        if self.depth > MAX_EXPRESSION_DEPTH {
            return Err(format!("nested more than {MAX_EXPRESSION_DEPTH} levels deep"));
        }
        Ok(())
    }

    /// Lowest precedence: `cond ? a : b`, right associative.
    fn expression(&mut self) -> Result<Expr, String> {
        self.deeper()?;
        let cond = self.binary(0)?;
        let out = if self.eat("?") {
            let yes = self.expression()?;
            self.expect(":")?;
            let no = self.expression()?;
            Expr::Ternary(Box::new(cond), Box::new(yes), Box::new(no))
        } else {
            cond
        };
        self.depth -= 1;
        Ok(out)
    }

    /// Each operator of a chain (`1 + 1 + ...`) nests the tree one level
    /// deeper without recursing here, so it counts towards the bound too.
    fn binary(&mut self, min: u8) -> Result<Expr, String> {
        let depth = self.depth;
        let mut left = self.unary()?;
        loop {
            // `not in`
            let negated = matches!(self.peek(), Some(Tok::Ident(w)) if w == "not")
                && matches!(self.toks.get(self.pos + 1), Some(Tok::Ident(w)) if w == "in");
            let Some((op, bp, right)) = (if negated {
                Some(("in", 20, false))
            } else {
                self.peek().and_then(binary)
            }) else {
                break;
            };
            if bp < min || (bp == min && !right) {
                break;
            }
            self.pos += if negated { 2 } else { 1 };
            self.deeper()?;
            let rhs = self.binary(if right { bp } else { bp + 1 })?;
            left = Expr::Binary(op, Box::new(left), Box::new(rhs));
            if negated {
                left = Expr::Unary("!", Box::new(left));
            }
        }
        self.depth = depth;
        Ok(left)
    }

    fn unary(&mut self) -> Result<Expr, String> {
        let op = match self.peek() {
            Some(Tok::Punct("!")) => Some(("!", 50)),
            Some(Tok::Ident(w)) if w == "not" => Some(("!", 50)),
            Some(Tok::Punct("-")) => Some(("-", 90)),
            Some(Tok::Punct("+")) => Some(("+", 90)),
            _ => None,
        };
        let Some((op, bp)) = op else {
            return self.postfix();
        };
        self.pos += 1;
        self.deeper()?;
        let operand = self.binary(bp)?;
        self.depth -= 1;
        Ok(Expr::Unary(op, Box::new(operand)))
    }

    fn postfix(&mut self) -> Result<Expr, String> {
        let depth = self.depth;
        let mut e = self.primary()?;
        loop {
            self.deeper()?;
            if self.eat(".") || self.eat("?.") {
                let optional = matches!(self.toks.get(self.pos - 1), Some(Tok::Punct("?.")));
                if optional && self.eat("[") {
                    let key = self.expression()?;
                    self.expect("]")?;
                    e = member(e, key, true);
                    continue;
                }
                let name = match self.toks.get(self.pos) {
                    Some(Tok::Ident(w)) => w.clone(),
                    Some(t) => return Err(format!("expected a name after '.', found {}", show(t))),
                    None => return Err("expected a name after '.'".into()),
                };
                self.pos += 1;
                if matches!(self.peek(), Some(Tok::Punct("("))) {
                    // `sprig.date(...)`: a function from a namespace.
                    let Some(prefix) = dotted(&e) else {
                        return Err(format!("'{name}(...)' is called on a value; methods are not supported"));
                    };
                    e = self.call(format!("{prefix}.{name}"))?;
                } else {
                    e = member(e, Expr::Lit(Value::String(name)), optional);
                }
            } else if self.eat("[") {
                if self.eat(":") {
                    let to = self.slice_end()?;
                    e = Expr::Slice(Box::new(e), None, to);
                    continue;
                }
                let key = self.expression()?;
                if self.eat(":") {
                    let to = self.slice_end()?;
                    e = Expr::Slice(Box::new(e), Some(Box::new(key)), to);
                    continue;
                }
                self.expect("]")?;
                e = member(e, key, false);
            } else if self.eat("|") {
                // `xs | filter(...)` passes xs as the first argument.
                let Some(Tok::Ident(name)) = self.peek().cloned() else {
                    return Err("expected a function after '|'".into());
                };
                self.pos += 1;
                let Expr::Call {
                    name,
                    mut args,
                    predicate,
                } = self.call_piped(name, true)?
                else {
                    unreachable!("call returns a call")
                };
                args.insert(0, e);
                e = Expr::Call { name, args, predicate };
            } else {
                self.depth = depth;
                return Ok(e);
            }
        }
    }

    fn slice_end(&mut self) -> Result<Option<Box<Expr>>, String> {
        if self.eat("]") {
            return Ok(None);
        }
        let to = self.expression()?;
        self.expect("]")?;
        Ok(Some(Box::new(to)))
    }

    fn primary(&mut self) -> Result<Expr, String> {
        let Some(tok) = self.peek().cloned() else {
            return Err("unexpected end of the expression".into());
        };
        self.pos += 1;
        match tok {
            Tok::Lit(v) => Ok(Expr::Lit(v)),
            Tok::Ident(name) if matches!(self.peek(), Some(Tok::Punct("("))) => self.call(name),
            Tok::Ident(name) => Ok(Expr::Ident(name)),
            Tok::Punct("(") => {
                let e = self.expression()?;
                self.expect(")")?;
                Ok(e)
            }
            Tok::Punct("[") => {
                let items = self.list("]")?;
                Ok(Expr::Array(items))
            }
            Tok::Punct("{") => self.map(),
            // `.field` inside a predicate is `#.field`.
            Tok::Punct(".") => match self.peek().cloned() {
                Some(Tok::Ident(name)) => {
                    self.pos += 1;
                    Ok(member(Expr::Ident("#".into()), Expr::Lit(Value::String(name)), false))
                }
                _ => Err("expected a name after '.'".into()),
            },
            t => Err(format!("unexpected {}", show(&t))),
        }
    }

    fn list(&mut self, close: &str) -> Result<Vec<Expr>, String> {
        let mut items = Vec::new();
        while !self.eat(close) {
            items.push(self.expression()?);
            if !self.eat(",") {
                self.expect(close)?;
                break;
            }
        }
        Ok(items)
    }

    fn map(&mut self) -> Result<Expr, String> {
        let mut entries = Vec::new();
        while !self.eat("}") {
            let key = match self.peek().cloned() {
                Some(Tok::Ident(w)) => w,
                Some(Tok::Lit(Value::String(s))) => s,
                Some(Tok::Lit(v @ Value::Number(_))) => v.to_string(),
                Some(t) => return Err(format!("expected a map key, found {}", show(&t))),
                None => return Err("unterminated map".into()),
            };
            self.pos += 1;
            self.expect(":")?;
            entries.push((key, self.expression()?));
            if !self.eat(",") {
                self.expect("}")?;
                break;
            }
        }
        Ok(Expr::Map(entries))
    }

    /// After the name, at `(`.
    fn call(&mut self, name: String) -> Result<Expr, String> {
        self.call_piped(name, false)
    }

    /// `piped`: the first argument comes from before a `|`.
    fn call_piped(&mut self, name: String, piped: bool) -> Result<Expr, String> {
        self.expect("(")?;
        if !funcs::known(&name) {
            return Err(format!("unknown function {name}()"));
        }
        let mut args = Vec::new();
        let mut predicate = None;
        while !self.eat(")") {
            if funcs::takes_predicate(&name) && args.len() + usize::from(piped) == 1 && predicate.is_none() {
                // `{...}` or a bare expression over `#`.
                let body = if self.eat("{") {
                    let b = self.expression()?;
                    self.expect("}")?;
                    b
                } else {
                    self.expression()?
                };
                predicate = Some(Box::new(body));
            } else {
                args.push(self.expression()?);
            }
            if !self.eat(",") {
                self.expect(")")?;
                break;
            }
        }
        Ok(Expr::Call { name, args, predicate })
    }
}

fn member(base: Expr, key: Expr, optional: bool) -> Expr {
    Expr::Member {
        base: Box::new(base),
        key: Box::new(key),
        optional,
    }
}

/// `a.b.c` as written, when `e` is only names and dots.
fn dotted(e: &Expr) -> Option<String> {
    match e {
        Expr::Ident(n) => Some(n.clone()),
        Expr::Member {
            base,
            key,
            optional: false,
        } => match key.as_ref() {
            Expr::Lit(Value::String(k)) => Some(format!("{}.{k}", dotted(base)?)),
            _ => None,
        },
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn precedence_follows_expr_lang() {
        let e = parse("a ?? 'x' == 'y' && !b || c").unwrap();
        let Expr::Binary("||", left, _) = e else {
            panic!("{e:?}")
        };
        let Expr::Binary("&&", eq, _) = *left else { panic!() };
        assert!(matches!(*eq, Expr::Binary("==", ref l, _) if matches!(**l, Expr::Binary("??", ..))));
        assert!(
            matches!(parse("2 ** 3 ** 2").unwrap(), Expr::Binary("**", _, r) if matches!(*r, Expr::Binary("**", ..)))
        );
        assert!(
            matches!(parse("a == 1 ? 1 : a == 2 ? 2 : 3").unwrap(), Expr::Ternary(_, _, n) if matches!(*n, Expr::Ternary(..)))
        );
    }

    #[test]
    fn namespaced_calls_predicates_and_maps() {
        let e = parse("sprig.date('2006', x)").unwrap();
        assert!(matches!(e, Expr::Call { ref name, ref args, .. } if name == "sprig.date" && args.len() == 2));
        let e = parse("filter([1, 3], {# > 1})").unwrap();
        assert!(matches!(e, Expr::Call { predicate: Some(_), ref args, .. } if args.len() == 1));
        assert!(
            matches!(parse("toJson({a: 1, 'b-c': 2})").unwrap(), Expr::Call { ref args, .. } if matches!(args[0], Expr::Map(ref m) if m.len() == 2))
        );
        assert!(matches!(parse("xs[1:]").unwrap(), Expr::Slice(_, Some(_), None)));
        assert!(matches!(parse("x not in ['a']").unwrap(), Expr::Unary("!", _)));
    }

    #[test]
    fn errors_say_what_is_wrong() {
        assert_eq!(parse("a ==").unwrap_err(), "unexpected end of the expression");
        assert!(parse("nope(1)").unwrap_err().contains("unknown function nope()"));
        assert!(parse("a b").unwrap_err().contains("unexpected 'b'"));
        assert!(parse("(1").unwrap_err().contains("expected ')'"));
        assert!(parse("x.y(1)").unwrap_err().contains("unknown function x.y()"));
        assert!(parse("").is_err());
    }

    #[test]
    fn nesting_is_bounded() {
        for deep in [
            format!("{}1{}", "(".repeat(5000), ")".repeat(5000)),
            format!("{}1", "!".repeat(5000)),
            format!("{}1", "-".repeat(5000)),
            format!("{}1{}", "[".repeat(5000), "]".repeat(5000)),
            format!("{}1{}", "{a:".repeat(5000), "}".repeat(5000)),
            "1 ? ".repeat(5000),
            "a ?? ".repeat(5000) + "b",
            "2 ** ".repeat(5000) + "2",
        ] {
            let e = parse(&deep).unwrap_err();
            assert!(e.contains("nested more than 64"), "{e}");
        }
        for chain in [
            format!("{}1", "1 + ".repeat(5000)),
            format!("{}b", "a.".repeat(5000)),
            format!("a{}", "[0]".repeat(5000)),
        ] {
            let e = parse(&chain).unwrap_err();
            assert!(e.contains("nested more than 64"), "{e}");
        }
        assert!(parse(&format!("{}1", "1 + ".repeat(30))).is_ok());
        assert!(parse("steps['a-b'].outputs.parameters.x ?? 'd'").is_ok());
    }
}
