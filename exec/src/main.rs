//! `argo-exec install DEST`: the init container copies this program into
//! the pod's shared volume.
//! `argo-exec run -- COMMAND ARGS...`: the main container runs the user's
//! command under it; standard output passes through to the log and is
//! kept (bounded) as the result, the output parameters' files are read
//! once the command ends, and the record goes to the termination message.

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::io::{self, Read, Write};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::os::unix::process::ExitStatusExt;
use std::process::{Command, ExitCode, Stdio};
use std::sync::{Arc, Mutex, mpsc};
use std::time::Duration;

use argo_exec::{PARAMETERS_ENV, Record, TERMINATION_MESSAGE_BYTES, trim_one_newline};
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use signal_hook::consts::{SIGHUP, SIGINT, SIGQUIT, SIGTERM, SIGUSR1, SIGUSR2};
use signal_hook::iterator::Signals;

const TERMINATION_LOG: &str = "/dev/termination-log";

fn main() -> ExitCode {
    let args: Vec<OsString> = std::env::args_os().skip(1).collect();
    match args.first().and_then(|a| a.to_str()) {
        Some("install") if args.len() == 2 => install(&args[1]),
        Some("run") => {
            let rest = match args.get(1).and_then(|a| a.to_str()) {
                Some("--") => &args[2..],
                _ => &args[1..],
            };
            run(rest)
        }
        _ => {
            eprintln!("usage: argo-exec install DEST | argo-exec run -- COMMAND [ARGS...]");
            ExitCode::from(2)
        }
    }
}

fn install(dest: &OsString) -> ExitCode {
    let copied = std::env::current_exe()
        .and_then(|me| std::fs::copy(me, dest))
        .and_then(|_| std::fs::set_permissions(dest, std::fs::Permissions::from_mode(0o755)));
    match copied {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("argo-exec: cannot install into {}: {e}", dest.to_string_lossy());
            ExitCode::FAILURE
        }
    }
}

fn run(command: &[OsString]) -> ExitCode {
    let Some((program, args)) = command.split_first() else {
        eprintln!("argo-exec run: no command to run");
        return ExitCode::from(2);
    };
    let mut record = Record::default();
    // Its own process group, so a signal reaches what it started too.
    let spawned = Command::new(program).args(args).stdout(Stdio::piped()).process_group(0).spawn();
    let code = match spawned {
        Ok(mut child) => {
            forward_signals(child.id());
            let (done_tx, done_rx) = mpsc::channel();
            let captured = Arc::new(Mutex::new(Stdout::default()));
            if let Some(pipe) = child.stdout.take() {
                let captured = captured.clone();
                std::thread::spawn(move || {
                    tee(pipe, &captured);
                    let _ = done_tx.send(());
                });
            }
            let code = match child.wait() {
                Ok(status) => status.code().unwrap_or_else(|| 128 + status.signal().unwrap_or(0)),
                Err(e) => {
                    eprintln!("argo-exec: waiting for {}: {e}", program.to_string_lossy());
                    1
                }
            };
            // A background process may hold stdout open: the command's
            // end is the step's end, as for any container.
            let _ = done_rx.recv_timeout(Duration::from_secs(2));
            let stdout = std::mem::take(&mut *captured.lock().unwrap_or_else(|p| p.into_inner()));
            if stdout.total > TERMINATION_MESSAGE_BYTES {
                record.too_large.insert(String::new(), stdout.total);
            } else {
                record.result = Some(trim_one_newline(String::from_utf8_lossy(&stdout.kept).into_owned()));
            }
            code
        }
        Err(e) => {
            // As a shell reports a command it cannot run.
            eprintln!("argo-exec: cannot run {}: {e}", program.to_string_lossy());
            if e.kind() == io::ErrorKind::NotFound { 127 } else { 126 }
        }
    };
    read_parameters(&mut record);
    let message = record.to_message(TERMINATION_MESSAGE_BYTES);
    let path = std::env::var_os("ARGO_EXEC_TERMINATION_LOG").unwrap_or_else(|| TERMINATION_LOG.into());
    if let Err(e) = std::fs::write(&path, message) {
        eprintln!("argo-exec: cannot write the outputs to {}: {e}", path.to_string_lossy());
    }
    ExitCode::from(u8::try_from(code & 0xff).unwrap_or(1))
}

/// The kubelet signals this process (pid 1 of the container); the command
/// is the one that must stop.
fn forward_signals(child: u32) {
    let Ok(mut signals) = Signals::new([SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2]) else {
        return;
    };
    let Ok(pid) = i32::try_from(child) else {
        return;
    };
    std::thread::spawn(move || {
        for sig in signals.forever() {
            if let Ok(sig) = Signal::try_from(sig) {
                let _ = kill(Pid::from_raw(-pid), sig);
            }
        }
    });
}

#[derive(Default)]
struct Stdout {
    /// At most one byte over the budget, so "too large" is known.
    kept: Vec<u8>,
    /// Bytes without one trailing newline.
    total: usize,
}

/// Copies the command's standard output to ours, keeping the start.
fn tee(mut from: impl Read, into: &Mutex<Stdout>) {
    let mut buf = vec![0u8; 64 * 1024];
    let mut out = io::stdout().lock();
    let mut ends_in_newline = false;
    loop {
        let n = match from.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(_) => break,
        };
        // A closed log must not block the command: keep draining.
        let _ = out.write_all(&buf[..n]).and_then(|()| out.flush());
        let mut s = into.lock().unwrap_or_else(|p| p.into_inner());
        if ends_in_newline {
            s.total += 1;
        }
        ends_in_newline = buf[n - 1] == b'\n';
        let room = (TERMINATION_MESSAGE_BYTES + 2).saturating_sub(s.kept.len());
        s.kept.extend_from_slice(&buf[..n.min(room)]);
        s.total += n - usize::from(ends_in_newline);
    }
}

fn read_parameters(record: &mut Record) {
    let Some(spec) = std::env::var_os(PARAMETERS_ENV) else {
        return;
    };
    let paths: BTreeMap<String, String> = match serde_json::from_str(&spec.to_string_lossy()) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("argo-exec: {PARAMETERS_ENV} is not a JSON object of names to paths: {e}");
            return;
        }
    };
    for (name, path) in paths {
        match read_bounded(&path) {
            Ok(Ok(value)) => {
                record.parameters.insert(name, value);
            }
            Ok(Err(size)) => {
                record.too_large.insert(name, size);
            }
            Err(why) => {
                record.unreadable.insert(name, format!("{path}: {why}"));
            }
        }
    }
}

/// The file's text, or its size when it is over the budget.
fn read_bounded(path: &str) -> Result<Result<String, usize>, String> {
    let file = std::fs::File::open(path).map_err(|e| match e.kind() {
        io::ErrorKind::NotFound => "no such file".to_owned(),
        _ => e.to_string(),
    })?;
    let meta = file.metadata().map_err(|e| e.to_string())?;
    if meta.is_dir() {
        return Err("is a directory (directories are artifacts, not parameters)".into());
    }
    let mut bytes = Vec::new();
    file.take(TERMINATION_MESSAGE_BYTES as u64 + 2).read_to_end(&mut bytes).map_err(|e| e.to_string())?;
    let text = trim_one_newline(String::from_utf8_lossy(&bytes).into_owned());
    if text.len() > TERMINATION_MESSAGE_BYTES {
        return Ok(Err(usize::try_from(meta.len()).unwrap_or(usize::MAX)));
    }
    Ok(Ok(text))
}
