//! Where admission's work runs: deciding is CPU work (parsing, resolving,
//! rendering a pod per template), so it runs on the blocking pool, never
//! on the async workers that accept connections and do TLS. Small reviews
//! (every ordinary workflow) and large ones each have their own lane with
//! its own limit, so a few huge workflows (the webhook's worst case) wait
//! for each other and never hold up everyone else's creates; one large
//! review at a time also bounds the memory they take.

use std::time::Duration;

use axum::body::Bytes;
use axum::http::StatusCode;
use tokio::sync::Semaphore;

use super::{Admission, Endpoint, respond};

/// Reviews up to this size take the small lane.
pub const SMALL_REVIEW: usize = 256 * 1024;
/// How long a review may wait for its lane: under the apiserver's
/// webhook timeout (10 s by default, ours is 10 s), so the answer is
/// ours ("busy, retry") rather than a timeout.
const WAIT: Duration = Duration::from_secs(7);

pub struct Lanes {
    small: Semaphore,
    pub(super) large: Semaphore,
    wait: Duration,
}

impl Lanes {
    /// `max`: small reviews decided at once (the large lane takes one).
    pub fn new(max: usize) -> Lanes {
        Lanes::waiting(max, WAIT)
    }

    pub(super) fn waiting(max: usize, wait: Duration) -> Lanes {
        let cores = std::thread::available_parallelism().map_or(2, usize::from);
        Lanes {
            small: Semaphore::new(max.clamp(1, cores.max(1) * 4)),
            large: Semaphore::new(1),
            wait,
        }
    }

    pub async fn run(
        &self,
        endpoint: Endpoint,
        s: Admission,
        body: Bytes,
    ) -> Result<serde_json::Value, (StatusCode, String)> {
        let lane = if body.len() <= SMALL_REVIEW {
            &self.small
        } else {
            &self.large
        };
        let Ok(Ok(_permit)) = tokio::time::timeout(self.wait, lane.acquire()).await else {
            return busy(&body);
        };
        tokio::task::spawn_blocking(move || respond(endpoint, &s, &body))
            .await
            .unwrap_or_else(|_| Err((StatusCode::INTERNAL_SERVER_ERROR, "internal error deciding the review".into())))
    }
}

/// A denial that says the webhook is busy, for the review's uid (read
/// without building the rest of it).
fn busy(body: &[u8]) -> Result<serde_json::Value, (StatusCode, String)> {
    #[derive(serde::Deserialize)]
    struct Review {
        request: Request,
    }
    #[derive(serde::Deserialize)]
    struct Request {
        uid: String,
    }
    const WHY: &str = "the webhook is busy deciding other large workflows: retry in a moment";
    let review: Review =
        serde_json::from_slice(body).map_err(|e| (StatusCode::BAD_REQUEST, format!("not an AdmissionReview: {e}")))?;
    Ok(serde_json::json!({"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview", "response": {
        "uid": review.request.uid, "allowed": false,
        "status": {"code": 429, "reason": "TooManyRequests", "message": WHY}}}))
}
