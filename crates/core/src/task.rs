//! The work order an enclave receives through the queue.

use serde::{Deserialize, Serialize};

use crate::ids::{EnclaveId, JobId, Sha256Digest};
use crate::report::hex_bytes;

/// A data key sealed to one enclave (HPKE `enc` and ciphertext).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SealedKeyWire {
    /// HPKE encapsulated key, hex.
    #[serde(with = "hex_bytes")]
    pub enc: Vec<u8>,
    /// Sealed data key, hex.
    #[serde(with = "hex_bytes")]
    pub ciphertext: Vec<u8>,
}

/// Evidence attached to a re-verification round.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TaskEvidence {
    /// The id the challenger gave (`evidenceCID`).
    pub evidence_id: String,
    /// Blob holding the encrypted evidence file, when it resolved to one.
    pub blob_id: Option<String>,
    /// SHA-256 of the evidence file, when it resolved.
    pub sha256: Option<Sha256Digest>,
    /// The evidence's data key sealed to this enclave, when it resolved.
    pub sealed_key: Option<SealedKeyWire>,
}

/// "Analyse this blob for this job round and sign a report."
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VerificationTask {
    /// The job.
    pub job_id: JobId,
    /// The round.
    pub round: u32,
    /// The enclave that must do it.
    pub enclave_id: EnclaveId,
    /// Where the encrypted media is.
    pub blob_id: String,
    /// SHA-256 of the plaintext media (the AEAD associated data).
    pub media_sha256: Sha256Digest,
    /// MIME type sniffed at upload.
    pub mime: String,
    /// The data key, sealed to this enclave.
    pub sealed_key: SealedKeyWire,
    /// Dispute evidence for re-verification rounds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub evidence: Option<TaskEvidence>,
    /// When the aggregator stops waiting for this round (Unix milliseconds).
    pub deadline_ms: u64,
}
