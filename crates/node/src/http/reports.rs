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
