//! Server-side apply of rendered manifests, and waiting for what they
//! start to be ready.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::{Api, DeleteParams, DynamicObject, Patch, PatchParams};
use kube::core::{ApiResource, GroupVersionKind};
use kube::discovery::{ApiCapabilities, Scope};
use serde_json::Value;

use super::manifests::describe;
use crate::cluster::Conn;
use crate::error::{Error, Result};

pub const MANAGER: &str = "kubectl-argo";

/// Resolves kinds to API resources, asking the server once per kind.
#[derive(Default)]
pub struct Kinds {
    known: HashMap<String, (ApiResource, ApiCapabilities)>,
}

impl Kinds {
    pub async fn api(&mut self, conn: &Conn, doc: &Value) -> Result<Api<DynamicObject>> {
        let api_version = doc.get("apiVersion").and_then(Value::as_str).unwrap_or("");
        let kind = doc.get("kind").and_then(Value::as_str).unwrap_or("");
        let key = format!("{api_version}/{kind}");
        if !self.known.contains_key(&key) {
            let (group, version) = api_version.split_once('/').unwrap_or(("", api_version));
            let gvk = GroupVersionKind::gvk(group, version, kind);
            let found = kube::discovery::oneshot::pinned_kind(&conn.client, &gvk).await.map_err(|e| match e {
                kube::Error::Api(s) if s.code == 404 => Error::Other(format!(
                    "the cluster has no {kind} ({api_version}) API; is what provides it installed?"
                )),
                other => conn.err(other),
            })?;
            self.known.insert(key.clone(), found);
        }
        let (resource, caps) = &self.known[&key];
        let ns = doc.pointer("/metadata/namespace").and_then(Value::as_str);
        Ok(match (&caps.scope, ns) {
            (Scope::Namespaced, Some(ns)) => Api::namespaced_with(conn.client.clone(), ns, resource),
            (Scope::Namespaced, None) => Api::default_namespaced_with(conn.client.clone(), resource),
            (Scope::Cluster, _) => Api::all_with(conn.client.clone(), resource),
        })
    }
}

/// Applies one document (server-side, owning its fields); returns how
/// kubectl would describe it: `kind/name serverside-applied`.
pub async fn apply(conn: &Conn, kinds: &mut Kinds, doc: &Value) -> Result<String> {
    let api = kinds.api(conn, doc).await?;
    let name = doc.pointer("/metadata/name").and_then(Value::as_str).unwrap_or_default();
    let params = PatchParams::apply(MANAGER).force();
    api.patch(name, &params, &Patch::Apply(doc)).await.map_err(|e| conn.err(e))?;
    Ok(format!("{} serverside-applied", describe(doc)))
}

/// Deletes one document's object; Ok(false) when it was not there.
pub async fn delete(conn: &Conn, kinds: &mut Kinds, doc: &Value) -> Result<bool> {
    let api = match kinds.api(conn, doc).await {
        Ok(api) => api,
        // An API that is not there has none of our objects.
        Err(Error::Other(_)) => return Ok(false),
        Err(e) => return Err(e),
    };
    let name = doc.pointer("/metadata/name").and_then(Value::as_str).unwrap_or_default();
    match api.delete(name, &DeleteParams::background()).await {
        Ok(_) => Ok(true),
        Err(kube::Error::Api(s)) if s.code == 404 => Ok(false),
        Err(e) => Err(conn.err(e)),
    }
}

pub async fn wait_established(conn: &Conn, names: &[String], timeout: Duration) -> Result<()> {
    let api: Api<CustomResourceDefinition> = Api::all(conn.client.clone());
    for name in names {
        let cond = kube::runtime::wait::conditions::is_crd_established();
        tokio::time::timeout(timeout, kube::runtime::wait::await_condition(api.clone(), name, cond))
            .await
            .map_err(|_| Error::Other(format!("CRD {name} was not established within {timeout:?}")))?
            .map_err(|e| Error::Other(format!("waiting for CRD {name}: {e}")))?;
    }
    Ok(())
}

/// (ready, wanted) replicas of the current rollout.
fn readiness(d: &Deployment) -> (i32, i32, bool) {
    let wanted = d.spec.as_ref().and_then(|s| s.replicas).unwrap_or(1);
    let s = d.status.clone().unwrap_or_default();
    let current = s.observed_generation >= d.metadata.generation
        && s.updated_replicas.unwrap_or(0) >= wanted
        && s.replicas.unwrap_or(0) == wanted;
    (s.ready_replicas.unwrap_or(0), wanted, current)
}

/// Waits until each Deployment's current rollout is fully ready, saying
/// so (and what it is waiting for, when that changes).
pub async fn wait_deployments(conn: &Conn, namespace: &str, names: &[&str], timeout: Duration) -> Result<()> {
    let api: Api<Deployment> = Api::namespaced(conn.client.clone(), namespace);
    let deadline = Instant::now() + timeout;
    for name in names {
        let mut said = None;
        loop {
            let d = api.get(name).await.map_err(|e| conn.err(e))?;
            let (ready, wanted, current) = readiness(&d);
            if current && ready >= wanted {
                println!("deployment.apps/{name} ready ({ready}/{wanted})");
                break;
            }
            if said != Some(ready) {
                println!("waiting for deployment.apps/{name}: {ready}/{wanted} ready");
                said = Some(ready);
            }
            if Instant::now() > deadline {
                return Err(Error::Other(format!(
                    "deployment {namespace}/{name} is not ready after {}: {ready}/{wanted} replicas ready (see kubectl -n {namespace} describe deployment {name})",
                    argo_api::duration::format(timeout)
                )));
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    }
    Ok(())
}
