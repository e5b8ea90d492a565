//! The receipt document (`docs/RECEIPT.md`), version [`RECEIPT_VERSION`].

use serde::{Deserialize, Serialize};
use verity_core::{EnclaveId, FinalReport, Sha256Digest, SignedReport};
use verity_crypto::Attestation;

/// The schema version this crate writes and reads.
pub const RECEIPT_VERSION: &str = "verity-receipt/v1";

/// An offline-verifiable receipt for one job round.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Receipt {
    /// [`RECEIPT_VERSION`].
    pub version: String,
    /// The job.
    pub job_id: verity_core::JobId,
    /// The aggregator's signed final report.
    pub final_report: FinalReport,
    /// Every counted enclave report, signed.
    pub enclave_reports: Vec<SignedReport>,
    /// The counted enclaves: keys and attestations.
    pub enclaves: Vec<EnclaveInfo>,
    /// What the consensus was computed from, beyond the signed reports.
    pub consensus_inputs: ConsensusInputs,
    /// The transparency log's entry, inclusion proof and signed checkpoint.
    pub log: LogProof,
    /// The checkpoint's anchoring transaction, when anchored.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub anchor: Option<AnchorInfo>,
}

/// One enclave's keys and attestation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EnclaveInfo {
    /// Its id.
    pub enclave_id: EnclaveId,
    /// Ed25519 key that verifies its reports, hex.
    #[serde(with = "verity_core::report::hex_bytes")]
    pub signing_key: Vec<u8>,
    /// The attestation that binds the key.
    pub attestation: Attestation,
}

/// The consensus rule and each counted enclave's standing when counted.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ConsensusInputs {
    /// `CONSENSUS_THRESHOLD`.
    pub threshold: f64,
    /// `MIN_ENCLAVES`.
    pub min_enclaves: u32,
    /// One per counted report.
    pub ballots: Vec<InputBallot>,
}

/// One counted report's standing.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct InputBallot {
    /// The enclave.
    pub enclave_id: EnclaveId,
    /// Digest of its signed report.
    pub report_digest: Sha256Digest,
    /// Its reputation when counted.
    pub reputation: f64,
    /// Its stake when counted.
    pub stake: u64,
}

impl ConsensusInputs {
    /// The inputs a final report was computed from (as it states them).
    pub fn of(report: &FinalReport) -> Self {
        let m = &report.consensus_metadata;
        ConsensusInputs {
            threshold: m.threshold,
            min_enclaves: m.min_enclaves,
            ballots: m
                .votes
                .iter()
                .map(|v| InputBallot {
                    enclave_id: v.enclave_id.clone(),
                    report_digest: v.report_digest,
                    reputation: v.reputation,
                    stake: v.stake,
                })
                .collect(),
        }
    }
}

/// Where the final report sits in the transparency log.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LogProof {
    /// The log's origin (its checkpoint's first line and key name).
    pub origin: String,
    /// The log's verifier key (`NAME+KEYID+BASE64`); pass the published one
    /// to `verity verify --log-key` rather than trusting this copy.
    pub log_key: String,
    /// The entry.
    pub entry: LogEntryInfo,
    /// Its inclusion proof to the checkpoint.
    pub inclusion_proof: InclusionProof,
    /// The signed checkpoint (C2SP tlog-checkpoint as a signed note).
    pub checkpoint: String,
}

/// A log entry as a receipt shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LogEntryInfo {
    /// Its index.
    pub index: u64,
    /// Its kind (`final_report`).
    pub kind: crate::EntryKind,
    /// The leaf bytes, hex.
    #[serde(with = "verity_core::report::hex_bytes")]
    pub leaf: Vec<u8>,
}

/// An RFC 6962 inclusion proof.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct InclusionProof {
    /// The leaf's index.
    pub leaf_index: u64,
    /// The tree size the proof is for.
    pub tree_size: u64,
    /// The audit path, nearest sibling first, hex.
    pub hashes: Vec<Sha256Digest>,
}

/// A checkpoint's anchoring on a chain.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AnchorInfo {
    /// `sui:testnet`, …
    pub chain: String,
    /// The transaction digest.
    pub tx_digest: String,
    /// The size of the anchored checkpoint.
    pub checkpoint_size: u64,
}
