//! The real program, run as the main container runs it.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use argo_exec::{PARAMETERS_ENV, Record};

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("argo-exec-test-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("scratch dir");
    dir
}

fn exec(dir: &Path, params: &str, script: &str) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_argo-exec"));
    cmd.args(["run", "--", "sh", "-c", script])
        .env("ARGO_EXEC_TERMINATION_LOG", dir.join("termination-log"))
        .env(PARAMETERS_ENV, params)
        .current_dir(dir);
    cmd
}

fn record(dir: &Path) -> (String, Record) {
    let text = std::fs::read_to_string(dir.join("termination-log")).expect("termination message written");
    let r = serde_json::from_str(&text).expect("the message is JSON");
    (text, r)
}

#[test]
fn stdout_passes_through_and_the_outputs_are_recorded() {
    let dir = scratch("outputs");
    let out: Output = exec(
        &dir,
        r#"{"p": "p.txt", "missing": "nope.txt", "dir": "."}"#,
        "echo hello; echo world; printf 'v\n' > p.txt; exit 3",
    )
    .output()
    .expect("runs");
    assert_eq!(out.status.code(), Some(3), "the command's exit code is ours");
    assert_eq!(String::from_utf8_lossy(&out.stdout), "hello\nworld\n", "stdout reaches the log unchanged");
    let (_, r) = record(&dir);
    assert_eq!(r.result.as_deref(), Some("hello\nworld"));
    assert_eq!(r.parameters.get("p").map(String::as_str), Some("v"));
    assert!(r.unreadable["missing"].contains("nope.txt: no such file"), "{r:?}");
    assert!(r.unreadable["dir"].contains("is a directory"), "{r:?}");
}

#[test]
fn large_outputs_are_measured_not_kept() {
    let dir = scratch("large");
    let out = exec(
        &dir,
        r#"{"big": "big.txt"}"#,
        "head -c 100000 /dev/zero | tr '\\0' x; head -c 9000 /dev/zero > big.txt",
    )
    .stdout(Stdio::null())
    .status()
    .expect("runs");
    assert!(out.success());
    let (text, r) = record(&dir);
    assert!(text.len() <= argo_exec::TERMINATION_MESSAGE_BYTES);
    assert_eq!(r.result, None);
    assert_eq!(r.too_large.get(""), Some(&100_000));
    assert_eq!(r.too_large.get("big"), Some(&9000));
}

#[test]
fn a_command_that_cannot_run_exits_127_and_still_reports() {
    let dir = scratch("missing");
    let status = Command::new(env!("CARGO_BIN_EXE_argo-exec"))
        .args(["run", "--", "/no/such/program"])
        .env("ARGO_EXEC_TERMINATION_LOG", dir.join("termination-log"))
        .status()
        .expect("runs");
    assert_eq!(status.code(), Some(127));
    assert_eq!(record(&dir).1, Record::default());
}

#[test]
fn sigterm_reaches_the_command() {
    let dir = scratch("signal");
    let child = exec(&dir, "{}", "trap 'echo stopping; exit 7' TERM; echo started; sleep 30 & wait")
        .stdout(Stdio::piped())
        .spawn()
        .expect("runs");
    std::thread::sleep(Duration::from_millis(500));
    let started = Instant::now();
    Command::new("kill").args(["-TERM", &child.id().to_string()]).status().expect("kill");
    let out = child.wait_with_output().expect("ends");
    assert!(started.elapsed() < Duration::from_secs(10), "the command saw SIGTERM");
    assert_eq!(out.status.code(), Some(7));
    assert_eq!(record(&dir).1.result.as_deref(), Some("started\nstopping"));
}

#[test]
fn install_copies_an_executable() {
    let dir = scratch("install");
    let dest = dir.join("argo-exec");
    let status = Command::new(env!("CARGO_BIN_EXE_argo-exec")).arg("install").arg(&dest).status().expect("runs");
    assert!(status.success());
    let out = Command::new(&dest)
        .args(["run", "--", "true"])
        .env("ARGO_EXEC_TERMINATION_LOG", dir.join("t"))
        .status();
    assert!(out.expect("the copy runs").success());
}
