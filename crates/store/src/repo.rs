//! The [`Repository`] port: oracles, jobs, rounds, reports and job events.

use async_trait::async_trait;
use serde::Serialize;
use verity_core::committee::CommitteeSelection;
use verity_core::{
    AttestationKind, EnclaveId, FinalReport, JobId, JobStatus, Oracle, Sha256Digest, SignedReport,
};

use crate::Result;

/// An oracle registering (or re-registering) its keys.
#[derive(Debug, Clone, PartialEq)]
pub struct OracleRegistration {
    /// Its identity.
    pub enclave_id: EnclaveId,
    /// Ed25519 public key.
    pub signing_key: Vec<u8>,
    /// X25519 public key.
    pub encryption_key: Vec<u8>,
    /// Attestation kind.
    pub attestation_kind: AttestationKind,
    /// The verified attestation document (JSON).
    pub attestation: String,
    /// Stake given to a new oracle (an existing one keeps its own).
    pub initial_stake: u64,
    /// Reputation given to a new oracle (an existing one keeps its own).
    pub initial_reputation: f64,
}

/// An encrypted blob as the database knows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlobRecord {
    /// Id in the blob store.
    pub blob_id: String,
    /// SHA-256 of the plaintext.
    pub media_sha256: Sha256Digest,
    /// The blob store's provider name.
    pub storage: String,
    /// Ciphertext size in bytes.
    pub size: u64,
}

/// A data key sealed to one enclave, as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SealedKeyRecord {
    /// The enclave that can open it.
    pub enclave_id: EnclaveId,
    /// HPKE `enc`.
    pub enc: Vec<u8>,
    /// Sealed data key.
    pub ciphertext: Vec<u8>,
}

/// Everything stored when an upload is accepted.
#[derive(Debug, Clone, PartialEq)]
pub struct NewJob {
    /// The new job's id.
    pub job_id: JobId,
    /// The blob (inserted if new).
    pub blob: BlobRecord,
    /// Data keys for the blob (inserted if new).
    pub sealed_keys: Vec<SealedKeyRecord>,
    /// Sniffed MIME type.
    pub mime: String,
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// Plaintext size in bytes.
    pub size: u64,
    /// The uploader's optional `userId`.
    pub user_id: Option<String>,
    /// The first round's committee.
    pub committee: Vec<EnclaveId>,
    /// How it was chosen (signed into the round's final report).
    pub committee_selection: Option<CommitteeSelection>,
    /// Deadline of the first round (Unix milliseconds).
    pub deadline_ms: u64,
    /// Creation time (Unix milliseconds).
    pub created_ms: u64,
}

/// A job as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct JobRecord {
    /// Its id.
    pub job_id: JobId,
    /// SHA-256 of the media.
    pub media_sha256: Sha256Digest,
    /// Where the encrypted media is.
    pub blob_id: String,
    /// The blob store provider.
    pub storage: String,
    /// Sniffed MIME type.
    pub mime: String,
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// Plaintext size.
    pub size: u64,
    /// The uploader's `userId`.
    pub user_id: Option<String>,
    /// Lifecycle state.
    pub status: JobStatus,
    /// Current round.
    pub round: u32,
    /// Current round's committee.
    pub committee: Vec<EnclaveId>,
    /// How the current round's committee was chosen (`None` for rounds
    /// queued before it was recorded).
    pub committee_selection: Option<CommitteeSelection>,
    /// Current round's queue priority.
    pub priority: i32,
    /// Current round's deadline (Unix milliseconds).
    pub deadline_ms: u64,
    /// Why it failed, when it did.
    pub failure_reason: Option<String>,
    /// The current round's final report, once decided.
    pub final_report: Option<FinalReport>,
    /// Creation time.
    pub created_ms: u64,
    /// Last change.
    pub updated_ms: u64,
}

/// A stored enclave report.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredReport {
    /// The signed report.
    pub signed: SignedReport,
    /// Its digest.
    pub digest: Sha256Digest,
    /// When the aggregator accepted it.
    pub received_ms: u64,
}

/// Result of saving an enclave report.
#[derive(Debug, Clone, PartialEq)]
pub enum SaveReport {
    /// Stored.
    Inserted,
    /// The same report was already stored (an idempotent retry).
    Duplicate,
    /// A *different* report from the same enclave for the same round already
    /// exists; both were kept as proof of equivocation.
    Equivocation {
        /// The report stored first.
        first: Box<SignedReport>,
    },
}

/// One entry of a job's event stream (Server-Sent Events).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct JobEvent {
    /// Monotonic id (the SSE `id`).
    pub id: i64,
    /// The job.
    pub job_id: JobId,
    /// Event name: `queued`, `enclave_started`, `enclave_finished`, `consensus`, `completed`, `failed`…
    pub kind: String,
    /// Event data.
    pub data: serde_json::Value,
    /// When it happened (Unix milliseconds).
    pub at_ms: u64,
}

/// The database.
#[async_trait]
pub trait Repository: Send + Sync {
    /// Checks the database is reachable (for `/readyz`).
    async fn ping(&self) -> Result<()>;

    /// Registers an oracle, or updates the keys and attestation of an existing
    /// one (its stake, reputation and record are kept).
    async fn register_oracle(&self, reg: &OracleRegistration) -> Result<Oracle>;

    /// One oracle.
    async fn oracle(&self, id: &EnclaveId) -> Result<Option<Oracle>>;

    /// All oracles, by id.
    async fn oracles(&self) -> Result<Vec<Oracle>>;

    /// A stored blob of `media` whose data key is sealed to every one of
    /// `enclaves`, if there is one (so identical uploads share ciphertext).
    async fn reusable_blob(
        &self,
        media: &Sha256Digest,
        enclaves: &[EnclaveId],
    ) -> Result<Option<BlobRecord>>;

    /// Stores a new job (and its blob and keys when new) in one transaction,
    /// with its first `queued` event.
    async fn create_job(&self, job: &NewJob, queued_event: &serde_json::Value) -> Result<JobEvent>;

    /// One job.
    async fn job(&self, id: &JobId) -> Result<Option<JobRecord>>;

    /// The data keys sealed for a blob.
    async fn sealed_keys(&self, blob_id: &str) -> Result<Vec<SealedKeyRecord>>;

    /// Moves a job from one of `from` to `to` if it is still in `round`;
    /// returns whether it moved.
    async fn transition(
        &self,
        id: &JobId,
        round: u32,
        from: &[JobStatus],
        to: JobStatus,
    ) -> Result<bool>;

    /// Stores an enclave report (see [`SaveReport`]).
    async fn save_report(&self, report: &SignedReport, received_ms: u64) -> Result<SaveReport>;

    /// The reports of one round, by enclave id.
    async fn reports(&self, id: &JobId, round: u32) -> Result<Vec<StoredReport>>;

    /// Records the decision of an open round; false if it was already decided.
    async fn complete_round(&self, report: &FinalReport) -> Result<bool>;

    /// Fails an open round with `reason`; false if it was already decided.
    async fn fail_round(&self, id: &JobId, round: u32, reason: &str) -> Result<bool>;

    /// Starts a new round (retry or re-verification) on a job that is not
    /// open; false if the job is open or not at `expected_round`.
    async fn start_round(
        &self,
        id: &JobId,
        expected_round: u32,
        committee: &[EnclaveId],
        deadline_ms: u64,
        priority: i32,
        status: JobStatus,
    ) -> Result<bool>;

    /// Open jobs whose deadline has passed.
    async fn overdue_jobs(&self, now_ms: u64, limit: u32) -> Result<Vec<JobRecord>>;

    /// All open jobs (for re-publishing after a restart).
    async fn open_jobs(&self, limit: u32) -> Result<Vec<JobRecord>>;

    /// Moves the deadline of every open round to at least `at_least_ms`
    /// (after a restart, time spent down is not the enclaves' fault);
    /// returns how many rounds moved.
    async fn extend_open_deadlines(&self, at_least_ms: u64) -> Result<u64>;

    /// Counts of jobs per status (for metrics).
    async fn job_counts(&self) -> Result<Vec<(JobStatus, u64)>>;

    /// Appends an event to a job's stream.
    async fn append_event(
        &self,
        id: &JobId,
        kind: &str,
        data: &serde_json::Value,
    ) -> Result<JobEvent>;

    /// A job's events after `after_id`, oldest first.
    async fn events_after(&self, id: &JobId, after_id: i64) -> Result<Vec<JobEvent>>;
}
