//! Storage for Verity: ports and their adapters, no domain rules.
//!
//! Ports (traits the rest of Verity depends on):
//! - [`BlobStore`] ([`blob`]): encrypted media by content id.
//! - [`JobQueue`] ([`queue`]): fan-out of verification tasks to enclaves with
//!   leases, retries with backoff, dead letters and priorities.
//! - [`Repository`] ([`repo`]): oracles, jobs, rounds, reports, events.
//! - [`LogStore`] ([`log`]): the transparency log's entries, checkpoints and
//!   anchors ([`SqliteLogStore`], [`PgLogStore`]; [`log::log_store`] picks one).
//! - [`AttestationStore`] ([`attestation`]): verified enclave attestations,
//!   their measurements, expiry and revocation.
//! - [`DisputeRepository`] ([`disputes`]): disputes, evidence, the stake
//!   ledger, equivocation proofs, reputation history; on SQLite and
//!   PostgreSQL in [`disputes_sql`].
//!
//! Embedded adapters, used by `verity serve` with no configuration:
//! - [`FileBlobStore`] ([`file_blobs`]): files under the data directory.
//! - [`SqliteDb`] in [`sqlite`] (WAL, one writer connection, readers in a pool)
//!   with [`SqliteRepository`] and [`SqliteQueue`] on the same database.
//!
//! Distributed adapters, on existing engines:
//! - [`PgRepository`] and [`PgQueue`] in [`postgres`] (`FOR UPDATE SKIP
//!   LOCKED`, `LISTEN/NOTIFY`), migrated at start-up under an advisory lock.
//! - [`RedisQueue`] in [`redis_queue`], on Redis Streams (a consumer group per
//!   enclave identity, `XAUTOCLAIM` after the lease, dead-letter stream).
//! - [`S3BlobStore`] in [`s3`], through `object_store`.
//! - [`WalrusBlobStore`] in [`walrus`], the publisher/aggregator HTTP API.
//!
//! [`select`] parses `VERITY_DB` / `VERITY_QUEUE` / `VERITY_BLOBS` URLs and
//! opens the matching adapters. [`conformance`] holds the behaviour checks
//! every adapter of a port must pass.
//!
//! All fallible operations return [`StoreError`].

pub mod attestation;
pub mod blob;
pub mod conformance;
pub mod disputes;
pub mod disputes_sql;
pub mod file_blobs;
pub mod log;
pub mod postgres;
pub mod queue;
pub mod redis_queue;
pub mod repo;
pub mod s3;
pub mod select;
pub mod sqlite;
pub mod walrus;

pub use attestation::{AttestationRecord, AttestationStore, NonceStatus};
pub use blob::{BlobId, BlobStore};
pub use disputes::{
    DisputeRecord, DisputeRepository, EquivocationProof, EvidenceRecord, FinalizedReport,
    LedgerBatch, LedgerEntry, NewDispute, Resolution, Restore, RoundRecord,
};
pub use disputes_sql::{PgDisputes, SqliteDisputes, open_disputes};
pub use file_blobs::FileBlobStore;
pub use log::{AnchorRecord, LogEntry, LogStore, NewLogEntry, StoredCheckpoint};
pub use postgres::PgLogStore;
pub use postgres::{PgAttestations, PgDb, PgQueue, PgRepository};
pub use queue::{
    DeadLetter, Delivery, FailOutcome, FanOut, JobQueue, LeasedTask, QueuePolicy, QueueStats,
};
pub use redis_queue::RedisQueue;
pub use repo::{
    BlobRecord, JobEvent, JobRecord, NewJob, OracleRegistration, Repository, SaveReport,
    SealedKeyRecord, StoredReport,
};
pub use s3::S3BlobStore;
pub use sqlite::SqliteLogStore;
pub use sqlite::{SqliteAttestations, SqliteDb, SqliteQueue, SqliteRepository};
pub use walrus::{WalrusBlobStore, WalrusConfig};

/// What can go wrong in storage.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The thing asked for does not exist.
    #[error("not found: {0}")]
    NotFound(String),
    /// The request conflicts with the stored state.
    #[error("conflict: {0}")]
    Conflict(String),
    /// An argument is not acceptable (e.g. a malformed blob id).
    #[error("invalid: {0}")]
    Invalid(String),
    /// Stored data could not be decoded.
    #[error("corrupt stored data: {0}")]
    Corrupt(String),
    /// A file-system error.
    #[error("I/O: {0}")]
    Io(#[from] std::io::Error),
    /// A database error.
    #[error("database: {0}")]
    Database(String),
    /// The blob is larger than the store accepts.
    #[error("too large: {0}")]
    TooLarge(String),
    /// A backing service is unreachable or refused the request; retry later.
    #[error("unavailable: {0}")]
    Unavailable(String),
}

impl From<sqlx::Error> for StoreError {
    fn from(e: sqlx::Error) -> Self {
        match e {
            sqlx::Error::RowNotFound => StoreError::NotFound("row".into()),
            sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed | sqlx::Error::Io(_) => {
                StoreError::Unavailable(e.to_string())
            }
            other => StoreError::Database(other.to_string()),
        }
    }
}

impl From<serde_json::Error> for StoreError {
    fn from(e: serde_json::Error) -> Self {
        StoreError::Corrupt(e.to_string())
    }
}

/// Result with [`StoreError`].
pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// Milliseconds since the Unix epoch.
pub fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}
