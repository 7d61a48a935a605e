//! Following one workflow through a watch (not polling) until it finishes.

use futures::StreamExt;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use k8s_openapi::jiff::tz::TimeZone;
use kube::runtime::{WatchStreamExt, watcher};

use crate::cluster::Conn;
use crate::error::{Error, Result};
use crate::view::WorkflowView;

fn not_found(name: &str) -> Error {
    Error::Server(Box::new(kube::core::Status {
        code: 404,
        reason: "NotFound".into(),
        message: format!("workflows.argoproj.io \"{name}\" not found"),
        ..Default::default()
    }))
}

/// Calls `each` with the workflow's current state and every later one;
/// returns the first finished state. A deleted workflow is NotFound.
pub async fn until_done(conn: &Conn, name: &str, mut each: impl FnMut(&WorkflowView)) -> Result<WorkflowView> {
    let config = watcher::Config::default().fields(&format!("metadata.name={name}"));
    let mut events = watcher(conn.views(false), config).default_backoff().boxed();
    let mut seen = false;
    let mut warned = false;
    while let Some(event) = events.next().await {
        match event {
            Ok(watcher::Event::InitApply(wf) | watcher::Event::Apply(wf)) => {
                seen = true;
                each(&wf);
                if wf.is_completed() {
                    return Ok(wf);
                }
            }
            Ok(watcher::Event::InitDone) if !seen => return Err(not_found(name)),
            Ok(watcher::Event::Delete(_)) => return Err(not_found(name)),
            Ok(_) => {}
            Err(e) if !warned => {
                warned = true;
                eprintln!("warning: watching workflow {name}: {e}; retrying");
            }
            Err(_) => {}
        }
    }
    Err(Error::Other(format!("the watch on workflow {name} ended")))
}

/// Go's time.Time String, as upstream's `wait` prints finish times:
/// `2024-05-01 10:00:00 +0000 UTC`.
pub fn go_time(t: Option<&Time>) -> String {
    go_time_in(t, &TimeZone::system())
}

pub fn go_time_in(t: Option<&Time>, tz: &TimeZone) -> String {
    match t {
        Some(t) => t.0.to_zoned(tz.clone()).strftime("%Y-%m-%d %H:%M:%S %z %Z").to_string(),
        None => "0001-01-01 00:00:00 +0000 UTC".into(),
    }
}
