//! `when` conditions, evaluated the way upstream's govaluate-based
//! `shouldExecute` does after substitution: words that are not numbers or
//! booleans are strings, so `heads == heads` and `5 < 10` both work.
//! Operators: `==` `!=` `<` `<=` `>` `>=` `=~` `!~` `&&` `||` `!` and
//! parentheses.

use std::fmt;

use crate::limits::{MAX_EXPRESSION_BYTES, MAX_EXPRESSION_DEPTH};

#[derive(Clone, Debug, PartialEq)]
enum Value {
    Num(f64),
    Str(String),
    Bool(bool),
}

impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Num(n) => write!(f, "{n}"),
            Value::Str(s) => write!(f, "{s:?}"),
            Value::Bool(b) => write!(f, "{b}"),
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
enum Token {
    Val(Value),
    Op(&'static str),
    Open,
    Close,
}

const OPS: [&str; 12] = ["==", "!=", "<=", ">=", "=~", "!~", "&&", "||", "<", ">", "!", "-"];

fn tokenize(s: &str) -> Result<Vec<Token>, String> {
    let chars: Vec<char> = s.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c.is_whitespace() {
            i += 1;
        } else if c == '(' {
            out.push(Token::Open);
            i += 1;
        } else if c == ')' {
            out.push(Token::Close);
            i += 1;
        } else if c == '"' || c == '\'' {
            let start = i + 1;
            let mut j = start;
            let mut text = String::new();
            while j < chars.len() && chars[j] != c {
                if chars[j] == '\\' && j + 1 < chars.len() {
                    j += 1;
                }
                text.push(chars[j]);
                j += 1;
            }
            if j >= chars.len() {
                return Err("unterminated string".into());
            }
            out.push(Token::Val(Value::Str(text)));
            i = j + 1;
        } else if let Some(op) = OPS.iter().find(|op| {
            let n = op.len();
            chars.len() >= i + n && chars[i..i + n].iter().collect::<String>() == **op
        }) {
            // A `-` that starts or continues a word is part of it
            // (`my-value`), as is a leading minus on a number.
            if *op == "-" {
                let (tok, next) = word(&chars, i);
                out.push(tok);
                i = next;
            } else {
                out.push(Token::Op(op));
                i += op.len();
            }
        } else {
            let (tok, next) = word(&chars, i);
            if next == i {
                return Err(format!("unexpected character {c:?}"));
            }
            out.push(tok);
            i = next;
        }
    }
    Ok(out)
}

fn is_word_char(c: char) -> bool {
    c.is_alphanumeric()
        || matches!(
            c,
            '_' | '-' | '.' | '/' | ':' | '@' | '+' | '%' | '#' | '$' | '*' | '?' | ',' | '[' | ']' | '{' | '}' | '^'
        )
}

fn word(chars: &[char], start: usize) -> (Token, usize) {
    let mut j = start;
    while j < chars.len() && is_word_char(chars[j]) {
        j += 1;
    }
    let text: String = chars[start..j].iter().collect();
    let tok = match text.as_str() {
        "true" => Token::Val(Value::Bool(true)),
        "false" => Token::Val(Value::Bool(false)),
        t => match t.parse::<f64>() {
            Ok(n) if !t.is_empty() => Token::Val(Value::Num(n)),
            _ => Token::Val(Value::Str(text)),
        },
    };
    (tok, j)
}

struct Parser {
    tokens: Vec<Token>,
    pos: usize,
    /// Open parentheses and `!` around the current position.
    depth: usize,
}

impl Parser {
    fn peek_op(&self) -> Option<&'static str> {
        match self.tokens.get(self.pos) {
            Some(Token::Op(op)) => Some(op),
            _ => None,
        }
    }

    fn or(&mut self) -> Result<Value, String> {
        let mut left = self.and()?;
        while self.peek_op() == Some("||") {
            self.pos += 1;
            let right = self.and()?;
            left = Value::Bool(truthy(&left)? || truthy(&right)?);
        }
        Ok(left)
    }

    fn and(&mut self) -> Result<Value, String> {
        let mut left = self.cmp()?;
        while self.peek_op() == Some("&&") {
            self.pos += 1;
            let right = self.cmp()?;
            left = Value::Bool(truthy(&left)? && truthy(&right)?);
        }
        Ok(left)
    }

    fn cmp(&mut self) -> Result<Value, String> {
        let left = self.unary()?;
        let Some(op) = self.peek_op().filter(|op| !matches!(*op, "&&" | "||" | "!")) else {
            return Ok(left);
        };
        self.pos += 1;
        let right = self.unary()?;
        compare(op, &left, &right).map(Value::Bool)
    }

    /// Goes one level deeper; the evaluation recurses, so nesting is
    /// bounded.
    fn nested(&mut self, parse: impl FnOnce(&mut Self) -> Result<Value, String>) -> Result<Value, String> {
        if self.depth >= MAX_EXPRESSION_DEPTH {
            return Err(format!("nested more than {MAX_EXPRESSION_DEPTH} levels deep (parentheses and `!`)"));
        }
        self.depth += 1;
        self.pos += 1;
        let out = parse(self);
        self.depth -= 1;
        out
    }

    fn unary(&mut self) -> Result<Value, String> {
        match self.tokens.get(self.pos).cloned() {
            Some(Token::Op("!")) => self.nested(|p| {
                let v = p.unary()?;
                Ok(Value::Bool(!truthy(&v)?))
            }),
            Some(Token::Open) => self.nested(|p| {
                let v = p.or()?;
                match p.tokens.get(p.pos) {
                    Some(Token::Close) => {
                        p.pos += 1;
                        Ok(v)
                    }
                    _ => Err("missing `)`".into()),
                }
            }),
            Some(Token::Val(v)) => {
                self.pos += 1;
                Ok(v)
            }
            Some(t) => Err(format!("unexpected {t:?}")),
            None => Err("unexpected end of expression".into()),
        }
    }
}

fn truthy(v: &Value) -> Result<bool, String> {
    match v {
        Value::Bool(b) => Ok(*b),
        other => Err(format!("{other} is not a boolean")),
    }
}

fn compare(op: &str, a: &Value, b: &Value) -> Result<bool, String> {
    use Value::*;
    Ok(match (op, a, b) {
        ("==", x, y) => loose_eq(x, y),
        ("!=", x, y) => !loose_eq(x, y),
        ("=~" | "!~", x, Str(pattern)) => {
            let re = regex::Regex::new(pattern).map_err(|e| format!("invalid regular expression {pattern:?}: {e}"))?;
            re.is_match(&plain(x)) == (op == "=~")
        }
        (_, Num(x), Num(y)) => match op {
            "<" => x < y,
            "<=" => x <= y,
            ">" => x > y,
            ">=" => x >= y,
            _ => return Err(format!("cannot apply {op} to numbers")),
        },
        (_, Str(x), Str(y)) => match op {
            "<" => x < y,
            "<=" => x <= y,
            ">" => x > y,
            ">=" => x >= y,
            _ => return Err(format!("cannot apply {op} to strings")),
        },
        (op, x, y) => return Err(format!("cannot compare {x} {op} {y}")),
    })
}

fn plain(v: &Value) -> String {
    match v {
        Value::Str(s) => s.clone(),
        other => other.to_string(),
    }
}

/// Equal when equal as numbers, or as text (so `1 == "1"` holds, as after
/// substitution both sides are the user's text).
fn loose_eq(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Num(x), Value::Num(y)) => x == y,
        _ => plain(a) == plain(b),
    }
}

/// Checks what can be checked before substitution: the length, and the
/// nesting of parentheses and `!` outside quotes.
pub fn check_shape(condition: &str) -> Result<(), String> {
    if condition.len() > MAX_EXPRESSION_BYTES {
        return Err(format!("longer than {}", crate::limits::bytes(MAX_EXPRESSION_BYTES)));
    }
    let (mut depth, mut max, mut quote) = (0usize, 0usize, None);
    for c in condition.chars() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), _) => {}
            (None, '"' | '\'') => quote = Some(c),
            (None, '(') => {
                depth += 1;
                max = max.max(depth);
            }
            (None, ')') => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    if max > MAX_EXPRESSION_DEPTH {
        return Err(format!("parentheses nested more than {MAX_EXPRESSION_DEPTH} levels deep"));
    }
    Ok(())
}

/// Evaluates a substituted `when` condition.
pub fn evaluate(condition: &str) -> Result<bool, String> {
    if condition.len() > MAX_EXPRESSION_BYTES {
        return Err(format!(
            "invalid 'when' expression {:?}: longer than {}",
            crate::text::shorten(condition, 40),
            crate::limits::bytes(MAX_EXPRESSION_BYTES)
        ));
    }
    let fail = |e: String| format!("invalid 'when' expression {:?}: {e}", crate::text::shorten(condition, 200));
    let tokens = tokenize(condition).map_err(fail)?;
    if tokens.is_empty() {
        return Ok(true);
    }
    let mut p = Parser {
        tokens,
        pos: 0,
        depth: 0,
    };
    let v = p.or().map_err(fail)?;
    if let Some(extra) = p.tokens.get(p.pos) {
        return Err(fail(format!("unexpected {extra:?}")));
    }
    truthy(&v).map_err(|e| fail(format!("expected a boolean result: {e}")))
}

#[cfg(test)]
mod tests {
    use super::evaluate;

    #[test]
    fn words_compare_as_strings() {
        assert_eq!(evaluate("heads == heads"), Ok(true));
        assert_eq!(evaluate("heads == tails"), Ok(false));
        assert_eq!(evaluate("Succeeded != Succeeded"), Ok(false));
        assert_eq!(evaluate("my-value == my-value"), Ok(true));
        assert_eq!(evaluate("'a b' == \"a b\""), Ok(true));
    }

    #[test]
    fn numbers_compare_as_numbers() {
        assert_eq!(evaluate("5 < 10"), Ok(true));
        assert_eq!(evaluate("10 < 5"), Ok(false));
        assert_eq!(evaluate("3 != 1 && 3 != 2"), Ok(true));
        assert_eq!(evaluate("1.0 == 1"), Ok(true));
        assert_eq!(evaluate("-1 < 0"), Ok(true));
    }

    #[test]
    fn logic_and_regex() {
        assert_eq!(evaluate("true"), Ok(true));
        assert_eq!(evaluate("false"), Ok(false));
        assert_eq!(evaluate("!(a == b) || false"), Ok(true));
        assert_eq!(evaluate("heads =~ hea"), Ok(true));
        assert_eq!(evaluate("tails !~ hea"), Ok(true));
        assert_eq!(evaluate("true == true"), Ok(true));
    }

    #[test]
    fn nesting_and_length_are_bounded() {
        let deep = format!("{}true{}", "(".repeat(2000), ")".repeat(2000));
        assert!(evaluate(&deep).unwrap_err().contains("nested more than 64 levels"));
        assert!(evaluate(&format!("{}true", "!".repeat(5000))).unwrap_err().contains("nested more than"));
        assert_eq!(evaluate(&format!("{}true{}", "(".repeat(60), ")".repeat(60))), Ok(true));
        let long = format!("a == {}", "a".repeat(20_000));
        assert!(evaluate(&long).unwrap_err().contains("longer than 16 KiB"));
    }

    #[test]
    fn errors_name_the_expression() {
        let e = evaluate("a ==").unwrap_err();
        assert!(e.starts_with("invalid 'when' expression \"a ==\""), "{e}");
        assert!(evaluate("heads").is_err());
        assert!(evaluate("(a == a").is_err());
    }
}
