//! Linting workflow and project files offline, as admission would check
//! them: what `kubectl argo lint` reports and `submit` checks first.

use std::path::{Path, PathBuf};

use argo_api::{Problem, WorkflowProject, load, policy, validate};
use serde_json::Value;

use crate::error::{Error, Result};

/// One problem, where it is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Finding {
    pub file: String,
    pub line: usize,
    /// `workflow "x"` or `WorkflowProject "p"`, when known.
    pub object: Option<String>,
    pub problem: Problem,
}

impl std::fmt::Display for Finding {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}: ", self.file, self.line)?;
        if let Some(o) = &self.object {
            write!(f, "{o}: ")?;
        }
        write!(f, "{}", self.problem)
    }
}

fn problems_of(e: argo_api::Error) -> Vec<Problem> {
    match e {
        argo_api::Error::Invalid(p) => p,
        other => vec![Problem::new("", other.to_string())],
    }
}

/// Lints one Workflow document as admission would: with a project, the
/// webhook's own decision (its defaults first, then structure and the
/// project's rules); without, structure and supported features.
pub fn lint_workflow(value: &Value, project: Option<&WorkflowProject>, namespace: &str) -> Vec<Problem> {
    let Some(project) = project else {
        return match load::workflow(value) {
            Ok(wf) => validate::workflow(&wf),
            Err(e) => problems_of(e),
        };
    };
    let projects = policy::Projects::new(vec![project.clone()]);
    let ns = value.pointer("/metadata/namespace").and_then(Value::as_str).unwrap_or(namespace);
    let decision = policy::decide(&policy::Request {
        subject: policy::Subject::Workflow {
            operation: policy::Operation::Create,
            object: value,
            old: None,
            defaulted: false,
        },
        namespace: ns,
        user: None,
        projects: &projects,
    });
    decision.problems
}

/// Every problem in one file's text.
pub fn lint_text(file: &str, text: &str, project: Option<&WorkflowProject>, namespace: &str) -> Vec<Finding> {
    let finding = |line, object: Option<String>, problem| Finding {
        file: file.to_owned(),
        line,
        object,
        problem,
    };
    let docs = match load::documents(text) {
        Ok(d) => d,
        Err(e) => {
            return problems_of(e)
                .into_iter()
                .map(|p| {
                    let line = p.path.strip_prefix("line ").and_then(|l| l.parse().ok()).unwrap_or(1);
                    finding(line, None, Problem::new("", p.message))
                })
                .collect();
        }
    };
    let mut out = Vec::new();
    for doc in docs {
        let name = doc
            .value
            .pointer("/metadata/name")
            .or_else(|| doc.value.pointer("/metadata/generateName"))
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_owned();
        let argo = doc.value.get("apiVersion").and_then(Value::as_str).is_some_and(|v| v.starts_with("argoproj.io/"));
        let problems = match doc.kind() {
            Some("Workflow") => lint_workflow(&doc.value, project, namespace),
            Some("WorkflowProject") => match load::workflow_project(&doc.value) {
                Ok(p) => policy::validate_project(&p),
                Err(e) => problems_of(e),
            },
            Some(kind) if argo => vec![Problem::new(
                "kind",
                format!("{kind} is not supported yet (only Workflow and WorkflowProject)"),
            )],
            None => vec![Problem::new("kind", "required field is missing")],
            Some(_) => continue,
        };
        let object = format!("{} {name:?}", doc.kind().unwrap_or("object"));
        out.extend(problems.into_iter().map(|p| {
            let line = crate::locate::line_of(text, doc.line, &p.path);
            finding(line, Some(object.clone()), p)
        }));
    }
    out
}

/// The files a path names: itself, or the YAML/JSON files under it.
pub fn files(path: &Path, out: &mut Vec<PathBuf>) -> Result<()> {
    if path.is_dir() {
        let mut entries: Vec<PathBuf> = std::fs::read_dir(path)
            .map_err(|e| Error::Other(format!("{}: {e}", path.display())))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .collect();
        entries.sort();
        for p in entries {
            let wanted = p.extension().and_then(|e| e.to_str()).is_some_and(|e| matches!(e, "yaml" | "yml" | "json"));
            if p.is_dir() || wanted {
                files(&p, out)?;
            }
        }
    } else {
        out.push(path.to_owned());
    }
    Ok(())
}

pub fn read(path: &Path) -> Result<String> {
    if path == Path::new("-") {
        return std::io::read_to_string(std::io::stdin()).map_err(|e| Error::Other(format!("stdin: {e}")));
    }
    std::fs::read_to_string(path).map_err(|e| Error::Other(format!("{}: {e}", path.display())))
}

pub fn load_project(path: &Path) -> Result<WorkflowProject> {
    let text = read(path)?;
    let file = path.display().to_string();
    let docs = load::documents(&text).map_err(|e| Error::Other(format!("{file}: {e}")))?;
    let doc = docs
        .into_iter()
        .find(|d| d.kind() == Some("WorkflowProject"))
        .ok_or_else(|| Error::Other(format!("{file}: no WorkflowProject in it")))?;
    let project = load::workflow_project(&doc.value).map_err(|e| Error::Other(format!("{file}:{}: {e}", doc.line)))?;
    let problems = policy::validate_project(&project);
    if !problems.is_empty() {
        let text: Vec<String> = problems.iter().map(|p| format!("{file}:{}: {p}", doc.line)).collect();
        return Err(Error::Other(format!("invalid WorkflowProject:\n{}", text.join("\n"))));
    }
    Ok(project)
}
