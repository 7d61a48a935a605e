//! The plain-HTTP admin port: `/healthz`, `/readyz` and `/metrics`.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use tokio::sync::watch;

use crate::metrics::Metrics;

#[derive(Clone)]
pub struct Admin {
    pub metrics: Arc<Metrics>,
    /// The TLS port is bound.
    pub listening: Arc<AtomicBool>,
    /// The WorkflowProject cache has its first full list.
    pub synced: Arc<dyn Fn() -> bool + Send + Sync>,
}

pub fn router(admin: Admin) -> Router {
    Router::new()
        .route("/healthz", get(|| async { "ok" }))
        .route(
            "/readyz",
            get(|State(a): State<Admin>| async move {
                let (listening, synced) = (a.listening.load(Ordering::Acquire), (a.synced)());
                if listening && synced {
                    (StatusCode::OK, "ready".to_owned())
                } else {
                    (
                        StatusCode::SERVICE_UNAVAILABLE,
                        format!("not ready: listening {listening}, projects synced {synced}"),
                    )
                }
            }),
        )
        .route(
            "/metrics",
            get(|State(a): State<Admin>| async move {
                (
                    [
                        (
                            axum::http::header::CONTENT_TYPE,
                            "application/openmetrics-text; version=1.0.0; charset=utf-8",
                        ),
                    ],
                    a.metrics.encode(),
                )
            }),
        )
        .with_state(admin)
}

pub async fn serve(listener: tokio::net::TcpListener, admin: Admin, mut stop: watch::Receiver<bool>) {
    let shutdown = async move {
        let _ = stop.wait_for(|s| *s).await;
    };
    if let Err(e) = axum::serve(listener, router(admin)).with_graceful_shutdown(shutdown).await {
        tracing::error!(error = %e, "admin server failed");
    }
}
