//! The [`AttestationStore`] port: verified enclave attestations, their
//! measurements, expiry and revocation; and the single-use challenges
//! (nonces) registrations answer.

use async_trait::async_trait;
use verity_core::{AttestationKind, EnclaveId};

use crate::Result;

/// An enclave's latest verified attestation.
#[derive(Debug, Clone, PartialEq)]
pub struct AttestationRecord {
    /// The enclave.
    pub enclave_id: EnclaveId,
    /// Its kind.
    pub kind: AttestationKind,
    /// The Ed25519 key the attestation binds (reports must verify with it).
    pub signing_key: Vec<u8>,
    /// The attestation as registered (JSON).
    pub document: String,
    /// What was measured: PCRs, module id, debug flag (JSON object).
    pub measurements: serde_json::Value,
    /// PCR0 (hex), for Nitro.
    pub pcr0: Option<String>,
    /// The document's own timestamp (Unix ms).
    pub document_ms: u64,
    /// When the aggregator verified it (Unix ms).
    pub verified_at_ms: u64,
    /// When the registration lapses unless renewed (Unix ms).
    pub expires_at_ms: u64,
    /// When it was revoked, if it was (Unix ms).
    pub revoked_at_ms: Option<u64>,
    /// Why it was revoked.
    pub revoke_reason: Option<String>,
}

impl AttestationRecord {
    /// Whether reports relying on it may be accepted at `now_ms`.
    pub fn is_valid_at(&self, now_ms: u64) -> bool {
        self.revoked_at_ms.is_none() && now_ms < self.expires_at_ms
    }
}

/// What a nonce lookup found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NonceStatus {
    /// Issued, unexpired and not yet used ([`AttestationStore::consume_nonce`]:
    /// and now spent by this call).
    Fresh,
    /// Never issued here (or pruned long after it expired).
    Unknown,
    /// Issued, but its time ran out before it was used.
    Expired {
        /// When it expired (Unix ms).
        expires_at_ms: u64,
    },
    /// Already spent by a registration: presenting it again is a replay.
    Used {
        /// When it was spent (Unix ms).
        used_at_ms: u64,
        /// By which enclave.
        used_by: Option<String>,
    },
}

/// Where verified attestations are kept.
#[async_trait]
pub trait AttestationStore: Send + Sync {
    /// Stores (or replaces) an enclave's attestation; a renewal clears any revocation.
    async fn save_attestation(&self, record: &AttestationRecord) -> Result<()>;

    /// One enclave's attestation.
    async fn attestation(&self, id: &EnclaveId) -> Result<Option<AttestationRecord>>;

    /// All attestations, by enclave id.
    async fn attestations(&self) -> Result<Vec<AttestationRecord>>;

    /// Revokes an enclave's attestation; false when there is none or it is already revoked.
    async fn revoke_attestation(&self, id: &EnclaveId, at_ms: u64, reason: &str) -> Result<bool>;

    /// Records a freshly issued nonce, valid until `expires_at_ms`.
    async fn issue_nonce(&self, nonce: &[u8], issued_at_ms: u64, expires_at_ms: u64) -> Result<()>;

    /// A nonce's status at `now_ms`, changing nothing.
    async fn nonce_status(&self, nonce: &[u8], now_ms: u64) -> Result<NonceStatus>;

    /// Spends `nonce` for `enclave` if it is [`NonceStatus::Fresh`] at
    /// `now_ms`, atomically (of two concurrent calls, one wins, in every
    /// process sharing the database); otherwise returns why not.
    async fn consume_nonce(
        &self,
        nonce: &[u8],
        enclave: &EnclaveId,
        now_ms: u64,
    ) -> Result<NonceStatus>;

    /// Deletes nonces that expired before `before_ms`; returns how many.
    async fn prune_nonces(&self, before_ms: u64) -> Result<u64>;
}
