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

/// WorkflowTemplates, ClusterWorkflowTemplates and CronWorkflows parse (or
/// name the field they cannot honour), and every Workflow that references a
/// template resolves against the examples' own templates.
#[test]
fn upstream_template_kinds_parse_and_references_resolve() {
    let dir = examples_dir();
    let mut files = Vec::new();
    yaml_files(&dir, &mut files);
    let mut docs = Vec::new();
    for file in &files {
        let text = std::fs::read_to_string(file).expect("example is readable");
        let rel = file.strip_prefix(&dir).unwrap_or(file).display().to_string();
        docs.extend(load::documents(&text).expect("YAML").into_iter().map(|d| (rel.clone(), d)));
    }
    let kinds = ["WorkflowTemplate", "ClusterWorkflowTemplate"];
    let source = argo_api::templates::Documents(
        docs.iter()
            .filter(|(_, d)| d.kind().is_some_and(|k| kinds.contains(&k)))
            .map(|(_, d)| d.value.clone())
            .collect(),
    );
    let mut counts: BTreeMap<&str, (usize, usize)> = BTreeMap::new();
    for (rel, doc) in &docs {
        let kind = doc.kind().unwrap_or_default();
        let result = match kind {
            "WorkflowTemplate" => load::workflow_template(&doc.value).map(drop),
            "ClusterWorkflowTemplate" => load::cluster_workflow_template(&doc.value).map(drop),
            "CronWorkflow" => load::cron_workflow(&doc.value).map(|c| {
                let problems = argo_api::cron::check(&c.spec);
                assert!(problems.iter().all(|p| p.path.starts_with("spec.")), "{rel}: {problems:?}");
            }),
            "Workflow" => match load::workflow(&doc.value) {
                Ok(mut wf) if argo_api::templates::references(&wf.spec) => {
                    wf.metadata.namespace = Some("default".into());
                    let r = argo_api::templates::resolve(&wf, &source);
                    if let Err(p) = &r {
                        // Only a template refused for a named feature may be missing.
                        println!("unresolved {rel}: {p:?}");
                    }
                    let entry = counts.entry("Workflow referencing templates").or_default();
                    if r.is_ok() {
                        entry.0 += 1
                    } else {
                        entry.1 += 1
                    }
                    continue;
                }
                _ => continue,
            },
            _ => continue,
        };
        let entry = counts.entry(kind).or_default();
        match result {
            Ok(()) => entry.0 += 1,
            Err(e) => {
                entry.1 += 1;
                println!("refused {rel}:{}: {e}", doc.line);
                assert!(e.problems().iter().all(|p| p.message.contains("field `")), "{rel}: {e}");
            }
        }
    }
    for (kind, (ok, no)) in &counts {
        println!("upstream example {kind}: {ok} accepted, {no} refused naming the field");
    }
    assert!(counts["WorkflowTemplate"].0 >= 8, "{counts:?}");
    assert!(counts["ClusterWorkflowTemplate"].0 >= 5, "{counts:?}");
    assert!(counts["CronWorkflow"].0 >= 4, "{counts:?}");
    assert!(counts["Workflow referencing templates"].0 >= 9, "{counts:?}");
}
