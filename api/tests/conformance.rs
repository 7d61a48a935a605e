//! Every Workflow in upstream Argo's examples folder either parses into our
//! types or fails with an error that names the field we cannot honour.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use argo_api::load;

/// Upstream's examples live beside the clone in `shared/`, not in it.
fn examples_dir() -> PathBuf {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    let candidates = [
        std::env::var_os("ARGO_EXAMPLES_DIR").map(PathBuf::from),
        Some(manifest.join("../../shared/conformance/argo-examples")),
        Some(PathBuf::from("/work/shared/conformance/argo-examples")),
    ];
    candidates
        .into_iter()
        .flatten()
        .find(|p| p.is_dir())
        .expect("upstream examples not found: set ARGO_EXAMPLES_DIR to shared/conformance/argo-examples")
}

fn yaml_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .expect("examples dir is readable")
        .map(|e| e.expect("dir entry").path())
        .collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            yaml_files(&p, out);
        } else if matches!(p.extension().and_then(|e| e.to_str()), Some("yaml" | "yml" | "json")) {
            out.push(p);
        }
    }
}

#[test]
fn upstream_examples_parse_or_name_the_unsupported_field() {
    let dir = examples_dir();
    let mut files = Vec::new();
    yaml_files(&dir, &mut files);
    let (mut parsed, mut refused) = (0, 0);
    let mut reasons: BTreeMap<String, usize> = BTreeMap::new();
    for file in &files {
        let text = std::fs::read_to_string(file).expect("example is readable");
        let docs = load::documents(&text).unwrap_or_else(|e| panic!("{}: not YAML: {e}", file.display()));
        for doc in docs.iter().filter(|d| d.kind() == Some("Workflow")) {
            match load::workflow(&doc.value) {
                Ok(_) => parsed += 1,
                Err(e) => {
                    refused += 1;
                    println!("refused {}:{}: {e}", file.strip_prefix(&dir).unwrap_or(file).display(), doc.line);
                    assert!(!e.problems().is_empty(), "{}: {e}", file.display());
                    for p in e.problems() {
                        assert!(
                            p.path.starts_with("spec") && p.message.contains("field `"),
                            "{}:{}: error does not name a field: {p}",
                            file.display(),
                            doc.line
                        );
                        let field = p.path.rsplit(['.', ']']).next().unwrap_or_default();
                        *reasons.entry(field.to_owned()).or_default() += 1;
                    }
                }
            }
        }
    }
    println!("upstream example Workflows: {parsed} parsed, {refused} refused with a named field");
    for (field, n) in &reasons {
        println!("  refused for `{field}`: {n}");
    }
    // Most upstream examples use only what the types cover; a drop here
    // means a supported field stopped parsing.
    assert!(parsed >= 90, "only {parsed} examples parsed");
    assert!(parsed + refused >= 190, "found only {} Workflows", parsed + refused);
}
