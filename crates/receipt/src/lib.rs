//! Receipts: everything needed to check a verdict offline, trusting no server.
//!
//! - [`entry`]: what the transparency log records — the leaf bytes of a
//!   final report, a dispute outcome, a slash or a ban ([`EntryKind`]).
//! - [`receipt`]: the versioned [`Receipt`] JSON (`docs/RECEIPT.md`).
//! - [`verify`]: [`verify_receipt`], the checks `verity verify` prints: every
//!   attestation and signature, the votes against the signed reports, the
//!   signed committee record recomputed (every vote a member's), the
//!   consensus recomputed from the signed inputs, the image's SHA-256, the
//!   log entry, the checkpoint signature and the inclusion proof.

pub mod entry;
pub mod receipt;
pub mod verify;

pub use entry::{EntryKind, leaf_bytes};
pub use receipt::{
    AnchorInfo, ConsensusInputs, EnclaveInfo, InclusionProof, InputBallot, LogEntryInfo, LogProof,
    RECEIPT_VERSION, Receipt,
};
pub use verify::{Check, VerifyError, VerifyOptions, verify_receipt};
