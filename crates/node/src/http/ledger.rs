//! The transparency log over HTTP: checkpoint, proofs, consistency, receipts.

use std::collections::HashMap;

use axum::Json;
use axum::extract::{Path, Query, State};
use serde_json::{Value, json};
use verity_store::{AnchorRecord, StoredCheckpoint};

use super::AppState;
use super::jobs::load_job;
use crate::error::ApiError;

fn hexes(hashes: &[[u8; 32]]) -> Vec<String> {
    hashes.iter().map(hex::encode).collect()
}

fn checkpoint_json(state: &AppState, cp: &StoredCheckpoint) -> Value {
    json!({
        "origin": state.ledger.origin(),
        "treeSize": cp.size,
        "rootHash": hex::encode(cp.root),
        "note": cp.note,
        "publishedAt": super::jobs::iso(cp.created_ms),
    })
}

fn latest(state: &AppState) -> Result<StoredCheckpoint, ApiError> {
    state.ledger.latest_checkpoint().ok_or_else(|| {
        ApiError::not_found(
            "no_checkpoint",
            "the log has no checkpoint yet: nothing was logged",
        )
    })
}

/// `GET /api/ledger/checkpoint`: the latest signed checkpoint and the log key.
#[utoipa::path(get, path = "/api/ledger/checkpoint", tag = "log",
    summary = "The latest signed checkpoint of the transparency log",
    responses(
        (status = 200, description = "The checkpoint and its signed note", body = serde_json::Value),
        (status = 404, description = "Nothing logged yet", body = crate::http::openapi::ErrorBody)))]
pub(super) async fn checkpoint(State(state): State<AppState>) -> Result<Json<Value>, ApiError> {
    let cp = latest(&state)?;
    let anchor = state.ledger.store().anchor(cp.size).await?;
    // The latest checkpoint is often not anchored yet (anchoring lags and
    // coalesces); the latest anchored one says how far the chain vouches.
    let latest_anchor = state.ledger.store().latest_anchor().await?;
    let anchor_json = |a: AnchorRecord| json!({"chain": a.chain, "txDigest": a.tx_digest, "checkpointSize": a.size, "anchoredAt": super::jobs::iso(a.anchored_ms)});
    Ok(Json(json!({
        "success": true,
        "logKey": state.ledger.verifier_key(),
        "checkpoint": checkpoint_json(&state, &cp),
        "anchor": anchor.map(anchor_json),
        "latestAnchor": latest_anchor.map(anchor_json),
    })))
}

/// `GET /api/ledger/proof/:jobId`: the inclusion proof of the job's final
/// report to the latest checkpoint.
#[utoipa::path(get, path = "/api/ledger/proof/{jobId}", tag = "log",
    summary = "Inclusion proof of a job's final report to the latest checkpoint",
    params(("jobId" = String, Path, description = "A job id, `job_` followed by a ULID")),
    responses(
        (status = 200, description = "The inclusion proof", body = serde_json::Value),
        (status = 400, description = "Malformed job id", body = crate::http::openapi::ErrorBody),
        (status = 404, description = "Unknown or not yet logged job", body = crate::http::openapi::ErrorBody)))]
pub(super) async fn proof(
    State(state): State<AppState>,
    Path(raw): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let job = load_job(&state, &raw).await?;
    let Some(fr) = &job.final_report else {
        return Err(ApiError::conflict(
            "not_decided",
            format!("{} has no final report yet", job.job_id),
        ));
    };
    let entry = state
        .ledger
        .final_report_entry(&job.job_id, fr.round)
        .await?;
    let cp = latest(&state)?;
    let hashes = state.ledger.inclusion_proof(entry.index, &cp).await?;
    Ok(Json(json!({
        "success": true,
        "jobId": job.job_id,
        "round": fr.round,
        "reportDigest": fr.report_digest,
        "entry": {
            "index": entry.index,
            "kind": entry.kind,
            "leaf": hex::encode(&entry.leaf),
            "leafHash": hex::encode(entry.leaf_hash),
        },
        "inclusionProof": { "leafIndex": entry.index, "treeSize": cp.size, "hashes": hexes(&hashes) },
        "checkpoint": checkpoint_json(&state, &cp),
    })))
}

fn size_param(params: &HashMap<String, String>, name: &str) -> Result<u64, ApiError> {
    let raw = params.get(name).ok_or_else(|| {
        ApiError::bad_request("bad_range", format!("query parameter {name} is required"))
    })?;
    raw.parse().map_err(|_| {
        ApiError::bad_request(
            "bad_range",
            format!("{name}={raw:?} is not a tree size (a non-negative integer)"),
        )
    })
}

/// `GET /api/ledger/consistency?from=&to=`: the RFC 6962 consistency proof
/// between two tree sizes (each at most the latest checkpoint's).
#[utoipa::path(get, path = "/api/ledger/consistency", tag = "log",
    summary = "Consistency proof between two tree sizes",
    params(("from" = u64, Query, description = "Older tree size (at least 1)"), ("to" = u64, Query, description = "Newer tree size")),
    responses(
        (status = 200, description = "The consistency proof", body = serde_json::Value),
        (status = 400, description = "Bad sizes", body = crate::http::openapi::ErrorBody)))]
pub(super) async fn consistency(
    State(state): State<AppState>,
    Query(params): Query<HashMap<String, String>>,
) -> Result<Json<Value>, ApiError> {
    let from = size_param(&params, "from")?;
    let to = size_param(&params, "to")?;
    let (proof, from_root, to_root) = state.ledger.consistency(from, to).await?;
    Ok(Json(json!({
        "success": true,
        "from": from,
        "to": to,
        "fromRoot": hex::encode(from_root),
        "toRoot": hex::encode(to_root),
        "proof": hexes(&proof),
    })))
}

/// `GET /api/ledger/checkpoints?from=`: published checkpoints, smallest first (at most 1000).
#[utoipa::path(get, path = "/api/ledger/checkpoints", tag = "log",
    summary = "Every published checkpoint",
    responses(
        (status = 200, description = "The checkpoints, oldest first", body = serde_json::Value)))]
pub(super) async fn checkpoints(
    State(state): State<AppState>,
    Query(params): Query<HashMap<String, String>>,
) -> Result<Json<Value>, ApiError> {
    let from = match params.get("from") {
        Some(_) => size_param(&params, "from")?,
        None => 0,
    };
    let list = state.ledger.store().checkpoints(from, 1000).await?;
    let list: Vec<Value> = list.iter().map(|c| checkpoint_json(&state, c)).collect();
    Ok(Json(json!({ "success": true, "checkpoints": list })))
}

/// `GET /api/jobs/:jobId/receipt`: the offline-verifiable receipt (`docs/RECEIPT.md`).
#[utoipa::path(get, path = "/api/jobs/{jobId}/receipt", tag = "log",
    summary = "The offline-verifiable receipt of a decided job (docs/RECEIPT.md)",
    params(("jobId" = String, Path, description = "A job id, `job_` followed by a ULID")),
    responses(
        (status = 200, description = "The receipt", body = serde_json::Value),
        (status = 400, description = "Malformed job id", body = crate::http::openapi::ErrorBody),
        (status = 404, description = "Unknown job", body = crate::http::openapi::ErrorBody),
        (status = 409, description = "Not decided or not yet logged", body = crate::http::openapi::ErrorBody)))]
pub(super) async fn receipt(
    State(state): State<AppState>,
    Path(raw): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let job = load_job(&state, &raw).await?;
    let receipt = state.ledger.receipt(&job, &*state.repo).await?;
    let mut body = serde_json::to_value(&receipt)
        .map_err(|e| ApiError::unavailable(format!("encoding the receipt: {e}")))?;
    if let Some(map) = body.as_object_mut() {
        map.insert("success".into(), Value::Bool(true));
    }
    Ok(Json(body))
}
