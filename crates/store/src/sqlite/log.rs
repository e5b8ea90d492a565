//! [`SqliteLogStore`]: the [`LogStore`] port on SQLite.

use async_trait::async_trait;
use sqlx::Row;
use sqlx::sqlite::SqliteRow;
use verity_core::{EnclaveId, FinalReport};

use super::SqliteDb;
use crate::log::{AnchorRecord, LogEntry, LogStore, NewLogEntry, StoredCheckpoint};
use crate::{Result, StoreError, now_ms};

/// The log store on a [`SqliteDb`].
#[derive(Debug, Clone)]
pub struct SqliteLogStore {
    db: SqliteDb,
}

impl SqliteLogStore {
    /// A log store on `db`.
    pub fn new(db: SqliteDb) -> Self {
        SqliteLogStore { db }
    }
}

const ENTRY_COLUMNS: &str = "idx, kind, subject, round, leaf, leaf_hash, payload, appended_at";

fn hash32(what: &str, bytes: Vec<u8>) -> Result<[u8; 32]> {
    bytes
        .try_into()
        .map_err(|_| StoreError::Corrupt(format!("{what} is not 32 bytes")))
}

fn entry_from_row(row: &SqliteRow) -> Result<LogEntry> {
    Ok(LogEntry {
        index: row.try_get::<i64, _>("idx")? as u64,
        kind: row.try_get("kind")?,
        subject: row.try_get("subject")?,
        round: row.try_get::<i64, _>("round")? as u32,
        leaf: row.try_get("leaf")?,
        leaf_hash: hash32("leaf_hash", row.try_get("leaf_hash")?)?,
        payload: row.try_get("payload")?,
        appended_ms: row.try_get::<i64, _>("appended_at")? as u64,
    })
}

fn checkpoint_from_row(row: &SqliteRow) -> Result<StoredCheckpoint> {
    Ok(StoredCheckpoint {
        size: row.try_get::<i64, _>("size")? as u64,
        root: hash32("root", row.try_get("root")?)?,
        note: row.try_get("note")?,
        created_ms: row.try_get::<i64, _>("created_at")? as u64,
    })
}

fn anchor_from_row(row: &SqliteRow) -> Result<AnchorRecord> {
    Ok(AnchorRecord {
        size: row.try_get::<i64, _>("size")? as u64,
        chain: row.try_get("chain")?,
        tx_digest: row.try_get("tx_digest")?,
        anchored_ms: row.try_get::<i64, _>("anchored_at")? as u64,
    })
}

#[async_trait]
impl LogStore for SqliteLogStore {
    async fn append(&self, entries: &[NewLogEntry]) -> Result<Vec<(LogEntry, bool)>> {
        let mut tx = self.db.writer.begin().await?;
        let mut next: i64 = sqlx::query("SELECT COALESCE(MAX(idx) + 1, 0) AS n FROM log_entries")
            .fetch_one(&mut *tx)
            .await?
            .try_get("n")?;
        let now = now_ms() as i64;
        let mut out = Vec::with_capacity(entries.len());
        for e in entries {
            let existing = sqlx::query(&format!(
                "SELECT {ENTRY_COLUMNS} FROM log_entries WHERE leaf_hash = ?"
            ))
            .bind(&e.leaf_hash[..])
            .fetch_optional(&mut *tx)
            .await?;
            if let Some(row) = existing {
                out.push((entry_from_row(&row)?, false));
                continue;
            }
            sqlx::query(
                "INSERT INTO log_entries (idx, kind, subject, round, leaf, leaf_hash, payload, appended_at) \
                 VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            )
            .bind(next)
            .bind(&e.kind)
            .bind(&e.subject)
            .bind(i64::from(e.round))
            .bind(&e.leaf)
            .bind(&e.leaf_hash[..])
            .bind(&e.payload)
            .bind(now)
            .execute(&mut *tx)
            .await?;
            out.push((
                LogEntry {
                    index: next as u64,
                    kind: e.kind.clone(),
                    subject: e.subject.clone(),
                    round: e.round,
                    leaf: e.leaf.clone(),
                    leaf_hash: e.leaf_hash,
                    payload: e.payload.clone(),
                    appended_ms: now as u64,
                },
                true,
            ));
            next += 1;
        }
        tx.commit().await?;
        Ok(out)
    }

    async fn log_size(&self) -> Result<u64> {
        let n: i64 = sqlx::query("SELECT COALESCE(MAX(idx) + 1, 0) AS n FROM log_entries")
            .fetch_one(&self.db.writer)
            .await?
            .try_get("n")?;
        Ok(n as u64)
    }

    async fn leaf_hashes(&self, from: u64, limit: u32) -> Result<Vec<[u8; 32]>> {
        sqlx::query("SELECT leaf_hash FROM log_entries WHERE idx >= ? ORDER BY idx LIMIT ?")
            .bind(from as i64)
            .bind(i64::from(limit))
            .fetch_all(&self.db.writer)
            .await?
            .iter()
            .map(|r| hash32("leaf_hash", r.try_get("leaf_hash")?))
            .collect()
    }

    async fn entry(&self, index: u64) -> Result<Option<LogEntry>> {
        sqlx::query(&format!(
            "SELECT {ENTRY_COLUMNS} FROM log_entries WHERE idx = ?"
        ))
        .bind(index as i64)
        .fetch_optional(&self.db.reader)
        .await?
        .as_ref()
        .map(entry_from_row)
        .transpose()
    }

    async fn entries_for(&self, subject: &str) -> Result<Vec<LogEntry>> {
        sqlx::query(&format!(
            "SELECT {ENTRY_COLUMNS} FROM log_entries WHERE subject = ? ORDER BY idx"
        ))
        .bind(subject)
        .fetch_all(&self.db.reader)
        .await?
        .iter()
        .map(entry_from_row)
        .collect()
    }

    async fn save_checkpoint(&self, cp: &StoredCheckpoint) -> Result<()> {
        let mut tx = self.db.writer.begin().await?;
        let existing = sqlx::query("SELECT root FROM log_checkpoints WHERE size = ?")
            .bind(cp.size as i64)
            .fetch_optional(&mut *tx)
            .await?;
        if let Some(row) = existing {
            let root: Vec<u8> = row.try_get("root")?;
            if root != cp.root {
                return Err(StoreError::Conflict(format!(
                    "a different root is already stored for tree size {}",
                    cp.size
                )));
            }
            return Ok(());
        }
        sqlx::query(
            "INSERT INTO log_checkpoints (size, root, note, created_at) VALUES (?, ?, ?, ?)",
        )
        .bind(cp.size as i64)
        .bind(&cp.root[..])
        .bind(&cp.note)
        .bind(cp.created_ms as i64)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn latest_checkpoint(&self) -> Result<Option<StoredCheckpoint>> {
        sqlx::query("SELECT * FROM log_checkpoints ORDER BY size DESC LIMIT 1")
            .fetch_optional(&self.db.reader)
            .await?
            .as_ref()
            .map(checkpoint_from_row)
            .transpose()
    }

    async fn checkpoint(&self, size: u64) -> Result<Option<StoredCheckpoint>> {
        sqlx::query("SELECT * FROM log_checkpoints WHERE size = ?")
            .bind(size as i64)
            .fetch_optional(&self.db.reader)
            .await?
            .as_ref()
            .map(checkpoint_from_row)
            .transpose()
    }

    async fn checkpoints(&self, from: u64, limit: u32) -> Result<Vec<StoredCheckpoint>> {
        sqlx::query("SELECT * FROM log_checkpoints WHERE size >= ? ORDER BY size LIMIT ?")
            .bind(from as i64)
            .bind(i64::from(limit))
            .fetch_all(&self.db.reader)
            .await?
            .iter()
            .map(checkpoint_from_row)
            .collect()
    }

    async fn save_anchor(&self, a: &AnchorRecord) -> Result<()> {
        sqlx::query(
            "INSERT INTO log_anchors (size, chain, tx_digest, anchored_at) VALUES (?, ?, ?, ?) \
             ON CONFLICT (size) DO NOTHING",
        )
        .bind(a.size as i64)
        .bind(&a.chain)
        .bind(&a.tx_digest)
        .bind(a.anchored_ms as i64)
        .execute(&self.db.writer)
        .await?;
        Ok(())
    }

    async fn anchor(&self, size: u64) -> Result<Option<AnchorRecord>> {
        sqlx::query("SELECT * FROM log_anchors WHERE size = ?")
            .bind(size as i64)
            .fetch_optional(&self.db.reader)
            .await?
            .as_ref()
            .map(anchor_from_row)
            .transpose()
    }

    async fn latest_anchor(&self) -> Result<Option<AnchorRecord>> {
        sqlx::query("SELECT * FROM log_anchors ORDER BY size DESC LIMIT 1")
            .fetch_optional(&self.db.reader)
            .await?
            .as_ref()
            .map(anchor_from_row)
            .transpose()
    }

    async fn unlogged_final_reports(&self, limit: u32) -> Result<Vec<FinalReport>> {
        sqlx::query(
            "SELECT j.final_report FROM jobs j WHERE j.final_report IS NOT NULL AND NOT EXISTS \
             (SELECT 1 FROM log_entries e WHERE e.subject = j.job_id AND e.kind = 'final_report' \
              AND e.round = j.round) ORDER BY j.updated_at LIMIT ?",
        )
        .bind(i64::from(limit))
        .fetch_all(&self.db.reader)
        .await?
        .iter()
        .map(|r| {
            Ok(serde_json::from_str(
                &r.try_get::<String, _>("final_report")?,
            )?)
        })
        .collect()
    }

    async fn attestation_document(&self, enclave: &EnclaveId) -> Result<Option<String>> {
        Ok(
            sqlx::query("SELECT attestation FROM oracles WHERE enclave_id = ?")
                .bind(enclave.as_str())
                .fetch_optional(&self.db.reader)
                .await?
                .map(|r| r.try_get("attestation"))
                .transpose()?,
        )
    }
}
