//! This project's binaries run as real processes against the cluster, each
//! test with its own, scoped to the test's namespace.

use std::fs::File;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use anyhow::{Context, Result, bail};

use crate::{Cluster, repo_root};

/// A running binary, killed when dropped.
pub struct Process {
    pub child: Child,
    pub admin: SocketAddr,
    pub log: PathBuf,
}

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Process {
    /// Kills with SIGKILL: no chance to clean up, like a node failure.
    pub fn kill_hard(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    pub fn get(&self, path: &str) -> Result<(u16, String)> {
        http_get(self.admin, path)
    }

    /// Waits until `/readyz` answers 200.
    pub async fn wait_ready(&self, timeout: Duration) -> Result<()> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            if let Ok((200, _)) = self.get("/readyz") {
                return Ok(());
            }
            if tokio::time::Instant::now() > deadline {
                bail!("{} not ready after {timeout:?}; log:\n{}", self.log.display(), self.log_text());
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

/// A free loopback port (released again, so a process can bind it).
pub fn free_port() -> Result<SocketAddr> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?)
}

/// A minimal HTTP/1.0 GET, enough for the admin ports.
pub fn http_get(addr: SocketAddr, path: &str) -> Result<(u16, String)> {
    let mut s = TcpStream::connect_timeout(&addr, Duration::from_secs(2))?;
    s.set_read_timeout(Some(Duration::from_secs(5)))?;
    write!(s, "GET {path} HTTP/1.0\r\nHost: {addr}\r\n\r\n")?;
    let mut text = String::new();
    s.read_to_string(&mut text)?;
    let status = text.split_whitespace().nth(1).and_then(|c| c.parse().ok()).context("HTTP status line")?;
    let body = text.split_once("\r\n\r\n").map(|(_, b)| b.to_owned()).unwrap_or_default();
    Ok((status, body))
}

fn log_path(name: &str) -> PathBuf {
    let dir = repo_root().join("target/e2e-logs");
    let _ = std::fs::create_dir_all(&dir);
    dir.join(format!("{name}.log"))
}

/// A fresh namespace `e2e-<prefix>-...` with a ready controller of its own.
pub async fn with_controller(prefix: &str) -> Result<(Cluster, String, Process)> {
    let cluster = Cluster::connect().await?;
    let ns = cluster.namespace(prefix).await?;
    let ctl = cluster.controller(&ns, "c1", &["--leader-elect=false"])?;
    ctl.wait_ready(std::time::Duration::from_secs(30)).await?;
    Ok((cluster, ns, ctl))
}

/// A namespace whose pods run on the real node, with its own controller.
pub async fn with_real_controller(prefix: &str) -> Result<(Cluster, String, Process)> {
    let cluster = Cluster::connect().await?;
    let ns = cluster.real_namespace(prefix).await?;
    let ctl = cluster.controller(&ns, "c1", &["--leader-elect=false"])?;
    ctl.wait_ready(std::time::Duration::from_secs(30)).await?;
    Ok((cluster, ns, ctl))
}

impl Cluster {
    /// Starts `argo-controller` for one namespace, with its Lease there.
    pub fn controller(&self, namespace: &str, id: &str, extra: &[&str]) -> Result<Process> {
        let admin = free_port()?;
        let log = log_path(&format!("{namespace}-controller-{id}"));
        let child = Command::new(self.project_bin.join("argo-controller"))
            .args(["--kubeconfig".as_ref(), self.kubeconfig.as_os_str()])
            .args(["--namespace", namespace, "--lease-namespace", namespace, "--id", id])
            .args(["--admin-address", &admin.to_string(), "--log", "info"])
            .args(extra)
            // Image configs come from the real node's registry.
            .env("ARGO_REGISTRY_MIRROR", format!("http://{}", crate::registry()))
            .stdout(Stdio::null())
            .stderr(File::create(&log)?)
            .spawn()
            .with_context(|| format!("starting {}", self.project_bin.join("argo-controller").display()))?;
        Ok(Process { child, admin, log })
    }
}
