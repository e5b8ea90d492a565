//! Verity's domain, with no I/O.
//!
//! Everything that decides an outcome lives here so that the server, the
//! enclaves and the offline verifier (`verity verify`) share one definition:
//!
//! - [`ids`]: [`JobId`], [`EnclaveId`] and [`Sha256Digest`], the names of things.
//! - [`verdict`]: [`Verdict`], [`DetectorVerdict`] and [`Confidence`].
//! - [`report`]: what an enclave signs ([`EnclaveReport`]) and what the
//!   aggregator publishes ([`FinalReport`]).
//! - [`canonical`]: the domain-separated byte encodings that signatures cover.
//! - [`consensus`]: the weighted-consensus rule ([`ConsensusRule`]) of DESIGN.md §3.
//! - [`finalize`]: assembling the final report (per-detector summaries, evidence).
//! - [`reputation`]: reputation from scored history (DESIGN.md §4).
//! - [`committee`]: deterministic, stake-weighted committee selection.
//! - [`job`]: job lifecycle states.
//! - [`oracle`]: the registered verifier (enclave) as the economy sees it.
//! - [`task`]: the [`VerificationTask`] an enclave receives through the queue.
//! - [`stake`]: the append-only stake ledger and its conservation law.
//! - [`dispute`]: bonds, dispute outcomes, slashing, rewards, bans, scoring.

pub mod canonical;
pub mod committee;
pub mod consensus;
pub mod dispute;
pub mod finalize;
pub mod ids;
pub mod job;
pub mod oracle;
pub mod report;
pub mod reputation;
pub mod stake;
pub mod task;
pub mod verdict;

pub use consensus::{Ballot, ConsensusError, ConsensusOutcome, ConsensusRule};
pub use ids::{EnclaveId, IdError, JobId, Sha256Digest};
pub use job::JobStatus;
pub use oracle::{AttestationKind, Oracle};
pub use report::{
    ConsensusMetadata, DetectorResult, EnclaveReport, EvidenceItem, FinalReport, ModelSummary,
    SignedReport, Vote,
};
pub use task::{SealedKeyWire, TaskEvidence, VerificationTask};
pub use verdict::{Confidence, DetectorVerdict, Verdict};
