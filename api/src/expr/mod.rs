//! Upstream's expressions (expr-lang): `{{=...}}` tags, `valueFrom.expression`
//! and the like. The variables are the template's scope with its dotted
//! names made nested (`steps.a.outputs.result` is `steps['a'].outputs.result`);
//! parameters are strings, as upstream's are.
//!
//! An expression is untrusted: its length and nesting are bounded before it
//! is parsed, and its evaluation runs on a budget of steps and bytes.

mod date;
mod eval;
mod funcs;
mod jsonpath;
mod lex;
mod num;
mod parse;

use serde_json::{Map, Value};

use crate::limits::MAX_EXPRESSION_BYTES;
use crate::vars::Scope;

/// A parsed expression, ready to run against any scope.
#[derive(Clone, Debug, PartialEq)]
pub struct Program(parse::Expr);

/// Parses `src`; the error says what is wrong, not where it came from.
pub fn compile(src: &str) -> Result<Program, String> {
    if src.len() > MAX_EXPRESSION_BYTES {
        return Err(format!("longer than {}", crate::limits::bytes(MAX_EXPRESSION_BYTES)));
    }
    parse::parse(src).map(Program)
}

impl Program {
    pub fn run(&self, env: &Map<String, Value>) -> Result<Value, String> {
        eval::Eval::new(env).eval(&self.0)
    }
}

/// Tag-only spellings of a value (`workflow.creationTimestamp.Y`): in an
/// expression the value itself is meant, formatted with `sprig.date`.
const FORMATS_OF: &[&str] = &["workflow.creationTimestamp."];

/// The variables of `scope` as nested maps. Where a name is both a value
/// and a prefix (`workflow.parameters` and `workflow.parameters.x`), the
/// map wins: it is what an expression can navigate.
pub fn env(scope: &Scope) -> Map<String, Value> {
    let mut root = Map::new();
    for (key, value) in scope.entries() {
        if FORMATS_OF.iter().any(|f| key.starts_with(f)) {
            continue;
        }
        let mut parts = key.split('.').peekable();
        let mut node = &mut root;
        while let Some(part) = parts.next() {
            if parts.peek().is_none() {
                if !node.get(part).is_some_and(Value::is_object) {
                    node.insert(part.to_owned(), Value::String(value.to_owned()));
                }
                break;
            }
            let slot = node.entry(part.to_owned()).or_insert_with(|| Value::Object(Map::new()));
            if !slot.is_object() {
                *slot = Value::Object(Map::new());
            }
            let Value::Object(next) = slot else {
                unreachable!("just made a map")
            };
            node = next;
        }
    }
    root
}

/// What a `{{=...}}` tag becomes: the value as upstream prints it (Go's
/// `%v`); nil is an error, as upstream's "failed to evaluate expression".
pub fn render(v: &Value) -> Result<String, String> {
    if v.is_null() {
        return Err("the expression evaluated to nil".into());
    }
    Ok(num::go_display(v))
}

/// Compiles and runs `src` in `scope`, rendered for a tag.
pub fn evaluate(src: &str, scope: &Scope) -> Result<String, String> {
    let program = compile(src)?;
    render(&program.run(&env(scope))?)
}

#[cfg(test)]
mod tests;
