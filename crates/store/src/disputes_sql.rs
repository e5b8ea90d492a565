//! [`DisputeRepository`] on SQLite ([`SqliteDisputes`]) and PostgreSQL
//! ([`PgDisputes`]).
//!
//! The two schemas are the same table for table (`0004_disputes.sql`), so
//! the statements are written once with `?` placeholders and expanded for
//! each engine by a macro; PostgreSQL gets them renumbered `$1, $2, …`.
//! Ledger batches run in one transaction that checks every source
//! account's derived balance before writing, and refreshes the cached
//! `oracles.stake` of every oracle account it touches from the ledger.

use std::borrow::Cow;
use std::sync::Arc;

use async_trait::async_trait;
use sqlx::Row;
use verity_core::dispute::DisputeState;
use verity_core::stake::{Account, EntryKind, Movement};
use verity_core::{EnclaveId, FinalReport, JobId, SignedReport, Verdict};

use crate::disputes::{
    DisputeRecord, DisputeRepository, EquivocationProof, EvidenceRecord, FinalizedReport,
    LedgerBatch, LedgerEntry, NewDispute, Resolution, Restore, RoundRecord,
};
use crate::repo::{BlobRecord, SealedKeyRecord};
use crate::select::OpenedDb;
use crate::{Result, StoreError};

/// The dispute repository on the SQLite database.
#[derive(Debug, Clone)]
pub struct SqliteDisputes {
    writer: sqlx::SqlitePool,
    reader: sqlx::SqlitePool,
}

impl SqliteDisputes {
    /// On `db` (migrated by [`crate::SqliteDb::open`]).
    pub fn new(db: &crate::SqliteDb) -> Self {
        SqliteDisputes {
            writer: db.writer.clone(),
            reader: db.reader.clone(),
        }
    }

    fn sql(s: &str) -> Cow<'_, str> {
        Cow::Borrowed(s)
    }
}

/// The dispute repository on PostgreSQL.
#[derive(Debug, Clone)]
pub struct PgDisputes {
    writer: sqlx::PgPool,
    reader: sqlx::PgPool,
}

impl PgDisputes {
    /// On `db` (migrated by [`crate::PgDb::connect`]).
    pub fn new(db: &crate::PgDb) -> Self {
        PgDisputes {
            writer: db.pool.clone(),
            reader: db.pool.clone(),
        }
    }

    fn sql(s: &str) -> Cow<'_, str> {
        let mut out = String::with_capacity(s.len() + 16);
        let mut n = 0;
        for c in s.chars() {
            if c == '?' {
                n += 1;
                out.push('$');
                out.push_str(&n.to_string());
            } else {
                out.push(c);
            }
        }
        Cow::Owned(out)
    }
}

/// The dispute repository of an opened database.
pub fn open_disputes(db: &OpenedDb) -> Arc<dyn DisputeRepository> {
    match (&db.sqlite, &db.postgres) {
        (Some(s), _) => Arc::new(SqliteDisputes::new(s)),
        (None, Some(p)) => Arc::new(PgDisputes::new(p)),
        (None, None) => unreachable!("an opened database is SQLite or PostgreSQL"),
    }
}

fn corrupt(what: &str, e: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt(format!("{what}: {e}"))
}

fn parse<T: std::str::FromStr>(what: &str, text: &str) -> Result<T>
where
    T::Err: std::fmt::Display,
{
    text.parse().map_err(|e| corrupt(what, e))
}

fn verdict(what: &str, text: &str) -> Result<Verdict> {
    serde_json::from_value(serde_json::Value::String(text.to_owned())).map_err(|e| corrupt(what, e))
}

fn account(text: Option<String>) -> Result<Option<Account>> {
    text.map(|t| parse("account", &t)).transpose()
}

fn is_unique_violation(e: &sqlx::Error) -> bool {
    matches!(e, sqlx::Error::Database(d) if d.is_unique_violation())
}

const DISPUTE_COLUMNS: &str = "dispute_id, job_id, disputed_round, disputed_verdict, reverify_round, challenger, \
     evidence_id, evidence_resolved, reason, bond, state, new_verdict, outcome, created_at, resolved_at";

const OPEN_STATES: &str = "('pending_reverification','reverifying')";

macro_rules! dispute_repository {
    ($name:ident, $row:ty, $db:ty) => {
        impl $name {
            fn dispute_from_row(row: &$row) -> Result<DisputeRecord> {
                let new_verdict: Option<String> = row.try_get("new_verdict")?;
                Ok(DisputeRecord {
                    dispute_id: row.try_get("dispute_id")?,
                    job_id: parse("job_id", &row.try_get::<String, _>("job_id")?)?,
                    disputed_round: row.try_get::<i64, _>("disputed_round")? as u32,
                    disputed_verdict: verdict(
                        "disputed_verdict",
                        &row.try_get::<String, _>("disputed_verdict")?,
                    )?,
                    reverify_round: row.try_get::<i64, _>("reverify_round")? as u32,
                    challenger: row.try_get("challenger")?,
                    evidence_id: row.try_get("evidence_id")?,
                    evidence_resolved: row.try_get::<i64, _>("evidence_resolved")? != 0,
                    reason: row.try_get("reason")?,
                    bond: row.try_get::<i64, _>("bond")?.max(0) as u64,
                    state: parse("state", &row.try_get::<String, _>("state")?)?,
                    new_verdict: new_verdict
                        .map(|v| verdict("new_verdict", &v))
                        .transpose()?,
                    outcome: row.try_get("outcome")?,
                    created_ms: row.try_get::<i64, _>("created_at")? as u64,
                    resolved_ms: row
                        .try_get::<Option<i64>, _>("resolved_at")?
                        .map(|t| t as u64),
                })
            }

            async fn balance_in(
                tx: &mut sqlx::Transaction<'_, $db>,
                account: &Account,
            ) -> Result<i64> {
                let name = account.to_string();
                let row = sqlx::query(&Self::sql(
                    "SELECT CAST(COALESCE(SUM(CASE WHEN to_account = ? THEN amount ELSE 0 END), 0) AS BIGINT) AS incoming, \
                     CAST(COALESCE(SUM(CASE WHEN from_account = ? THEN amount ELSE 0 END), 0) AS BIGINT) AS outgoing \
                     FROM stake_ledger WHERE to_account = ? OR from_account = ?",
                ))
                .bind(&name)
                .bind(&name)
                .bind(&name)
                .bind(&name)
                .fetch_one(&mut **tx)
                .await?;
                Ok(row.try_get::<i64, _>("incoming")? - row.try_get::<i64, _>("outgoing")?)
            }

            /// Puts a job back to its disputed round inside `tx` (see [`Restore`]).
            async fn restore_in(
                tx: &mut sqlx::Transaction<'_, $db>,
                restore: &Restore,
                at_ms: u64,
            ) -> Result<()> {
                let report = &restore.report;
                let done = sqlx::query(&Self::sql(
                    "UPDATE jobs SET status = 'COMPLETED', round = ?, \
                     committee = COALESCE((SELECT committee FROM rounds WHERE job_id = ? AND round = ?), committee), \
                     committee_selection = ?, final_report = ?, failure_reason = NULL, updated_at = ? \
                     WHERE job_id = ? AND round = ? AND status = 'FAILED'",
                ))
                .bind(i64::from(report.round))
                .bind(restore.job_id.as_str())
                .bind(i64::from(report.round))
                .bind(report.committee.as_ref().map(serde_json::to_string).transpose()?)
                .bind(serde_json::to_string(report)?)
                .bind(at_ms as i64)
                .bind(restore.job_id.as_str())
                .bind(i64::from(restore.failed_round))
                .execute(&mut **tx)
                .await?;
                if done.rows_affected() != 1 || report.job_id != restore.job_id {
                    return Err(StoreError::Conflict(format!(
                        "{} is not FAILED in round {}; nothing to restore",
                        restore.job_id, restore.failed_round
                    )));
                }
                Ok(())
            }

            /// Writes a batch inside `tx`; false when its idempotency key exists.
            async fn post_in(
                tx: &mut sqlx::Transaction<'_, $db>,
                batch: &LedgerBatch,
            ) -> Result<bool> {
                if let Some(key) = &batch.idem_key {
                    let seen = sqlx::query(&Self::sql(
                        "SELECT 1 AS one FROM stake_ledger WHERE idem_key = ?",
                    ))
                    .bind(key)
                    .fetch_optional(&mut **tx)
                    .await?;
                    if seen.is_some() {
                        return Ok(false);
                    }
                }
                let mut touched: Vec<EnclaveId> = Vec::new();
                for (i, m) in batch.movements.iter().enumerate() {
                    m.check_shape()
                        .map_err(|e| StoreError::Invalid(e.to_string()))?;
                    if let Some(from) = &m.from {
                        let balance = Self::balance_in(tx, from).await?;
                        if balance < m.amount as i64 {
                            return Err(StoreError::Conflict(format!(
                                "{from} holds {balance}, cannot move {}",
                                m.amount
                            )));
                        }
                    }
                    // The key marks the batch once (on its first entry).
                    let key = if i == 0 { batch.idem_key.as_deref() } else { None };
                    sqlx::query(&Self::sql(
                        "INSERT INTO stake_ledger (kind, from_account, to_account, amount, reason, dispute_id, idem_key, at) \
                         VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    ))
                    .bind(m.kind.as_str())
                    .bind(m.from.as_ref().map(|a| a.to_string()))
                    .bind(m.to.as_ref().map(|a| a.to_string()))
                    .bind(m.amount as i64)
                    .bind(&m.reason)
                    .bind(batch.dispute_id.as_deref())
                    .bind(key)
                    .bind(batch.at_ms as i64)
                    .execute(&mut **tx)
                    .await?;
                    for a in m.from.iter().chain(m.to.iter()) {
                        if let Account::Oracle(id) = a
                            && !touched.contains(id)
                        {
                            touched.push(id.clone());
                        }
                    }
                }
                if batch.movements.is_empty()
                    && let Some(key) = &batch.idem_key
                {
                    // An empty batch still claims its key.
                    sqlx::query(&Self::sql(
                        "INSERT INTO stake_ledger (kind, from_account, to_account, amount, reason, dispute_id, idem_key, at) \
                         VALUES ('stake', NULL, 'treasury', 0, 'marker', ?, ?, ?)",
                    ))
                    .bind(batch.dispute_id.as_deref())
                    .bind(key)
                    .bind(batch.at_ms as i64)
                    .execute(&mut **tx)
                    .await?;
                }
                for id in &touched {
                    let balance = Self::balance_in(tx, &Account::Oracle(id.clone())).await?;
                    sqlx::query(&Self::sql(
                        "UPDATE oracles SET stake = ?, updated_at = ? WHERE enclave_id = ?",
                    ))
                    .bind(balance)
                    .bind(batch.at_ms as i64)
                    .bind(id.as_str())
                    .execute(&mut **tx)
                    .await?;
                }
                for id in &batch.slashed {
                    sqlx::query(&Self::sql(
                        "UPDATE oracles SET slashes = slashes + 1, updated_at = ? WHERE enclave_id = ?",
                    ))
                    .bind(batch.at_ms as i64)
                    .bind(id.as_str())
                    .execute(&mut **tx)
                    .await?;
                }
                for (id, reason) in &batch.bans {
                    sqlx::query(&Self::sql(
                        "UPDATE oracles SET banned = ?, ban_reason = ?, updated_at = ? WHERE enclave_id = ?",
                    ))
                    .bind(true)
                    .bind(reason)
                    .bind(batch.at_ms as i64)
                    .bind(id.as_str())
                    .execute(&mut **tx)
                    .await?;
                }
                Ok(true)
            }
        }

        #[async_trait]
        impl DisputeRepository for $name {
            async fn store_evidence(
                &self,
                evidence: &EvidenceRecord,
                keys: &[SealedKeyRecord],
            ) -> Result<()> {
                let mut tx = self.writer.begin().await?;
                let b = &evidence.blob;
                sqlx::query(&Self::sql(
                    "INSERT INTO blobs (blob_id, media_sha256, storage, size, created_at) VALUES (?, ?, ?, ?, ?) \
                     ON CONFLICT (blob_id) DO NOTHING",
                ))
                .bind(&b.blob_id)
                .bind(b.media_sha256.to_hex())
                .bind(&b.storage)
                .bind(b.size as i64)
                .bind(evidence.created_ms as i64)
                .execute(&mut *tx)
                .await?;
                for k in keys {
                    sqlx::query(&Self::sql(
                        "INSERT INTO sealed_keys (blob_id, enclave_id, enc, ciphertext) VALUES (?, ?, ?, ?) \
                         ON CONFLICT (blob_id, enclave_id) DO NOTHING",
                    ))
                    .bind(&b.blob_id)
                    .bind(k.enclave_id.as_str())
                    .bind(&k.enc)
                    .bind(&k.ciphertext)
                    .execute(&mut *tx)
                    .await?;
                }
                sqlx::query(&Self::sql(
                    "INSERT INTO evidence (evidence_id, blob_id, mime, created_at) VALUES (?, ?, ?, ?)",
                ))
                .bind(&evidence.evidence_id)
                .bind(&b.blob_id)
                .bind(&evidence.mime)
                .bind(evidence.created_ms as i64)
                .execute(&mut *tx)
                .await
                .map_err(|e| {
                    if is_unique_violation(&e) {
                        StoreError::Conflict(format!("evidence {} exists", evidence.evidence_id))
                    } else {
                        e.into()
                    }
                })?;
                tx.commit().await?;
                Ok(())
            }

            async fn evidence(&self, id: &str) -> Result<Option<EvidenceRecord>> {
                let row = sqlx::query(&Self::sql(
                    "SELECT e.evidence_id, e.mime, e.created_at, b.blob_id, b.media_sha256, b.storage, b.size \
                     FROM evidence e JOIN blobs b ON b.blob_id = e.blob_id WHERE e.evidence_id = ?",
                ))
                .bind(id)
                .fetch_optional(&self.reader)
                .await?;
                row.map(|row| {
                    Ok(EvidenceRecord {
                        evidence_id: row.try_get("evidence_id")?,
                        blob: BlobRecord {
                            blob_id: row.try_get("blob_id")?,
                            media_sha256: parse(
                                "media_sha256",
                                &row.try_get::<String, _>("media_sha256")?,
                            )?,
                            storage: row.try_get("storage")?,
                            size: row.try_get::<i64, _>("size")? as u64,
                        },
                        mime: row.try_get("mime")?,
                        created_ms: row.try_get::<i64, _>("created_at")? as u64,
                    })
                })
                .transpose()
            }

            async fn open_dispute(&self, d: &NewDispute) -> Result<DisputeRecord> {
                let mut tx = self.writer.begin().await?;
                let moved = sqlx::query(&Self::sql(
                    "UPDATE jobs SET round = round + 1, committee = ?, committee_selection = ?, deadline_at = ?, \
                     priority = ?, status = 'DISPUTED', failure_reason = NULL, updated_at = ? \
                     WHERE job_id = ? AND round = ? AND status = 'COMPLETED'",
                ))
                .bind(serde_json::to_string(&d.committee)?)
                .bind(serde_json::to_string(&d.committee_selection)?)
                .bind(d.deadline_ms as i64)
                .bind(i64::from(d.priority))
                .bind(d.created_ms as i64)
                .bind(d.job_id.as_str())
                .bind(i64::from(d.disputed_round))
                .execute(&mut *tx)
                .await?;
                if moved.rows_affected() != 1 {
                    return Err(StoreError::Conflict(format!(
                        "{} is not COMPLETED in round {}",
                        d.job_id, d.disputed_round
                    )));
                }
                sqlx::query(&Self::sql(&format!(
                    "INSERT INTO disputes ({DISPUTE_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, NULL, NULL, ?, NULL)"
                )))
                .bind(&d.dispute_id)
                .bind(d.job_id.as_str())
                .bind(i64::from(d.disputed_round))
                .bind(d.disputed_verdict.as_str())
                .bind(i64::from(d.disputed_round + 1))
                .bind(&d.challenger)
                .bind(&d.evidence_id)
                .bind(i64::from(d.evidence_resolved))
                .bind(&d.reason)
                .bind(d.bond as i64)
                .bind(DisputeState::PendingReverification.as_str())
                .bind(d.created_ms as i64)
                .execute(&mut *tx)
                .await
                .map_err(|e| {
                    if is_unique_violation(&e) {
                        StoreError::Conflict(format!("{} was already disputed", d.job_id))
                    } else {
                        e.into()
                    }
                })?;
                if d.bond > 0 {
                    let bond = LedgerBatch {
                        movements: vec![Movement::new(
                            EntryKind::Bond,
                            None,
                            Some(Account::Escrow(d.dispute_id.clone())),
                            d.bond,
                            format!("bond posted by {} for dispute {}", d.challenger, d.dispute_id),
                        )],
                        dispute_id: Some(d.dispute_id.clone()),
                        at_ms: d.created_ms,
                        ..LedgerBatch::default()
                    };
                    Self::post_in(&mut tx, &bond).await?;
                }
                tx.commit().await?;
                self.dispute_for_job(&d.job_id)
                    .await?
                    .ok_or_else(|| StoreError::NotFound(format!("dispute {}", d.dispute_id)))
            }

            async fn dispute_for_job(&self, job: &JobId) -> Result<Option<DisputeRecord>> {
                sqlx::query(&Self::sql(&format!(
                    "SELECT {DISPUTE_COLUMNS} FROM disputes WHERE job_id = ?"
                )))
                .bind(job.as_str())
                .fetch_optional(&self.writer)
                .await?
                .as_ref()
                .map(Self::dispute_from_row)
                .transpose()
            }

            async fn open_disputes(&self) -> Result<Vec<DisputeRecord>> {
                sqlx::query(&Self::sql(&format!(
                    "SELECT {DISPUTE_COLUMNS} FROM disputes WHERE state IN {OPEN_STATES} ORDER BY created_at"
                )))
                .fetch_all(&self.writer)
                .await?
                .iter()
                .map(Self::dispute_from_row)
                .collect()
            }

            async fn mark_reverifying(&self, dispute_id: &str) -> Result<bool> {
                let done = sqlx::query(&Self::sql(
                    "UPDATE disputes SET state = 'reverifying' WHERE dispute_id = ? AND state = 'pending_reverification'",
                ))
                .bind(dispute_id)
                .execute(&self.writer)
                .await?;
                Ok(done.rows_affected() == 1)
            }

            async fn resolve_dispute(&self, r: &Resolution) -> Result<bool> {
                let mut tx = self.writer.begin().await?;
                let done = sqlx::query(&Self::sql(&format!(
                    "UPDATE disputes SET state = ?, new_verdict = ?, outcome = ?, resolved_at = ? \
                     WHERE dispute_id = ? AND state IN {OPEN_STATES}"
                )))
                .bind(r.state.as_str())
                .bind(r.new_verdict.map(|v| v.as_str()))
                .bind(&r.outcome)
                .bind(r.batch.at_ms as i64)
                .bind(&r.dispute_id)
                .execute(&mut *tx)
                .await?;
                if done.rows_affected() != 1 {
                    return Ok(false);
                }
                Self::post_in(&mut tx, &r.batch).await?;
                if let Some(restore) = &r.restore {
                    Self::restore_in(&mut tx, restore, r.batch.at_ms).await?;
                }
                tx.commit().await?;
                Ok(true)
            }

            async fn post(&self, batch: &LedgerBatch) -> Result<bool> {
                let mut tx = self.writer.begin().await?;
                let stored = Self::post_in(&mut tx, batch).await;
                match stored {
                    Ok(true) => {
                        tx.commit().await?;
                        Ok(true)
                    }
                    Ok(false) => Ok(false),
                    Err(StoreError::Database(msg)) if msg.contains("UNIQUE") || msg.contains("unique") => {
                        // A concurrent batch with the same key won.
                        Ok(false)
                    }
                    Err(e) => Err(e),
                }
            }

            async fn ledger(&self, dispute_id: Option<&str>) -> Result<Vec<LedgerEntry>> {
                let rows = match dispute_id {
                    Some(d) => {
                        sqlx::query(&Self::sql(
                            "SELECT * FROM stake_ledger WHERE dispute_id = ? AND reason <> 'marker' ORDER BY id",
                        ))
                        .bind(d)
                        .fetch_all(&self.reader)
                        .await?
                    }
                    None => {
                        sqlx::query(&Self::sql(
                            "SELECT * FROM stake_ledger WHERE reason <> 'marker' ORDER BY id",
                        ))
                        .fetch_all(&self.reader)
                        .await?
                    }
                };
                rows.iter()
                    .map(|row| {
                        Ok(LedgerEntry {
                            id: row.try_get("id")?,
                            movement: Movement {
                                kind: parse("kind", &row.try_get::<String, _>("kind")?)?,
                                from: account(row.try_get("from_account")?)?,
                                to: account(row.try_get("to_account")?)?,
                                amount: row.try_get::<i64, _>("amount")?.max(0) as u64,
                                reason: row.try_get("reason")?,
                            },
                            dispute_id: row.try_get("dispute_id")?,
                            at_ms: row.try_get::<i64, _>("at")? as u64,
                        })
                    })
                    .collect()
            }

            async fn slash_times(&self, enclave: &EnclaveId) -> Result<Vec<u64>> {
                sqlx::query(&Self::sql(
                    "SELECT at FROM stake_ledger WHERE kind = 'slash' AND from_account = ? ORDER BY id",
                ))
                .bind(Account::Oracle(enclave.clone()).to_string())
                .fetch_all(&self.writer)
                .await?
                .iter()
                .map(|row| Ok(row.try_get::<i64, _>("at")? as u64))
                .collect()
            }

            async fn set_ban(&self, enclave: &EnclaveId, reason: Option<&str>) -> Result<bool> {
                let done = sqlx::query(&Self::sql(
                    "UPDATE oracles SET banned = ?, ban_reason = ?, updated_at = ? WHERE enclave_id = ?",
                ))
                .bind(reason.is_some())
                .bind(reason)
                .bind(crate::now_ms() as i64)
                .bind(enclave.as_str())
                .execute(&self.writer)
                .await?;
                Ok(done.rows_affected() == 1)
            }

            async fn set_reputation(&self, enclave: &EnclaveId, reputation: f64) -> Result<()> {
                sqlx::query(&Self::sql(
                    "UPDATE oracles SET reputation = ?, updated_at = ? WHERE enclave_id = ?",
                ))
                .bind(reputation)
                .bind(crate::now_ms() as i64)
                .bind(enclave.as_str())
                .execute(&self.writer)
                .await?;
                Ok(())
            }

            async fn round(&self, job: &JobId, round: u32) -> Result<Option<RoundRecord>> {
                let row = sqlx::query(&Self::sql(
                    "SELECT round, status, committee, final_report, failure_reason, decided_at FROM rounds \
                     WHERE job_id = ? AND round = ?",
                ))
                .bind(job.as_str())
                .bind(i64::from(round))
                .fetch_optional(&self.writer)
                .await?;
                row.map(|row| {
                    let report: Option<String> = row.try_get("final_report")?;
                    Ok(RoundRecord {
                        round: row.try_get::<i64, _>("round")? as u32,
                        status: row.try_get("status")?,
                        committee: serde_json::from_str(&row.try_get::<String, _>("committee")?)?,
                        final_report: report
                            .map(|r| serde_json::from_str::<FinalReport>(&r))
                            .transpose()?,
                        failure_reason: row.try_get("failure_reason")?,
                        decided_ms: row.try_get::<i64, _>("decided_at")? as u64,
                    })
                })
                .transpose()
            }

            async fn reports_counted(&self) -> Result<Vec<(EnclaveId, u64)>> {
                sqlx::query(&Self::sql(
                    "SELECT enclave_id, reports_counted FROM oracles ORDER BY enclave_id",
                ))
                .fetch_all(&self.reader)
                .await?
                .iter()
                .map(|row| {
                    Ok((
                        parse("enclave_id", &row.try_get::<String, _>("enclave_id")?)?,
                        row.try_get::<i64, _>("reports_counted")?.max(0) as u64,
                    ))
                })
                .collect()
            }

            async fn finalized_reports(
                &self,
                enclave: &EnclaveId,
                window_closed_before_ms: u64,
            ) -> Result<Vec<FinalizedReport>> {
                let rows = sqlx::query(&Self::sql(&format!(
                    "SELECT r.signed_report, r.received_at, j.final_report FROM reports r \
                     JOIN jobs j ON j.job_id = r.job_id \
                     LEFT JOIN disputes d ON d.job_id = j.job_id \
                     WHERE r.enclave_id = ? AND j.status = 'COMPLETED' AND j.final_report IS NOT NULL \
                     AND (d.state IS NULL OR d.state NOT IN {OPEN_STATES}) \
                     AND (d.state IS NOT NULL OR j.updated_at <= ?) ORDER BY r.received_at"
                )))
                .bind(enclave.as_str())
                .bind(window_closed_before_ms.min(i64::MAX as u64) as i64)
                .fetch_all(&self.reader)
                .await?;
                rows.iter()
                    .map(|row| {
                        let signed: SignedReport =
                            serde_json::from_str(&row.try_get::<String, _>("signed_report")?)?;
                        let fin: FinalReport =
                            serde_json::from_str(&row.try_get::<String, _>("final_report")?)?;
                        Ok(FinalizedReport {
                            verdict: signed.report.verdict,
                            final_verdict: fin.verdict,
                            at_ms: row.try_get::<i64, _>("received_at")? as u64,
                        })
                    })
                    .collect()
            }

            async fn equivocations(&self) -> Result<Vec<EquivocationProof>> {
                sqlx::query(&Self::sql(
                    "SELECT id, job_id, round, enclave_id, first_report, second_report, detected_at \
                     FROM equivocations ORDER BY id",
                ))
                .fetch_all(&self.reader)
                .await?
                .iter()
                .map(|row| {
                    Ok(EquivocationProof {
                        id: row.try_get("id")?,
                        job_id: parse("job_id", &row.try_get::<String, _>("job_id")?)?,
                        round: row.try_get::<i64, _>("round")? as u32,
                        enclave_id: parse("enclave_id", &row.try_get::<String, _>("enclave_id")?)?,
                        first: serde_json::from_str(&row.try_get::<String, _>("first_report")?)?,
                        second: serde_json::from_str(&row.try_get::<String, _>("second_report")?)?,
                        detected_ms: row.try_get::<i64, _>("detected_at")? as u64,
                    })
                })
                .collect()
            }
        }
    };
}

dispute_repository!(SqliteDisputes, sqlx::sqlite::SqliteRow, sqlx::Sqlite);
dispute_repository!(PgDisputes, sqlx::postgres::PgRow, sqlx::Postgres);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_are_numbered_for_postgres() {
        assert_eq!(PgDisputes::sql("a = ? AND b = ?"), "a = $1 AND b = $2");
        assert_eq!(SqliteDisputes::sql("a = ?"), "a = ?");
    }
}
