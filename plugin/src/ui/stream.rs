//! What the pages follow live, as server-sent events: the workflow list of
//! every cluster, one workflow, one container's log. Each feed is a task
//! writing into a channel; it ends when the page goes away.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{Path, Query, State};
use axum::response::sse::{Event, KeepAlive, Sse};
use futures::{AsyncBufReadExt, Stream, StreamExt};
use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, DynamicObject, LogParams};
use kube::runtime::watcher;
use serde::Deserialize;
use serde_json::{Value, json};
use tokio::sync::{broadcast, mpsc};

use super::App;
use super::api::ApiResult;
use crate::view::NodeView;

type Feed =
    Sse<axum::response::sse::KeepAliveStream<std::pin::Pin<Box<dyn Stream<Item = Result<Event, Infallible>> + Send>>>>;

fn feed(rx: mpsc::Receiver<Event>) -> Feed {
    let stream = futures::stream::unfold(rx, |mut rx| async move { rx.recv().await.map(|e| (Ok(e), rx)) });
    Sse::new(stream.boxed()).keep_alive(KeepAlive::default())
}

fn data(event: &str, body: impl AsRef<str>) -> Event {
    Event::default().event(event).data(body)
}

/// Every cluster's workflow list: all of it first, then each change.
pub async fn workflows(State(app): State<Arc<App>>) -> Feed {
    let (tx, rx) = mpsc::channel(256);
    let hub = app.hub.clone();
    tokio::spawn(async move {
        let (first, mut changes) = hub.subscribe();
        for e in first {
            if tx.send(data("list", e.as_ref())).await.is_err() {
                return;
            }
        }
        loop {
            let next = tokio::select! {
                next = changes.recv() => next,
                () = tx.closed() => return,
            };
            let event = match next {
                Ok(e) => data("list", e.as_ref()),
                // Too slow a page: start it over from a full list.
                Err(broadcast::error::RecvError::Lagged(_)) => {
                    let (first, rx) = hub.subscribe();
                    changes = rx;
                    for e in first {
                        if tx.send(data("list", e.as_ref())).await.is_err() {
                            return;
                        }
                    }
                    continue;
                }
                Err(broadcast::error::RecvError::Closed) => return,
            };
            if tx.send(event).await.is_err() {
                return;
            }
        }
    });
    feed(rx)
}

/// A workflow as the page draws it: nodes unpacked if the controller
/// packed them, each pod node with its pod's name, no managed fields.
pub fn for_page(obj: &DynamicObject) -> Value {
    let mut value = serde_json::to_value(obj).unwrap_or_default();
    if let Some(meta) = value.get_mut("metadata").and_then(Value::as_object_mut) {
        meta.remove("managedFields");
    }
    if let Some(status) = value.get_mut("status")
        && let Err(e) = argo_api::workflow::compress::unpack_value(status)
    {
        status["message"] = json!(format!("cannot read the stored nodes: {e}"));
    }
    // Each node read in place (no copy of a status of thousands of nodes).
    let workflow = obj.metadata.name.clone().unwrap_or_default();
    let v1 = crate::view::v1_pod_names(&obj.metadata);
    if let Some(nodes) = value.pointer_mut("/status/nodes").and_then(Value::as_object_mut) {
        for node in nodes.values_mut() {
            if let Ok(n) = NodeView::deserialize(&*node)
                && n.type_ == "Pod"
            {
                node["podName"] = json!(n.pod(&workflow, v1));
            }
        }
    }
    value
}

/// One workflow, sent whole on every change, at most five times a second
/// (a big workflow changes faster than a page can draw it).
pub async fn workflow(
    State(app): State<Arc<App>>,
    Path((context, namespace, name)): Path<(String, String, String)>,
) -> ApiResult<Feed> {
    let conn = app.conn(&context, &namespace)?;
    let (tx, rx) = mpsc::channel(4);
    tokio::spawn(async move {
        let config = watcher::Config::default().fields(&format!("metadata.name={name}"));
        let mut stream = watcher(conn.raw(false), config).boxed();
        let mut latest: Option<Event> = None;
        let mut seen = false;
        let mut tick = tokio::time::interval(Duration::from_millis(200));
        loop {
            tokio::select! {
                () = tx.closed() => return,
                _ = tick.tick(), if latest.is_some() => {
                    if let Some(e) = latest.take() && tx.send(e).await.is_err() {
                        return;
                    }
                }
                next = stream.next() => {
                    let Some(next) = next else { return };
                    latest = Some(match next {
                        Ok(watcher::Event::Apply(o) | watcher::Event::InitApply(o)) => {
                            seen = true;
                            data("workflow", for_page(&o).to_string())
                        }
                        Ok(watcher::Event::Delete(_)) => data("gone", format!("workflow {name} was deleted")),
                        Ok(watcher::Event::InitDone) if !seen => {
                            data("gone", format!("workflow {name} not found in namespace {namespace}"))
                        }
                        Ok(_) => continue,
                        Err(e) => {
                            let why = super::hub::describe(&e, &conn.server);
                            tokio::time::sleep(Duration::from_secs(1)).await;
                            data("failure", why)
                        }
                    });
                }
            }
        }
    });
    Ok(feed(rx))
}

#[derive(Debug, Deserialize)]
pub struct LogQuery {
    pub container: Option<String>,
    #[serde(default)]
    pub follow: bool,
}

/// Most of a log a page is sent: enough to read, not enough to hang it.
const LOG_LIMIT: i64 = 8 << 20;

/// A container's log, line by line, following it while it runs.
pub async fn log(
    State(app): State<Arc<App>>,
    Path((context, namespace, pod)): Path<(String, String, String)>,
    Query(q): Query<LogQuery>,
) -> ApiResult<Feed> {
    let conn = app.conn(&context, &namespace)?;
    let (tx, rx) = mpsc::channel(256);
    tokio::spawn(async move {
        let pods: Api<Pod> = Api::namespaced(conn.client.clone(), &namespace);
        let params = LogParams {
            container: Some(q.container.unwrap_or_else(|| "main".into())),
            follow: q.follow,
            limit_bytes: Some(LOG_LIMIT),
            ..Default::default()
        };
        let reader = match pods.log_stream(&pod, &params).await {
            Ok(r) => r,
            Err(e) => {
                let _ = tx.send(data("failure", conn.err(e).to_string())).await;
                return;
            }
        };
        let mut lines = reader.lines();
        loop {
            let next = tokio::select! {
                () = tx.closed() => return,
                next = lines.next() => next,
            };
            let last = !matches!(&next, Some(Ok(_)));
            // Each line as a JSON string: an empty SSE data field is no
            // event at all, and an empty log line is still a line.
            let event = match next {
                Some(Ok(line)) => data("line", serde_json::to_string(&line).unwrap_or_default()),
                Some(Err(e)) => data("failure", format!("the log stream broke: {e}")),
                None => data("end", "end"),
            };
            if tx.send(event).await.is_err() || last {
                return;
            }
        }
    });
    Ok(feed(rx))
}
