//! The DAG `depends` language: task names, `.Result` suffixes, `&&`, `||`,
//! `!` and parentheses. A bare name means Succeeded, Skipped or Daemoned.

use std::collections::BTreeSet;
use std::fmt;

use crate::limits::{MAX_EXPRESSION_BYTES, MAX_EXPRESSION_DEPTH};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum TaskResult {
    Succeeded,
    Failed,
    Errored,
    Skipped,
    Omitted,
    Daemoned,
    AnySucceeded,
    AllFailed,
}

impl TaskResult {
    fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "Succeeded" => Self::Succeeded,
            "Failed" => Self::Failed,
            "Errored" => Self::Errored,
            "Skipped" => Self::Skipped,
            "Omitted" => Self::Omitted,
            "Daemoned" => Self::Daemoned,
            "AnySucceeded" => Self::AnySucceeded,
            "AllFailed" => Self::AllFailed,
            _ => return None,
        })
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Depends {
    /// `task` alone (`result` None) or `task.Result`.
    Task {
        name: String,
        result: Option<TaskResult>,
    },
    Not(Box<Depends>),
    /// Every term holds. N-ary, so a long `a && b && ...` stays shallow.
    And(Vec<Depends>),
    Or(Vec<Depends>),
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParseError {
    pub expression: String,
    pub reason: String,
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "invalid depends expression {:?}: {}", self.expression, self.reason)
    }
}

impl std::error::Error for ParseError {}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Token {
    Name(String),
    Dot,
    And,
    Or,
    Not,
    Open,
    Close,
}

fn tokenize(s: &str) -> Result<Vec<Token>, String> {
    let mut out = Vec::new();
    let chars: Vec<char> = s.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        match c {
            ' ' | '\t' | '\n' | '\r' => i += 1,
            '(' | ')' | '.' | '!' => {
                out.push(match c {
                    '(' => Token::Open,
                    ')' => Token::Close,
                    '.' => Token::Dot,
                    _ => Token::Not,
                });
                i += 1;
            }
            '&' | '|' => {
                if chars.get(i + 1) != Some(&c) {
                    return Err(format!("expected `{c}{c}` at position {i}"));
                }
                out.push(if c == '&' { Token::And } else { Token::Or });
                i += 2;
            }
            c if c.is_ascii_alphanumeric() || c == '_' || c == '-' => {
                let start = i;
                while i < chars.len() && (chars[i].is_ascii_alphanumeric() || chars[i] == '_' || chars[i] == '-') {
                    i += 1;
                }
                out.push(Token::Name(chars[start..i].iter().collect()));
            }
            other => return Err(format!("unexpected character {other:?} at position {i}")),
        }
    }
    Ok(out)
}

struct Parser {
    tokens: Vec<Token>,
    pos: usize,
    /// Open parentheses and `!` around the current position.
    depth: usize,
}

impl Parser {
    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.pos)
    }

    fn next(&mut self) -> Option<Token> {
        let t = self.tokens.get(self.pos).cloned();
        self.pos += 1;
        t
    }

    fn or(&mut self) -> Result<Depends, String> {
        self.chain(&Token::Or, Self::and, Depends::Or)
    }

    fn and(&mut self) -> Result<Depends, String> {
        self.chain(&Token::And, Self::unary, Depends::And)
    }

    /// `next (op next)*`, one n-ary node when there is more than one term.
    fn chain(
        &mut self,
        op: &Token,
        next: fn(&mut Self) -> Result<Depends, String>,
        node: fn(Vec<Depends>) -> Depends,
    ) -> Result<Depends, String> {
        let mut terms = vec![next(self)?];
        while self.peek() == Some(op) {
            self.pos += 1;
            terms.push(next(self)?);
        }
        Ok(if terms.len() == 1 { terms.remove(0) } else { node(terms) })
    }

    /// Goes one level deeper, refusing to go past the nesting limit (the
    /// parser, evaluation and drop all recurse on it).
    fn nested(&mut self, parse: impl FnOnce(&mut Self) -> Result<Depends, String>) -> Result<Depends, String> {
        if self.depth >= MAX_EXPRESSION_DEPTH {
            return Err(format!("nested more than {MAX_EXPRESSION_DEPTH} levels deep (parentheses and `!`)"));
        }
        self.depth += 1;
        let out = parse(self);
        self.depth -= 1;
        out
    }

    fn unary(&mut self) -> Result<Depends, String> {
        match self.next() {
            Some(Token::Not) => self.nested(|p| Ok(Depends::Not(Box::new(p.unary()?)))),
            Some(Token::Open) => self.nested(|p| {
                let inner = p.or()?;
                match p.next() {
                    Some(Token::Close) => Ok(inner),
                    _ => Err("missing `)`".into()),
                }
            }),
            Some(Token::Name(name)) => {
                if self.peek() == Some(&Token::Dot) {
                    self.pos += 1;
                    match self.next() {
                        Some(Token::Name(r)) => match TaskResult::parse(&r) {
                            Some(result) => Ok(Depends::Task {
                                name,
                                result: Some(result),
                            }),
                            None => Err(format!(
                                "unknown result `{name}.{r}` (use Succeeded, Failed, Errored, Skipped, Omitted, Daemoned, AnySucceeded or AllFailed)"
                            )),
                        },
                        _ => Err(format!("expected a result after `{name}.`")),
                    }
                } else {
                    Ok(Depends::Task { name, result: None })
                }
            }
            Some(t) => Err(format!("unexpected {t:?}")),
            None => Err("unexpected end of expression".into()),
        }
    }
}

impl Depends {
    pub fn parse(s: &str) -> Result<Depends, ParseError> {
        let err = |reason: String| ParseError {
            expression: s.to_owned(),
            reason,
        };
        if s.len() > MAX_EXPRESSION_BYTES {
            return Err(ParseError {
                expression: format!("{}...", crate::text::prefix(s, 40)),
                reason: format!("longer than {}", crate::limits::bytes(MAX_EXPRESSION_BYTES)),
            });
        }
        let tokens = tokenize(s).map_err(err)?;
        if tokens.is_empty() {
            return Err(err("empty expression".into()));
        }
        let mut p = Parser {
            tokens,
            pos: 0,
            depth: 0,
        };
        let e = p.or().map_err(err)?;
        match p.tokens.get(p.pos) {
            Some(extra) => Err(err(format!("unexpected {extra:?}"))),
            None => Ok(e),
        }
    }

    /// `dependencies: [a, b]` as the equivalent expression.
    pub fn all_of(names: &[String]) -> Option<Depends> {
        let mut terms: Vec<Depends> = names
            .iter()
            .map(|n| Depends::Task {
                name: n.clone(),
                result: None,
            })
            .collect();
        match terms.len() {
            0 => None,
            1 => terms.pop(),
            _ => Some(Depends::And(terms)),
        }
    }

    /// The tasks the expression mentions.
    pub fn tasks(&self) -> BTreeSet<&str> {
        let mut out = BTreeSet::new();
        self.collect(&mut out);
        out
    }

    fn collect<'a>(&'a self, out: &mut BTreeSet<&'a str>) {
        match self {
            Depends::Task { name, .. } => {
                out.insert(name);
            }
            Depends::Not(e) => e.collect(out),
            Depends::And(terms) | Depends::Or(terms) => {
                for t in terms {
                    t.collect(out);
                }
            }
        }
    }

    /// Evaluates with `holds(task, result)`; a bare task name is asked as
    /// `None` so the caller can widen it (e.g. for `continueOn`).
    pub fn eval(&self, holds: &impl Fn(&str, Option<TaskResult>) -> bool) -> bool {
        match self {
            Depends::Task { name, result } => holds(name, *result),
            Depends::Not(e) => !e.eval(holds),
            Depends::And(terms) => terms.iter().all(|t| t.eval(holds)),
            Depends::Or(terms) => terms.iter().any(|t| t.eval(holds)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn eval(expr: &str, facts: &[(&str, TaskResult)]) -> bool {
        let e = Depends::parse(expr).unwrap();
        e.eval(&|name, r| {
            let r = r.unwrap_or(TaskResult::Succeeded);
            facts.iter().any(|(n, f)| *n == name && *f == r)
        })
    }

    #[test]
    fn parses_the_upstream_examples() {
        for e in [
            "A",
            "B && C",
            "A && (C.Succeeded || C.Failed)",
            "should-execute-2.Succeeded || should-not-execute",
            "!A.Failed",
            "b2 && b3 && b4",
        ] {
            Depends::parse(e).unwrap_or_else(|err| panic!("{err}"));
        }
    }

    #[test]
    fn precedence_is_and_over_or() {
        use TaskResult::*;
        assert!(eval("A || B && C", &[("A", Succeeded)]));
        assert!(!eval("(A || B) && C", &[("A", Succeeded)]));
        assert!(eval("!A.Failed", &[]));
        assert!(eval("A.Failed && B", &[("A", Failed), ("B", Succeeded)]));
    }

    #[test]
    fn errors_say_what_is_wrong() {
        let e = Depends::parse("A.Passed").unwrap_err();
        assert!(e.to_string().contains("unknown result `A.Passed`"), "{e}");
        assert!(Depends::parse("A &").is_err());
        assert!(Depends::parse("(A").is_err());
        assert!(Depends::parse("").is_err());
        assert!(Depends::parse("A B").is_err());
    }

    #[test]
    fn nesting_and_length_are_bounded() {
        let deep = format!("{}A{}", "(".repeat(1000), ")".repeat(1000));
        let e = Depends::parse(&deep).unwrap_err();
        assert!(e.reason.contains("nested more than 64 levels"), "{e}");
        let nots = format!("{}A", "!".repeat(5000));
        assert!(Depends::parse(&nots).unwrap_err().reason.contains("nested more than"));
        let ok = format!("{}A{}", "(".repeat(60), ")".repeat(60));
        assert!(Depends::parse(&ok).is_ok());
        // Long flat chains stay one level deep.
        let chain = vec!["t"; 3000].join(" && ");
        assert!(matches!(Depends::parse(&chain), Ok(Depends::And(terms)) if terms.len() == 3000));
        let long = "A".repeat(MAX_EXPRESSION_BYTES + 1);
        assert!(Depends::parse(&long).unwrap_err().reason.contains("longer than 16 KiB"));
    }

    #[test]
    fn lists_the_tasks() {
        let e = Depends::parse("A && (B.Failed || !C)").unwrap();
        assert_eq!(e.tasks().into_iter().collect::<Vec<_>>(), ["A", "B", "C"]);
    }
}
