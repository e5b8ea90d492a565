//! The PostgreSQL adapters: [`PgRepository`] and [`PgQueue`].
//!
//! Both run the same migrations (`migrations/postgres`) at start-up. sqlx
//! holds a PostgreSQL advisory lock while migrating, so several processes
//! starting at once migrate exactly once and the others wait for it.

mod attestation;
mod log;
mod queue;
mod repo;

use std::str::FromStr;
use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};

pub use attestation::PgAttestations;
pub use log::PgLogStore;
pub use queue::PgQueue;
pub use repo::PgRepository;

use crate::{Result, StoreError};

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");

/// A connection pool to a migrated PostgreSQL database.
#[derive(Debug, Clone)]
pub struct PgDb {
    pub(crate) pool: PgPool,
}

impl PgDb {
    /// Connects to `url` (`postgres://…`) and migrates the schema.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] when the server cannot be reached in
    /// `connect_timeout`, [`StoreError::Database`] when migrating fails.
    pub async fn connect(
        url: &str,
        max_connections: u32,
        connect_timeout: Duration,
    ) -> Result<Self> {
        let options = PgConnectOptions::from_str(url)
            .map_err(|e| StoreError::Invalid(format!("not a PostgreSQL URL: {e}")))?;
        let pool = PgPoolOptions::new()
            .max_connections(max_connections.max(2))
            .acquire_timeout(connect_timeout)
            .connect_with(options)
            .await
            .map_err(|e| StoreError::Unavailable(format!("cannot connect to PostgreSQL: {e}")))?;
        MIGRATOR
            .run(&pool)
            .await
            .map_err(|e| StoreError::Database(format!("migrating the PostgreSQL schema: {e}")))?;
        Ok(PgDb { pool })
    }

    /// Closes the pool.
    pub async fn close(&self) {
        self.pool.close().await;
    }
}
