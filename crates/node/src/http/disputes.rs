//! Disputes and the stake economy over HTTP (docs/DISPUTES.md):
//! `POST /api/dispute`, `GET /api/dispute/{jobId}`, `POST /api/evidence`,
//! `GET /api/equivocations`, `GET /api/stake`, and the admin routes under
//! `/api/admin/oracles` (bearer token `VERITY_ADMIN_TOKEN`; 401 without it).

use axum::Json;
use axum::body::Bytes;
use axum::extract::multipart::{Multipart, MultipartRejection};
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use bytes::BytesMut;
use serde::Deserialize;
use serde_json::{Value, json};
use verity_core::stake::{Account, Ledger};
use verity_core::{EnclaveId, Oracle};
use verity_crypto::Attestation;
use verity_store::OracleRegistration;

use super::AppState;
use super::jobs::parse_job_id;
use crate::disputes::{DisputeAccepted, DisputeService, EvidenceAccepted};
use crate::error::ApiError;

/// `POST /api/dispute`.
#[utoipa::path(post, path = "/api/dispute", tag = "disputes",
    summary = "Dispute a verdict: post a bond and queue a re-verification",
    request_body = serde_json::Value,
    responses(
        (status = 202, description = "Dispute accepted", body = serde_json::Value),
        (status = 400, description = "Bad input", body = crate::http::openapi::ErrorBody),
        (status = 404, description = "Unknown job", body = crate::http::openapi::ErrorBody),
        (status = 409, description = "Not completed, already disputed or outside the window", body = crate::http::openapi::ErrorBody),
        (status = 413, description = "Body larger than `VERITY_MAX_JSON_BYTES`", body = crate::http::openapi::ErrorBody),
        (status = 429, description = "Too many disputes from this address (`VERITY_RATE_DISPUTE`); see `Retry-After`", body = crate::http::openapi::ErrorBody)))]
pub(super) async fn open(
    State(state): State<AppState>,
    body: Result<Bytes, axum::extract::rejection::BytesRejection>,
) -> Result<(StatusCode, Json<DisputeAccepted>), ApiError> {
    let body = body.map_err(body_error)?;
    let request = DisputeService::parse_request(&body)?;
    let accepted = state.disputes.open(request).await?;
    Ok((StatusCode::ACCEPTED, Json(accepted)))
}

fn body_error(e: axum::extract::rejection::BytesRejection) -> ApiError {
    let status = e.status();
    if status == StatusCode::PAYLOAD_TOO_LARGE {
        ApiError::new(
            status,
            "body_too_large",
            "the request body is larger than VERITY_MAX_JSON_BYTES (64 KiB by default)",
        )
    } else {
        ApiError::bad_request("bad_body", e.body_text())
    }
}

/// `GET /api/dispute/{jobId}`.
#[utoipa::path(get, path = "/api/dispute/{jobId}", tag = "disputes",
    summary = "A job's dispute: state, rounds, slashes, bond movements",
    params(("jobId" = String, Path, description = "A job id, `job_` followed by a ULID")),
    responses(
        (status = 200, description = "The dispute", body = serde_json::Value),
        (status = 400, description = "Malformed job id", body = crate::http::openapi::ErrorBody),
        (status = 404, description = "No dispute for this job", body = crate::http::openapi::ErrorBody)))]
pub(super) async fn view(
    State(state): State<AppState>,
    Path(raw): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let id = parse_job_id(&raw)?;
    Ok(Json(state.disputes.view(&id).await?))
}

/// `POST /api/evidence`: multipart field `file`.
#[utoipa::path(post, path = "/api/evidence", tag = "disputes",
    summary = "Upload an evidence file (multipart `file`)",
    responses(
        (status = 201, description = "Evidence stored; its id is a valid evidenceCID", body = serde_json::Value),
        (status = 400, description = "Bad input", body = crate::http::openapi::ErrorBody),
        (status = 413, description = "Too large", body = crate::http::openapi::ErrorBody),
        (status = 415, description = "Not an image", body = crate::http::openapi::ErrorBody),
        (status = 429, description = "Too many evidence uploads from this address (`VERITY_RATE_EVIDENCE`); see `Retry-After`", body = crate::http::openapi::ErrorBody)))]
pub(super) async fn evidence(
    State(state): State<AppState>,
    multipart: Result<Multipart, MultipartRejection>,
) -> Result<(StatusCode, Json<EvidenceAccepted>), ApiError> {
    let mut multipart = multipart.map_err(|e| {
        ApiError::bad_request(
            "bad_multipart",
            format!("expected multipart/form-data with a `file` field: {e}"),
        )
    })?;
    let max = state.settings.limits.max_bytes;
    let bad = |e: axum::extract::multipart::MultipartError| {
        if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "file_too_large",
                "the request body exceeds the upload limit",
            )
        } else {
            ApiError::bad_request(
                "bad_multipart",
                format!("malformed multipart body: {}", e.body_text()),
            )
        }
    };
    let mut file = None;
    while let Some(mut field) = multipart.next_field().await.map_err(bad)? {
        if field.name() == Some("file") && file.is_none() {
            let mut buf = BytesMut::new();
            while let Some(chunk) = field.chunk().await.map_err(bad)? {
                if buf.len() + chunk.len() > max {
                    return Err(ApiError::new(
                        StatusCode::PAYLOAD_TOO_LARGE,
                        "file_too_large",
                        format!("the file exceeds the {max}-byte limit"),
                    ));
                }
                buf.extend_from_slice(&chunk);
            }
            file = Some(buf.freeze());
        } else {
            while field.chunk().await.map_err(bad)?.is_some() {}
        }
    }
    let file = file.ok_or_else(|| {
        ApiError::bad_request("missing_file", "the multipart body has no `file` field")
    })?;
    let accepted = state.disputes.upload_evidence(file).await?;
    Ok((StatusCode::CREATED, Json(accepted)))
}

/// `GET /api/equivocations`: every proof, with both signed reports.
#[utoipa::path(get, path = "/api/equivocations", tag = "disputes",
    summary = "Equivocation proofs (two signed reports, same enclave and round)",
    responses(
        (status = 200, description = "The proofs", body = serde_json::Value)))]
pub(super) async fn equivocations(State(state): State<AppState>) -> Result<Json<Value>, ApiError> {
    let proofs: Vec<Value> = state
        .disputes
        .store()
        .equivocations()
        .await?
        .into_iter()
        .map(|p| {
            json!({
                "id": p.id, "jobId": p.job_id, "round": p.round, "enclaveId": p.enclave_id,
                "firstDigest": p.first.report.digest(), "secondDigest": p.second.report.digest(),
                "firstReport": p.first, "secondReport": p.second,
                "detectedAt": p.detected_ms,
            })
        })
        .collect();
    Ok(Json(json!({ "success": true, "equivocations": proofs })))
}

/// `GET /api/stake`: the ledger, derived balances, the conservation check and locks.
#[utoipa::path(get, path = "/api/stake", tag = "oracles",
    summary = "The stake ledger and balances",
    responses(
        (status = 200, description = "Ledger entries and balances", body = serde_json::Value)))]
pub(super) async fn stake(State(state): State<AppState>) -> Result<Json<Value>, ApiError> {
    let entries = state.disputes.store().ledger(None).await?;
    let ledger = Ledger::replay(entries.iter().map(|e| &e.movement))
        .map_err(|e| ApiError::unavailable(format!("the stake ledger does not replay: {e}")))?;
    let mut oracles = Vec::new();
    for o in state.repo.oracles().await? {
        let locked_by = state.disputes.locks(&o.enclave_id).await?;
        oracles.push(json!({
            "enclaveId": o.enclave_id,
            "stake": ledger.balance(&Account::Oracle(o.enclave_id.clone())),
            "slashes": o.slashes, "banned": o.banned, "banReason": o.ban_reason,
            "reputation": o.reputation, "lockedBy": locked_by,
        }));
    }
    let balances: serde_json::Map<String, Value> = ledger
        .balances()
        .iter()
        .map(|(a, b)| (a.to_string(), json!(b)))
        .collect();
    Ok(Json(json!({
        "success": true,
        "total": ledger.total() as u64,
        "deposited": ledger.expected_total() as u64,
        "conserved": ledger.total() == ledger.expected_total(),
        "balances": balances,
        "oracles": oracles,
        "entries": entries.iter().map(|e| json!({
            "id": e.id, "kind": e.movement.kind, "from": e.movement.from, "to": e.movement.to,
            "amount": e.movement.amount, "reason": e.movement.reason, "disputeId": e.dispute_id,
            "at": e.at_ms,
        })).collect::<Vec<_>>(),
    })))
}

/// 401 unless the request carries the admin token.
fn authorize(state: &AppState, headers: &HeaderMap) -> Result<(), ApiError> {
    let unauthorized = |why: &str| ApiError::new(StatusCode::UNAUTHORIZED, "unauthorized", why);
    let Some(expected) = state.disputes.settings().admin_token.as_deref() else {
        return Err(unauthorized(
            "the admin API is disabled: start the server with VERITY_ADMIN_TOKEN",
        ));
    };
    let given = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or("");
    // Constant-time comparison.
    let same = given.len() == expected.len()
        && given
            .bytes()
            .zip(expected.bytes())
            .fold(0u8, |acc, (a, b)| acc | (a ^ b))
            == 0;
    if same {
        Ok(())
    } else {
        Err(unauthorized(
            "missing or wrong admin token (Authorization: Bearer …)",
        ))
    }
}

fn parse_enclave(raw: &str) -> Result<EnclaveId, ApiError> {
    raw.parse()
        .map_err(|e: verity_core::IdError| ApiError::bad_request("bad_enclave_id", e.to_string()))
}

fn parse_body<T: for<'de> Deserialize<'de>>(body: &[u8], what: &str) -> Result<T, ApiError> {
    serde_json::from_slice(body)
        .map_err(|e| ApiError::bad_request("bad_json", format!("expected {what}: {e}")))
}

fn oracle_json(o: &Oracle) -> Value {
    json!({
        "success": true, "enclaveId": o.enclave_id, "stake": o.stake, "reputation": o.reputation,
        "slashes": o.slashes, "banned": o.banned, "banReason": o.ban_reason,
    })
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct SlashBody {
    reason: String,
    slash_amount: u64,
}

/// `POST /api/admin/oracles/{id}/slash` `{reason, slashAmount}`.
#[utoipa::path(post, path = "/api/admin/oracles/{id}/slash", tag = "admin",
    summary = "Slash an oracle (admin)",
    params(("id" = String, Path, description = "An enclave (oracle) id")),
    request_body = serde_json::Value,
    responses(
        (status = 200, description = "Slashed", body = serde_json::Value),
        (status = 400, description = "Bad input", body = crate::http::openapi::ErrorBody),
        (status = 401, description = "Missing or wrong admin token", body = crate::http::openapi::ErrorBody),
        (status = 403, description = "Admin API disabled", body = crate::http::openapi::ErrorBody),
        (status = 404, description = "Unknown oracle", body = crate::http::openapi::ErrorBody)))]
pub(super) async fn admin_slash(
    State(state): State<AppState>,
    Path(raw): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<Value>, ApiError> {
    authorize(&state, &headers)?;
    let id = parse_enclave(&raw)?;
    let b: SlashBody = parse_body(&body, "{reason, slashAmount}")?;
    verity_core::dispute::check_text("reason", &b.reason, verity_core::dispute::MAX_REASON)
        .map_err(|e| ApiError::bad_request("bad_field", e.to_string()))?;
    if b.slash_amount == 0 {
        return Err(ApiError::bad_request(
            "bad_field",
            "slashAmount must be at least 1",
        ));
    }
    let o = state
        .disputes
        .admin_slash(&id, b.slash_amount, &b.reason)
        .await?;
    Ok(Json(oracle_json(&o)))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct AmountBody {
    amount: u64,
}

/// `POST /api/admin/oracles/{id}/stake` `{amount}`.
#[utoipa::path(post, path = "/api/admin/oracles/{id}/stake", tag = "admin",
    summary = "Add stake to an oracle (admin)",
    params(("id" = String, Path, description = "An enclave (oracle) id")),
    request_body = serde_json::Value,
    responses(
        (status = 200, description = "Staked", body = serde_json::Value),
        (status = 400, description = "Bad input", body = crate::http::openapi::ErrorBody),
        (status = 401, description = "Missing or wrong admin token", body = crate::http::openapi::ErrorBody),
        (status = 403, description = "Admin API disabled", body = crate::http::openapi::ErrorBody),
        (status = 404, description = "Unknown oracle", body = crate::http::openapi::ErrorBody)))]
pub(super) async fn admin_stake(
    State(state): State<AppState>,
    Path(raw): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<Value>, ApiError> {
    authorize(&state, &headers)?;
    let id = parse_enclave(&raw)?;
    let b: AmountBody = parse_body(&body, "{amount}")?;
    if b.amount == 0 {
        return Err(ApiError::bad_request(
            "bad_field",
            "amount must be at least 1",
        ));
    }
    Ok(Json(oracle_json(
        &state.disputes.admin_stake(&id, b.amount).await?,
    )))
}

/// `POST /api/admin/oracles/{id}/withdraw` `{amount}` (409 while its stake is locked).
#[utoipa::path(post, path = "/api/admin/oracles/{id}/withdraw", tag = "admin",
    summary = "Withdraw stake from an oracle (admin)",
    params(("id" = String, Path, description = "An enclave (oracle) id")),
    request_body = serde_json::Value,
    responses(
        (status = 200, description = "Withdrawn", body = serde_json::Value),
        (status = 400, description = "Bad input", body = crate::http::openapi::ErrorBody),
        (status = 409, description = "Stake locked or insufficient", body = crate::http::openapi::ErrorBody),
        (status = 401, description = "Missing or wrong admin token", body = crate::http::openapi::ErrorBody),
        (status = 403, description = "Admin API disabled", body = crate::http::openapi::ErrorBody),
        (status = 404, description = "Unknown oracle", body = crate::http::openapi::ErrorBody)))]
pub(super) async fn admin_withdraw(
    State(state): State<AppState>,
    Path(raw): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<Value>, ApiError> {
    authorize(&state, &headers)?;
    let id = parse_enclave(&raw)?;
    let b: AmountBody = parse_body(&body, "{amount}")?;
    if b.amount == 0 {
        return Err(ApiError::bad_request(
            "bad_field",
            "amount must be at least 1",
        ));
    }
    Ok(Json(oracle_json(
        &state.disputes.admin_withdraw(&id, b.amount).await?,
    )))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct ReasonBody {
    #[serde(default)]
    reason: Option<String>,
}

/// `POST /api/admin/oracles/{id}/ban` `{reason}`.
#[utoipa::path(post, path = "/api/admin/oracles/{id}/ban", tag = "admin",
    summary = "Ban an oracle (admin)",
    params(("id" = String, Path, description = "An enclave (oracle) id")),
    responses(
        (status = 200, description = "Banned", body = serde_json::Value),
        (status = 400, description = "Malformed enclave id", body = crate::http::openapi::ErrorBody),
        (status = 401, description = "Missing or wrong admin token", body = crate::http::openapi::ErrorBody),
        (status = 403, description = "Admin API disabled", body = crate::http::openapi::ErrorBody),
        (status = 404, description = "Unknown oracle", body = crate::http::openapi::ErrorBody)))]
pub(super) async fn admin_ban(
    State(state): State<AppState>,
    Path(raw): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<Value>, ApiError> {
    authorize(&state, &headers)?;
    let id = parse_enclave(&raw)?;
    let b: ReasonBody = parse_body(&body, "{reason}")?;
    let reason = b.reason.unwrap_or_default();
    verity_core::dispute::check_text("reason", &reason, verity_core::dispute::MAX_REASON)
        .map_err(|e| ApiError::bad_request("bad_field", e.to_string()))?;
    let reason = format!("banned by an administrator: {reason}");
    Ok(Json(oracle_json(
        &state.disputes.admin_ban(&id, Some(&reason)).await?,
    )))
}

/// `POST /api/admin/oracles/{id}/unban`.
#[utoipa::path(post, path = "/api/admin/oracles/{id}/unban", tag = "admin",
    summary = "Lift a ban (admin)",
    params(("id" = String, Path, description = "An enclave (oracle) id")),
    responses(
        (status = 200, description = "Unbanned", body = serde_json::Value),
        (status = 400, description = "Malformed enclave id", body = crate::http::openapi::ErrorBody),
        (status = 401, description = "Missing or wrong admin token", body = crate::http::openapi::ErrorBody),
        (status = 403, description = "Admin API disabled", body = crate::http::openapi::ErrorBody),
        (status = 404, description = "Unknown oracle", body = crate::http::openapi::ErrorBody)))]
pub(super) async fn admin_unban(
    State(state): State<AppState>,
    Path(raw): Path<String>,
    headers: HeaderMap,
) -> Result<Json<Value>, ApiError> {
    authorize(&state, &headers)?;
    let id = parse_enclave(&raw)?;
    Ok(Json(oracle_json(
        &state.disputes.admin_ban(&id, None).await?,
    )))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct RegisterBody {
    enclave_id: EnclaveId,
    attestation: Attestation,
    #[serde(default)]
    stake: Option<u64>,
}

/// `POST /api/admin/oracles` `{enclaveId, attestation, stake?}`: registers an
/// oracle with a verified attestation and an initial stake of the admin's choice.
#[utoipa::path(post, path = "/api/admin/oracles", tag = "admin",
    summary = "Register an oracle (admin)",
    request_body = serde_json::Value,
    responses(
        (status = 201, description = "Registered", body = serde_json::Value),
        (status = 400, description = "Bad input", body = crate::http::openapi::ErrorBody),
        (status = 401, description = "Missing or wrong admin token", body = crate::http::openapi::ErrorBody),
        (status = 403, description = "Admin API disabled", body = crate::http::openapi::ErrorBody)))]
pub(super) async fn admin_register(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    authorize(&state, &headers)?;
    let b: RegisterBody = parse_body(&body, "{enclaveId, attestation, stake?}")?;
    let keys = b.attestation.verify(&b.enclave_id).map_err(|e| {
        ApiError::bad_request("bad_attestation", format!("attestation refused: {e}"))
    })?;
    let document = serde_json::to_string(&b.attestation)
        .map_err(|e| ApiError::bad_request("bad_attestation", e.to_string()))?;
    let oracle = state
        .repo
        .register_oracle(&OracleRegistration {
            enclave_id: b.enclave_id,
            signing_key: keys.signing.to_vec(),
            encryption_key: keys.encryption.to_vec(),
            attestation_kind: b.attestation.kind(),
            attestation: document,
            initial_stake: b.stake.unwrap_or(state.settings.oracle_stake),
            initial_reputation: state.settings.oracle_reputation,
        })
        .await?;
    Ok((StatusCode::CREATED, Json(oracle_json(&oracle))))
}
