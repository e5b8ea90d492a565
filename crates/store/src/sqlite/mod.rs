//! The embedded adapters: SQLite for the repository and the queue.
//!
//! One database file in WAL mode. Writes go through a single connection (so
//! writers queue in-process instead of spinning on `SQLITE_BUSY`); reads use
//! a small pool. `synchronous = NORMAL` (the WAL default recommendation): a
//! commit survives a process crash (`kill -9`); `--sqlite-sync full` also
//! survives power loss at the cost of an fsync per commit.

mod attestation;
mod log;
mod queue;
mod repo;

use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};

pub use attestation::SqliteAttestations;
pub use log::SqliteLogStore;
pub use queue::SqliteQueue;
pub use repo::SqliteRepository;

use crate::Result;

/// An open SQLite database with its schema migrated.
#[derive(Debug, Clone)]
pub struct SqliteDb {
    pub(crate) writer: SqlitePool,
    pub(crate) reader: SqlitePool,
}

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");

impl SqliteDb {
    /// Opens (creating if needed) the database at `path` and migrates it.
    /// With `full_sync`, every commit is fsynced.
    ///
    /// # Errors
    /// The database cannot be opened or migrated.
    pub async fn open(path: &Path, full_sync: bool) -> Result<Self> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        let options = SqliteConnectOptions::from_str("sqlite://")?
            .filename(path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(if full_sync {
                SqliteSynchronous::Full
            } else {
                SqliteSynchronous::Normal
            })
            .busy_timeout(Duration::from_secs(10))
            .foreign_keys(true)
            // 4 MiB of page cache per connection (5 connections): a larger cache
            // grew the server's RSS by up to 80 MiB as the database grew.
            .pragma("cache_size", "-4000");
        let writer = SqlitePoolOptions::new()
            .max_connections(1)
            .acquire_timeout(Duration::from_secs(30))
            .connect_with(options.clone())
            .await?;
        MIGRATOR.run(&writer).await.map_err(|e| {
            crate::StoreError::Database(format!("migrating {}: {e}", path.display()))
        })?;
        let reader = SqlitePoolOptions::new()
            .max_connections(4)
            .acquire_timeout(Duration::from_secs(30))
            .connect_with(options)
            .await?;
        Ok(SqliteDb { writer, reader })
    }

    /// Closes both pools (flushing the WAL).
    pub async fn close(&self) {
        self.writer.close().await;
        self.reader.close().await;
    }
}
