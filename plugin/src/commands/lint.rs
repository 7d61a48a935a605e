//! `kubectl argo lint`: the webhook's validation, offline. Every problem
//! is reported as `FILE:LINE: ...` (LINE: where its document starts) and
//! the exit code is 1 if there was any.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use super::Ctx;
use crate::error::{Error, Result};
use crate::lint::{FileTemplates, files, lint_text, load_project, read, template_documents};

pub const EXAMPLES: &str = "Examples:
  kubectl argo lint workflow.yaml
  # Every .yaml, .yml and .json file under a directory
  kubectl argo lint examples/
  # Also against a project's rules, as the webhook would check them
  kubectl argo lint workflow.yaml --project project.yaml
  cat workflow.yaml | kubectl argo lint -";

#[derive(Debug, clap::Args)]
pub struct LintArgs {
    /// Files, directories, or - for stdin
    #[arg(required = true, value_name = "FILE|DIR|-")]
    pub paths: Vec<PathBuf>,
    /// A WorkflowProject file whose rules the workflows must also follow
    #[arg(long, value_name = "FILE")]
    pub project: Option<PathBuf>,
    /// Output: pretty (a summary line) or simple (problems only)
    #[arg(short, long, value_parser = ["pretty", "simple"], default_value = "pretty")]
    pub output: String,
}

pub fn run(args: &LintArgs, ctx: &Ctx, out: &mut impl Write) -> Result<ExitCode> {
    let project = args.project.as_deref().map(load_project).transpose()?;
    let namespace = ctx.flags.namespace.clone().unwrap_or_else(|| "default".into());
    let mut paths = Vec::new();
    for p in &args.paths {
        if p != Path::new("-") && !p.exists() {
            return Err(Error::Other(format!("{}: no such file or directory", p.display())));
        }
        files(p, &mut paths)?;
    }
    let mut texts = Vec::new();
    for path in &paths {
        let name = crate::lint::display_name(path);
        texts.push((name, read(path)?));
    }
    // A workflow may reference a template from any of the files.
    let all: Vec<&str> = texts.iter().map(|(_, t)| t.as_str()).collect();
    let templates = FileTemplates(template_documents(&all));
    let mut findings = Vec::new();
    for (name, text) in &texts {
        findings.extend(lint_text(name, text, project.as_ref(), &namespace, &templates));
    }
    for f in &findings {
        writeln!(out, "{f}")?;
    }
    if args.output == "pretty" {
        match findings.len() {
            0 => writeln!(out, "✔ no linting errors found!")?,
            1 => writeln!(out, "✖ 1 linting error found!")?,
            n => writeln!(out, "✖ {n} linting errors found!")?,
        }
    }
    Ok(if findings.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}
