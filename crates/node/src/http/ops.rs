//! Operations: liveness, readiness, metrics.

use axum::Json;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use serde_json::{Value, json};

use super::AppState;

/// `GET /health` (alias `/healthz`): liveness.
#[utoipa::path(get, path = "/health", tag = "operations", summary = "Liveness",
    responses((status = 200, description = "The process is up", body = crate::http::openapi::Health)))]
pub(super) async fn health() -> Json<Value> {
    Json(json!({ "status": "ok", "version": env!("CARGO_PKG_VERSION") }))
}

/// 200 when the database, the queue and the blob store answer; 503 otherwise.
#[utoipa::path(get, path = "/readyz", tag = "operations", summary = "Readiness: database, queue and blob store reachable",
    responses(
        (status = 200, description = "Ready", body = crate::http::openapi::Ready),
        (status = 503, description = "A dependency does not answer", body = crate::http::openapi::Ready)))]
pub(super) async fn ready(State(state): State<AppState>) -> (StatusCode, Json<Value>) {
    let (db, queue, blobs) =
        tokio::join!(state.repo.ping(), state.queue.ping(), state.blobs.ping());
    let check = |r: &Result<(), verity_store::StoreError>| match r {
        Ok(()) => json!({ "ok": true }),
        Err(e) => json!({ "ok": false, "error": e.to_string() }),
    };
    let ok = db.is_ok() && queue.is_ok() && blobs.is_ok();
    let status = if ok {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (
        status,
        Json(
            json!({ "ready": ok, "checks": { "database": check(&db), "queue": check(&queue), "blobStore": check(&blobs) } }),
        ),
    )
}

/// `GET /metrics`: Prometheus text format.
#[utoipa::path(get, path = "/metrics", tag = "operations", summary = "Prometheus metrics (text exposition format 0.0.4)",
    responses((status = 200, description = "Metrics", content_type = "text/plain; version=0.0.4", body = String)))]
pub(super) async fn metrics(State(state): State<AppState>) -> impl IntoResponse {
    if let Ok(counts) = state.repo.job_counts().await {
        for (status, n) in counts {
            metrics::gauge!("verity_jobs", "status" => status.as_str()).set(n as f64);
        }
    }
    if let Ok(stats) = state.queue.stats().await {
        metrics::gauge!("verity_queue_tasks", "state" => "ready").set(stats.ready as f64);
        metrics::gauge!("verity_queue_tasks", "state" => "leased").set(stats.leased as f64);
        metrics::gauge!("verity_queue_tasks", "state" => "dead").set(stats.dead as f64);
    }
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        state.metrics.render(),
    )
}
