//! The plain-HTTP admin port: `/healthz` (the process answers), `/readyz`
//! (the `Readiness` checks) and `/metrics` (Prometheus text).

use std::sync::Arc;

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use tokio::sync::watch;

use crate::ready::Readiness;

/// Renders the metrics in the OpenMetrics text format.
pub type Metrics = Arc<dyn Fn() -> String + Send + Sync>;

#[derive(Clone)]
struct Admin {
    ready: Readiness,
    metrics: Metrics,
}

pub fn router(ready: Readiness, metrics: Metrics) -> Router {
    Router::new()
        .route("/healthz", get(|| async { "ok" }))
        .route(
            "/readyz",
            get(|State(a): State<Admin>| async move {
                match a.ready.report() {
                    Ok(m) => (StatusCode::OK, m),
                    Err(m) => (StatusCode::SERVICE_UNAVAILABLE, m),
                }
            }),
        )
        .route(
            "/metrics",
            get(|State(a): State<Admin>| async move {
                let content_type = "application/openmetrics-text; version=1.0.0; charset=utf-8";
                ([(axum::http::header::CONTENT_TYPE, content_type)], (a.metrics)())
            }),
        )
        .with_state(Admin { ready, metrics })
}

/// Serves the admin port until `stop` turns true.
pub async fn serve(
    listener: tokio::net::TcpListener,
    ready: Readiness,
    metrics: Metrics,
    mut stop: watch::Receiver<bool>,
) {
    let shutdown = async move {
        let _ = stop.wait_for(|s| *s).await;
    };
    if let Err(e) = axum::serve(listener, router(ready, metrics)).with_graceful_shutdown(shutdown).await {
        tracing::error!(error = %e, "admin server failed");
    }
}
