//! The workflow lists of every chosen cluster, kept current by one watch
//! per cluster and pushed to every open page as events. A cluster that
//! does not answer is marked so and retried; it never holds up the others.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::StreamExt;
use kube::api::Api;
use kube::runtime::watcher;
use serde::Serialize;
use serde_json::{Value, json};
use tokio::sync::broadcast;

use crate::cluster::Conn;
use crate::view::WorkflowView;

/// One line of the workflow list.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Row {
    pub context: String,
    pub namespace: String,
    pub name: String,
    pub phase: String,
    pub status: String,
    pub message: Option<String>,
    pub progress: Option<String>,
    pub created: Option<String>,
    pub started: Option<String>,
    pub finished: Option<String>,
    pub project: Option<String>,
    pub labels: BTreeMap<String, String>,
}

impl Row {
    pub fn of(context: &str, wf: &WorkflowView) -> Row {
        let time = |t: Option<k8s_openapi::jiff::Timestamp>| t.map(|t| t.to_string());
        Row {
            context: context.to_owned(),
            namespace: wf.namespace().to_owned(),
            name: wf.name().to_owned(),
            phase: wf.phase().to_owned(),
            status: wf.display_status(),
            message: wf.status.message.clone(),
            progress: wf.status.progress.clone(),
            created: time(wf.created()),
            started: time(wf.started()),
            finished: time(wf.finished()),
            project: wf.metadata.labels.as_ref().and_then(|l| l.get(argo_api::keys::PROJECT).cloned()),
            labels: wf.metadata.labels.clone().unwrap_or_default(),
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Health {
    Connecting,
    Ready,
    Unreachable,
}

struct ClusterList {
    health: Health,
    error: Option<String>,
    /// "" for every namespace, else the one namespace the user may list.
    namespace: String,
    rows: BTreeMap<(String, String), Row>,
}

/// Every cluster's list, and the channel that tells pages what changed.
pub struct Hub {
    contexts: Vec<String>,
    lists: Mutex<BTreeMap<String, ClusterList>>,
    tx: broadcast::Sender<Arc<str>>,
}

type Key = (String, String);

impl Hub {
    pub fn new(contexts: Vec<String>) -> Arc<Hub> {
        let lists = contexts
            .iter()
            .map(|c| {
                let list = ClusterList {
                    health: Health::Connecting,
                    error: None,
                    namespace: String::new(),
                    rows: BTreeMap::new(),
                };
                (c.clone(), list)
            })
            .collect();
        let (tx, _) = broadcast::channel(4096);
        Arc::new(Hub {
            contexts,
            lists: Mutex::new(lists),
            tx,
        })
    }

    pub fn contexts(&self) -> &[String] {
        &self.contexts
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<String, ClusterList>> {
        // A panic elsewhere while holding the lock leaves plain data behind.
        self.lists.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn send(&self, event: Value) {
        let _ = self.tx.send(Arc::from(event.to_string()));
    }

    fn cluster_event(context: &str, list: &ClusterList) -> Value {
        json!({"kind": "cluster", "context": context, "health": list.health, "error": list.error,
            "namespace": list.namespace})
    }

    /// What a page needs first (every cluster's health and rows), and the
    /// changes after it: taken under one lock, so nothing falls between.
    pub fn subscribe(&self) -> (Vec<Arc<str>>, broadcast::Receiver<Arc<str>>) {
        let lists = self.lock();
        let rx = self.tx.subscribe();
        let mut first = Vec::new();
        for context in &self.contexts {
            if let Some(list) = lists.get(context) {
                first.push(Arc::from(Self::cluster_event(context, list).to_string()));
                let rows: Vec<&Row> = list.rows.values().collect();
                first.push(Arc::from(json!({"kind": "reset", "context": context, "rows": rows}).to_string()));
            }
        }
        (first, rx)
    }

    pub fn set_health(&self, context: &str, health: Health, error: Option<String>, namespace: &str) {
        let mut lists = self.lock();
        let Some(list) = lists.get_mut(context) else { return };
        if list.health == health && list.error == error && list.namespace == namespace {
            return;
        }
        list.health = health;
        list.error = error;
        list.namespace = namespace.to_owned();
        self.send(Self::cluster_event(context, list));
    }

    fn reset(&self, context: &str, rows: BTreeMap<Key, Row>) {
        let mut lists = self.lock();
        let Some(list) = lists.get_mut(context) else { return };
        let all: Vec<&Row> = rows.values().collect();
        self.send(json!({"kind": "reset", "context": context, "rows": all}));
        list.rows = rows;
    }

    fn upsert(&self, row: Row) {
        let mut lists = self.lock();
        let Some(list) = lists.get_mut(&row.context) else {
            return;
        };
        let key = (row.namespace.clone(), row.name.clone());
        if list.rows.get(&key) == Some(&row) {
            return;
        }
        self.send(json!({"kind": "upsert", "row": row}));
        list.rows.insert(key, row);
    }

    fn delete(&self, context: &str, namespace: &str, name: &str) {
        let mut lists = self.lock();
        let Some(list) = lists.get_mut(context) else { return };
        if list.rows.remove(&(namespace.to_owned(), name.to_owned())).is_some() {
            self.send(json!({"kind": "delete", "context": context, "namespace": namespace, "name": name}));
        }
    }
}

fn key(wf: &WorkflowView) -> Key {
    (wf.namespace().to_owned(), wf.name().to_owned())
}

/// Why a watch failed, in kubectl's words where kube gives a cause.
pub fn describe(e: &watcher::Error, server: &str) -> String {
    match e {
        watcher::Error::InitialListFailed(e) | watcher::Error::WatchStartFailed(e) | watcher::Error::WatchFailed(e) => {
            crate::error::Error::from_kube(clone_kube_error(e), server).to_string()
        }
        other => crate::error::chain(other),
    }
}

fn clone_kube_error(e: &kube::Error) -> kube::Error {
    match e {
        kube::Error::Api(s) => kube::Error::Api(s.clone()),
        other => kube::Error::Service(crate::error::chain(other).into()),
    }
}

fn forbidden(e: &watcher::Error) -> bool {
    matches!(e, watcher::Error::InitialListFailed(kube::Error::Api(s)) if s.code == 403)
}

/// Keeps `context`'s list current for as long as the UI runs: every
/// namespace (unless `all_namespaces` is false: the one of `conn`), or
/// the context's own when the user may not list them all.
pub async fn watch(hub: Arc<Hub>, context: String, conn: Conn, mut all_namespaces: bool) {
    loop {
        let namespace = if all_namespaces { "" } else { conn.namespace.as_str() };
        let api: Api<WorkflowView> = if all_namespaces {
            Api::all(conn.client.clone())
        } else {
            Api::namespaced(conn.client.clone(), &conn.namespace)
        };
        let mut stream = watcher(api, watcher::Config::default()).boxed();
        let mut initial = BTreeMap::new();
        let mut delay = Duration::from_millis(500);
        while let Some(event) = stream.next().await {
            match event {
                Ok(watcher::Event::Init) => initial.clear(),
                Ok(watcher::Event::InitApply(wf)) => {
                    initial.insert(key(&wf), Row::of(&context, &wf));
                }
                Ok(watcher::Event::InitDone) => {
                    hub.reset(&context, std::mem::take(&mut initial));
                    hub.set_health(&context, Health::Ready, None, namespace);
                    delay = Duration::from_millis(500);
                }
                Ok(watcher::Event::Apply(wf)) => hub.upsert(Row::of(&context, &wf)),
                Ok(watcher::Event::Delete(wf)) => hub.delete(&context, wf.namespace(), wf.name()),
                Err(e) if all_namespaces && forbidden(&e) => {
                    all_namespaces = false;
                    break;
                }
                Err(e) => {
                    hub.set_health(&context, Health::Unreachable, Some(describe(&e, &conn.server)), namespace);
                    tokio::time::sleep(delay).await;
                    delay = (delay * 2).min(Duration::from_secs(15));
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(context: &str, name: &str, phase: &str) -> Row {
        let wf: WorkflowView = serde_json::from_value(json!({
            "metadata": {"name": name, "namespace": "ns", "labels": {argo_api::keys::PROJECT: "team-a"}},
            "status": {"phase": phase}}))
        .unwrap();
        Row::of(context, &wf)
    }

    fn kinds(events: &[Arc<str>]) -> Vec<String> {
        events
            .iter()
            .map(|e| serde_json::from_str::<Value>(e).unwrap()["kind"].as_str().unwrap().to_owned())
            .collect()
    }

    #[test]
    fn a_page_gets_every_cluster_then_only_what_changed() {
        let hub = Hub::new(vec!["a".into(), "b".into()]);
        hub.reset("a", [(("ns".into(), "x".into()), row("a", "x", "Running"))].into());
        hub.set_health("b", Health::Unreachable, Some("refused".into()), "");
        let (first, mut rx) = hub.subscribe();
        assert_eq!(kinds(&first), ["cluster", "reset", "cluster", "reset"]);
        let a: Value = serde_json::from_str(&first[1]).unwrap();
        assert_eq!(a["rows"][0]["project"], "team-a");
        let b: Value = serde_json::from_str(&first[2]).unwrap();
        assert_eq!((b["health"].as_str(), b["error"].as_str()), (Some("unreachable"), Some("refused")));

        hub.upsert(row("a", "x", "Running"));
        hub.upsert(row("a", "x", "Succeeded"));
        hub.delete("a", "ns", "x");
        hub.delete("a", "ns", "x");
        let got: Vec<Value> =
            std::iter::from_fn(|| rx.try_recv().ok()).map(|e| serde_json::from_str(&e).unwrap()).collect();
        assert_eq!(got.len(), 2, "an unchanged row and a second delete send nothing: {got:?}");
        assert_eq!(got[0]["row"]["phase"], "Succeeded");
        assert_eq!((got[1]["kind"].as_str(), got[1]["name"].as_str()), (Some("delete"), Some("x")));
    }

    #[test]
    fn an_unknown_context_is_ignored() {
        let hub = Hub::new(vec!["a".into()]);
        hub.upsert(row("zz", "x", "Running"));
        hub.set_health("zz", Health::Ready, None, "");
        let (first, _) = hub.subscribe();
        assert_eq!(first.len(), 2);
    }
}
