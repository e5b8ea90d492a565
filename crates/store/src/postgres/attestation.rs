//! [`PgAttestations`]: the [`AttestationStore`] port on PostgreSQL.

use async_trait::async_trait;
use sqlx::Row;
use sqlx::postgres::PgRow;
use verity_core::{AttestationKind, EnclaveId};

use super::PgDb;
use crate::attestation::{AttestationRecord, AttestationStore, NonceStatus};
use crate::{Result, StoreError};

/// Attestations on a [`PgDb`].
#[derive(Debug, Clone)]
pub struct PgAttestations {
    db: PgDb,
}

impl PgAttestations {
    /// The store on `db`.
    pub fn new(db: PgDb) -> Self {
        PgAttestations { db }
    }
}

fn from_row(row: &PgRow) -> Result<AttestationRecord> {
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
impl AttestationStore for PgAttestations {
    async fn save_attestation(&self, r: &AttestationRecord) -> Result<()> {
        sqlx::query(
            "INSERT INTO enclave_attestations (enclave_id, kind, signing_key, document, measurements, \
             pcr0, document_at, verified_at, expires_at, revoked_at, revoke_reason) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) \
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
        .execute(&self.db.pool)
        .await?;
        Ok(())
    }

    async fn attestation(&self, id: &EnclaveId) -> Result<Option<AttestationRecord>> {
        sqlx::query("SELECT * FROM enclave_attestations WHERE enclave_id = $1")
            .bind(id.as_str())
            .fetch_optional(&self.db.pool)
            .await?
            .map(|r| from_row(&r))
            .transpose()
    }

    async fn attestations(&self) -> Result<Vec<AttestationRecord>> {
        sqlx::query("SELECT * FROM enclave_attestations ORDER BY enclave_id")
            .fetch_all(&self.db.pool)
            .await?
            .iter()
            .map(from_row)
            .collect()
    }

    async fn revoke_attestation(&self, id: &EnclaveId, at_ms: u64, reason: &str) -> Result<bool> {
        let done = sqlx::query(
            "UPDATE enclave_attestations SET revoked_at = $1, revoke_reason = $2 \
             WHERE enclave_id = $3 AND revoked_at IS NULL",
        )
        .bind(ms(at_ms))
        .bind(reason)
        .bind(id.as_str())
        .execute(&self.db.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    async fn issue_nonce(&self, nonce: &[u8], issued_at_ms: u64, expires_at_ms: u64) -> Result<()> {
        sqlx::query(
            "INSERT INTO attestation_nonces (nonce, issued_at, expires_at) VALUES ($1, $2, $3)",
        )
        .bind(hex::encode(nonce))
        .bind(ms(issued_at_ms))
        .bind(ms(expires_at_ms))
        .execute(&self.db.pool)
        .await?;
        Ok(())
    }

    async fn nonce_status(&self, nonce: &[u8], now_ms: u64) -> Result<NonceStatus> {
        let row = sqlx::query(
            "SELECT expires_at, used_at, used_by FROM attestation_nonces WHERE nonce = $1",
        )
        .bind(hex::encode(nonce))
        .fetch_optional(&self.db.pool)
        .await?;
        let Some(row) = row else {
            return Ok(NonceStatus::Unknown);
        };
        let expires_at_ms = row.try_get::<i64, _>("expires_at")?.max(0) as u64;
        Ok(match row.try_get::<Option<i64>, _>("used_at")? {
            Some(used_at) => NonceStatus::Used {
                used_at_ms: used_at.max(0) as u64,
                used_by: row.try_get("used_by")?,
            },
            None if now_ms >= expires_at_ms => NonceStatus::Expired { expires_at_ms },
            None => NonceStatus::Fresh,
        })
    }

    async fn consume_nonce(
        &self,
        nonce: &[u8],
        enclave: &EnclaveId,
        now_ms: u64,
    ) -> Result<NonceStatus> {
        let spent = sqlx::query(
            "UPDATE attestation_nonces SET used_at = $1, used_by = $2 WHERE nonce = $3 AND used_at IS NULL AND expires_at > $4",
        )
        .bind(ms(now_ms))
        .bind(enclave.as_str())
        .bind(hex::encode(nonce))
        .bind(ms(now_ms))
        .execute(&self.db.pool)
        .await?;
        if spent.rows_affected() == 1 {
            return Ok(NonceStatus::Fresh);
        }
        match self.nonce_status(nonce, now_ms).await? {
            // Only if the clock went back between the two statements: refuse, never guess.
            NonceStatus::Fresh => Err(StoreError::Conflict("nonce spent concurrently".into())),
            other => Ok(other),
        }
    }

    async fn prune_nonces(&self, before_ms: u64) -> Result<u64> {
        let done = sqlx::query("DELETE FROM attestation_nonces WHERE expires_at < $1")
            .bind(ms(before_ms))
            .execute(&self.db.pool)
            .await?;
        Ok(done.rows_affected())
    }
}
