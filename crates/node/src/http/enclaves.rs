//! Remote enclaves: `POST /api/enclaves/register` and `POST /api/enclaves/started`.
//!
//! Registration takes `{enclaveId, attestation}` (a `verity_crypto::Attestation`
//! document): the attestation is verified and the keys it binds are stored.
//! A "started" notice is signed by the enclave and only marks progress.

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use serde::Deserialize;
use serde_json::{Value, json};
use verity_core::EnclaveId;
use verity_crypto::{Attestation, StartedNotice};
use verity_store::OracleRegistration;

use super::AppState;
use crate::error::ApiError;

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct Registration {
    enclave_id: EnclaveId,
    attestation: Attestation,
}

/// `POST /api/enclaves/register`.
#[utoipa::path(post, path = "/api/enclaves/register", tag = "enclaves",
    summary = "Register an enclave with an attestation that binds its keys",
    request_body(content = crate::http::openapi::Registration, content_type = "application/json"),
    responses(
        (status = 200, description = "Registered (or re-registered)", body = crate::http::openapi::Registered),
        (status = 400, description = "Malformed, or the attestation does not verify", body = crate::http::openapi::ErrorBody)))]
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
    let keys = reg.attestation.verify(&reg.enclave_id).map_err(|e| {
        ApiError::bad_request("bad_attestation", format!("attestation refused: {e}"))
    })?;
    let document = serde_json::to_string(&reg.attestation)
        .map_err(|e| ApiError::bad_request("bad_attestation", e.to_string()))?;
    let oracle = state
        .repo
        .register_oracle(&OracleRegistration {
            enclave_id: reg.enclave_id.clone(),
            signing_key: keys.signing.to_vec(),
            encryption_key: keys.encryption.to_vec(),
            attestation_kind: reg.attestation.kind(),
            attestation: document,
            initial_stake: state.settings.oracle_stake,
            initial_reputation: state.settings.oracle_reputation,
        })
        .await?;
    tracing::info!(enclave = %oracle.enclave_id, attestation = oracle.attestation.as_str(), "enclave registered");
    Ok(Json(json!({
        "success": true,
        "enclaveId": oracle.enclave_id,
        "attestation": oracle.attestation.as_str(),
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
