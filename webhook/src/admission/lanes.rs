//! Where admission's work runs. An ordinary review (a few kilobytes) is
//! decided where it arrives, in well under a millisecond: handing it to
//! another thread would cost more than deciding it. Anything larger is CPU
//! work that grows with its size (parsing, resolving, rendering a pod per
//! template), so it runs on the blocking pool, never on the async workers
//! that accept connections and do TLS, in one of two lanes with limits of
//! their own: up to 256 KiB as many at once as there are cores, above it
//! one at a time. A tenant's huge workflows (the webhook's worst case)
//! wait for each other and never hold up everyone else's creates, and one
//! at a time also bounds the memory they take.

use std::time::Duration;

use axum::body::Bytes;
use axum::http::StatusCode;
use tokio::sync::Semaphore;

use super::{Admission, Endpoint, respond};

/// Reviews up to this size are decided on the spot.
pub const INLINE_REVIEW: usize = 32 * 1024;
/// Reviews up to this size take the small lane, larger ones the large.
pub const SMALL_REVIEW: usize = 256 * 1024;
/// How long a review may wait for its lane when the apiserver does not
/// say how long it waits (it sends `?timeout=`; ours are 5 s): the answer
/// is then ours ("busy, retry") rather than a timeout.
const WAIT: Duration = Duration::from_secs(4);
/// Kept of the apiserver's timeout for deciding and answering.
const MARGIN: Duration = Duration::from_secs(1);

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
            small: Semaphore::new(max.clamp(1, cores.max(1))),
            large: Semaphore::new(1),
            wait,
        }
    }

    /// Decides the review once its lane lets it; `deadline`: how long the
    /// apiserver waits for the answer, when it said.
    pub async fn run(
        &self,
        endpoint: Endpoint,
        s: Admission,
        body: Bytes,
        deadline: Option<Duration>,
    ) -> Result<serde_json::Value, (StatusCode, String)> {
        if body.len() <= INLINE_REVIEW {
            return respond(endpoint, &s, &body);
        }
        let lane = if body.len() <= SMALL_REVIEW {
            &self.small
        } else {
            &self.large
        };
        let wait = deadline.map_or(self.wait, |d| d.saturating_sub(MARGIN).max(Duration::from_millis(100)));
        let Ok(Ok(_permit)) = tokio::time::timeout(wait, lane.acquire()).await else {
            return busy(&body);
        };
        let large = body.len() > SMALL_REVIEW;
        tokio::task::spawn_blocking(move || {
            let answer = respond(endpoint, &s, &body);
            drop(body);
            if large {
                give_back_memory();
            }
            answer
        })
        .await
        .unwrap_or_else(|_| Err((StatusCode::INTERNAL_SERVER_ERROR, "internal error deciding the review".into())))
    }
}

/// A denial that says the webhook is busy, for the review's uid.
fn busy(body: &[u8]) -> Result<serde_json::Value, (StatusCode, String)> {
    const WHY: &str = "the webhook is busy deciding other large workflows: retry in a moment";
    match super::uid_of(body) {
        Some(uid) => Ok(super::refusal(&uid, 429, "TooManyRequests", WHY)),
        None => Err((StatusCode::BAD_REQUEST, "not an AdmissionReview: no request.uid".into())),
    }
}

/// A large review builds (and frees) tens of megabytes of small objects;
/// glibc keeps freed memory in its arenas until told to return it, so the
/// webhook would stay at its worst review's size. musl returns it itself.
#[allow(unsafe_code)]
fn give_back_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim takes no pointer and only releases free memory.
    unsafe {
        libc::malloc_trim(0);
    }
}
