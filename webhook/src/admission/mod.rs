//! The HTTP side of admission: `/mutate` and `/validate` take an
//! AdmissionReview and answer with one. Anything that is not an
//! AdmissionReview gets a 4xx that says why; bodies over 3 MiB get 413.

mod lanes;
mod mutate;
mod validate;

use std::sync::Arc;
use std::time::Instant;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use kube::core::DynamicObject;
use kube::core::admission::{AdmissionRequest, AdmissionResponse, AdmissionReview};

use argo_api::policy;
use argo_api::templates::Source;

use crate::metrics::Metrics;
use crate::projects::ProjectSource;
pub use lanes::Lanes;

/// The apiserver refuses request bodies over 3 MiB; so do we.
pub const MAX_BODY: usize = 3 * 1024 * 1024;
/// Admission warnings longer than this are cut (the apiserver's limit).
const MAX_WARNING: usize = 120;

#[derive(Clone)]
pub struct Admission {
    pub projects: Arc<dyn ProjectSource>,
    /// Where referenced WorkflowTemplates are found.
    pub templates: Arc<dyn Source + Send + Sync>,
    /// The controller's user (`system:serviceaccount:NS:NAME`): the
    /// workflows it creates for CronWorkflows were checked, submitter
    /// included, when the CronWorkflow was written.
    pub controller_user: Option<String>,
    pub metrics: Arc<Metrics>,
}

/// The answer while the project cache has not been filled yet.
pub(crate) const NOT_SYNCED: &str = "the webhook has not read the WorkflowProjects yet (its cache is not synced), so it cannot decide: retry in a moment";

/// The policy request for an admission request.
pub(crate) fn request<'a>(
    req: &'a AdmissionRequest<DynamicObject>,
    subject: policy::Subject<'a>,
    projects: &'a policy::Projects,
    s: &'a Admission,
) -> policy::Request<'a> {
    let controller = s.controller_user.is_some() && req.user_info.username == s.controller_user;
    let cron_run = matches!(subject, policy::Subject::Workflow { object, .. }
        if object.pointer(&format!("/metadata/labels/{}", argo_api::keys::CRON_WORKFLOW.replace('/', "~1"))).is_some());
    policy::Request {
        subject,
        namespace: req.namespace.as_deref().unwrap_or_default(),
        user: (!(controller && cron_run)).then_some(&req.user_info),
        projects,
        templates: s.templates.as_ref(),
    }
}

pub fn router(state: Admission, max_concurrency: usize) -> Router {
    router_with(state, max_concurrency, Arc::new(Lanes::new(max_concurrency)))
}

fn router_with(state: Admission, max_concurrency: usize, lanes: Arc<Lanes>) -> Router {
    Router::new()
        .route("/mutate", post(mutate_handler))
        .route("/validate", post(validate_handler))
        .layer(DefaultBodyLimit::max(MAX_BODY))
        .layer(tower::limit::GlobalConcurrencyLimitLayer::new(max_concurrency.max(1)))
        .with_state((state, lanes))
}

type Shared = (Admission, Arc<Lanes>);

/// The apiserver says how long it waits for the answer (`?timeout=5s`).
#[derive(serde::Deserialize)]
struct Query {
    timeout: Option<String>,
}

impl Query {
    fn timeout(&self) -> Option<std::time::Duration> {
        self.timeout.as_deref().and_then(|t| argo_api::duration::parse(t).ok())
    }
}

async fn mutate_handler(State((s, lanes)): State<Shared>, q: axum::extract::Query<Query>, body: Bytes) -> Response {
    into_response(lanes.run(Endpoint::Mutate, s, body, q.timeout()).await)
}

async fn validate_handler(State((s, lanes)): State<Shared>, q: axum::extract::Query<Query>, body: Bytes) -> Response {
    into_response(lanes.run(Endpoint::Validate, s, body, q.timeout()).await)
}

fn into_response(r: Result<serde_json::Value, (StatusCode, String)>) -> Response {
    match r {
        Ok(review) => axum::Json(review).into_response(),
        Err(e) => e.into_response(),
    }
}

type Decide = fn(&AdmissionRequest<DynamicObject>, &Objects, &Admission) -> AdmissionResponse;

/// The request's objects as JSON, moved out of it (not copied: a review
/// may carry megabytes).
pub(crate) struct Objects {
    pub object: serde_json::Value,
    pub old: serde_json::Value,
}

impl Objects {
    fn take(req: &mut AdmissionRequest<DynamicObject>) -> Objects {
        Objects {
            object: req.object.take().map_or(serde_json::Value::Null, into_value),
            old: req.old_object.take().map_or(serde_json::Value::Null, into_value),
        }
    }
}

/// The object as the apiserver sent it: its type, metadata and the rest.
fn into_value(o: DynamicObject) -> serde_json::Value {
    let mut map = match o.data {
        serde_json::Value::Object(m) => m,
        _ => serde_json::Map::new(),
    };
    if let Some(t) = o.types {
        map.insert("apiVersion".into(), t.api_version.into());
        map.insert("kind".into(), t.kind.into());
    }
    map.insert("metadata".into(), serde_json::to_value(o.metadata).unwrap_or_default());
    serde_json::Value::Object(map)
}

#[derive(Clone, Copy, Debug)]
pub enum Endpoint {
    Mutate,
    Validate,
}

/// The whole of admission for one request body: the AdmissionReview to
/// answer with, or the 4xx to give a body that is not one. Never panics
/// (fuzzed: webhook/fuzz).
pub fn respond(endpoint: Endpoint, s: &Admission, body: &[u8]) -> Result<serde_json::Value, (StatusCode, String)> {
    let started = Instant::now();
    let (operation, decide): (&str, Decide) = match endpoint {
        Endpoint::Mutate => ("mutate", mutate::decide),
        Endpoint::Validate => ("validate", validate::decide),
    };
    let mut request = match parse(body) {
        Ok(r) => r,
        Err(why) => {
            s.metrics.observe(operation, "invalid", started.elapsed());
            // With a uid to answer to, the answer is a denial saying why.
            return match uid_of(body) {
                Some(uid) => Ok(refusal(&uid, 400, "BadRequest", &why)),
                None => Err((StatusCode::BAD_REQUEST, why)),
            };
        }
    };
    let objects = Objects::take(&mut request);
    let response = decide(&request, &objects, s);
    let result = if response.allowed { "allowed" } else { "denied" };
    s.metrics.observe(operation, result, started.elapsed());
    Ok(encode(response.into_review()))
}

/// The review as JSON, with the patch base64-encoded as the API defines
/// `[]byte` fields (kube serializes it as a list of numbers).
fn encode(review: AdmissionReview<DynamicObject>) -> serde_json::Value {
    use base64::Engine;
    let mut v = serde_json::to_value(review).unwrap_or_default();
    if let Some(patch) = v.pointer_mut("/response/patch")
        && let Some(bytes) =
            patch.as_array().map(|a| a.iter().filter_map(|b| b.as_u64()).map(|b| b as u8).collect::<Vec<u8>>())
    {
        *patch = serde_json::Value::String(base64::engine::general_purpose::STANDARD.encode(bytes));
    }
    v
}

fn parse(body: &[u8]) -> Result<AdmissionRequest<DynamicObject>, String> {
    if body.is_empty() {
        return Err("empty body: expected an admission.k8s.io/v1 AdmissionReview".into());
    }
    let review: AdmissionReview<DynamicObject> = serde_json::from_slice(body).map_err(|e| {
        if e.to_string().contains("recursion limit") {
            "the object is nested too deep to read (objects and lists within one another, about 128 levels): flatten it, e.g. name templates instead of nesting them inline".to_owned()
        } else {
            format!("not an AdmissionReview: {e}")
        }
    })?;
    review.try_into().map_err(|_| "the AdmissionReview has no request".to_owned())
}

/// The uid of a review, read without building the rest of it (serde_json
/// skips what it ignores without recursion, however deep).
pub(crate) fn uid_of(body: &[u8]) -> Option<String> {
    #[derive(serde::Deserialize)]
    struct Review {
        request: Request,
    }
    #[derive(serde::Deserialize)]
    struct Request {
        uid: String,
    }
    serde_json::from_slice::<Review>(body).ok().map(|r| r.request.uid).filter(|u| !u.is_empty())
}

/// A denial of review `uid` built by hand, for reviews that cannot be read.
pub(crate) fn refusal(uid: &str, code: u16, reason: &str, message: &str) -> serde_json::Value {
    serde_json::json!({"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview", "response": {
        "uid": uid, "allowed": false, "status": {"code": code, "reason": reason, "message": message}}})
}

/// A denial listing every problem, one per line, each with its path.
pub(crate) fn deny(
    req: &AdmissionRequest<DynamicObject>,
    what: &str,
    problems: &[argo_api::Problem],
) -> AdmissionResponse {
    let mut message = format!("{what}: {} problem{}:", problems.len(), if problems.len() == 1 { "" } else { "s" });
    for p in problems {
        message.push_str("\n  ");
        message.push_str(&p.to_string());
    }
    let mut response = AdmissionResponse::from(req).deny(message);
    response.result.code = 403;
    response.result.reason = "Forbidden".into();
    response
}

pub(crate) fn with_warnings(mut response: AdmissionResponse, warnings: &[argo_api::Problem]) -> AdmissionResponse {
    if !warnings.is_empty() {
        response.warnings = Some(
            warnings
                .iter()
                .map(|w| {
                    let text = w.to_string();
                    if text.chars().count() <= MAX_WARNING {
                        text
                    } else {
                        let cut: String = text.chars().take(MAX_WARNING - 3).collect();
                        format!("{cut}...")
                    }
                })
                .collect(),
        );
    }
    response
}

/// Which of our kinds a request is about.
pub(crate) fn kind(req: &AdmissionRequest<DynamicObject>) -> Option<&'static str> {
    if req.kind.group != "argoproj.io" {
        return None;
    }
    match req.kind.kind.as_str() {
        "Workflow" => Some("Workflow"),
        "WorkflowProject" => Some("WorkflowProject"),
        "WorkflowTemplate" => Some("WorkflowTemplate"),
        "ClusterWorkflowTemplate" => Some("ClusterWorkflowTemplate"),
        "CronWorkflow" => Some("CronWorkflow"),
        _ => None,
    }
}

#[cfg(test)]
mod tests;
