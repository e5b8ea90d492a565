//! The [`DisputeRepository`] port: disputes, dispute evidence, the stake
//! ledger, equivocation proofs and the history reputation is computed from.
//!
//! It lives in the same database as the [`Repository`](crate::Repository)
//! (it reads jobs, rounds and reports, and moves a job into its
//! re-verification round in the same transaction that opens the dispute).
//! Adapters: SQLite and PostgreSQL, in [`crate::disputes_sql`].

use async_trait::async_trait;
use verity_core::committee::CommitteeSelection;
use verity_core::dispute::DisputeState;
use verity_core::stake::Movement;
use verity_core::{EnclaveId, FinalReport, JobId, SignedReport, Verdict};

use crate::Result;
use crate::repo::{BlobRecord, SealedKeyRecord};

/// Evidence uploaded with `POST /api/evidence` (stored encrypted like media).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EvidenceRecord {
    /// The id clients pass as `evidenceCID`.
    pub evidence_id: String,
    /// The encrypted blob.
    pub blob: BlobRecord,
    /// Sniffed MIME type.
    pub mime: String,
    /// When it was uploaded (Unix milliseconds).
    pub created_ms: u64,
}

/// A dispute being opened: the dispute row, the bond and the job's move
/// into its re-verification round, stored in one transaction.
#[derive(Debug, Clone, PartialEq)]
pub struct NewDispute {
    /// Its id (`dsp_…`).
    pub dispute_id: String,
    /// The disputed job.
    pub job_id: JobId,
    /// The round whose verdict is disputed (the job's current round).
    pub disputed_round: u32,
    /// The verdict disputed.
    pub disputed_verdict: Verdict,
    /// The challenger's Sui-style address.
    pub challenger: String,
    /// The `evidenceCID` as given.
    pub evidence_id: String,
    /// Whether it named evidence stored here.
    pub evidence_resolved: bool,
    /// The challenger's reason.
    pub reason: String,
    /// The bond posted (a ledger deposit into the dispute's escrow).
    pub bond: u64,
    /// The escalated committee of the re-verification round.
    pub committee: Vec<EnclaveId>,
    /// How it was chosen (signed into the round's final report).
    pub committee_selection: CommitteeSelection,
    /// The re-verification round's deadline (Unix milliseconds).
    pub deadline_ms: u64,
    /// The re-verification round's queue priority.
    pub priority: i32,
    /// When (Unix milliseconds).
    pub created_ms: u64,
}

/// A stored dispute.
#[derive(Debug, Clone, PartialEq)]
pub struct DisputeRecord {
    /// Its id.
    pub dispute_id: String,
    /// The job.
    pub job_id: JobId,
    /// The disputed round.
    pub disputed_round: u32,
    /// The verdict disputed.
    pub disputed_verdict: Verdict,
    /// The re-verification round.
    pub reverify_round: u32,
    /// The challenger's address.
    pub challenger: String,
    /// The `evidenceCID`.
    pub evidence_id: String,
    /// Whether it resolved to stored evidence.
    pub evidence_resolved: bool,
    /// The challenger's reason.
    pub reason: String,
    /// The bond.
    pub bond: u64,
    /// Where it is.
    pub state: DisputeState,
    /// The re-verification's verdict, once decided.
    pub new_verdict: Option<Verdict>,
    /// Why it ended as it did.
    pub outcome: Option<String>,
    /// When it was opened.
    pub created_ms: u64,
    /// When it was resolved.
    pub resolved_ms: Option<u64>,
}

/// A batch of ledger movements stored atomically, with the bookkeeping that
/// goes with them.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct LedgerBatch {
    /// The movements, in order; each source must hold enough (else
    /// [`StoreError::Conflict`](crate::StoreError::Conflict) and nothing is stored).
    pub movements: Vec<Movement>,
    /// The dispute they belong to.
    pub dispute_id: Option<String>,
    /// Makes the batch idempotent: a second batch with the same key is a no-op.
    pub idem_key: Option<String>,
    /// Oracles whose slash count goes up by one.
    pub slashed: Vec<EnclaveId>,
    /// Oracles banned by this batch, with the reason.
    pub bans: Vec<(EnclaveId, String)>,
    /// When (Unix milliseconds).
    pub at_ms: u64,
}

/// A stored ledger entry.
#[derive(Debug, Clone, PartialEq)]
pub struct LedgerEntry {
    /// Monotonic id.
    pub id: i64,
    /// The movement.
    pub movement: Movement,
    /// The dispute it belongs to.
    pub dispute_id: Option<String>,
    /// When (Unix milliseconds).
    pub at_ms: u64,
}

/// How a dispute ends, stored with its ledger batch in one transaction.
#[derive(Debug, Clone, PartialEq)]
pub struct Resolution {
    /// The dispute.
    pub dispute_id: String,
    /// `upheld`, `overturned` or `rejected`.
    pub state: DisputeState,
    /// The re-verification's verdict, when it decided.
    pub new_verdict: Option<Verdict>,
    /// Why, for people.
    pub outcome: String,
    /// Slashes, refunds, rewards, forfeits and bans.
    pub batch: LedgerBatch,
    /// For a re-verification that failed: the job to put back to its
    /// disputed round, in the same transaction.
    pub restore: Option<Restore>,
}

/// Puts a job whose re-verification round failed back to the round it was
/// disputed in: `COMPLETED`, that round's number, committee (from the
/// archive), committee record and final report. The failed round and its
/// reports stay archived.
#[derive(Debug, Clone, PartialEq)]
pub struct Restore {
    /// The job.
    pub job_id: JobId,
    /// The re-verification round that failed (the job must be `FAILED` in it).
    pub failed_round: u32,
    /// The disputed round's final report, which stands.
    pub report: FinalReport,
}

/// A decided (or failed) round as archived.
#[derive(Debug, Clone, PartialEq)]
pub struct RoundRecord {
    /// The round.
    pub round: u32,
    /// `COMPLETED` or `FAILED`.
    pub status: String,
    /// Its committee.
    pub committee: Vec<EnclaveId>,
    /// Its final report, when it completed.
    pub final_report: Option<FinalReport>,
    /// Why it failed, when it did.
    pub failure_reason: Option<String>,
    /// When it was decided.
    pub decided_ms: u64,
}

/// Two different signed reports from one enclave for one job round.
#[derive(Debug, Clone, PartialEq)]
pub struct EquivocationProof {
    /// Row id.
    pub id: i64,
    /// The job.
    pub job_id: JobId,
    /// The round.
    pub round: u32,
    /// The equivocating enclave.
    pub enclave_id: EnclaveId,
    /// The report stored first.
    pub first: SignedReport,
    /// The conflicting report.
    pub second: SignedReport,
    /// When it was detected.
    pub detected_ms: u64,
}

/// One of an oracle's reports on a job whose verdict is final.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FinalizedReport {
    /// What the oracle said.
    pub verdict: Verdict,
    /// The job's final verdict.
    pub final_verdict: Verdict,
    /// When the report was received (Unix milliseconds).
    pub at_ms: u64,
}

/// Disputes and the stake economy.
#[async_trait]
pub trait DisputeRepository: Send + Sync {
    /// Stores an evidence blob's record and its sealed data keys.
    async fn store_evidence(
        &self,
        evidence: &EvidenceRecord,
        keys: &[SealedKeyRecord],
    ) -> Result<()>;

    /// Evidence by id.
    async fn evidence(&self, id: &str) -> Result<Option<EvidenceRecord>>;

    /// Opens a dispute: moves the job from `COMPLETED` in `disputed_round`
    /// to a new `DISPUTED` round, stores the dispute and deposits the bond.
    ///
    /// # Errors
    /// [`StoreError::Conflict`](crate::StoreError::Conflict) when the job is
    /// not `COMPLETED` in that round or already has a dispute.
    async fn open_dispute(&self, dispute: &NewDispute) -> Result<DisputeRecord>;

    /// The dispute of a job (a job is disputed at most once).
    async fn dispute_for_job(&self, job: &JobId) -> Result<Option<DisputeRecord>>;

    /// Every open dispute.
    async fn open_disputes(&self) -> Result<Vec<DisputeRecord>>;

    /// Moves an open dispute to `reverifying`; false if it was not pending.
    async fn mark_reverifying(&self, dispute_id: &str) -> Result<bool>;

    /// Ends an open dispute and stores its ledger batch (and its
    /// [`Restore`], if any) atomically; false (and nothing stored) if it was
    /// already resolved.
    ///
    /// # Errors
    /// [`StoreError::Conflict`](crate::StoreError::Conflict) on an overdraft,
    /// or when a job to restore is not `FAILED` in its failed round.
    async fn resolve_dispute(&self, resolution: &Resolution) -> Result<bool>;

    /// Stores a ledger batch; false when its idempotency key was seen before.
    ///
    /// # Errors
    /// [`StoreError::Conflict`](crate::StoreError::Conflict) on an overdraft.
    async fn post(&self, batch: &LedgerBatch) -> Result<bool>;

    /// Ledger entries, oldest first: all, or those of one dispute.
    async fn ledger(&self, dispute_id: Option<&str>) -> Result<Vec<LedgerEntry>>;

    /// When an oracle was slashed (Unix milliseconds), oldest first.
    async fn slash_times(&self, enclave: &EnclaveId) -> Result<Vec<u64>>;

    /// Bans (`Some(reason)`) or unbans (`None`) an oracle; false if unknown.
    async fn set_ban(&self, enclave: &EnclaveId, reason: Option<&str>) -> Result<bool>;

    /// Sets an oracle's reputation (recomputed from history).
    async fn set_reputation(&self, enclave: &EnclaveId, reputation: f64) -> Result<()>;

    /// An archived round of a job.
    async fn round(&self, job: &JobId, round: u32) -> Result<Option<RoundRecord>>;

    /// Each oracle's count of reports counted in decided rounds' consensus.
    async fn reports_counted(&self) -> Result<Vec<(EnclaveId, u64)>>;

    /// An oracle's reports on jobs whose verdict is final: completed, no
    /// dispute open, and either decided before `window_closed_before_ms` or
    /// already through a dispute.
    async fn finalized_reports(
        &self,
        enclave: &EnclaveId,
        window_closed_before_ms: u64,
    ) -> Result<Vec<FinalizedReport>>;

    /// Equivocation proofs, oldest first.
    async fn equivocations(&self) -> Result<Vec<EquivocationProof>>;
}
