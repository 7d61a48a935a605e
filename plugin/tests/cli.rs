#![allow(clippy::unwrap_used)]
//! The binary's arguments, offline commands and errors, run as a user
//! would run it (no cluster needed).

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};

fn bin() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_kubectl-argo"));
    // No stray kubeconfig or colour from the environment.
    c.env_remove("KUBECONFIG").env("HOME", std::env::temp_dir()).env("NO_COLOR", "1");
    c
}

fn run(args: &[&str]) -> Output {
    bin().args(args).output().unwrap()
}

fn fixture(p: &str) -> String {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures").join(p).display().to_string()
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn fails_with(args: &[&str], needle: &str) {
    let out = run(args);
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{args:?} should exit 1; stderr: {err}");
    assert!(err.contains(needle), "{args:?}: expected {needle:?} in stderr:\n{err}");
}

/// A kubeconfig whose only cluster listens nowhere.
fn dead_kubeconfig() -> tempfile::NamedTempFile {
    let mut f = tempfile::NamedTempFile::new().unwrap();
    write!(
        f,
        "apiVersion: v1\nkind: Config\ncurrent-context: dead\nclusters:\n- name: dead\n  cluster: {{server: \"https://127.0.0.1:1\"}}\ncontexts:\n- name: dead\n  context: {{cluster: dead, user: u, namespace: team}}\nusers:\n- name: u\n  user: {{token: x}}\n"
    )
    .unwrap();
    f
}

#[test]
fn argument_errors_exit_1_and_say_what_is_wrong() {
    fails_with(&["get"], "required");
    fails_with(
        &[
            "get",
            "wf",
            "--status",
            "Failed",
            "--node-field-selector",
            "phase=Failed",
        ],
        "cannot use both",
    );
    fails_with(&["get", "wf", "--node-field-selector", "phase"], "invalid selector \"phase\"");
    fails_with(&["list", "--status", "Bogus"], "unknown status \"Bogus\"");
    fails_with(&["list", "--running", "--completed"], "cannot be used with");
    fails_with(&["submit"], "requires at least one file");
    fails_with(&["submit", "--from", "workflowtemplate/x", "f.yaml"], "--from takes no files");
    fails_with(&["submit", "--from", "pipeline/x"], "unknown kind \"pipeline\"");
    fails_with(&["submit", "--from", "workflowtemplate"], "expected KIND/NAME");
    fails_with(&["cron", "create"], "required");
    fails_with(&["template", "suspend", "x"], "suspend and resume are for CronWorkflows");
    fails_with(&["retry", "wf", "--node-field-selector", "phase=Succeeded"], "needs --restart-successful");
    fails_with(&["retry", "wf", "-p", "novalue"], "expected NAME=VALUE");
    fails_with(&["delete"], "requires workflow names or one of");
    fails_with(&["delete", "wf", "--all"], "not both");
    fails_with(&["resubmit", "wf", "--memoized"], "not supported yet");
    fails_with(&["list", "--request-timeout", "soon"], "invalid duration");
    fails_with(&["logs", "wf", "--grep", "("], "--grep");
    fails_with(&["nonsense"], "unrecognized subcommand");
}

#[test]
fn every_command_has_help_with_an_example() {
    let cmds = [
        "submit",
        "list",
        "get",
        "watch",
        "logs",
        "delete",
        "retry",
        "resubmit",
        "suspend",
        "resume",
        "stop",
        "terminate",
        "wait",
        "lint",
        "version",
        "completion",
        "install",
        "uninstall",
    ];
    for cmd in cmds {
        let out = run(&[cmd, "--help"]);
        assert_eq!(out.status.code(), Some(0), "{cmd} --help");
        let help = text(&out.stdout);
        assert!(help.contains("Examples:"), "{cmd} --help has no example:\n{help}");
        assert!(help.contains("Usage: kubectl argo"), "{cmd} --help names the plugin as kubectl runs it:\n{help}");
        assert!(help.contains("--namespace") && help.contains("--context"), "{cmd} takes kubectl's flags");
    }
}

#[test]
fn version_and_completion_work_offline() {
    let out = run(&["version", "--short"]);
    assert_eq!(text(&out.stdout).trim(), format!("kubectl-argo: v{}", env!("CARGO_PKG_VERSION")));
    let out = run(&["completion", "bash"]);
    assert!(out.status.success());
    assert!(text(&out.stdout).contains("kubectl-argo"));
    for shell in ["zsh", "fish"] {
        assert!(run(&["completion", shell]).status.success(), "{shell}");
    }
}

#[test]
fn lint_accepts_good_files_and_locates_problems() {
    let out = run(&["lint", &fixture("lint/good.yaml")]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stdout));
    assert!(text(&out.stdout).contains("✔ no linting errors found!"));

    let bad = fixture("lint/nested/bad.yaml");
    let out = run(&["lint", &bad]);
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    // The Workflow is the second document (line 7); each problem is at its field's line.
    assert!(stdout.contains(&format!("{bad}:12: Workflow \"broken\": spec.entrypoint")), "{stdout}");
    assert!(
        stdout.contains(&format!("{bad}:17: Workflow \"broken\": spec.templates[0].container.command[1]")),
        "{stdout}"
    );
    assert!(!stdout.contains("ConfigMap"), "non-Argo documents are skipped:\n{stdout}");
    assert!(stdout.contains("linting errors found!"), "{stdout}");
}

#[test]
fn lint_walks_directories_and_reads_stdin() {
    let out = run(&["lint", &fixture("lint")]);
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(1));
    assert!(stdout.contains("bad.yaml:12:"), "the nested file is linted:\n{stdout}");

    let mut child = bin().args(["lint", "-"]).stdin(Stdio::piped()).stdout(Stdio::piped()).spawn().unwrap();
    let good = std::fs::read(fixture("lint/good.yaml")).unwrap();
    child.stdin.take().unwrap().write_all(&good).unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stdout));
}

#[test]
fn lint_checks_a_project_as_the_webhook_would() {
    let out = run(&[
        "lint",
        &fixture("lint/good.yaml"),
        "--project",
        &fixture("lint/project.yaml"),
    ]);
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(stdout.contains("alpine:3.19"), "the refused image is named:\n{stdout}");
    fails_with(&["lint", "missing-file.yaml"], "missing-file.yaml");
}

#[test]
fn submit_checks_everything_before_creating_anything() {
    let kc = dead_kubeconfig();
    let kc = kc.path().to_str().unwrap();
    let out = run(&[
        "--kubeconfig",
        kc,
        "submit",
        &fixture("lint/good.yaml"),
        &fixture("lint/nested/bad.yaml"),
    ]);
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("bad.yaml:2:") && err.contains("\"ConfigMap\" is not a Workflow"), "{err}");
    assert!(err.contains("nothing was submitted"), "{err}");
    assert!(!err.contains("connection"), "no request was made:\n{err}");
}

#[test]
fn submit_dry_run_prints_the_workflow_with_options_applied() {
    let kc = dead_kubeconfig();
    let out = run(&[
        "--kubeconfig",
        kc.path().to_str().unwrap(),
        "submit",
        &fixture("lint/good.yaml"),
        "--dry-run",
        "-o",
        "json",
        "-p",
        "message=bye",
        "--entrypoint",
        "main",
        "-l",
        "team=data",
        "--name",
        "fixed",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["metadata"]["name"], "fixed");
    assert_eq!(v["metadata"]["namespace"], "team", "the context's namespace");
    assert!(v["metadata"].get("generateName").is_none());
    assert_eq!(v["metadata"]["labels"]["team"], "data");
    assert_eq!(v["spec"]["arguments"]["parameters"][0]["value"], "bye");
}

#[test]
fn cluster_errors_read_like_kubectl() {
    let kc = dead_kubeconfig();
    let kc = kc.path().to_str().unwrap();
    fails_with(
        &["--kubeconfig", kc, "get", "wf"],
        "The connection to the server 127.0.0.1:1 was refused - did you specify the right host or port?",
    );
    fails_with(&["--kubeconfig", kc, "--context", "nope", "list"], "context \"nope\" does not exist");
    fails_with(&["--kubeconfig", "/nonexistent/kubeconfig", "list"], "/nonexistent/kubeconfig");
}
