//! [`PgLogStore`]: the [`LogStore`] port on PostgreSQL.

use async_trait::async_trait;
use sqlx::Row;
use sqlx::postgres::PgRow;
use verity_core::{EnclaveId, FinalReport};

use super::PgDb;
use crate::log::{AnchorRecord, LogEntry, LogStore, NewLogEntry, StoredCheckpoint};
use crate::{Result, StoreError, now_ms};

/// The log store on a [`PgDb`].
#[derive(Debug, Clone)]
pub struct PgLogStore {
    db: PgDb,
}

impl PgLogStore {
    /// A log store on `db`.
    pub fn new(db: PgDb) -> Self {
        PgLogStore { db }
    }
}

const ENTRY_COLUMNS: &str = "idx, kind, subject, round, leaf, leaf_hash, payload, appended_at";

fn hash32(what: &str, bytes: Vec<u8>) -> Result<[u8; 32]> {
    bytes
        .try_into()
        .map_err(|_| StoreError::Corrupt(format!("{what} is not 32 bytes")))
}

fn entry_from_row(row: &PgRow) -> Result<LogEntry> {
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

fn checkpoint_from_row(row: &PgRow) -> Result<StoredCheckpoint> {
    Ok(StoredCheckpoint {
        size: row.try_get::<i64, _>("size")? as u64,
        root: hash32("root", row.try_get("root")?)?,
        note: row.try_get("note")?,
        created_ms: row.try_get::<i64, _>("created_at")? as u64,
    })
}

fn anchor_from_row(row: &PgRow) -> Result<AnchorRecord> {
    Ok(AnchorRecord {
        size: row.try_get::<i64, _>("size")? as u64,
        chain: row.try_get("chain")?,
        tx_digest: row.try_get("tx_digest")?,
        anchored_ms: row.try_get::<i64, _>("anchored_at")? as u64,
    })
}

#[async_trait]
impl LogStore for PgLogStore {
    async fn append(&self, entries: &[NewLogEntry]) -> Result<Vec<(LogEntry, bool)>> {
        let mut tx = self.db.pool.begin().await?;
        // One appender at a time, so indexes stay gap-free and in commit order.
        sqlx::query("SELECT pg_advisory_xact_lock(hashtext('verity_log_append'))")
            .execute(&mut *tx)
            .await?;
        let mut next: i64 = sqlx::query("SELECT COALESCE(MAX(idx) + 1, 0) AS n FROM log_entries")
            .fetch_one(&mut *tx)
            .await?
            .try_get("n")?;
        let now = now_ms() as i64;
        // Three round trips per batch: the lock and size above, the look-up of
        // already-logged leaves, and one multi-row insert.
        let hashes: Vec<Vec<u8>> = entries.iter().map(|e| e.leaf_hash.to_vec()).collect();
        let mut known: std::collections::HashMap<[u8; 32], LogEntry> = sqlx::query(&format!(
            "SELECT {ENTRY_COLUMNS} FROM log_entries WHERE leaf_hash = ANY($1)"
        ))
        .bind(&hashes)
        .fetch_all(&mut *tx)
        .await?
        .iter()
        .map(|row| entry_from_row(row).map(|e| (e.leaf_hash, e)))
        .collect::<Result<_>>()?;
        let mut out = Vec::with_capacity(entries.len());
        let mut rows = Vec::new();
        for e in entries {
            if let Some(stored) = known.get(&e.leaf_hash) {
                out.push((stored.clone(), false));
                continue;
            }
            let entry = LogEntry {
                index: next as u64,
                kind: e.kind.clone(),
                subject: e.subject.clone(),
                round: e.round,
                leaf: e.leaf.clone(),
                leaf_hash: e.leaf_hash,
                payload: e.payload.clone(),
                appended_ms: now as u64,
            };
            known.insert(e.leaf_hash, entry.clone());
            rows.push(entry.clone());
            out.push((entry, true));
            next += 1;
        }
        if !rows.is_empty() {
            sqlx::query(
                "INSERT INTO log_entries (idx, kind, subject, round, leaf, leaf_hash, payload, appended_at) \
                 SELECT * FROM UNNEST($1::BIGINT[], $2::TEXT[], $3::TEXT[], $4::BIGINT[], $5::BYTEA[], \
                 $6::BYTEA[], $7::TEXT[], $8::BIGINT[])",
            )
            .bind(rows.iter().map(|r| r.index as i64).collect::<Vec<_>>())
            .bind(rows.iter().map(|r| r.kind.clone()).collect::<Vec<_>>())
            .bind(rows.iter().map(|r| r.subject.clone()).collect::<Vec<_>>())
            .bind(rows.iter().map(|r| i64::from(r.round)).collect::<Vec<_>>())
            .bind(rows.iter().map(|r| r.leaf.clone()).collect::<Vec<_>>())
            .bind(rows.iter().map(|r| r.leaf_hash.to_vec()).collect::<Vec<_>>())
            .bind(rows.iter().map(|r| r.payload.clone()).collect::<Vec<_>>())
            .bind(vec![now; rows.len()])
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(out)
    }

    async fn log_size(&self) -> Result<u64> {
        let n: i64 = sqlx::query("SELECT COALESCE(MAX(idx) + 1, 0) AS n FROM log_entries")
            .fetch_one(&self.db.pool)
            .await?
            .try_get("n")?;
        Ok(n as u64)
    }

    async fn leaf_hashes(&self, from: u64, limit: u32) -> Result<Vec<[u8; 32]>> {
        sqlx::query("SELECT leaf_hash FROM log_entries WHERE idx >= $1 ORDER BY idx LIMIT $2")
            .bind(from as i64)
            .bind(i64::from(limit))
            .fetch_all(&self.db.pool)
            .await?
            .iter()
            .map(|r| hash32("leaf_hash", r.try_get("leaf_hash")?))
            .collect()
    }

    async fn entry(&self, index: u64) -> Result<Option<LogEntry>> {
        sqlx::query(&format!(
            "SELECT {ENTRY_COLUMNS} FROM log_entries WHERE idx = $1"
        ))
        .bind(index as i64)
        .fetch_optional(&self.db.pool)
        .await?
        .as_ref()
        .map(entry_from_row)
        .transpose()
    }

    async fn entries_for(&self, subject: &str) -> Result<Vec<LogEntry>> {
        sqlx::query(&format!(
            "SELECT {ENTRY_COLUMNS} FROM log_entries WHERE subject = $1 ORDER BY idx"
        ))
        .bind(subject)
        .fetch_all(&self.db.pool)
        .await?
        .iter()
        .map(entry_from_row)
        .collect()
    }

    async fn save_checkpoint(&self, cp: &StoredCheckpoint) -> Result<()> {
        let mut tx = self.db.pool.begin().await?;
        let existing = sqlx::query("SELECT root FROM log_checkpoints WHERE size = $1")
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
            "INSERT INTO log_checkpoints (size, root, note, created_at) VALUES ($1, $2, $3, $4)",
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
            .fetch_optional(&self.db.pool)
            .await?
            .as_ref()
            .map(checkpoint_from_row)
            .transpose()
    }

    async fn checkpoint(&self, size: u64) -> Result<Option<StoredCheckpoint>> {
        sqlx::query("SELECT * FROM log_checkpoints WHERE size = $1")
            .bind(size as i64)
            .fetch_optional(&self.db.pool)
            .await?
            .as_ref()
            .map(checkpoint_from_row)
            .transpose()
    }

    async fn checkpoints(&self, from: u64, limit: u32) -> Result<Vec<StoredCheckpoint>> {
        sqlx::query("SELECT * FROM log_checkpoints WHERE size >= $1 ORDER BY size LIMIT $2")
            .bind(from as i64)
            .bind(i64::from(limit))
            .fetch_all(&self.db.pool)
            .await?
            .iter()
            .map(checkpoint_from_row)
            .collect()
    }

    async fn save_anchor(&self, a: &AnchorRecord) -> Result<()> {
        sqlx::query(
            "INSERT INTO log_anchors (size, chain, tx_digest, anchored_at) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (size) DO NOTHING",
        )
        .bind(a.size as i64)
        .bind(&a.chain)
        .bind(&a.tx_digest)
        .bind(a.anchored_ms as i64)
        .execute(&self.db.pool)
        .await?;
        Ok(())
    }

    async fn anchor(&self, size: u64) -> Result<Option<AnchorRecord>> {
        sqlx::query("SELECT * FROM log_anchors WHERE size = $1")
            .bind(size as i64)
            .fetch_optional(&self.db.pool)
            .await?
            .as_ref()
            .map(anchor_from_row)
            .transpose()
    }

    async fn latest_anchor(&self) -> Result<Option<AnchorRecord>> {
        sqlx::query("SELECT * FROM log_anchors ORDER BY size DESC LIMIT 1")
            .fetch_optional(&self.db.pool)
            .await?
            .as_ref()
            .map(anchor_from_row)
            .transpose()
    }

    async fn unlogged_final_reports(&self, limit: u32) -> Result<Vec<FinalReport>> {
        sqlx::query(
            "SELECT j.final_report FROM jobs j WHERE j.final_report IS NOT NULL AND NOT EXISTS \
             (SELECT 1 FROM log_entries e WHERE e.subject = j.job_id AND e.kind = 'final_report' \
              AND e.round = j.round) ORDER BY j.updated_at LIMIT $1",
        )
        .bind(i64::from(limit))
        .fetch_all(&self.db.pool)
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
            sqlx::query("SELECT attestation FROM oracles WHERE enclave_id = $1")
                .bind(enclave.as_str())
                .fetch_optional(&self.db.pool)
                .await?
                .map(|r| r.try_get("attestation"))
                .transpose()?,
        )
    }
}
