//! The HTTP API (DESIGN.md §6): routes, shared state and error mapping.

mod disputes;
mod enclaves;
mod jobs;
mod ledger;
pub mod limits;
mod observe;
pub mod openapi;
mod ops;
mod reports;
pub mod server;
mod sse;
mod ui;
mod upload;

use std::sync::Arc;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::StatusCode;
use axum::routing::{get, post};
use metrics_exporter_prometheus::PrometheusHandle;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::trace::TraceLayer;
use verity_store::{BlobStore, JobQueue, Repository};

use crate::aggregator::Aggregator;
use crate::error::ApiError;
use crate::events::EventBus;
use crate::settings::NodeSettings;
use crate::uploads::UploadService;

/// What every handler can reach.
#[derive(Clone)]
pub struct AppState {
    /// Uploads and rounds.
    pub uploads: Arc<UploadService>,
    /// Report checking and consensus.
    pub aggregator: Arc<Aggregator>,
    /// Disputes, evidence and the stake economy.
    pub disputes: Arc<crate::disputes::DisputeService>,
    /// The database.
    pub repo: Arc<dyn Repository>,
    /// The queue.
    pub queue: Arc<dyn JobQueue>,
    /// The blob store.
    pub blobs: Arc<dyn BlobStore>,
    /// Job events.
    pub events: EventBus,
    /// Settings.
    pub settings: NodeSettings,
    /// The transparency log.
    pub ledger: Arc<crate::ledger::Ledger>,
    /// Renders `/metrics`.
    pub metrics: PrometheusHandle,
    /// Enclave attestations.
    pub attest: Arc<crate::attest::AttestationService>,
}

/// The router with every route and layer.
pub fn router(state: AppState) -> Router {
    let body_limit = state.settings.limits.max_bytes + 1024 * 1024;
    let http = state.settings.http.clone();
    let limited = |name: &'static str, rate: limits::RateLimit| {
        axum::middleware::from_fn_with_state(
            limits::Limiter::new(name, rate, http.rate_limit_loopback),
            limits::rate_limit,
        )
    };
    let body_timeouts = limits::BodyTimeouts {
        idle: http.body_idle_timeout,
        total: http.body_timeout,
    };
    Router::new()
        .merge(ui::routes())
        .merge(openapi::routes())
        .route(
            "/api/upload",
            post(upload::upload)
                .layer(DefaultBodyLimit::max(body_limit))
                .layer(limited("upload", http.upload_rate)),
        )
        .route("/api/job/{job_id}", get(jobs::get_job))
        .route("/api/jobs/{job_id}", get(jobs::get_job))
        .route("/api/jobs/{job_id}/events", get(sse::job_events))
        .route("/api/jobs/{job_id}/retry", post(jobs::retry_job))
        .route("/api/jobs/{job_id}/reports", get(jobs::job_reports))
        .route("/api/oracles", get(jobs::oracles))
        .route("/api/jobs/{job_id}/receipt", get(ledger::receipt))
        .route("/api/ledger/checkpoint", get(ledger::checkpoint))
        .route("/api/ledger/checkpoints", get(ledger::checkpoints))
        .route("/api/ledger/proof/{job_id}", get(ledger::proof))
        .route("/api/ledger/consistency", get(ledger::consistency))
        .route("/api/enclaves/reports", post(reports::submit_report))
        .route(
            "/api/enclaves/nonce",
            post(enclaves::nonce).layer(limited("nonce", http.nonce_rate)),
        )
        .route("/api/enclaves/register", post(enclaves::register))
        .route("/api/enclaves/started", post(enclaves::started))
        .route("/api/admin/attestation/reload", post(enclaves::reload))
        .route(
            "/api/dispute",
            post(disputes::open).layer(limited("dispute", http.dispute_rate)),
        )
        .route("/api/dispute/{job_id}", get(disputes::view))
        .route(
            "/api/evidence",
            post(disputes::evidence)
                .layer(DefaultBodyLimit::max(body_limit))
                .layer(limited("evidence", http.evidence_rate)),
        )
        .route("/api/equivocations", get(disputes::equivocations))
        .route("/api/stake", get(disputes::stake))
        .route("/api/admin/oracles", post(disputes::admin_register))
        .route("/api/admin/oracles/{id}/slash", post(disputes::admin_slash))
        .route("/api/admin/oracles/{id}/stake", post(disputes::admin_stake))
        .route(
            "/api/admin/oracles/{id}/withdraw",
            post(disputes::admin_withdraw),
        )
        .route("/api/admin/oracles/{id}/ban", post(disputes::admin_ban))
        .route("/api/admin/oracles/{id}/unban", post(disputes::admin_unban))
        .route("/health", get(ops::health))
        .route("/healthz", get(ops::health))
        .route("/readyz", get(ops::ready))
        .route("/metrics", get(ops::metrics))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(axum::middleware::from_fn(limits::json_errors))
        .layer(axum::middleware::from_fn_with_state(
            body_timeouts,
            limits::body_deadline,
        ))
        .layer(axum::middleware::from_fn(observe::track))
        .layer(DefaultBodyLimit::max(http.max_json_bytes))
        .layer(CatchPanicLayer::custom(|_| {
            ApiError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal",
                "internal error",
            )
            .into_response_body()
        }))
        .layer(PropagateRequestIdLayer::x_request_id())
        .layer(TraceLayer::new_for_http())
        .layer(SetRequestIdLayer::x_request_id(MakeRequestUuid))
        .with_state(state)
}

async fn not_found() -> ApiError {
    ApiError::not_found("route_not_found", "no such route")
}

async fn method_not_allowed() -> ApiError {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        "method not allowed on this route",
    )
}

impl ApiError {
    fn into_response_body(self) -> axum::response::Response {
        axum::response::IntoResponse::into_response(self)
    }
}
