//! Linting workflow and project files offline, as admission would check
//! them: what `kubectl argo lint` reports and `submit` checks first.

use std::path::{Path, PathBuf};

use argo_api::templates::{Documents, Found, Source};
use argo_api::{Problem, WorkflowProject, load, policy, templates, validate};
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
pub fn lint_workflow(
    value: &Value,
    project: Option<&WorkflowProject>,
    namespace: &str,
    templates: &dyn Source,
) -> Vec<Problem> {
    let ns = value.pointer("/metadata/namespace").and_then(Value::as_str).unwrap_or(namespace);
    let Some(project) = project else {
        return match load::workflow(value) {
            Ok(mut wf) => {
                wf.metadata.namespace.get_or_insert_with(|| ns.to_owned());
                match templates::resolve(&wf, templates) {
                    Ok(r) => validate::workflow(&r),
                    Err(p) => p,
                }
            }
            Err(e) => problems_of(e),
        };
    };
    let projects = policy::Projects::new(vec![project.clone()]);
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
        templates,
    });
    decision.problems
}

/// A template kind (or CronWorkflow) as admission would check it: with a
/// project, its rules; without, a project that allows everything.
fn lint_other(
    value: &Value,
    kind: &str,
    project: Option<&WorkflowProject>,
    namespace: &str,
    templates: &dyn Source,
) -> Vec<Problem> {
    let ns = value.pointer("/metadata/namespace").and_then(Value::as_str).unwrap_or(namespace);
    let open = WorkflowProject {
        metadata: kube::api::ObjectMeta {
            name: Some("lint".into()),
            ..Default::default()
        },
        spec: argo_api::WorkflowProjectSpec {
            namespaces: vec!["*".into()],
            cluster_workflow_templates: vec!["*".into()],
            ..Default::default()
        },
    };
    let projects = policy::Projects::new(vec![project.cloned().unwrap_or(open)]);
    let subject = match kind {
        "CronWorkflow" => policy::Subject::Cron {
            object: value,
            operation: policy::Operation::Create,
        },
        _ => policy::Subject::Template {
            object: value,
            cluster: kind == "ClusterWorkflowTemplate",
        },
    };
    policy::decide(&policy::Request {
        subject,
        namespace: ns,
        user: None,
        projects: &projects,
        templates,
    })
    .problems
}

/// Templates from the files being linted; one that is not there is named
/// as such (lint reads no cluster).
pub struct FileTemplates(pub Documents);

impl Source for FileTemplates {
    fn spec(&self, cluster: bool, namespace: &str, name: &str) -> Found {
        match self.0.spec(cluster, namespace, name) {
            Found::Missing => {
                let kind = if cluster {
                    "ClusterWorkflowTemplate"
                } else {
                    "WorkflowTemplate"
                };
                Found::Refused(format!("{kind} {name:?} is not in the files linted (lint the template's file with it)"))
            }
            found => found,
        }
    }
}

/// The template documents of some texts, for `FileTemplates`.
pub fn template_documents(texts: &[&str]) -> Documents {
    let docs = texts.iter().filter_map(|t| load::documents(t).ok()).flatten();
    let kinds = ["WorkflowTemplate", "ClusterWorkflowTemplate"];
    Documents(docs.filter(|d| d.kind().is_some_and(|k| kinds.contains(&k))).map(|d| d.value).collect())
}

/// Every problem in one file's text.
pub fn lint_text(
    file: &str,
    text: &str,
    project: Option<&WorkflowProject>,
    namespace: &str,
    templates: &dyn Source,
) -> Vec<Finding> {
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
            Some("Workflow") => lint_workflow(&doc.value, project, namespace, templates),
            Some(k @ ("WorkflowTemplate" | "ClusterWorkflowTemplate" | "CronWorkflow")) => {
                lint_other(&doc.value, k, project, namespace, templates)
            }
            Some("WorkflowProject") => match load::workflow_project(&doc.value) {
                Ok(p) => policy::validate_project(&p),
                Err(e) => problems_of(e),
            },
            Some(kind) if argo => vec![Problem::new(
                "kind",
                format!(
                    "{kind} is not supported yet (only Workflow, WorkflowTemplate, ClusterWorkflowTemplate, CronWorkflow and WorkflowProject)"
                ),
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

/// How a file is named in messages (`-` is stdin).
pub fn display_name(path: &Path) -> String {
    if path == Path::new("-") {
        "<stdin>".to_owned()
    } else {
        path.display().to_string()
    }
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
