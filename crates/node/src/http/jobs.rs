//! Job and oracle views.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde_json::{Value, json};
use verity_core::{JobId, JobStatus};
use verity_store::JobRecord;

use super::AppState;
use crate::error::ApiError;

/// Parses a job id from the path (400 when malformed).
pub(super) fn parse_job_id(raw: &str) -> Result<JobId, ApiError> {
    raw.parse()
        .map_err(|e: verity_core::IdError| ApiError::bad_request("bad_job_id", e.to_string()))
}

pub(super) async fn load_job(state: &AppState, raw: &str) -> Result<JobRecord, ApiError> {
    let id = parse_job_id(raw)?;
    state
        .repo
        .job(&id)
        .await?
        .ok_or_else(|| ApiError::not_found("job_not_found", format!("no job {id}")))
}

/// RFC 3339 with milliseconds, as the seed's clients read dates.
pub(super) fn iso(ms: u64) -> String {
    humantime::format_rfc3339_millis(std::time::UNIX_EPOCH + std::time::Duration::from_millis(ms))
        .to_string()
}

/// `GET /api/job/:jobId` (and `/api/jobs/:jobId`).
#[utoipa::path(get, path = "/api/jobs/{jobId}", tag = "jobs",
    summary = "A job: status, progress and, once decided, the signed final report",
    params(("jobId" = String, Path, description = "A job id, `job_` followed by a ULID")),
    responses(
        (status = 200, description = "The job", body = crate::http::openapi::Job),
        (status = 400, description = "Malformed job id", body = crate::http::openapi::ErrorBody),
        (status = 404, description = "No such job", body = crate::http::openapi::ErrorBody)))]
pub(super) async fn get_job(
    State(state): State<AppState>,
    Path(raw): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let job = load_job(&state, &raw).await?;
    let reports = state.repo.reports(&job.job_id, job.round).await?.len();
    let progress = progress(&job, reports);
    let mut body = json!({
        "success": true,
        "jobId": job.job_id,
        "status": job.status,
        "progress": progress,
        "round": job.round,
        "createdAt": iso(job.created_ms),
        "updatedAt": iso(job.updated_ms),
        "mediaHash": job.media_sha256,
        "mediaCID": job.blob_id,
        "storageProvider": job.storage,
        "mimeType": job.mime,
        "width": job.width,
        "height": job.height,
        "committee": job.committee,
        "reportsReceived": reports,
        "deadline": iso(job.deadline_ms),
    });
    if let Some(user) = &job.user_id {
        body["userId"] = json!(user);
    }
    if let Some(reason) = &job.failure_reason {
        body["failureReason"] = json!(reason);
        body["retryable"] = json!(job.status == JobStatus::Failed);
    }
    if let Some(report) = &job.final_report {
        body["report"] =
            serde_json::to_value(report).map_err(|e| ApiError::unavailable(e.to_string()))?;
    }
    if job.status == JobStatus::Disputed {
        // The report shown is the disputed round's; the re-verification may replace it.
        body["verdictMayChange"] = json!(true);
        if let Some(report) = body.get_mut("report") {
            report["mayChange"] = json!(true);
        }
        body["dispute"] = json!(format!("/api/dispute/{}", job.job_id));
    }
    Ok(Json(body))
}

/// 0–100: queued 5, each report up to 90, decided 100.
fn progress(job: &JobRecord, reports: usize) -> u32 {
    match job.status {
        JobStatus::Completed | JobStatus::Failed => 100,
        JobStatus::Pending if reports == 0 => 5,
        _ => {
            let members = job.committee.len().max(1);
            10 + (80 * reports.min(members) / members) as u32
        }
    }
}

/// `GET /api/jobs/:jobId/reports`: the signed enclave reports of the current round.
#[utoipa::path(get, path = "/api/jobs/{jobId}/reports", tag = "jobs",
    summary = "The signed enclave reports of the job's current round",
    params(("jobId" = String, Path, description = "A job id, `job_` followed by a ULID")),
    responses(
        (status = 200, description = "The reports", body = crate::http::openapi::ReportsView),
        (status = 400, description = "Malformed job id", body = crate::http::openapi::ErrorBody),
        (status = 404, description = "No such job", body = crate::http::openapi::ErrorBody)))]
pub(super) async fn job_reports(
    State(state): State<AppState>,
    Path(raw): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let job = load_job(&state, &raw).await?;
    let reports: Vec<_> = state
        .repo
        .reports(&job.job_id, job.round)
        .await?
        .into_iter()
        .map(|r| r.signed)
        .collect();
    Ok(Json(
        json!({ "success": true, "jobId": job.job_id, "round": job.round, "reports": reports }),
    ))
}

/// `POST /api/jobs/:jobId/retry`: a new round for a failed job.
#[utoipa::path(post, path = "/api/jobs/{jobId}/retry", tag = "jobs",
    summary = "Start a new round for a FAILED job",
    params(("jobId" = String, Path, description = "A job id, `job_` followed by a ULID")),
    responses(
        (status = 202, description = "A new round is queued", body = crate::http::openapi::RetryAccepted),
        (status = 400, description = "Malformed job id", body = crate::http::openapi::ErrorBody),
        (status = 404, description = "No such job", body = crate::http::openapi::ErrorBody),
        (status = 409, description = "The job is not FAILED", body = crate::http::openapi::ErrorBody)))]
pub(super) async fn retry_job(
    State(state): State<AppState>,
    Path(raw): Path<String>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let id = parse_job_id(&raw)?;
    let job = state.uploads.retry(&id).await?;
    Ok((
        StatusCode::ACCEPTED,
        Json(
            json!({ "success": true, "jobId": job.job_id, "round": job.round, "status": job.status }),
        ),
    ))
}

/// `GET /api/oracles`.
#[utoipa::path(get, path = "/api/oracles", tag = "oracles",
    summary = "Every registered enclave: keys, reputation, stake, weight, slashes, ban, attestation",
    responses((status = 200, description = "The oracles", body = crate::http::openapi::OraclesView)))]
pub(super) async fn oracles(State(state): State<AppState>) -> Result<Json<Value>, ApiError> {
    let attestations: std::collections::HashMap<_, _> = state
        .attest
        .records()
        .await?
        .into_iter()
        .map(|r| (r.enclave_id.clone(), r))
        .collect();
    let counted: std::collections::HashMap<_, _> = state
        .disputes
        .store()
        .reports_counted()
        .await?
        .into_iter()
        .collect();
    let now = verity_store::now_ms();
    let oracles: Vec<Value> = state
        .repo
        .oracles()
        .await?
        .into_iter()
        .map(|o| {
            json!({
                "enclaveId": o.enclave_id,
                "reputation": o.reputation,
                "stake": o.stake,
                "weight": o.weight(),
                "slashes": o.slashes,
                "reportsCounted": counted.get(&o.enclave_id).copied().unwrap_or(0),
                "banned": o.banned,
                "banReason": o.ban_reason,
                "attestation": o.attestation,
                "signingKey": verity_core::report::hex_encode(&o.signing_key),
                "encryptionKey": verity_core::report::hex_encode(&o.encryption_key),
                "registeredAt": iso(o.registered_at_ms),
                "attestationStatus": attestations.get(&o.enclave_id).map(|r| json!({
                    "kind": r.kind,
                    "pcr0Prefix": r.pcr0.as_deref().map(|p| &p[..p.len().min(16)]),
                    "debug": r.measurements.get("debug"),
                    "verifiedAt": iso(r.verified_at_ms),
                    "expiresAt": iso(r.expires_at_ms),
                    "revokedAt": r.revoked_at_ms.map(iso),
                    "revokeReason": r.revoke_reason,
                    "valid": r.is_valid_at(now) && r.signing_key == o.signing_key
                        && state.attest.mode().allows(r.kind),
                })),
            })
        })
        .collect();
    Ok(Json(json!({ "success": true, "oracles": oracles })))
}
