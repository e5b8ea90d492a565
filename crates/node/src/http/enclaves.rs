//! Remote enclaves: `POST /api/enclaves/nonce`, `POST /api/enclaves/register`
//! and `POST /api/enclaves/started`; `POST /api/admin/attestation/reload`.
//!
//! A nonce is a fresh single-use challenge with an expiry: an enclave puts it
//! in its attestation (the Nitro document's `nonce`, or a dev statement's),
//! and registration accepts it once, unexpired, from this aggregator only.
//! Registration takes `{enclaveId, attestation}` (a `verity_crypto::Attestation`
//! document, `dev` or `nitro`): the attestation is verified under the
//! aggregator's attestation mode and the keys it binds are stored, with the
//! attestation's measurements and expiry (see [`crate::attest`]).
//! A "started" notice is signed by the enclave and only marks progress.
//! The reload endpoint (bearer `VERITY_ADMIN_TOKEN`) re-reads the PCR
//! allow-list and revokes enclaves it no longer allows.

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use serde::Deserialize;
use serde_json::{Value, json};
use verity_core::EnclaveId;
use verity_crypto::{Attestation, StartedNotice};

use super::AppState;
use crate::error::ApiError;

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct Registration {
    enclave_id: EnclaveId,
    attestation: Attestation,
}

/// `POST /api/enclaves/nonce`: a fresh single-use attestation challenge.
#[utoipa::path(post, path = "/api/enclaves/nonce", tag = "enclaves",
    summary = "Issue a fresh single-use nonce for an enclave's next attestation",
    description = "32 random bytes, hex, accepted once by `POST /api/enclaves/register` until \
        `expiresAt` (`VERITY_ATTESTATION_NONCE_TTL`). Registering an attestation that names a nonce \
        not issued here is refused (400 `attestation_nonce_unknown`), as is an expired one (400 \
        `attestation_nonce_expired`) or one already answered (409 `attestation_nonce_used`).",
    responses(
        (status = 201, description = "Issued", body = crate::http::openapi::NonceIssued),
        (status = 429, description = "Too many nonces for this address (`VERITY_RATE_NONCE`); see `Retry-After`", body = crate::http::openapi::ErrorBody)))]
pub(super) async fn nonce(
    State(state): State<AppState>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let issued = state.attest.issue_nonce().await?;
    Ok((
        StatusCode::CREATED,
        Json(json!({
            "success": true,
            "nonce": issued.nonce,
            "issuedAt": super::jobs::iso(issued.issued_at_ms),
            "expiresAt": super::jobs::iso(issued.expires_at_ms),
            "expiresInMs": issued.expires_at_ms.saturating_sub(issued.issued_at_ms),
        })),
    ))
}

/// `POST /api/enclaves/register`.
#[utoipa::path(post, path = "/api/enclaves/register", tag = "enclaves",
    summary = "Register an enclave with an attestation that binds its keys",
    request_body(content = crate::http::openapi::Registration, content_type = "application/json"),
    responses(
        (status = 200, description = "Registered (or re-registered)", body = crate::http::openapi::Registered),
        (status = 400, description = "Malformed, or the attestation does not verify, or its nonce is unknown or expired", body = crate::http::openapi::ErrorBody),
        (status = 409, description = "The attestation answers a nonce already used (`attestation_nonce_used`: a replay)", body = crate::http::openapi::ErrorBody)))]
pub(super) async fn register(
    State(state): State<AppState>,
    body: Bytes,
) -> Result<Json<Value>, ApiError> {
    let reg: Registration = serde_json::from_slice(&body).map_err(|e| {
        ApiError::bad_request(
            "bad_json",
            format!("not a registration {{enclaveId, attestation}}: {e}"),
        )
    })?;
    let registered = state
        .attest
        .register(&reg.enclave_id, &reg.attestation)
        .await?;
    let (oracle, record) = (registered.oracle, registered.record);
    tracing::info!(enclave = %oracle.enclave_id, attestation = oracle.attestation.as_str(), "enclave registered");
    Ok(Json(json!({
        "success": true,
        "enclaveId": oracle.enclave_id,
        "attestation": oracle.attestation.as_str(),
        "measurements": record.measurements,
        "verifiedAt": super::jobs::iso(record.verified_at_ms),
        "expiresAt": super::jobs::iso(record.expires_at_ms),
        "expiresInMs": record.expires_at_ms.saturating_sub(record.verified_at_ms),
        "reputation": oracle.reputation,
        "stake": oracle.stake,
        "banned": oracle.banned,
    })))
}

/// `POST /api/enclaves/started`.
#[utoipa::path(post, path = "/api/enclaves/started", tag = "enclaves",
    summary = "A signed notice that an enclave started on a job round (progress only)",
    request_body(content = crate::http::openapi::StartedNotice, content_type = "application/json"),
    responses(
        (status = 202, description = "Recorded", body = crate::http::openapi::Accepted),
        (status = 400, description = "Malformed or badly signed", body = crate::http::openapi::ErrorBody),
        (status = 403, description = "Unknown enclave", body = crate::http::openapi::ErrorBody),
        (status = 404, description = "No such job", body = crate::http::openapi::ErrorBody),
        (status = 409, description = "Not on the current round's committee", body = crate::http::openapi::ErrorBody)))]
pub(super) async fn started(
    State(state): State<AppState>,
    body: Bytes,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let notice: StartedNotice = serde_json::from_slice(&body)
        .map_err(|e| ApiError::bad_request("bad_json", format!("not a started notice: {e}")))?;
    let oracle = state
        .repo
        .oracle(&notice.enclave_id)
        .await?
        .ok_or_else(|| {
            ApiError::new(
                StatusCode::FORBIDDEN,
                "unknown_enclave",
                format!("{} is not a registered enclave", notice.enclave_id),
            )
        })?;
    notice
        .verify(&oracle.signing_key)
        .map_err(|e| ApiError::bad_request("bad_signature", format!("notice signature: {e}")))?;
    state
        .aggregator
        .started(&notice.job_id, notice.round, &notice.enclave_id)
        .await?;
    Ok((StatusCode::ACCEPTED, Json(json!({ "success": true }))))
}

/// `POST /api/admin/attestation/reload`: re-reads the PCR allow-list and
/// revokes enclaves it no longer allows.
#[utoipa::path(post, path = "/api/admin/attestation/reload", tag = "admin",
    summary = "Re-read the PCR allow-list and revoke enclaves it no longer allows (admin)",
    responses(
        (status = 200, description = "Reloaded", body = serde_json::Value),
        (status = 401, description = "Missing or wrong admin token", body = crate::http::openapi::ErrorBody),
        (status = 403, description = "Admin API disabled", body = crate::http::openapi::ErrorBody)))]
pub(super) async fn reload(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Json<Value>, ApiError> {
    let Some(token) = state.attest.config().admin_token.as_deref() else {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "admin_disabled",
            "admin endpoints are disabled: set VERITY_ADMIN_TOKEN (--admin-token)",
        ));
    };
    let presented = headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    if !presented.is_some_and(|p| constant_time_eq(p.as_bytes(), token.as_bytes())) {
        return Err(ApiError::new(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "a valid `Authorization: Bearer <VERITY_ADMIN_TOKEN>` header is required",
        ));
    }
    let outcome = state.attest.reload().await?;
    Ok(Json(json!({ "success": true, "reload": outcome })))
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}
