//! [`SqliteAttestations`]: the [`AttestationStore`] port on SQLite.

use async_trait::async_trait;
use sqlx::Row;
use sqlx::sqlite::SqliteRow;
use verity_core::{AttestationKind, EnclaveId};

use super::SqliteDb;
use crate::attestation::{AttestationRecord, AttestationStore};
use crate::{Result, StoreError};

/// Attestations on a [`SqliteDb`].
#[derive(Debug, Clone)]
pub struct SqliteAttestations {
    db: SqliteDb,
}

impl SqliteAttestations {
    /// The store on `db`.
    pub fn new(db: SqliteDb) -> Self {
        SqliteAttestations { db }
    }
}

fn from_row(row: &SqliteRow) -> Result<AttestationRecord> {
    let kind: String = row.try_get("kind")?;
    let id: String = row.try_get("enclave_id")?;
    let measurements: String = row.try_get("measurements")?;
    Ok(AttestationRecord {
        enclave_id: id
            .parse()
            .map_err(|e| StoreError::Corrupt(format!("enclave_id: {e}")))?,
        kind: AttestationKind::parse(&kind)
            .ok_or_else(|| StoreError::Corrupt(format!("attestation kind {kind}")))?,
        signing_key: row.try_get("signing_key")?,
        document: row.try_get("document")?,
        measurements: serde_json::from_str(&measurements)?,
        pcr0: row.try_get("pcr0")?,
        document_ms: row.try_get::<i64, _>("document_at")?.max(0) as u64,
        verified_at_ms: row.try_get::<i64, _>("verified_at")?.max(0) as u64,
        expires_at_ms: row.try_get::<i64, _>("expires_at")?.max(0) as u64,
        revoked_at_ms: row
            .try_get::<Option<i64>, _>("revoked_at")?
            .map(|t| t.max(0) as u64),
        revoke_reason: row.try_get("revoke_reason")?,
    })
}

fn ms(t: u64) -> i64 {
    i64::try_from(t).unwrap_or(i64::MAX)
}

#[async_trait]
impl AttestationStore for SqliteAttestations {
    async fn save_attestation(&self, r: &AttestationRecord) -> Result<()> {
        sqlx::query(
            "INSERT INTO enclave_attestations (enclave_id, kind, signing_key, document, measurements, \
             pcr0, document_at, verified_at, expires_at, revoked_at, revoke_reason) \
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) \
             ON CONFLICT (enclave_id) DO UPDATE SET kind = excluded.kind, \
             signing_key = excluded.signing_key, document = excluded.document, \
             measurements = excluded.measurements, pcr0 = excluded.pcr0, \
             document_at = excluded.document_at, verified_at = excluded.verified_at, \
             expires_at = excluded.expires_at, revoked_at = excluded.revoked_at, \
             revoke_reason = excluded.revoke_reason",
        )
        .bind(r.enclave_id.as_str())
        .bind(r.kind.as_str())
        .bind(&r.signing_key)
        .bind(&r.document)
        .bind(r.measurements.to_string())
        .bind(&r.pcr0)
        .bind(ms(r.document_ms))
        .bind(ms(r.verified_at_ms))
        .bind(ms(r.expires_at_ms))
        .bind(r.revoked_at_ms.map(ms))
        .bind(&r.revoke_reason)
        .execute(&self.db.writer)
        .await?;
        Ok(())
    }

    async fn attestation(&self, id: &EnclaveId) -> Result<Option<AttestationRecord>> {
        sqlx::query("SELECT * FROM enclave_attestations WHERE enclave_id = ?")
            .bind(id.as_str())
            .fetch_optional(&self.db.reader)
            .await?
            .map(|r| from_row(&r))
            .transpose()
    }

    async fn attestations(&self) -> Result<Vec<AttestationRecord>> {
        sqlx::query("SELECT * FROM enclave_attestations ORDER BY enclave_id")
            .fetch_all(&self.db.reader)
            .await?
            .iter()
            .map(from_row)
            .collect()
    }

    async fn revoke_attestation(&self, id: &EnclaveId, at_ms: u64, reason: &str) -> Result<bool> {
        let done = sqlx::query(
            "UPDATE enclave_attestations SET revoked_at = ?, revoke_reason = ? \
             WHERE enclave_id = ? AND revoked_at IS NULL",
        )
        .bind(ms(at_ms))
        .bind(reason)
        .bind(id.as_str())
        .execute(&self.db.writer)
        .await?;
        Ok(done.rows_affected() == 1)
    }
}
