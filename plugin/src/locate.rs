//! The line of a field in YAML text, from a problem's field path
//! (`spec.templates[1].container.image`): so `lint` and the UI's submit
//! point at the field, not only at its document. Block-style YAML is
//! followed key by key and item by item; where the text is written
//! otherwise (flow style, JSON on one line), the deepest line found is the
//! answer.

enum Step<'a> {
    Key(&'a str),
    Item(usize),
}

fn steps(path: &str) -> Vec<Step<'_>> {
    let mut out = Vec::new();
    for part in path.split('.').filter(|p| !p.is_empty()) {
        let (name, mut rest) = part.split_once('[').map_or((part, ""), |(n, r)| (n, r));
        if !name.is_empty() {
            out.push(Step::Key(name));
        }
        while let Some((index, after)) = rest.split_once(']') {
            match index.parse() {
                Ok(i) => out.push(Step::Item(i)),
                Err(_) => return out,
            }
            rest = after.strip_prefix('[').unwrap_or("");
        }
    }
    out
}

/// Column of the first non-blank character, or None for blank and comment lines.
fn indent(line: &str) -> Option<usize> {
    let trimmed = line.trim_start();
    (!trimmed.is_empty() && !trimmed.starts_with('#')).then(|| line.len() - trimmed.len())
}

/// Where the content after any `- ` list markers starts.
fn content(line: &str) -> (usize, &str) {
    let mut col = line.len() - line.trim_start().len();
    let mut rest = line.trim_start();
    while let Some(r) = rest.strip_prefix("- ") {
        let r2 = r.trim_start();
        col += rest.len() - r2.len();
        rest = r2;
    }
    (col, rest)
}

fn is_key(text: &str, key: &str) -> bool {
    [key.to_owned(), format!("\"{key}\""), format!("'{key}'")]
        .iter()
        .any(|k| text.strip_prefix(k.as_str()).is_some_and(|r| r.starts_with(':')))
}

/// The 1-based line of `path` in the document of `text` starting at
/// 1-based line `start`; `start` itself when nothing deeper is found.
pub fn line_of(text: &str, start: usize, path: &str) -> usize {
    let lines: Vec<&str> = text.lines().collect();
    let first = start.saturating_sub(1);
    let end = (first + 1..lines.len()).find(|&i| lines[i].starts_with("---")).unwrap_or(lines.len());
    // (line index, column of the node's own key or dash); the root is
    // column -1: everything is inside it.
    let (mut at, mut col) = (first, -1isize);
    let mut found_any = false;
    for step in steps(path) {
        let from = if found_any { at + 1 } else { first };
        let mut hit = None;
        match step {
            Step::Key(key) => {
                // The node's own line may hold the key after a `- `.
                if found_any {
                    let (c, text) = content(lines[at]);
                    if c as isize > col && is_key(text, key) && !lines[at].trim_start().starts_with(key) {
                        hit = Some((at, c as isize));
                    }
                }
                for (i, line) in lines.iter().enumerate().take(end).skip(from) {
                    if hit.is_some() {
                        break;
                    }
                    let Some(ind) = indent(line) else { continue };
                    if ind as isize <= col {
                        break;
                    }
                    let (c, text) = content(line);
                    if is_key(text, key) {
                        hit = Some((i, c as isize));
                    }
                }
            }
            Step::Item(n) => {
                let mut dash_col = None;
                let mut count = 0;
                // A list in a list starts on its parent item's line: `- - a`.
                if found_any && col >= 0 {
                    let inner = col as usize + 2;
                    let line = lines[at];
                    let nested = line.get(col as usize..).is_some_and(|r| r.starts_with("- "))
                        && line.get(inner..).is_some_and(|r| r.starts_with("- "));
                    if nested && n == 0 {
                        hit = Some((at, inner as isize));
                    } else if nested {
                        (dash_col, count) = (Some(inner), 1);
                    }
                }
                for (i, line) in lines.iter().enumerate().take(end).skip(from) {
                    if hit.is_some() {
                        break;
                    }
                    let Some(ind) = indent(line) else { continue };
                    if (ind as isize) < col || (ind as isize == col && !line.trim_start().starts_with('-')) {
                        break;
                    }
                    if !line.trim_start().starts_with("- ") && line.trim() != "-" {
                        continue;
                    }
                    let d = *dash_col.get_or_insert(ind);
                    if ind == d {
                        if count == n {
                            hit = Some((i, ind as isize));
                            break;
                        }
                        count += 1;
                    }
                }
            }
        }
        match hit {
            Some((i, c)) => {
                (at, col) = (i, c);
                found_any = true;
            }
            None => break,
        }
    }
    if found_any { at + 1 } else { start }
}

#[cfg(test)]
mod tests {
    use super::line_of;

    const DOC: &str = "\
# a comment
apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata:
  name: x
spec:
  entrypoint: main
  templates:
  - name: main
    steps:
    - - name: a
        template: echo
  - name: echo
    inputs: {parameters: [{name: m}]}
    container:
      image: alpine
      args:
        - one
        - two
---
kind: Workflow
spec:
  entrypoint: other
";

    #[test]
    fn fields_are_found_key_by_key_and_item_by_item() {
        assert_eq!(line_of(DOC, 2, "spec.entrypoint"), 7);
        assert_eq!(line_of(DOC, 2, "metadata.name"), 5);
        assert_eq!(line_of(DOC, 2, "spec.templates[0]"), 9);
        assert_eq!(line_of(DOC, 2, "spec.templates[0].name"), 9);
        assert_eq!(line_of(DOC, 2, "spec.templates[1].container.image"), 16);
        assert_eq!(line_of(DOC, 2, "spec.templates[1].container.args[1]"), 19);
        assert_eq!(line_of(DOC, 2, "spec.templates[0].steps[0][0].template"), 12);
    }

    #[test]
    fn what_is_not_written_in_blocks_falls_back_to_the_deepest_line_found() {
        assert_eq!(line_of(DOC, 2, "spec.templates[1].inputs.parameters[0].name"), 14);
        assert_eq!(line_of(DOC, 2, "spec.templates[7].name"), 8);
        assert_eq!(line_of(DOC, 2, "nothing.here"), 2);
        assert_eq!(line_of(DOC, 2, ""), 2);
        assert_eq!(line_of("{\"spec\": {}}", 1, "spec.entrypoint"), 1);
    }

    #[test]
    fn a_document_ends_at_the_next_separator() {
        assert_eq!(line_of(DOC, 21, "spec.entrypoint"), 23);
        // The first document's key is not taken for the second's.
        assert_eq!(line_of(DOC, 2, "spec.templates[1].container.args[2]"), 17);
    }

    #[test]
    fn garbage_paths_and_text_do_not_panic() {
        for path in ["[", "]", "a[", "a[x]", "[99999999999999999999]", "..", "a.[0]"] {
            let _ = line_of(DOC, 2, path);
            let _ = line_of("", 1, path);
            let _ = line_of("- - - -\n-\n", 1, path);
        }
        assert_eq!(line_of(DOC, 999, "spec"), 999);
    }
}
