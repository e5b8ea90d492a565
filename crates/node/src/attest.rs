//! Enclave attestation on the aggregator: registration, expiry, revocation.
//!
//! [`AttestationService::register`] verifies an [`Attestation`] under the
//! configured [`AttestationMode`] (in `nitro` mode a `dev` statement is
//! refused), stores the keys it binds as the oracle's keys, and records the
//! attestation with its measurements and an expiry
//! ([`verity_store::AttestationStore`]). [`AttestationService::check_reporter`]
//! is asked for every report: only an enclave whose signing key is the one its
//! current, unrevoked, unexpired attestation binds may report.
//! [`AttestationService::reload`] re-reads the PCR allow-list file (admin
//! endpoint or SIGHUP) and revokes Nitro enclaves whose measurements are no
//! longer allowed.
//!
//! Challenges: [`AttestationService::issue_nonce`] hands out a random,
//! single-use nonce with an expiry, stored in the database so every API
//! process sharing it honours it. A registration whose attestation names a
//! nonce must name one issued here, unexpired and unused; it is spent only
//! once the attestation verifies, atomically, so of two registrations
//! answering the same challenge exactly one succeeds.

use std::path::PathBuf;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use axum::http::StatusCode;
use serde::Serialize;
use serde_json::json;
use tracing::{info, warn};
use verity_core::{AttestationKind, EnclaveId, Oracle};
use verity_crypto::nitro::NitroRoot;
use verity_crypto::{Attestation, CryptoError, NitroCheck, PcrPolicy};
use verity_store::{
    AttestationRecord, AttestationStore, NonceStatus, OracleRegistration, Repository, StoreError,
    now_ms,
};

use crate::error::ApiError;
use crate::metrics as m;

/// Which attestation kinds the aggregator accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum AttestationMode {
    /// Development: `dev` statements (marked `dev-insecure`) and Nitro documents.
    Dev,
    /// Production: only Nitro documents; `dev` statements are refused.
    Nitro,
}

impl AttestationMode {
    /// Whether `kind` may register and report.
    pub fn allows(self, kind: AttestationKind) -> bool {
        match self {
            AttestationMode::Dev => true,
            AttestationMode::Nitro => kind == AttestationKind::Nitro,
        }
    }

    /// The configuration name.
    pub fn as_str(self) -> &'static str {
        match self {
            AttestationMode::Dev => "dev",
            AttestationMode::Nitro => "nitro",
        }
    }
}

/// Attestation configuration of the aggregator.
#[derive(Clone)]
pub struct AttestationConfig {
    /// Kinds accepted (`VERITY_ATTESTATION`).
    pub mode: AttestationMode,
    /// The PCR allow-list file (`VERITY_NITRO_PCRS`, JSON [`PcrPolicy`]); re-read on reload.
    pub pcr_file: Option<PathBuf>,
    /// How old a Nitro document may be when it is registered.
    pub max_age: Duration,
    /// How long a registration lasts before it must be renewed.
    pub ttl: Duration,
    /// Bearer token of the admin endpoints; `None` disables them.
    pub admin_token: Option<String>,
    /// How long an issued nonce may be answered (`VERITY_ATTESTATION_NONCE_TTL`).
    pub nonce_ttl: Duration,
    /// Refuse Nitro documents that answer no nonce issued here
    /// (`VERITY_ATTESTATION_REQUIRE_NONCE`).
    pub require_nonce: bool,
}

/// The admin token is shown as `<redacted>`: settings end up in logs.
impl std::fmt::Debug for AttestationConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AttestationConfig")
            .field("mode", &self.mode)
            .field("pcr_file", &self.pcr_file)
            .field("max_age", &self.max_age)
            .field("ttl", &self.ttl)
            .field("admin_token", &crate::redact::Redacted(&self.admin_token))
            .finish()
    }
}

impl Default for AttestationConfig {
    fn default() -> Self {
        AttestationConfig {
            mode: AttestationMode::Dev,
            pcr_file: None,
            max_age: Duration::from_secs(5 * 60),
            ttl: Duration::from_secs(24 * 3600),
            admin_token: None,
            nonce_ttl: Duration::from_secs(5 * 60),
            require_nonce: false,
        }
    }
}

/// Why the attestation configuration cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum AttestationConfigError {
    /// The PCR allow-list file cannot be read or parsed.
    #[error("VERITY_NITRO_PCRS (--nitro-pcrs) {path}: {reason}")]
    PcrFile {
        /// The file.
        path: String,
        /// Why.
        reason: String,
    },
}

/// The outcome of a registration.
#[derive(Debug, Clone)]
pub struct Registered {
    /// The oracle as stored.
    pub oracle: Oracle,
    /// The attestation as recorded.
    pub record: AttestationRecord,
}

/// A challenge handed out by [`AttestationService::issue_nonce`].
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct IssuedNonce {
    /// The nonce, hex: put it in the attestation (Nitro: the NSM request's
    /// `nonce`; dev: the statement's `nonce`).
    pub nonce: String,
    /// When it was issued (Unix ms).
    pub issued_at_ms: u64,
    /// When it stops being accepted (Unix ms).
    pub expires_at_ms: u64,
}

/// Expired nonces are kept this long, so a late replay is told it is
/// expired or used rather than unknown; then they are pruned.
const NONCE_RETENTION_MS: u64 = 3_600_000;

/// What a reload changed.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ReloadOutcome {
    /// Allowed PCR sets now.
    pub allowed_sets: usize,
    /// Whether debug enclaves are allowed now.
    pub allow_debug: bool,
    /// Enclaves revoked because their measurements are no longer allowed.
    pub revoked: Vec<EnclaveId>,
}

/// Registration, checking and revocation of enclave attestations.
pub struct AttestationService {
    config: AttestationConfig,
    root: NitroRoot,
    pcrs: RwLock<PcrPolicy>,
    repo: Arc<dyn Repository>,
    store: Arc<dyn AttestationStore>,
    initial_stake: u64,
    initial_reputation: f64,
}

fn read_policy(config: &AttestationConfig) -> Result<PcrPolicy, AttestationConfigError> {
    let Some(path) = &config.pcr_file else {
        return Ok(PcrPolicy::default());
    };
    let bad = |reason: String| AttestationConfigError::PcrFile {
        path: path.display().to_string(),
        reason,
    };
    let text = std::fs::read_to_string(path).map_err(|e| bad(e.to_string()))?;
    let policy: PcrPolicy = serde_json::from_str(&text).map_err(|e| bad(e.to_string()))?;
    for set in &policy.allowed {
        for (i, v) in [
            (0, Some(&set.pcr0)),
            (1, Some(&set.pcr1)),
            (2, Some(&set.pcr2)),
            (8, set.pcr8.as_ref()),
        ] {
            if let Some(v) = v
                && (v.len() != 96 || hex::decode(v).is_err())
            {
                return Err(bad(format!("PCR{i} {v:?} is not 48 bytes of hex")));
            }
        }
    }
    Ok(policy)
}

fn refused(code: &'static str, message: String) -> ApiError {
    refused_as(StatusCode::BAD_REQUEST, code, message)
}

fn refused_as(status: StatusCode, code: &'static str, message: String) -> ApiError {
    metrics::counter!(m::ATTESTATIONS_REFUSED, "reason" => code).increment(1);
    ApiError::new(status, code, message)
}

/// Refuses a registration whose nonce is not [`NonceStatus::Fresh`].
fn check_nonce(nonce: &[u8], status: NonceStatus) -> Result<(), ApiError> {
    let shown = hex::encode(&nonce[..nonce.len().min(8)]);
    match status {
        NonceStatus::Fresh => Ok(()),
        NonceStatus::Unknown => Err(refused(
            "attestation_nonce_unknown",
            format!(
                "nonce {shown}… was not issued by this aggregator; \
                 ask for one with POST /api/enclaves/nonce"
            ),
        )),
        NonceStatus::Expired { expires_at_ms } => Err(refused(
            "attestation_nonce_expired",
            format!("nonce {shown}… expired at {expires_at_ms} (Unix ms); ask for a fresh one"),
        )),
        NonceStatus::Used {
            used_at_ms,
            used_by,
        } => Err(refused_as(
            StatusCode::CONFLICT,
            "attestation_nonce_used",
            format!(
                "nonce {shown}… was already answered at {used_at_ms} (Unix ms) by {}: \
                 a replayed attestation; ask for a fresh nonce",
                used_by.as_deref().unwrap_or("another registration")
            ),
        )),
    }
}

fn refused_crypto(e: CryptoError) -> ApiError {
    match e {
        CryptoError::Nitro(n) => refused(n.code(), format!("attestation refused: {n}")),
        other => refused("bad_attestation", format!("attestation refused: {other}")),
    }
}

impl AttestationService {
    /// A service with `config`, trusting the pinned AWS Nitro root.
    ///
    /// # Errors
    /// The PCR allow-list file cannot be read.
    pub fn new(
        config: AttestationConfig,
        repo: Arc<dyn Repository>,
        store: Arc<dyn AttestationStore>,
        initial_stake: u64,
        initial_reputation: f64,
    ) -> Result<Self, AttestationConfigError> {
        let pcrs = read_policy(&config)?;
        Ok(AttestationService {
            config,
            root: NitroRoot::aws(),
            pcrs: RwLock::new(pcrs),
            repo,
            store,
            initial_stake,
            initial_reputation,
        })
    }

    /// The configured mode.
    pub fn mode(&self) -> AttestationMode {
        self.config.mode
    }

    /// The configuration.
    pub fn config(&self) -> &AttestationConfig {
        &self.config
    }

    /// The PCR policy in force.
    pub fn pcr_policy(&self) -> PcrPolicy {
        self.pcrs.read().expect("PCR policy lock").clone()
    }

    /// Issues a fresh single-use nonce valid for the configured TTL, and
    /// prunes nonces that expired long ago.
    ///
    /// # Errors
    /// Storage failures.
    pub async fn issue_nonce(&self) -> Result<IssuedNonce, ApiError> {
        let nonce = verity_crypto::fresh_nonce();
        let now = now_ms();
        let expires_at_ms = now.saturating_add(self.config.nonce_ttl.as_millis() as u64);
        self.store
            .prune_nonces(now.saturating_sub(NONCE_RETENTION_MS))
            .await?;
        self.store.issue_nonce(&nonce, now, expires_at_ms).await?;
        metrics::counter!(m::ATTESTATION_NONCES_ISSUED).increment(1);
        Ok(IssuedNonce {
            nonce: hex::encode(nonce),
            issued_at_ms: now,
            expires_at_ms,
        })
    }

    /// Verifies `attestation` for `enclave_id`, then stores the keys and the attestation.
    ///
    /// # Errors
    /// 400 with a specific code when the attestation is refused, 409
    /// `attestation_nonce_used` when it answers a nonce already used (both
    /// counted in `verity_attestations_refused_total`); storage failures.
    pub async fn register(
        &self,
        enclave_id: &EnclaveId,
        attestation: &Attestation,
    ) -> Result<Registered, ApiError> {
        let kind = attestation.kind();
        if !self.config.mode.allows(kind) {
            return Err(refused(
                "attestation_kind_refused",
                format!(
                    "this aggregator accepts only {} attestations (VERITY_ATTESTATION={}); \
                     a {kind} statement proves nothing about where the key lives",
                    self.config.mode.as_str(),
                    self.config.mode.as_str()
                ),
            ));
        }
        let now = now_ms();
        // Cheap checks before the signature work: an unknown, expired or
        // spent challenge is refused without verifying anything.
        match attestation.claimed_nonce().map_err(refused_crypto)? {
            Some(nonce) => check_nonce(&nonce, self.store.nonce_status(&nonce, now).await?)?,
            None if self.config.require_nonce && kind == AttestationKind::Nitro => {
                return Err(refused(
                    "attestation_nonce_required",
                    "this aggregator requires Nitro documents to answer a nonce it issued \
                     (POST /api/enclaves/nonce, then request the document with it)"
                        .into(),
                ));
            }
            None => {}
        }
        let pcrs = self.pcr_policy();
        let check = NitroCheck {
            root: &self.root,
            pcrs: &pcrs,
            now_ms: now,
            max_age_ms: Some(self.config.max_age.as_millis() as u64),
            nonce: None,
        };
        let verified = attestation
            .verify_with(enclave_id, &check)
            .map_err(refused_crypto)?;
        // Spent only now that the attestation holds, so a forged answer
        // cannot burn someone else's challenge; atomic across processes.
        if let Some(nonce) = &verified.nonce {
            check_nonce(
                nonce,
                self.store.consume_nonce(nonce, enclave_id, now).await?,
            )?;
        }
        let document = serde_json::to_string(attestation)
            .map_err(|e| ApiError::bad_request("bad_attestation", e.to_string()))?;
        let (measurements, pcr0, document_ms) = match &verified.nitro {
            Some(n) => {
                let d = &n.document;
                (
                    json!({
                        "moduleId": d.module_id,
                        "debug": n.debug,
                        "pcr0": d.pcr_hex(0), "pcr1": d.pcr_hex(1),
                        "pcr2": d.pcr_hex(2), "pcr8": d.pcr_hex(8),
                    }),
                    Some(d.pcr_hex(0)),
                    d.timestamp_ms,
                )
            }
            None => (json!({ "insecure": true }), None, now),
        };
        let oracle = self
            .repo
            .register_oracle(&OracleRegistration {
                enclave_id: enclave_id.clone(),
                signing_key: verified.keys.signing.to_vec(),
                encryption_key: verified.keys.encryption.to_vec(),
                attestation_kind: kind,
                attestation: document.clone(),
                initial_stake: self.initial_stake,
                initial_reputation: self.initial_reputation,
            })
            .await?;
        let record = AttestationRecord {
            enclave_id: enclave_id.clone(),
            kind,
            signing_key: verified.keys.signing.to_vec(),
            document,
            measurements,
            pcr0,
            document_ms,
            verified_at_ms: now,
            expires_at_ms: now.saturating_add(self.config.ttl.as_millis() as u64),
            revoked_at_ms: None,
            revoke_reason: None,
        };
        self.store.save_attestation(&record).await?;
        metrics::counter!(m::ATTESTATIONS_ACCEPTED, "kind" => kind.as_str()).increment(1);
        info!(enclave = %enclave_id, attestation = kind.as_str(), pcr0 = record.pcr0.as_deref().unwrap_or("-"),
            expires_at_ms = record.expires_at_ms, "enclave attestation verified");
        Ok(Registered { oracle, record })
    }

    /// Refuses a reporting enclave without a current attestation binding its key.
    ///
    /// # Errors
    /// 403 `unattested_enclave`, `attestation_expired`, `attestation_revoked`
    /// or `attestation_kind_refused`; storage failures.
    pub async fn check_reporter(&self, oracle: &Oracle) -> Result<(), ApiError> {
        let id = &oracle.enclave_id;
        let forbidden = |code: &'static str, message: String| {
            metrics::counter!(m::REPORTS_UNATTESTED, "reason" => code).increment(1);
            ApiError::new(StatusCode::FORBIDDEN, code, message)
        };
        let Some(record) = self.store.attestation(id).await? else {
            return Err(forbidden(
                "unattested_enclave",
                format!(
                    "{id} has no verified attestation; register with POST /api/enclaves/register"
                ),
            ));
        };
        if record.signing_key != oracle.signing_key {
            return Err(forbidden(
                "unattested_enclave",
                format!("{id}'s signing key is not the one its attestation binds"),
            ));
        }
        if !self.config.mode.allows(record.kind) {
            return Err(forbidden(
                "attestation_kind_refused",
                format!(
                    "{id} is attested as {}, this aggregator accepts only {}",
                    record.kind,
                    self.config.mode.as_str()
                ),
            ));
        }
        if let Some(at) = record.revoked_at_ms {
            return Err(forbidden(
                "attestation_revoked",
                format!(
                    "{id}'s attestation was revoked at {at}: {}; re-register with an allowed image",
                    record.revoke_reason.unwrap_or_default()
                ),
            ));
        }
        if now_ms() >= record.expires_at_ms {
            return Err(forbidden(
                "attestation_expired",
                format!(
                    "{id}'s attestation expired at {}; renew it with POST /api/enclaves/register",
                    record.expires_at_ms
                ),
            ));
        }
        Ok(())
    }

    /// Whether `oracle` currently holds a valid attestation (for counting ballots).
    ///
    /// # Errors
    /// Storage failures.
    pub async fn is_attested(&self, oracle: &Oracle) -> Result<bool, StoreError> {
        Ok(self
            .store
            .attestation(&oracle.enclave_id)
            .await?
            .is_some_and(|r| {
                r.signing_key == oracle.signing_key
                    && self.config.mode.allows(r.kind)
                    && r.is_valid_at(now_ms())
            }))
    }

    /// Every attestation, by enclave id.
    ///
    /// # Errors
    /// Storage failures.
    pub async fn records(&self) -> Result<Vec<AttestationRecord>, StoreError> {
        self.store.attestations().await
    }

    /// Re-reads the PCR allow-list and revokes Nitro enclaves it no longer allows.
    ///
    /// # Errors
    /// The file cannot be read (the old policy stays in force); storage failures.
    pub async fn reload(&self) -> Result<ReloadOutcome, ApiError> {
        let policy = read_policy(&self.config).map_err(|e| {
            ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "bad_pcr_policy",
                e.to_string(),
            )
        })?;
        *self.pcrs.write().expect("PCR policy lock") = policy.clone();
        let mut revoked = Vec::new();
        let now = now_ms();
        for record in self.store.attestations().await? {
            if record.kind != AttestationKind::Nitro || record.revoked_at_ms.is_some() {
                continue;
            }
            let pcrs = (0u8..=8)
                .filter_map(|i| {
                    let v = record.measurements.get(format!("pcr{i}"))?.as_str()?;
                    Some((i, hex::decode(v).ok()?))
                })
                .collect();
            if let Err(why) = policy.check(&pcrs) {
                let reason = format!("PCR allow-list reloaded: {why}");
                if self
                    .store
                    .revoke_attestation(&record.enclave_id, now, &reason)
                    .await?
                {
                    warn!(enclave = %record.enclave_id, %reason, "enclave attestation revoked");
                    metrics::counter!(m::ATTESTATIONS_REVOKED).increment(1);
                    revoked.push(record.enclave_id);
                }
            }
        }
        info!(
            allowed_sets = policy.allowed.len(),
            allow_debug = policy.allow_debug,
            revoked = revoked.len(),
            "PCR allow-list reloaded"
        );
        Ok(ReloadOutcome {
            allowed_sets: policy.allowed.len(),
            allow_debug: policy.allow_debug,
            revoked,
        })
    }
}
