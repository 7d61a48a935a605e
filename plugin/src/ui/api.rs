//! The UI's JSON endpoints: one workflow's pod and events, the actions
//! (through the same functions as the CLI's commands), submitting YAML,
//! and the projects of every cluster.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use k8s_openapi::api::core::v1::{Event, Namespace, Pod};
use kube::api::{Api, DeleteParams, DynamicObject, ListParams};
use kube::core::ApiResource;
use serde::Deserialize;
use serde_json::{Value, json};

use super::App;
use crate::commands::{delete, intent, resubmit, retry, submit};
use crate::error::Error;

/// An error as the page shows it: the status the server gave, and its words.
pub struct ApiError(pub StatusCode, pub String);

impl From<Error> for ApiError {
    fn from(e: Error) -> ApiError {
        let status = match &e {
            Error::Server(s) => StatusCode::from_u16(s.code).unwrap_or(StatusCode::BAD_GATEWAY),
            Error::Connection(_) => StatusCode::BAD_GATEWAY,
            Error::Usage(_) | Error::Other(_) => StatusCode::BAD_REQUEST,
        };
        ApiError(status, e.to_string())
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (self.0, Json(json!({"error": self.1}))).into_response()
    }
}

pub type ApiResult<T> = Result<T, ApiError>;

/// The pod of a node as Kubernetes has it, and its events.
pub async fn pod(
    State(app): State<Arc<App>>,
    Path((context, namespace, pod)): Path<(String, String, String)>,
) -> ApiResult<Json<Value>> {
    let conn = app.conn(&context, &namespace)?;
    let pods: Api<Pod> = Api::namespaced(conn.client.clone(), &namespace);
    let events: Api<Event> = Api::namespaced(conn.client.clone(), &namespace);
    let selector = ListParams::default().fields(&format!("involvedObject.name={pod}"));
    let (found, listed) = futures::join!(pods.get_opt(&pod), events.list(&selector));
    let found = found.map_err(|e| conn.err(e))?;
    let mut events: Vec<Value> = listed
        .map_err(|e| conn.err(e))?
        .items
        .into_iter()
        .map(|e| {
            let at = e.last_timestamp.or(e.first_timestamp).map(|t| t.0.to_string());
            json!({"type": e.type_, "reason": e.reason, "message": e.message, "count": e.count, "at": at})
        })
        .collect();
    events.sort_by(|a, b| a["at"].as_str().cmp(&b["at"].as_str()));
    let spec = match &found {
        Some(p) => Some(
            serde_yaml::to_string(&p.spec).map_err(|e| ApiError(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))?,
        ),
        None => None,
    };
    Ok(Json(json!({"exists": found.is_some(), "spec": spec, "events": events})))
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ActionBody {
    pub parameters: BTreeMap<String, String>,
    pub message: Option<String>,
    pub restart_successful: bool,
    pub node_field_selector: Option<String>,
}

/// The CLI's command of the same name, on one workflow.
pub async fn action(
    State(app): State<Arc<App>>,
    Path((context, namespace, name, action)): Path<(String, String, String, String)>,
    Json(body): Json<ActionBody>,
) -> ApiResult<Json<Value>> {
    let conn = app.conn(&context, &namespace)?;
    let parameters: Vec<(String, String)> = body.parameters.into_iter().collect();
    let mut created = None;
    let verb = match action.as_str() {
        "suspend" => {
            intent::apply(&conn, &name, intent::suspend_patch).await?;
            "suspended"
        }
        "resume" => {
            let at = crate::commands::shared::now().to_string();
            let supplied = parameters.iter().map(|(k, v)| (k.clone(), Value::String(v.clone()))).collect();
            intent::apply(&conn, &name, |wf| intent::resume_patch(wf, &at, &supplied)).await?;
            "resumed"
        }
        "stop" => {
            intent::apply(&conn, &name, intent::shutdown("Stop", body.message)).await?;
            "stopped"
        }
        "terminate" => {
            intent::apply(&conn, &name, intent::shutdown("Terminate", None)).await?;
            "terminated"
        }
        "retry" => {
            if let Some(s) = &body.node_field_selector {
                argo_api::selector::NodeSelector::parse(s)
                    .map_err(|e| ApiError(StatusCode::BAD_REQUEST, format!("node field selector: {e}")))?;
            }
            retry::request(&conn, &name, body.restart_successful, body.node_field_selector, &parameters).await?;
            "retried"
        }
        "resubmit" => {
            let new = resubmit::resubmit(&conn, &name, &parameters).await?;
            created = new.metadata.name;
            "resubmitted"
        }
        "delete" => {
            delete::delete_one(&conn, &name, &DeleteParams::background()).await?;
            "deleted"
        }
        other => return Err(ApiError(StatusCode::NOT_FOUND, format!("no action {other:?}"))),
    };
    Ok(Json(json!({"message": format!("workflow {name} {verb}"), "created": created})))
}

#[derive(Debug, Deserialize)]
pub struct SubmitBody {
    pub namespace: Option<String>,
    pub yaml: String,
}

/// Lints the YAML as `kubectl argo submit` does, and creates its workflows
/// only when nothing is wrong.
pub async fn submit(
    State(app): State<Arc<App>>,
    Path(context): Path<String>,
    Json(body): Json<SubmitBody>,
) -> ApiResult<Response> {
    let mut conn = app.conn(&context, "")?;
    if let Some(ns) = body.namespace.as_deref().filter(|n| !n.is_empty()) {
        conn.namespace = ns.to_owned();
    }
    let (subs, findings) = submit::check("submitted YAML", &body.yaml, |_| {})?;
    if !findings.is_empty() {
        let findings: Vec<Value> = findings
            .iter()
            .map(|f| json!({"line": f.line, "path": f.problem.path, "message": f.problem.message, "text": f.to_string()}))
            .collect();
        return Ok((StatusCode::UNPROCESSABLE_ENTITY, Json(json!({"findings": findings}))).into_response());
    }
    if subs.is_empty() {
        return Err(ApiError(StatusCode::BAD_REQUEST, "no workflows in the YAML".into()));
    }
    let mut created = Vec::new();
    for sub in subs {
        let o = submit::create(&conn, None, sub, false).await?;
        created.push(json!({"namespace": o.metadata.namespace, "name": o.metadata.name}));
    }
    Ok(Json(json!({"created": created})).into_response())
}

/// Each cluster's WorkflowProjects, and the namespaces each one governs.
pub async fn projects(State(app): State<Arc<App>>) -> Json<Value> {
    let each = app.hub.contexts().iter().map(|context| {
        let app = app.clone();
        async move {
            let outcome = match app.conn(context, "") {
                Ok(conn) => tokio::time::timeout(Duration::from_secs(10), projects_of(&conn))
                    .await
                    .unwrap_or_else(|_| Err(format!("{} did not answer in 10 s", conn.server))),
                Err(e) => Err(e.1),
            };
            match outcome {
                Ok(v) => json!({"context": context, "projects": v["projects"], "namespaces": v["namespaces"]}),
                Err(e) => json!({"context": context, "error": e}),
            }
        }
    });
    Json(Value::Array(futures::future::join_all(each).await))
}

async fn projects_of(conn: &crate::cluster::Conn) -> Result<Value, String> {
    let api: Api<DynamicObject> =
        Api::all_with(conn.client.clone(), &ApiResource::erase::<argo_api::WorkflowProject>(&()));
    let list = api.list(&ListParams::default()).await.map_err(|e| conn.err(e).to_string())?;
    let objects: Vec<Value> = list.items.iter().filter_map(|o| serde_json::to_value(o).ok()).collect();
    let projects = argo_api::policy::Projects::from_objects(&objects);
    // Listing namespaces may be forbidden to this user: the rules still show.
    let namespaces: Api<Namespace> = Api::all(conn.client.clone());
    let governed = match namespaces.list_metadata(&ListParams::default()).await {
        Ok(list) => {
            let mut map: BTreeMap<String, Vec<String>> = BTreeMap::new();
            for ns in list.items.into_iter().filter_map(|n| n.metadata.name) {
                let key = match projects.select(&ns) {
                    Ok(p) => p.metadata.name.clone().unwrap_or_default(),
                    Err(problem) => format!("(none: {})", problem.message),
                };
                map.entry(key).or_default().push(ns);
            }
            json!(map)
        }
        Err(e) => json!({"error": conn.err(e).to_string()}),
    };
    let projects: Vec<Value> = objects
        .iter()
        .map(|o| json!({"name": o.pointer("/metadata/name"), "spec": o.get("spec")}))
        .collect();
    Ok(json!({"projects": projects, "namespaces": governed}))
}
