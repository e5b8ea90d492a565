//! [`PgRepository`]: the [`Repository`] port on PostgreSQL.
//!
//! The SQL follows the SQLite adapter statement for statement; job events are
//! written under a per-job advisory lock so their ids grow in commit order.

use async_trait::async_trait;
use sqlx::Row;
use sqlx::postgres::PgRow;
use verity_core::{
    AttestationKind, EnclaveId, FinalReport, JobId, JobStatus, Oracle, Sha256Digest, SignedReport,
};

use super::PgDb;
use crate::repo::{
    BlobRecord, JobEvent, JobRecord, NewJob, OracleRegistration, Repository, SaveReport,
    SealedKeyRecord, StoredReport,
};
use crate::{Result, StoreError, now_ms};

/// The repository on a [`PgDb`].
#[derive(Debug, Clone)]
pub struct PgRepository {
    db: PgDb,
}

impl PgRepository {
    /// A repository on `db`.
    pub fn new(db: PgDb) -> Self {
        PgRepository { db }
    }
}

const JOB_COLUMNS: &str = "j.job_id, j.media_sha256, j.blob_id, b.storage, j.mime, j.width, j.height, j.size, \
     j.user_id, j.status, j.round, j.committee, j.priority, j.deadline_at, j.failure_reason, \
     j.final_report, j.created_at, j.updated_at, j.committee_selection";

fn corrupt(what: &str, e: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt(format!("{what}: {e}"))
}

fn parse<T: std::str::FromStr>(what: &str, text: &str) -> Result<T>
where
    T::Err: std::fmt::Display,
{
    text.parse().map_err(|e| corrupt(what, e))
}

fn oracle_from_row(row: &PgRow) -> Result<Oracle> {
    let kind: String = row.try_get("attestation_kind")?;
    Ok(Oracle {
        enclave_id: parse("enclave_id", &row.try_get::<String, _>("enclave_id")?)?,
        signing_key: row.try_get("signing_key")?,
        encryption_key: row.try_get("encryption_key")?,
        attestation: AttestationKind::parse(&kind)
            .ok_or_else(|| corrupt("attestation_kind", &kind))?,
        reputation: row.try_get("reputation")?,
        stake: row.try_get::<i64, _>("stake")?.max(0) as u64,
        slashes: row.try_get::<i64, _>("slashes")?.max(0) as u32,
        banned: row.try_get("banned")?,
        ban_reason: row.try_get("ban_reason")?,
        registered_at_ms: row.try_get::<i64, _>("registered_at")? as u64,
    })
}

fn job_from_row(row: &PgRow) -> Result<JobRecord> {
    let committee: String = row.try_get("committee")?;
    let final_report: Option<String> = row.try_get("final_report")?;
    let selection: Option<String> = row.try_get("committee_selection")?;
    Ok(JobRecord {
        job_id: parse("job_id", &row.try_get::<String, _>("job_id")?)?,
        media_sha256: parse("media_sha256", &row.try_get::<String, _>("media_sha256")?)?,
        blob_id: row.try_get("blob_id")?,
        storage: row.try_get("storage")?,
        mime: row.try_get("mime")?,
        width: row.try_get::<i64, _>("width")? as u32,
        height: row.try_get::<i64, _>("height")? as u32,
        size: row.try_get::<i64, _>("size")? as u64,
        user_id: row.try_get("user_id")?,
        status: parse("status", &row.try_get::<String, _>("status")?)?,
        round: row.try_get::<i64, _>("round")? as u32,
        committee: serde_json::from_str(&committee)?,
        committee_selection: selection.map(|t| serde_json::from_str(&t)).transpose()?,
        priority: row.try_get::<i64, _>("priority")? as i32,
        deadline_ms: row.try_get::<i64, _>("deadline_at")? as u64,
        failure_reason: row.try_get("failure_reason")?,
        final_report: final_report.map(|t| serde_json::from_str(&t)).transpose()?,
        created_ms: row.try_get::<i64, _>("created_at")? as u64,
        updated_ms: row.try_get::<i64, _>("updated_at")? as u64,
    })
}

fn event_from_row(row: &PgRow) -> Result<JobEvent> {
    let data: String = row.try_get("data")?;
    Ok(JobEvent {
        id: row.try_get("id")?,
        job_id: parse("job_id", &row.try_get::<String, _>("job_id")?)?,
        kind: row.try_get("kind")?,
        data: serde_json::from_str(&data)?,
        at_ms: row.try_get::<i64, _>("at")? as u64,
    })
}

fn status_list(statuses: &[JobStatus]) -> String {
    statuses
        .iter()
        .map(|s| format!("'{}'", s.as_str()))
        .collect::<Vec<_>>()
        .join(",")
}

/// Appends an event inside `tx`, holding the job's advisory lock until the
/// transaction ends so that the job's event ids grow in commit order.
async fn insert_event(
    tx: &mut sqlx::PgConnection,
    id: &JobId,
    kind: &str,
    data: &serde_json::Value,
) -> Result<JobEvent> {
    sqlx::query("SELECT pg_advisory_xact_lock(hashtext($1))")
        .bind(id.as_str())
        .execute(&mut *tx)
        .await?;
    let at = now_ms();
    let row = sqlx::query(
        "INSERT INTO job_events (job_id, kind, data, at) VALUES ($1, $2, $3, $4) RETURNING id",
    )
    .bind(id.as_str())
    .bind(kind)
    .bind(data.to_string())
    .bind(at as i64)
    .fetch_one(&mut *tx)
    .await?;
    Ok(JobEvent {
        id: row.try_get("id")?,
        job_id: id.clone(),
        kind: kind.to_owned(),
        data: data.clone(),
        at_ms: at,
    })
}

#[async_trait]
impl Repository for PgRepository {
    async fn ping(&self) -> Result<()> {
        sqlx::query("SELECT 1").execute(&self.db.pool).await?;
        Ok(())
    }

    async fn register_oracle(&self, reg: &OracleRegistration) -> Result<Oracle> {
        let now = now_ms() as i64;
        sqlx::query(
            "INSERT INTO oracles (enclave_id, signing_key, encryption_key, attestation_kind, attestation, \
             reputation, stake, registered_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) \
             ON CONFLICT (enclave_id) DO UPDATE SET signing_key = excluded.signing_key, \
             encryption_key = excluded.encryption_key, attestation_kind = excluded.attestation_kind, \
             attestation = excluded.attestation, updated_at = excluded.updated_at",
        )
        .bind(reg.enclave_id.as_str())
        .bind(&reg.signing_key)
        .bind(&reg.encryption_key)
        .bind(reg.attestation_kind.as_str())
        .bind(&reg.attestation)
        .bind(reg.initial_reputation)
        .bind(reg.initial_stake as i64)
        .bind(now)
        .bind(now)
        .execute(&self.db.pool)
        .await?;
        self.oracle(&reg.enclave_id)
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("oracle {}", reg.enclave_id)))
    }

    async fn oracle(&self, id: &EnclaveId) -> Result<Option<Oracle>> {
        sqlx::query("SELECT * FROM oracles WHERE enclave_id = $1")
            .bind(id.as_str())
            .fetch_optional(&self.db.pool)
            .await?
            .map(|r| oracle_from_row(&r))
            .transpose()
    }

    async fn oracles(&self) -> Result<Vec<Oracle>> {
        sqlx::query("SELECT * FROM oracles ORDER BY enclave_id")
            .fetch_all(&self.db.pool)
            .await?
            .iter()
            .map(oracle_from_row)
            .collect()
    }

    async fn reusable_blob(
        &self,
        media: &Sha256Digest,
        enclaves: &[EnclaveId],
    ) -> Result<Option<BlobRecord>> {
        let rows = sqlx::query(
            "SELECT b.blob_id, b.storage, b.size, string_agg(k.enclave_id, chr(31)) AS sealed \
             FROM blobs b JOIN sealed_keys k ON k.blob_id = b.blob_id \
             WHERE b.media_sha256 = $1 GROUP BY b.blob_id ORDER BY b.created_at DESC LIMIT 8",
        )
        .bind(media.to_hex())
        .fetch_all(&self.db.pool)
        .await?;
        for row in rows {
            let sealed: String = row.try_get("sealed")?;
            let have: Vec<&str> = sealed.split('\u{1f}').collect();
            if enclaves.iter().all(|e| have.contains(&e.as_str())) {
                return Ok(Some(BlobRecord {
                    blob_id: row.try_get("blob_id")?,
                    media_sha256: *media,
                    storage: row.try_get("storage")?,
                    size: row.try_get::<i64, _>("size")? as u64,
                }));
            }
        }
        Ok(None)
    }

    async fn create_job(&self, job: &NewJob, queued_event: &serde_json::Value) -> Result<JobEvent> {
        let mut tx = self.db.pool.begin().await?;
        sqlx::query(
            "INSERT INTO blobs (blob_id, media_sha256, storage, size, created_at) VALUES ($1, $2, $3, $4, $5) \
             ON CONFLICT (blob_id) DO NOTHING",
        )
        .bind(&job.blob.blob_id)
        .bind(job.blob.media_sha256.to_hex())
        .bind(&job.blob.storage)
        .bind(job.blob.size as i64)
        .bind(job.created_ms as i64)
        .execute(&mut *tx)
        .await?;
        for key in &job.sealed_keys {
            sqlx::query(
                "INSERT INTO sealed_keys (blob_id, enclave_id, enc, ciphertext) VALUES ($1, $2, $3, $4) \
                 ON CONFLICT (blob_id, enclave_id) DO NOTHING",
            )
            .bind(&job.blob.blob_id)
            .bind(key.enclave_id.as_str())
            .bind(&key.enc)
            .bind(&key.ciphertext)
            .execute(&mut *tx)
            .await?;
        }
        sqlx::query(
            "INSERT INTO jobs (job_id, media_sha256, blob_id, mime, width, height, size, user_id, status, \
             round, committee, priority, deadline_at, created_at, updated_at, committee_selection) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'PENDING', 0, $9, 0, $10, $11, $12, $13)",
        )
        .bind(job.job_id.as_str())
        .bind(job.blob.media_sha256.to_hex())
        .bind(&job.blob.blob_id)
        .bind(&job.mime)
        .bind(i64::from(job.width))
        .bind(i64::from(job.height))
        .bind(job.size as i64)
        .bind(&job.user_id)
        .bind(serde_json::to_string(&job.committee)?)
        .bind(job.deadline_ms as i64)
        .bind(job.created_ms as i64)
        .bind(job.created_ms as i64)
        .bind(
            job.committee_selection
                .as_ref()
                .map(serde_json::to_string)
                .transpose()?,
        )
        .execute(&mut *tx)
        .await?;
        let event = insert_event(&mut tx, &job.job_id, "queued", queued_event).await?;
        tx.commit().await?;
        Ok(event)
    }

    async fn job(&self, id: &JobId) -> Result<Option<JobRecord>> {
        sqlx::query(&format!(
            "SELECT {JOB_COLUMNS} FROM jobs j JOIN blobs b ON b.blob_id = j.blob_id WHERE j.job_id = $1"
        ))
        .bind(id.as_str())
        .fetch_optional(&self.db.pool)
        .await?
        .map(|r| job_from_row(&r))
        .transpose()
    }

    async fn sealed_keys(&self, blob_id: &str) -> Result<Vec<SealedKeyRecord>> {
        sqlx::query("SELECT enclave_id, enc, ciphertext FROM sealed_keys WHERE blob_id = $1 ORDER BY enclave_id")
            .bind(blob_id)
            .fetch_all(&self.db.pool)
            .await?
            .iter()
            .map(|row| {
                Ok(SealedKeyRecord {
                    enclave_id: parse("enclave_id", &row.try_get::<String, _>("enclave_id")?)?,
                    enc: row.try_get("enc")?,
                    ciphertext: row.try_get("ciphertext")?,
                })
            })
            .collect()
    }

    async fn transition(
        &self,
        id: &JobId,
        round: u32,
        from: &[JobStatus],
        to: JobStatus,
    ) -> Result<bool> {
        let done = sqlx::query(&format!(
            "UPDATE jobs SET status = $1, updated_at = $2 WHERE job_id = $3 AND round = $4 AND status IN ({})",
            status_list(from)
        ))
        .bind(to.as_str())
        .bind(now_ms() as i64)
        .bind(id.as_str())
        .bind(i64::from(round))
        .execute(&self.db.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    async fn save_report(&self, report: &SignedReport, received_ms: u64) -> Result<SaveReport> {
        let r = &report.report;
        let digest = r.digest();
        let json = serde_json::to_string(report)?;
        let mut tx = self.db.pool.begin().await?;
        // Insert first: of two processes saving at once, exactly one inserts.
        let inserted = sqlx::query(
            "INSERT INTO reports (job_id, round, enclave_id, digest, signed_report, received_at) \
             VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (job_id, round, enclave_id) DO NOTHING",
        )
        .bind(r.job_id.as_str())
        .bind(i64::from(r.round))
        .bind(r.enclave_id.as_str())
        .bind(digest.to_hex())
        .bind(&json)
        .bind(received_ms as i64)
        .execute(&mut *tx)
        .await?;
        if inserted.rows_affected() == 1 {
            tx.commit().await?;
            return Ok(SaveReport::Inserted);
        }
        let row = sqlx::query(
            "SELECT digest, signed_report FROM reports WHERE job_id = $1 AND round = $2 AND enclave_id = $3",
        )
        .bind(r.job_id.as_str())
        .bind(i64::from(r.round))
        .bind(r.enclave_id.as_str())
        .fetch_one(&mut *tx)
        .await?;
        if row.try_get::<String, _>("digest")? == digest.to_hex() {
            return Ok(SaveReport::Duplicate);
        }
        let first_json: String = row.try_get("signed_report")?;
        sqlx::query(
            "INSERT INTO equivocations (job_id, round, enclave_id, first_report, second_report, detected_at) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(r.job_id.as_str())
        .bind(i64::from(r.round))
        .bind(r.enclave_id.as_str())
        .bind(&first_json)
        .bind(&json)
        .bind(received_ms as i64)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(SaveReport::Equivocation {
            first: Box::new(serde_json::from_str(&first_json)?),
        })
    }

    async fn reports(&self, id: &JobId, round: u32) -> Result<Vec<StoredReport>> {
        sqlx::query(
            "SELECT digest, signed_report, received_at FROM reports WHERE job_id = $1 AND round = $2 ORDER BY enclave_id",
        )
        .bind(id.as_str())
        .bind(i64::from(round))
        .fetch_all(&self.db.pool)
        .await?
        .iter()
        .map(|row| {
            Ok(StoredReport {
                signed: serde_json::from_str(&row.try_get::<String, _>("signed_report")?)?,
                digest: parse("digest", &row.try_get::<String, _>("digest")?)?,
                received_ms: row.try_get::<i64, _>("received_at")? as u64,
            })
        })
        .collect()
    }

    async fn complete_round(&self, report: &FinalReport) -> Result<bool> {
        let json = serde_json::to_string(report)?;
        let now = now_ms() as i64;
        let mut tx = self.db.pool.begin().await?;
        let done = sqlx::query(&format!(
            "UPDATE jobs SET status = 'COMPLETED', final_report = $1, failure_reason = NULL, updated_at = $2 \
             WHERE job_id = $3 AND round = $4 AND status IN ({})",
            status_list(&[JobStatus::Pending, JobStatus::Processing, JobStatus::Disputed])
        ))
        .bind(&json)
        .bind(now)
        .bind(report.job_id.as_str())
        .bind(i64::from(report.round))
        .execute(&mut *tx)
        .await?;
        if done.rows_affected() == 1 {
            archive_round(
                &mut tx,
                &report.job_id,
                report.round,
                "COMPLETED",
                Some(&json),
                None,
                now,
            )
            .await?;
            count_votes(&mut tx, report).await?;
        }
        tx.commit().await?;
        Ok(done.rows_affected() == 1)
    }

    async fn fail_round(&self, id: &JobId, round: u32, reason: &str) -> Result<bool> {
        let now = now_ms() as i64;
        let mut tx = self.db.pool.begin().await?;
        let done = sqlx::query(&format!(
            "UPDATE jobs SET status = 'FAILED', failure_reason = $1, updated_at = $2 \
             WHERE job_id = $3 AND round = $4 AND status IN ({})",
            status_list(&[
                JobStatus::Pending,
                JobStatus::Processing,
                JobStatus::Disputed
            ])
        ))
        .bind(reason)
        .bind(now)
        .bind(id.as_str())
        .bind(i64::from(round))
        .execute(&mut *tx)
        .await?;
        if done.rows_affected() == 1 {
            archive_round(&mut tx, id, round, "FAILED", None, Some(reason), now).await?;
        }
        tx.commit().await?;
        Ok(done.rows_affected() == 1)
    }

    async fn start_round(
        &self,
        id: &JobId,
        expected_round: u32,
        committee: &[EnclaveId],
        deadline_ms: u64,
        priority: i32,
        status: JobStatus,
    ) -> Result<bool> {
        let done = sqlx::query(&format!(
            "UPDATE jobs SET round = round + 1, committee = $1, deadline_at = $2, priority = $3, status = $4, \
             failure_reason = NULL, updated_at = $5 WHERE job_id = $6 AND round = $7 AND status IN ({})",
            status_list(&[JobStatus::Completed, JobStatus::Failed])
        ))
        .bind(serde_json::to_string(committee)?)
        .bind(deadline_ms as i64)
        .bind(i64::from(priority))
        .bind(status.as_str())
        .bind(now_ms() as i64)
        .bind(id.as_str())
        .bind(i64::from(expected_round))
        .execute(&self.db.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    async fn overdue_jobs(&self, now_ms: u64, limit: u32) -> Result<Vec<JobRecord>> {
        self.jobs_where(
            "j.status IN ('PENDING','PROCESSING','DISPUTED') AND j.deadline_at <= $1",
            now_ms.min(i64::MAX as u64) as i64,
            limit,
        )
        .await
    }

    async fn open_jobs(&self, limit: u32) -> Result<Vec<JobRecord>> {
        self.jobs_where(
            "j.status IN ('PENDING','PROCESSING','DISPUTED') AND $1 >= 0",
            0,
            limit,
        )
        .await
    }

    async fn extend_open_deadlines(&self, at_least_ms: u64) -> Result<u64> {
        let done = sqlx::query(
            "UPDATE jobs SET deadline_at = $1 WHERE status IN ('PENDING','PROCESSING','DISPUTED') AND deadline_at < $1",
        )
        .bind(at_least_ms as i64)
        .execute(&self.db.pool)
        .await?;
        Ok(done.rows_affected())
    }

    async fn job_counts(&self) -> Result<Vec<(JobStatus, u64)>> {
        sqlx::query("SELECT status, COUNT(*) AS n FROM jobs GROUP BY status")
            .fetch_all(&self.db.pool)
            .await?
            .iter()
            .map(|row| {
                Ok((
                    parse("status", &row.try_get::<String, _>("status")?)?,
                    row.try_get::<i64, _>("n")? as u64,
                ))
            })
            .collect()
    }

    async fn append_event(
        &self,
        id: &JobId,
        kind: &str,
        data: &serde_json::Value,
    ) -> Result<JobEvent> {
        let mut tx = self.db.pool.begin().await?;
        let event = insert_event(&mut tx, id, kind, data).await?;
        tx.commit().await?;
        Ok(event)
    }

    async fn events_after(&self, id: &JobId, after_id: i64) -> Result<Vec<JobEvent>> {
        sqlx::query("SELECT id, job_id, kind, data, at FROM job_events WHERE job_id = $1 AND id > $2 ORDER BY id LIMIT 500")
            .bind(id.as_str())
            .bind(after_id)
            .fetch_all(&self.db.pool)
            .await?
            .iter()
            .map(event_from_row)
            .collect()
    }
}

impl PgRepository {
    async fn jobs_where(&self, condition: &str, arg: i64, limit: u32) -> Result<Vec<JobRecord>> {
        sqlx::query(&format!(
            "SELECT {JOB_COLUMNS} FROM jobs j JOIN blobs b ON b.blob_id = j.blob_id WHERE {condition} \
             ORDER BY j.deadline_at LIMIT $2"
        ))
        .bind(arg)
        .bind(i64::from(limit))
        .fetch_all(&self.db.pool)
        .await?
        .iter()
        .map(job_from_row)
        .collect()
    }
}

async fn archive_round(
    tx: &mut sqlx::Transaction<'_, sqlx::Postgres>,
    id: &JobId,
    round: u32,
    status: &str,
    final_report: Option<&str>,
    reason: Option<&str>,
    now: i64,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO rounds (job_id, round, status, committee, final_report, failure_reason, decided_at) \
         SELECT job_id, round, $1, committee, $2, $3, $4 FROM jobs WHERE job_id = $5 AND round = $6 \
         ON CONFLICT (job_id, round) DO UPDATE SET status = excluded.status, \
         final_report = excluded.final_report, failure_reason = excluded.failure_reason, \
         decided_at = excluded.decided_at",
    )
    .bind(status)
    .bind(final_report)
    .bind(reason)
    .bind(now)
    .bind(id.as_str())
    .bind(i64::from(round))
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Adds one to `reports_counted` of every oracle whose vote `report` counted.
async fn count_votes(
    tx: &mut sqlx::Transaction<'_, sqlx::Postgres>,
    report: &FinalReport,
) -> Result<()> {
    for vote in &report.consensus_metadata.votes {
        sqlx::query(
            "UPDATE oracles SET reports_counted = reports_counted + 1 WHERE enclave_id = $1",
        )
        .bind(vote.enclave_id.as_str())
        .execute(&mut **tx)
        .await?;
    }
    Ok(())
}
