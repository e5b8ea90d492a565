//! `POST /api/enclaves/reports`: signed enclave reports from remote workers.

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use serde_json::{Value, json};
use verity_core::SignedReport;
use verity_enclave::SubmitOutcome;

use super::AppState;
use crate::error::ApiError;

/// `POST /api/enclaves/reports`.
#[utoipa::path(post, path = "/api/enclaves/reports", tag = "enclaves",
    summary = "Submit a signed enclave report (remote workers)",
    request_body(content = crate::http::openapi::SignedReport, content_type = "application/json"),
    responses(
        (status = 202, description = "Accepted and counted", body = crate::http::openapi::ReportAccepted),
        (status = 200, description = "The same signed report was already stored", body = crate::http::openapi::ReportAccepted),
        (status = 400, description = "Malformed, badly signed, wrong media digest or dated in the future", body = crate::http::openapi::ErrorBody),
        (status = 403, description = "Unknown or banned enclave", body = crate::http::openapi::ErrorBody),
        (status = 404, description = "No such job", body = crate::http::openapi::ErrorBody),
        (status = 409, description = "Not on the round's committee, round closed, or equivocation (kept as proof)", body = crate::http::openapi::ErrorBody)))]
pub(super) async fn submit_report(
    State(state): State<AppState>,
    body: Bytes,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let signed: SignedReport = serde_json::from_slice(&body)
        .map_err(|e| ApiError::bad_request("bad_json", format!("not a signed report: {e}")))?;
    let outcome = state.aggregator.submit(&signed).await?;
    let (status, duplicate) = match outcome {
        SubmitOutcome::Accepted => (StatusCode::ACCEPTED, false),
        SubmitOutcome::Duplicate => (StatusCode::OK, true),
    };
    Ok((
        status,
        Json(
            json!({ "success": true, "reportDigest": signed.report.digest(), "duplicate": duplicate }),
        ),
    ))
}
