//! Out-of-cluster mode: argo-controller and argo-webhook run as processes
//! on this machine against the same kubeconfig, and the apiserver reaches
//! the webhook by URL. For clusters that cannot run our images (the local
//! kwok cluster) and for development. State (pids, logs, certificates,
//! ports) lives in one directory per context.

use std::net::{IpAddr, Ipv4Addr, SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use argo_api::certs::{Ca, write_mounted};

use crate::error::{Error, Result};

pub struct Started {
    pub webhook_url: String,
    pub ca_pem: String,
}

pub struct Setup<'a> {
    pub context: &'a str,
    pub kubeconfig: Option<&'a Path>,
    pub namespace: &'a str,
    pub bin_dir: Option<&'a Path>,
    pub timeout: Duration,
    /// The controller runs only the workflows of this namespace.
    pub managed_namespace: Option<&'a str>,
}

/// `$XDG_STATE_HOME/kubectl-argo/<context>` (default `~/.local/state`).
pub fn state_dir(context: &str) -> PathBuf {
    let base = std::env::var_os("XDG_STATE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".local/state")))
        .unwrap_or_else(std::env::temp_dir);
    let safe: String = context
        .chars()
        .map(|c| {
            if c.is_alphanumeric() || "-_.".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect();
    base.join("kubectl-argo").join(if safe.is_empty() { "default".into() } else { safe })
}

const PROGRAMS: [&str; 2] = ["argo-controller", "argo-webhook"];

/// The binary: in `--bin-dir`, next to kubectl-argo, or on PATH.
fn find(program: &str, bin_dir: Option<&Path>) -> Result<PathBuf> {
    let beside = std::env::current_exe()
        .ok()
        .and_then(|p| std::fs::canonicalize(p).ok())
        .and_then(|p| p.parent().map(Path::to_owned));
    let path_dirs = std::env::var_os("PATH").map(|p| std::env::split_paths(&p).collect::<Vec<_>>()).unwrap_or_default();
    let candidates = bin_dir.map(Path::to_owned).into_iter().chain(beside).chain(path_dirs);
    for dir in candidates {
        let p = dir.join(program);
        if p.is_file() {
            return Ok(p);
        }
    }
    Err(Error::Other(format!(
        "cannot find {program}: put it next to kubectl-argo or on PATH, or pass --bin-dir (build it with `cargo build -p {program}`)"
    )))
}

fn free_port() -> Result<SocketAddr> {
    Ok(TcpListener::bind((Ipv4Addr::LOCALHOST, 0))?.local_addr()?)
}

fn pid_file(dir: &Path, program: &str) -> PathBuf {
    dir.join(format!("{program}.pid"))
}

/// Is `pid` alive and running `program`? (A reused pid is not ours.)
fn ours(pid: u32, program: &str) -> bool {
    Command::new("ps")
        .args(["-p", &pid.to_string(), "-o", "command="])
        .output()
        .is_ok_and(|o| o.status.success() && String::from_utf8_lossy(&o.stdout).contains(program))
}

/// Stops the processes a previous install started; says which.
pub fn stop(context: &str) -> Vec<String> {
    let dir = state_dir(context);
    let mut said = Vec::new();
    for program in PROGRAMS {
        let file = pid_file(&dir, program);
        let Some(pid) = std::fs::read_to_string(&file).ok().and_then(|p| p.trim().parse::<u32>().ok()) else {
            continue;
        };
        if ours(pid, program) {
            let _ = Command::new("kill").arg(pid.to_string()).status();
            let deadline = Instant::now() + Duration::from_secs(10);
            while ours(pid, program) && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(100));
            }
            if ours(pid, program) {
                let _ = Command::new("kill").args(["-9", &pid.to_string()]).status();
            }
            said.push(format!("stopped {program} (pid {pid})"));
        }
        let _ = std::fs::remove_file(file);
    }
    said
}

fn spawn(program: &Path, args: &[String], setup: &Setup<'_>, log: &Path) -> Result<u32> {
    use std::os::unix::process::CommandExt;
    let log_file = std::fs::OpenOptions::new().create(true).append(true).open(log)?;
    let mut cmd = Command::new(program);
    if let Some(kc) = setup.kubeconfig {
        cmd.arg("--kubeconfig").arg(kc);
    }
    cmd.args(["--context", setup.context]).args(args);
    // Its own process group: a Ctrl-C in this terminal does not stop it.
    let child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(log_file)
        .process_group(0)
        .spawn()
        .map_err(|e| Error::Other(format!("cannot start {}: {e}", program.display())))?;
    Ok(child.id())
}

/// (Re)starts both processes and waits until they are ready.
pub async fn start(setup: &Setup<'_>) -> Result<Started> {
    for line in stop(setup.context) {
        println!("{line}");
    }
    let dir = state_dir(setup.context);
    std::fs::create_dir_all(dir.join("logs"))?;
    let controller = find("argo-controller", setup.bin_dir)?;
    let webhook = find("argo-webhook", setup.bin_dir)?;

    let ca = Ca::new("argo-rs local webhook CA").map_err(|e| Error::Other(e.to_string()))?;
    let pem = ca
        .serving(&["localhost".into()], &[IpAddr::V4(Ipv4Addr::LOCALHOST)])
        .map_err(|e| Error::Other(e.to_string()))?;
    let tls = dir.join("tls");
    let _ = std::fs::remove_dir_all(&tls);
    std::fs::create_dir_all(&tls)?;
    write_mounted(&tls, "..v1", &pem)?;
    std::fs::write(dir.join("ca.crt"), &ca.pem.cert)?;

    let (hook_addr, hook_admin, ctl_admin) = (free_port()?, free_port()?, free_port()?);
    let s = |a: SocketAddr| a.to_string();
    // Each runs as its in-cluster service account: the rights the install
    // gives it, no more, and the webhook knows the controller's runs.
    let account = |name: &str| format!("system:serviceaccount:{}:{name}", setup.namespace);
    let processes = [
        (
            "argo-controller",
            controller,
            [
                vec![
                    "--admin-address".into(),
                    s(ctl_admin),
                    "--lease-namespace".into(),
                    setup.namespace.into(),
                    "--as".into(),
                    account("argo-controller"),
                ],
                setup.managed_namespace.map(|n| vec!["--namespace".into(), n.into()]).unwrap_or_default(),
            ]
            .concat(),
            ctl_admin,
        ),
        (
            "argo-webhook",
            webhook,
            vec![
                "--address".into(),
                s(hook_addr),
                "--admin-address".into(),
                s(hook_admin),
                "--tls-cert".into(),
                tls.join("tls.crt").display().to_string(),
                "--tls-key".into(),
                tls.join("tls.key").display().to_string(),
                "--as".into(),
                account("argo-webhook"),
                "--controller-user".into(),
                account("argo-controller"),
            ],
            hook_admin,
        ),
    ];
    for (program, path, args, admin) in processes {
        let log = dir.join("logs").join(format!("{program}.log"));
        let pid = spawn(&path, &args, setup, &log)?;
        std::fs::write(pid_file(&dir, program), pid.to_string())?;
        let deadline = Instant::now() + setup.timeout;
        while !argo_service::ready::probe(admin).await {
            if !ours(pid, program) {
                return Err(Error::Other(format!("{program} exited; see {}", log.display())));
            }
            if Instant::now() > deadline {
                return Err(Error::Other(format!("{program} is not ready; see {}", log.display())));
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        println!("{program} running on this machine (pid {pid}, admin http://{admin}, log {})", log.display());
    }
    Ok(Started {
        webhook_url: format!("https://{hook_addr}"),
        ca_pem: ca.pem.cert,
    })
}

/// `install --local` acts as the two service accounts: says so clearly
/// when the user may not (rather than letting the processes fail on it).
pub async fn may_impersonate(client: &kube::Client, namespace: &str) -> Result<()> {
    use k8s_openapi::api::authorization::v1::{
        ResourceAttributes, SelfSubjectAccessReview, SelfSubjectAccessReviewSpec,
    };
    let api: kube::Api<SelfSubjectAccessReview> = kube::Api::all(client.clone());
    for name in PROGRAMS {
        let review = SelfSubjectAccessReview {
            spec: SelfSubjectAccessReviewSpec {
                resource_attributes: Some(ResourceAttributes {
                    verb: Some("impersonate".into()),
                    resource: Some("serviceaccounts".into()),
                    namespace: Some(namespace.into()),
                    name: Some(name.into()),
                    ..Default::default()
                }),
                ..Default::default()
            },
            ..Default::default()
        };
        let answer = api
            .create(&Default::default(), &review)
            .await
            .map_err(|e| Error::Other(format!("cannot ask whether you may impersonate {name}: {e}")))?;
        if !answer.status.is_some_and(|s| s.allowed) {
            return Err(Error::Other(format!(
                "install --local runs {name} on this machine as its service account ({namespace}/{name}), and your user may not impersonate it (RBAC verb impersonate on serviceaccounts): ask for that right, or install in the cluster"
            )));
        }
    }
    Ok(())
}
