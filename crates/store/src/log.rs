//! The [`LogStore`] port: the transparency log's durable state.
//!
//! Entries are append-only and numbered from 0 with no gaps; an entry whose
//! leaf hash is already stored is not appended twice (the stored one is
//! returned), so retrying an append is harmless. Checkpoints are stored by
//! tree size and never replaced by a different root. The store knows nothing
//! of Merkle trees: the caller computes leaf hashes and roots.

use async_trait::async_trait;
use verity_core::{EnclaveId, FinalReport};

use crate::Result;

/// An entry to append.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewLogEntry {
    /// What it records (`final_report`, `dispute_outcome`, `slash`, `ban`…).
    pub kind: String,
    /// What it is about (a job id, an enclave id).
    pub subject: String,
    /// The job round it concerns (0 when not about a round).
    pub round: u32,
    /// The exact leaf bytes.
    pub leaf: Vec<u8>,
    /// RFC 6962 hash of `leaf` (`SHA-256(0x00 || leaf)`).
    pub leaf_hash: [u8; 32],
    /// Optional JSON the entry stands for (served with it).
    pub payload: Option<String>,
}

/// A stored entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogEntry {
    /// Its position in the log.
    pub index: u64,
    /// What it records.
    pub kind: String,
    /// What it is about.
    pub subject: String,
    /// The round it concerns.
    pub round: u32,
    /// The leaf bytes.
    pub leaf: Vec<u8>,
    /// Their RFC 6962 leaf hash.
    pub leaf_hash: [u8; 32],
    /// The JSON it stands for, if any.
    pub payload: Option<String>,
    /// When it was appended (Unix milliseconds).
    pub appended_ms: u64,
}

/// A signed checkpoint as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredCheckpoint {
    /// Tree size.
    pub size: u64,
    /// Root hash.
    pub root: [u8; 32],
    /// The signed note (C2SP tlog-checkpoint).
    pub note: String,
    /// When it was published (Unix milliseconds).
    pub created_ms: u64,
}

/// A checkpoint's anchoring transaction on a chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AnchorRecord {
    /// The anchored checkpoint's size.
    pub size: u64,
    /// The chain (`sui:testnet`, …).
    pub chain: String,
    /// The transaction digest.
    pub tx_digest: String,
    /// When it was recorded (Unix milliseconds).
    pub anchored_ms: u64,
}

/// Durable state of the transparency log.
#[async_trait]
pub trait LogStore: Send + Sync {
    /// Appends `entries` in order, in one transaction; returns each stored
    /// entry and whether it is new (false: the same leaf was already logged).
    async fn append(&self, entries: &[NewLogEntry]) -> Result<Vec<(LogEntry, bool)>>;

    /// Number of entries.
    async fn log_size(&self) -> Result<u64>;

    /// Leaf hashes of entries `from ..` (at most `limit`), in order.
    async fn leaf_hashes(&self, from: u64, limit: u32) -> Result<Vec<[u8; 32]>>;

    /// One entry.
    async fn entry(&self, index: u64) -> Result<Option<LogEntry>>;

    /// The entries about `subject`, in log order.
    async fn entries_for(&self, subject: &str) -> Result<Vec<LogEntry>>;

    /// Stores a checkpoint; storing the same one again is a no-op.
    ///
    /// # Errors
    /// [`crate::StoreError::Conflict`] when a different root is stored for its size.
    async fn save_checkpoint(&self, checkpoint: &StoredCheckpoint) -> Result<()>;

    /// The checkpoint of the largest tree.
    async fn latest_checkpoint(&self) -> Result<Option<StoredCheckpoint>>;

    /// The checkpoint of one tree size.
    async fn checkpoint(&self, size: u64) -> Result<Option<StoredCheckpoint>>;

    /// Every checkpoint, smallest first (at most `limit`, from size `from`).
    async fn checkpoints(&self, from: u64, limit: u32) -> Result<Vec<StoredCheckpoint>>;

    /// Records a checkpoint's anchoring; recording one already anchored is a no-op.
    async fn save_anchor(&self, anchor: &AnchorRecord) -> Result<()>;

    /// The anchor of a checkpoint.
    async fn anchor(&self, size: u64) -> Result<Option<AnchorRecord>>;

    /// The latest anchored checkpoint's anchor.
    async fn latest_anchor(&self) -> Result<Option<AnchorRecord>>;

    /// Current final reports of completed jobs that have no `final_report`
    /// entry for their round yet (to catch up after a crash).
    async fn unlogged_final_reports(&self, limit: u32) -> Result<Vec<FinalReport>>;

    /// The attestation document an enclave registered with (JSON).
    async fn attestation_document(&self, enclave: &EnclaveId) -> Result<Option<String>>;
}

/// The log store on an opened database (the same database as the repository).
pub fn log_store(db: &crate::select::OpenedDb) -> std::sync::Arc<dyn LogStore> {
    match (&db.sqlite, &db.postgres) {
        (Some(sqlite), _) => std::sync::Arc::new(crate::SqliteLogStore::new(sqlite.clone())),
        (None, Some(pg)) => std::sync::Arc::new(crate::PgLogStore::new(pg.clone())),
        (None, None) => unreachable!("an opened database is SQLite or PostgreSQL"),
    }
}
