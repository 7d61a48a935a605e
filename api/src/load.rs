//! Reading resources from YAML or JSON text and from API objects, strictly:
//! every field that would be lost is an error naming its path.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::error::{Error, Problem, Result};
use crate::kinds::{ClusterWorkflowTemplate, CronWorkflow, CronWorkflowStatus, WorkflowTemplate};
use crate::{API_VERSION, Workflow, WorkflowProject, WorkflowStatus, strict};

/// One document of a multi-document YAML stream.
#[derive(Clone, Debug, PartialEq)]
pub struct Document {
    /// 1-based line where the document starts, for `file:line` messages.
    pub line: usize,
    pub value: Value,
}

impl Document {
    pub fn kind(&self) -> Option<&str> {
        self.value.get("kind").and_then(Value::as_str)
    }
}

/// Splits YAML (or JSON, which is YAML) into its non-empty documents.
/// Splitting on `---` lines here, rather than in the YAML parser, keeps the
/// line where each document starts.
pub fn documents(text: &str) -> Result<Vec<Document>> {
    let mut out = Vec::new();
    let mut chunk = String::new();
    let mut chunk_line = 1;
    let mut flush = |chunk: &mut String, line: usize| -> Result<()> {
        let value: Value = serde_yaml::from_str(chunk).map_err(|e| located(e, line))?;
        if !value.is_null() {
            let first =
                chunk.lines().position(|l| !l.trim().is_empty() && !l.trim_start().starts_with('#')).unwrap_or(0);
            out.push(Document {
                line: line + first,
                value,
            });
        }
        chunk.clear();
        Ok(())
    };
    for (i, line) in text.lines().enumerate() {
        if line == "---" || line.starts_with("--- ") || line.starts_with("---\t") {
            flush(&mut chunk, chunk_line)?;
            chunk_line = i + 1;
            chunk.push_str(&line[3..]);
        } else {
            chunk.push_str(line);
        }
        chunk.push('\n');
    }
    flush(&mut chunk, chunk_line)?;
    Ok(out)
}

/// A YAML error whose line counts from the start of the whole text.
fn located(e: serde_yaml::Error, first_line: usize) -> Error {
    match e.location() {
        Some(loc) => {
            // serde_yaml counts lines from the document; say it once, right.
            let reason = without_locations(&e.to_string());
            Error::Invalid(vec![Problem::new(
                format!("line {}", first_line + loc.line() - 1),
                format!("invalid YAML (column {}): {reason}", loc.column()),
            )])
        }
        None => Error::Yaml(e),
    }
}

/// Removes serde_yaml's " at line N column M", which counts from the
/// document rather than the file.
fn without_locations(text: &str) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(i) = rest.find(" at line ") {
        out.push_str(&rest[..i]);
        let tail = &rest[i + " at line ".len()..];
        let tail = tail.trim_start_matches(|c: char| c.is_ascii_digit());
        let tail = tail.strip_prefix(" column ").unwrap_or(tail);
        rest = tail.trim_start_matches(|c: char| c.is_ascii_digit());
    }
    out.push_str(rest);
    out
}

/// A Workflow from an API object, refusing fields it would drop.
pub fn workflow(value: &Value) -> Result<Workflow> {
    workflow_with_warnings(value).map(|(wf, _)| wf)
}

/// A Workflow, and the harmless upstream fields it drops as warnings.
pub fn workflow_with_warnings(value: &Value) -> Result<(Workflow, Vec<Problem>)> {
    let mut warnings = Vec::new();
    let wf = resource(value, "Workflow", |problems, obj| {
        let spec = match obj.get("spec") {
            Some(spec) => collect(strict::from_value_with_warnings(spec, "spec"), problems).map(|(s, w)| {
                warnings = w;
                s
            }),
            None => {
                problems.push(Problem::new("spec", "required field is missing"));
                None
            }
        };
        let status = match obj.get("status") {
            None | Some(Value::Null) => Some(None),
            Some(s) => collect(lenient::<WorkflowStatus>(s, "status"), problems).and_then(|mut status| {
                // Readers see the nodes, however they were stored.
                match crate::workflow::compress::unpack(&mut status) {
                    Ok(()) => Some(Some(status)),
                    Err(e) => {
                        problems.push(Problem::new("status.compressedNodes", e));
                        None
                    }
                }
            }),
        };
        Some((spec?, status?))
    })
    .map(|(metadata, (spec, status))| Workflow { metadata, spec, status })?;
    Ok((wf, warnings))
}

/// A WorkflowProject from an API object, refusing fields it would drop.
pub fn workflow_project(value: &Value) -> Result<WorkflowProject> {
    resource(value, "WorkflowProject", |problems, obj| match obj.get("spec") {
        Some(spec) => collect(strict::from_value(spec, "spec"), problems),
        None => Some(Default::default()),
    })
    .map(|(metadata, spec)| WorkflowProject { metadata, spec })
}

/// A WorkflowTemplate from an API object, refusing fields it would drop.
pub fn workflow_template(value: &Value) -> Result<WorkflowTemplate> {
    resource(value, "WorkflowTemplate", |problems, obj| spec_of(obj, problems))
        .map(|(metadata, spec)| WorkflowTemplate { metadata, spec })
}

pub fn cluster_workflow_template(value: &Value) -> Result<ClusterWorkflowTemplate> {
    resource(value, "ClusterWorkflowTemplate", |problems, obj| spec_of(obj, problems))
        .map(|(metadata, spec)| ClusterWorkflowTemplate { metadata, spec })
}

/// A CronWorkflow; its status is read leniently, as a Workflow's.
pub fn cron_workflow(value: &Value) -> Result<CronWorkflow> {
    resource(value, "CronWorkflow", |problems, obj| {
        let spec = spec_of(obj, problems);
        let status = match obj.get("status") {
            None | Some(Value::Null) => Some(None),
            Some(s) => collect(lenient::<CronWorkflowStatus>(s, "status"), problems).map(Some),
        };
        Some((spec?, status?))
    })
    .map(|(metadata, (spec, status))| CronWorkflow { metadata, spec, status })
}

fn spec_of<T: DeserializeOwned + Serialize>(
    obj: &serde_json::Map<String, Value>,
    problems: &mut Vec<Problem>,
) -> Option<T> {
    match obj.get("spec") {
        Some(spec) => collect(strict::from_value(spec, "spec"), problems),
        None => {
            problems.push(Problem::new("spec", "required field is missing"));
            None
        }
    }
}

/// Checks apiVersion, kind, metadata and the top-level keys, then lets
/// `body` parse the rest; gathers every problem before failing.
fn resource<T>(
    value: &Value,
    kind: &str,
    body: impl FnOnce(&mut Vec<Problem>, &serde_json::Map<String, Value>) -> Option<T>,
) -> Result<(ObjectMeta, T)> {
    let Some(obj) = value.as_object() else {
        return Err(Error::Invalid(vec![Problem::new(
            "",
            format!("expected a {kind} object, found {}", strict::kind_of(value)),
        )]));
    };
    if let Some(path) = strict::too_deep(value, crate::limits::MAX_JSON_DEPTH) {
        return Err(Error::Invalid(vec![Problem::new(
            path,
            format!(
                "nested more than {} levels deep (objects and lists within one another): flatten it, e.g. name templates instead of nesting them inline",
                crate::limits::MAX_JSON_DEPTH
            ),
        )]));
    }
    // Counted on the raw object: a typed template is kilobytes, so tens of
    // thousands are refused before they are built.
    let templates = strict::count_templates(value);
    if templates > crate::limits::MAX_TEMPLATES {
        return Err(Error::Invalid(vec![Problem::new(
            "spec.templates",
            format!(
                "{templates} templates (inline ones included): more than the {} a workflow may have; split it into workflows of its own",
                crate::limits::MAX_TEMPLATES
            ),
        )]));
    }
    let mut problems = Vec::new();
    match obj.get("apiVersion").and_then(Value::as_str) {
        Some(API_VERSION) => {}
        Some(other) => problems.push(Problem::new("apiVersion", format!("expected {API_VERSION:?}, found {other:?}"))),
        None => problems.push(Problem::new("apiVersion", "required field is missing")),
    }
    match obj.get("kind").and_then(Value::as_str) {
        Some(k) if k == kind => {}
        Some(other) => problems.push(Problem::new("kind", format!("expected {kind:?}, found {other:?}"))),
        None => problems.push(Problem::new("kind", "required field is missing")),
    }
    for key in obj.keys() {
        let status = key == "status" && !kind.ends_with("WorkflowTemplate");
        if !matches!(key.as_str(), "apiVersion" | "kind" | "metadata" | "spec") && !status {
            problems.push(Problem::new(key.clone(), format!("unknown field `{key}` at the top level of a {kind}")));
        }
    }
    let metadata = match obj.get("metadata") {
        Some(m) => collect(strict::from_value::<ObjectMeta>(m, "metadata"), &mut problems),
        None => Some(ObjectMeta::default()),
    };
    let rest = body(&mut problems, obj);
    match (metadata, rest) {
        (Some(m), Some(r)) if problems.is_empty() => Ok((m, r)),
        _ => Err(Error::Invalid(problems)),
    }
}

/// Status is written by the controller; parse it without the round-trip
/// check so a newer controller's extra fields do not make it unreadable.
fn lenient<T: DeserializeOwned + Serialize>(value: &Value, root: &str) -> Result<T> {
    serde_path_to_error::deserialize(value).map_err(|e| {
        let path = format!("{root}.{}", e.path());
        Error::Invalid(vec![Problem::new(path, e.into_inner().to_string())])
    })
}

fn collect<T>(r: Result<T>, problems: &mut Vec<Problem>) -> Option<T> {
    match r {
        Ok(v) => Some(v),
        Err(Error::Invalid(p)) => {
            problems.extend(p);
            None
        }
        Err(e) => {
            problems.push(Problem::new("", e.to_string()));
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DIAMOND: &str = r#"# leading comment
apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata:
  generateName: dag-diamond-
spec:
  entrypoint: diamond
  templates:
  - name: diamond
    dag:
      tasks:
      - {name: A, template: echo}
      - {name: B, depends: A, template: echo}
  - name: echo
    container: {image: alpine:3.7, command: [echo, hi]}
"#;

    #[test]
    fn documents_keep_their_starting_line() {
        let text = format!("{DIAMOND}---\n\n---\n# c\nkind: ConfigMap\napiVersion: v1\n");
        let docs = documents(&text).expect("valid YAML");
        assert_eq!(docs.len(), 2);
        assert_eq!(docs[0].line, 2);
        assert_eq!(docs[1].kind(), Some("ConfigMap"));
        assert_eq!(docs[1].line, 20);
    }

    #[test]
    fn yaml_errors_carry_the_line_in_the_whole_file() {
        let text = "kind: A\n---\nkind: B\nspec: [unclosed\n";
        let err = documents(text).expect_err("invalid YAML");
        let p = &err.problems()[0];
        assert_eq!(p.path, "line 5", "{p}");
        assert!(!p.message.contains("at line"), "{p}");
    }

    #[test]
    fn a_workflow_parses_strictly() {
        let doc = &documents(DIAMOND).expect("yaml")[0];
        let wf = workflow(&doc.value).expect("valid workflow");
        assert_eq!(wf.spec.entrypoint.as_deref(), Some("diamond"));
        let dag = wf.spec.templates[0].dag.as_ref().expect("dag");
        assert_eq!(dag.tasks[1].depends.as_deref(), Some("A"));
        assert!(wf.status.is_none());
    }

    #[test]
    fn wrong_kind_and_api_version_and_extra_keys_are_all_reported() {
        let v = serde_json::json!({"apiVersion": "v1", "kind": "Pod", "spec": {}, "extra": 1});
        let err = workflow(&v).expect_err("not a workflow");
        let paths: Vec<_> = err.problems().iter().map(|p| p.path.as_str()).collect();
        assert_eq!(paths, ["apiVersion", "kind", "extra"]);
    }

    #[test]
    fn a_missing_spec_is_reported() {
        let v = serde_json::json!({"apiVersion": API_VERSION, "kind": "Workflow", "metadata": {"name": "x"}});
        let err = workflow(&v).expect_err("no spec");
        assert_eq!(err.problems()[0].path, "spec");
    }

    #[test]
    fn metadata_typos_are_reported() {
        let v = serde_json::json!({"apiVersion": API_VERSION, "kind": "Workflow",
            "metadata": {"name": "x", "lables": {"a": "b"}}, "spec": {}});
        let err = workflow(&v).expect_err("typo");
        assert_eq!(err.problems()[0].path, "metadata.lables");
    }

    #[test]
    fn a_project_parses_strictly() {
        let v = serde_json::json!({"apiVersion": API_VERSION, "kind": "WorkflowProject",
            "metadata": {"name": "team-a"},
            "spec": {"namespaces": ["team-a-*", "!team-a-prod"], "images": ["alpine:*"],
                     "security": {"allowPrivileged": false}, "maxParallelism": 5}});
        let p = workflow_project(&v).expect("valid project");
        assert_eq!(p.spec.namespaces.len(), 2);
        let bad = serde_json::json!({"apiVersion": API_VERSION, "kind": "WorkflowProject",
            "metadata": {"name": "x"}, "spec": {"imagez": ["alpine"]}});
        assert!(workflow_project(&bad).is_err());
    }

    #[test]
    fn harmless_upstream_fields_are_warnings() {
        let v = serde_json::json!({"apiVersion": API_VERSION, "kind": "Workflow", "metadata": {"name": "x"},
            "spec": {"metrics": {"prometheus": []}, "templates": [{"name": "a", "metrics": {}, "container": {"image": "x"}}]}});
        let (wf, warnings) = workflow_with_warnings(&v).expect("parses");
        assert_eq!(wf.spec.templates.len(), 1);
        let paths: Vec<_> = warnings.iter().map(|w| w.path.as_str()).collect();
        assert_eq!(paths, ["spec.metrics"], "empty values are not warnings");
    }

    #[test]
    fn status_from_a_newer_controller_still_parses() {
        let v = serde_json::json!({"apiVersion": API_VERSION, "kind": "Workflow",
            "metadata": {"name": "x"}, "spec": {},
            "status": {"phase": "Running", "somethingNew": 1, "nodes": {"x": {
                "id": "x", "name": "x", "type": "DAG", "phase": "Running"}}}});
        let wf = workflow(&v).expect("parses");
        assert_eq!(wf.status.expect("status").nodes.len(), 1);
    }
}
