//! Readiness: named checks that must all hold, and a role. A standby
//! replica (waiting for a lease) is ready as it is: it serves its admin
//! port and takes over when it must.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

type Check = Arc<dyn Fn() -> bool + Send + Sync>;

#[derive(Clone, Default)]
pub struct Readiness {
    inner: Arc<Mutex<Inner>>,
}

#[derive(Default)]
struct Inner {
    role: Option<&'static str>,
    standby: bool,
    checks: Vec<(&'static str, Check)>,
}

impl Readiness {
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Not ready until `check` holds.
    pub fn require(&self, name: &'static str, check: impl Fn() -> bool + Send + Sync + 'static) {
        self.lock().checks.push((name, Arc::new(check)));
    }

    /// A required flag, false until the caller sets it.
    pub fn flag(&self, name: &'static str) -> Arc<AtomicBool> {
        let flag = Arc::new(AtomicBool::new(false));
        let f = flag.clone();
        self.require(name, move || f.load(Ordering::Acquire));
        flag
    }

    /// What this replica does now; `standby` ones are ready as they are.
    pub fn set_role(&self, role: &'static str, standby: bool) {
        let mut inner = self.lock();
        inner.role = Some(role);
        inner.standby = standby;
    }

    /// Ok with a line saying why ready, or Err saying what is missing.
    pub fn report(&self) -> Result<String, String> {
        let inner = self.lock();
        let prefix = inner.role.map(|r| format!("{r}: ")).unwrap_or_default();
        if inner.standby {
            return Ok(format!("{prefix}waiting for the leader lease"));
        }
        let states: Vec<(&str, bool)> = inner.checks.iter().map(|(name, check)| (*name, check())).collect();
        if states.iter().all(|(_, ok)| *ok) {
            return Ok(format!("{prefix}ready"));
        }
        let list: Vec<String> = states.iter().map(|(name, ok)| format!("{name} {ok}")).collect();
        Err(format!("{prefix}not ready ({})", list.join(", ")))
    }
}

/// Whether the admin port at `addr` answers `/readyz` with 200: how
/// `kubectl argo install --local` waits for the processes it started.
pub async fn probe(addr: std::net::SocketAddr) -> bool {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let Ok(Ok(mut s)) =
        tokio::time::timeout(std::time::Duration::from_secs(2), tokio::net::TcpStream::connect(addr)).await
    else {
        return false;
    };
    if s.write_all(b"GET /readyz HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n").await.is_err() {
        return false;
    }
    let mut buf = String::new();
    let read = tokio::time::timeout(std::time::Duration::from_secs(5), s.read_to_string(&mut buf)).await;
    read.is_ok() && buf.starts_with("HTTP/1.1 200")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_check_must_hold_unless_standing_by() {
        let r = Readiness::new();
        let listening = r.flag("listening");
        r.require("synced", || true);
        assert_eq!(r.report(), Err("not ready (listening false, synced true)".into()));
        listening.store(true, Ordering::Release);
        assert_eq!(r.report(), Ok("ready".into()));
        listening.store(false, Ordering::Release);
        r.set_role("standby", true);
        assert_eq!(r.report(), Ok("standby: waiting for the leader lease".into()));
        r.set_role("leader", false);
        assert!(r.report().unwrap_err().starts_with("leader: not ready"));
    }
}
