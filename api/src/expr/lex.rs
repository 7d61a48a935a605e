//! Tokens of expr-lang, the language of upstream's `{{=...}}` tags,
//! `valueFrom.expression` and `retryStrategy.expression`.

use serde_json::Value;

#[derive(Clone, Debug, PartialEq)]
pub(super) enum Tok {
    Lit(Value),
    Ident(String),
    Punct(&'static str),
}

/// Longest first, so `**` is not read as two `*`.
const PUNCT: [&str; 30] = [
    "**", "??", "?.", "..", "==", "!=", "<=", ">=", "&&", "||", "+", "-", "*", "/", "%", "^", "<", ">", "!", "?", ":",
    ".", ",", "(", ")", "[", "]", "{", "}", "|",
];

pub(super) fn tokenize(s: &str) -> Result<Vec<Tok>, String> {
    let b = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        if c.is_ascii_whitespace() {
            i += 1;
        } else if c == b'\'' || c == b'"' {
            let (text, end) = string(s, i)?;
            out.push(Tok::Lit(Value::String(text)));
            i = end;
        } else if c == b'`' {
            let end = s[i + 1..].find('`').ok_or("unterminated `string`")? + i + 1;
            out.push(Tok::Lit(Value::String(s[i + 1..end].to_owned())));
            i = end + 1;
        } else if c.is_ascii_digit() || (c == b'.' && b.get(i + 1).is_some_and(u8::is_ascii_digit)) {
            let (n, end) = number(s, i)?;
            out.push(Tok::Lit(n));
            i = end;
        } else if c == b'#' || c == b'$' || c == b'_' || c.is_ascii_alphabetic() {
            let start = i;
            i += 1;
            while i < b.len() && (b[i] == b'_' || b[i] == b'$' || b[i].is_ascii_alphanumeric()) {
                i += 1;
            }
            let word = &s[start..i];
            out.push(match word {
                "true" => Tok::Lit(Value::Bool(true)),
                "false" => Tok::Lit(Value::Bool(false)),
                "nil" => Tok::Lit(Value::Null),
                w => Tok::Ident(w.to_owned()),
            });
        } else if let Some(p) = PUNCT.iter().find(|p| s[i..].starts_with(**p)) {
            out.push(Tok::Punct(p));
            i += p.len();
        } else {
            let ch = s[i..].chars().next().unwrap_or('?');
            return Err(format!("unexpected character {ch:?} at offset {i}"));
        }
    }
    Ok(out)
}

fn string(s: &str, start: usize) -> Result<(String, usize), String> {
    let quote = s.as_bytes()[start] as char;
    let mut text = String::new();
    let mut chars = s[start + 1..].char_indices();
    while let Some((off, c)) = chars.next() {
        match c {
            c if c == quote => return Ok((text, start + 1 + off + 1)),
            '\\' => {
                let (_, e) = chars.next().ok_or("unterminated string")?;
                text.push(match e {
                    'n' => '\n',
                    't' => '\t',
                    'r' => '\r',
                    '0' => '\0',
                    'u' => {
                        let hex: String = (0..4).filter_map(|_| chars.next().map(|(_, h)| h)).collect();
                        u32::from_str_radix(&hex, 16)
                            .ok()
                            .and_then(char::from_u32)
                            .ok_or_else(|| format!("invalid escape \\u{hex}"))?
                    }
                    other => other,
                });
            }
            c => text.push(c),
        }
    }
    Err(format!("unterminated string starting at offset {start}"))
}

fn number(s: &str, start: usize) -> Result<(Value, usize), String> {
    let b = s.as_bytes();
    let mut i = start;
    let mut float = false;
    while i < b.len() {
        match b[i] {
            b'0'..=b'9' | b'_' => i += 1,
            // `1..3` is a range, not the float `1.`
            b'.' if !float && b.get(i + 1) != Some(&b'.') => {
                float = true;
                i += 1;
            }
            b'e' | b'E' => {
                float = true;
                i += 1;
                if matches!(b.get(i), Some(b'+' | b'-')) {
                    i += 1;
                }
            }
            _ => break,
        }
    }
    let text: String = s[start..i].chars().filter(|c| *c != '_').collect();
    let bad = || format!("invalid number {:?}", &s[start..i]);
    let value = if float {
        let f: f64 = text.parse().map_err(|_| bad())?;
        serde_json::Number::from_f64(f).map(Value::Number).ok_or_else(bad)?
    } else {
        Value::from(text.parse::<i64>().map_err(|_| bad())?)
    };
    Ok((value, i))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_upstream_examples_tokens() {
        let t = tokenize(r#"steps['flip-coin'].outputs.result == "heads" ? 1.5 : 1..3"#).unwrap();
        assert_eq!(t.len(), 16, "{t:?}");
        assert_eq!(t[2], Tok::Lit(Value::String("flip-coin".into())));
        assert_eq!(t[11], Tok::Lit(serde_json::json!(1.5)));
        assert_eq!(t[14], Tok::Punct(".."));
        assert_eq!(tokenize("{# > 1}").unwrap()[1], Tok::Ident("#".into()));
        assert_eq!(tokenize("'a\\'b'").unwrap(), [Tok::Lit(Value::String("a'b".into()))]);
    }

    #[test]
    fn bad_input_is_an_error() {
        assert!(tokenize("'open").is_err());
        assert!(tokenize("a @ b").unwrap_err().contains("'@'"));
        assert!(tokenize("99999999999999999999").is_err());
        assert!(tokenize("'\\u12'").is_err());
    }
}
