//! Log entries: `LOG_ENTRY_DOMAIN || 0x00 || BCS((kind, subject, round, digest))`.
//!
//! `kind` is one byte ([`EntryKind`]), `subject` the job or enclave id,
//! `round` the job round (0 when not about a round) and `digest` the SHA-256
//! of what the entry stands for: for a final report its `reportDigest`, for
//! the other kinds the SHA-256 of their canonical record.

use serde::{Deserialize, Serialize};
use verity_core::{FinalReport, Sha256Digest};

/// Domain prefix of log leaves.
pub const LOG_ENTRY_DOMAIN: &[u8] = b"verity/log-entry/v1";

/// What a log entry records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EntryKind {
    /// A job round's signed final report.
    FinalReport,
    /// The outcome of a dispute.
    DisputeOutcome,
    /// A slash of an oracle's stake.
    Slash,
    /// An oracle's ban.
    Ban,
}

impl EntryKind {
    /// The byte in the leaf.
    pub fn code(self) -> u8 {
        match self {
            EntryKind::FinalReport => 1,
            EntryKind::DisputeOutcome => 2,
            EntryKind::Slash => 3,
            EntryKind::Ban => 4,
        }
    }

    /// The name stored and shown (`final_report`, …).
    pub fn as_str(self) -> &'static str {
        match self {
            EntryKind::FinalReport => "final_report",
            EntryKind::DisputeOutcome => "dispute_outcome",
            EntryKind::Slash => "slash",
            EntryKind::Ban => "ban",
        }
    }
}

/// The leaf bytes of an entry.
pub fn leaf_bytes(kind: EntryKind, subject: &str, round: u32, digest: &Sha256Digest) -> Vec<u8> {
    let mut out = LOG_ENTRY_DOMAIN.to_vec();
    out.push(0);
    let body = (kind.code(), subject, round, digest.0);
    out.extend(bcs::to_bytes(&body).expect("BCS encoding of plain tuples cannot fail"));
    out
}

/// The leaf bytes of a final report's entry.
pub fn final_report_leaf(report: &FinalReport) -> Vec<u8> {
    leaf_bytes(
        EntryKind::FinalReport,
        report.job_id.as_str(),
        report.round,
        &report.report_digest,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn leaf_layout_is_pinned() {
        let leaf = leaf_bytes(EntryKind::Slash, "enclave-1", 2, &Sha256Digest([7; 32]));
        let mut want = b"verity/log-entry/v1\0".to_vec();
        want.push(3);
        want.push(9);
        want.extend_from_slice(b"enclave-1");
        want.extend_from_slice(&2u32.to_le_bytes());
        want.extend_from_slice(&[7; 32]);
        assert_eq!(leaf, want);
    }
}
