//! [`SqliteQueue`]: the [`JobQueue`] port on SQLite.
//!
//! Each delivery is a row; leasing is one `UPDATE … RETURNING` on the single
//! writer connection, so two workers can never lease the same row. Waiting
//! workers are woken in-process by a watch channel on publish and otherwise
//! re-check every 250 ms (for retries coming due and expired leases).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use sqlx::Row;
use tokio::sync::watch;
use verity_core::{EnclaveId, JobId};

use super::SqliteDb;
use crate::queue::{
    DeadLetter, FailOutcome, FanOut, JobQueue, LeasedTask, QueuePolicy, QueueStats,
};
use crate::{Result, StoreError, now_ms};

const RECHECK: Duration = Duration::from_millis(250);
/// How often expired last attempts are dead-lettered.
const SWEEP_EVERY_MS: i64 = 1000;

/// The queue on a [`SqliteDb`].
#[derive(Debug, Clone)]
pub struct SqliteQueue {
    db: SqliteDb,
    policy: QueuePolicy,
    published: Arc<watch::Sender<u64>>,
    last_sweep_ms: Arc<AtomicU64>,
}

impl SqliteQueue {
    /// A queue on `db` under `policy`.
    pub fn new(db: SqliteDb, policy: QueuePolicy) -> Self {
        SqliteQueue {
            db,
            policy,
            published: Arc::new(watch::channel(0).0),
            last_sweep_ms: Arc::new(AtomicU64::new(0)),
        }
    }

    /// Leases that expired on their last allowed attempt become dead letters.
    /// Runs at most once per [`SWEEP_EVERY_MS`]: it is a correction, not part
    /// of every lease.
    async fn sweep_expired_last_attempts(&self, now: i64) -> Result<()> {
        let last = self.last_sweep_ms.load(Ordering::Relaxed) as i64;
        if now - last < SWEEP_EVERY_MS
            || self
                .last_sweep_ms
                .compare_exchange(
                    last as u64,
                    now as u64,
                    Ordering::Relaxed,
                    Ordering::Relaxed,
                )
                .is_err()
        {
            return Ok(());
        }
        sqlx::query(
            "UPDATE queue_tasks SET state = 'dead', last_error = COALESCE(last_error, 'lease expired') \
             || ' (lease expired on the last attempt)', updated_at = ? \
             WHERE state = 'leased' AND lease_until <= ? AND attempts >= ?",
        )
        .bind(now)
        .bind(now)
        .bind(i64::from(self.policy.max_attempts))
        .execute(&self.db.writer)
        .await?;
        Ok(())
    }

    async fn try_lease(&self, enclave: &EnclaveId, worker: &str) -> Result<Option<LeasedTask>> {
        let now = now_ms() as i64;
        self.sweep_expired_last_attempts(now).await?;
        let token = format!("{:016x}", rand::random::<u64>());
        let row = sqlx::query(
            "UPDATE queue_tasks SET state = 'leased', attempts = attempts + 1, lease_owner = ?, lease_token = ?, \
             lease_until = ?, updated_at = ? WHERE id = (SELECT id FROM queue_tasks WHERE enclave_id = ? AND \
             ((state = 'ready' AND available_at <= ?) OR (state = 'leased' AND lease_until <= ? AND attempts < ?)) \
             ORDER BY priority DESC, id LIMIT 1) \
             RETURNING id, job_id, round, payload, attempts",
        )
        .bind(worker)
        .bind(&token)
        .bind(now + self.policy.lease.as_millis() as i64)
        .bind(now)
        .bind(enclave.as_str())
        .bind(now)
        .bind(now)
        .bind(i64::from(self.policy.max_attempts))
        .fetch_optional(&self.db.writer)
        .await?;
        let Some(row) = row else { return Ok(None) };
        let job: String = row.try_get("job_id")?;
        Ok(Some(LeasedTask {
            task_id: row.try_get::<i64, _>("id")?.to_string(),
            job_id: job
                .parse::<JobId>()
                .map_err(|e| StoreError::Corrupt(e.to_string()))?,
            round: row.try_get::<i64, _>("round")? as u32,
            enclave_id: enclave.clone(),
            payload: row.try_get("payload")?,
            attempt: row.try_get::<i64, _>("attempts")? as u32,
            lease_token: token,
        }))
    }

    async fn update_leased(&self, task: &LeasedTask, set: &str, binds: &[Bind<'_>]) -> Result<()> {
        let sql = format!(
            "UPDATE queue_tasks SET {set}, updated_at = ? WHERE id = ? AND state = 'leased' AND lease_token = ?"
        );
        let mut q = sqlx::query(&sql);
        for b in binds {
            q = match b {
                Bind::Int(i) => q.bind(*i),
                Bind::Text(t) => q.bind(*t),
            };
        }
        let done = q
            .bind(now_ms() as i64)
            .bind(
                task.task_id
                    .parse::<i64>()
                    .map_err(|_| StoreError::Invalid("task id".into()))?,
            )
            .bind(&task.lease_token)
            .execute(&self.db.writer)
            .await?;
        if done.rows_affected() == 1 {
            Ok(())
        } else {
            Err(StoreError::Conflict(format!(
                "task {} is no longer leased by this worker (lease expired?)",
                task.task_id
            )))
        }
    }
}

enum Bind<'a> {
    Int(i64),
    Text(&'a str),
}

#[async_trait]
impl JobQueue for SqliteQueue {
    async fn publish(&self, fanout: &FanOut) -> Result<usize> {
        let now = now_ms() as i64;
        let mut tx = self.db.writer.begin().await?;
        let mut new = 0;
        for d in &fanout.deliveries {
            let done = sqlx::query(
                "INSERT INTO queue_tasks (job_id, round, enclave_id, payload, priority, state, available_at, \
                 created_at, updated_at) VALUES (?, ?, ?, ?, ?, 'ready', ?, ?, ?) \
                 ON CONFLICT (job_id, round, enclave_id) DO NOTHING",
            )
            .bind(fanout.job_id.as_str())
            .bind(i64::from(fanout.round))
            .bind(d.enclave_id.as_str())
            .bind(&d.payload)
            .bind(i64::from(fanout.priority))
            .bind(now)
            .bind(now)
            .bind(now)
            .execute(&mut *tx)
            .await?;
            new += done.rows_affected() as usize;
        }
        tx.commit().await?;
        if new > 0 {
            self.published.send_modify(|n| *n = n.wrapping_add(1));
        }
        Ok(new)
    }

    async fn lease(
        &self,
        enclave: &EnclaveId,
        worker: &str,
        wait: Duration,
    ) -> Result<Option<LeasedTask>> {
        let deadline = Instant::now() + wait;
        let mut published = self.published.subscribe();
        loop {
            published.mark_unchanged();
            if let Some(task) = self.try_lease(enclave, worker).await? {
                return Ok(Some(task));
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Ok(None);
            }
            // Either a publish wakes us or we re-check for due retries and expired leases.
            let _ = tokio::time::timeout(left.min(RECHECK), published.changed()).await;
        }
    }

    async fn ack(&self, task: &LeasedTask) -> Result<()> {
        self.update_leased(task, "state = 'done', lease_until = NULL", &[])
            .await
    }

    async fn fail(&self, task: &LeasedTask, error: &str) -> Result<FailOutcome> {
        let error: String = error.chars().take(2000).collect();
        if task.attempt >= self.policy.max_attempts {
            self.update_leased(
                task,
                "state = 'dead', last_error = ?",
                &[Bind::Text(&error)],
            )
            .await?;
            return Ok(FailOutcome::DeadLettered);
        }
        let at_ms = now_ms() + self.policy.backoff(task.attempt).as_millis() as u64;
        self.update_leased(
            task,
            "state = 'ready', last_error = ?, available_at = ?, lease_until = NULL",
            &[Bind::Text(&error), Bind::Int(at_ms as i64)],
        )
        .await?;
        Ok(FailOutcome::Retry { at_ms })
    }

    async fn release(&self, task: &LeasedTask) -> Result<()> {
        self.update_leased(
            task,
            "state = 'ready', attempts = attempts - 1, available_at = ?, lease_until = NULL",
            &[Bind::Int(now_ms() as i64)],
        )
        .await?;
        self.published.send_modify(|n| *n = n.wrapping_add(1));
        Ok(())
    }

    async fn extend(&self, task: &LeasedTask) -> Result<()> {
        let until = now_ms() as i64 + self.policy.lease.as_millis() as i64;
        self.update_leased(task, "lease_until = ?", &[Bind::Int(until)])
            .await
    }

    async fn stats(&self) -> Result<QueueStats> {
        let rows = sqlx::query(
            "SELECT state, COUNT(*) AS n FROM queue_tasks WHERE state != 'done' GROUP BY state",
        )
        .fetch_all(&self.db.reader)
        .await?;
        let mut stats = QueueStats::default();
        for row in rows {
            let n = row.try_get::<i64, _>("n")? as u64;
            match row.try_get::<String, _>("state")?.as_str() {
                "ready" => stats.ready = n,
                "leased" => stats.leased = n,
                "dead" => stats.dead = n,
                _ => {}
            }
        }
        Ok(stats)
    }

    async fn dead_letters(&self, limit: u32) -> Result<Vec<DeadLetter>> {
        sqlx::query(
            "SELECT job_id, round, enclave_id, attempts, last_error FROM queue_tasks WHERE state = 'dead' \
             ORDER BY updated_at DESC LIMIT ?",
        )
        .bind(i64::from(limit))
        .fetch_all(&self.db.reader)
        .await?
        .iter()
        .map(|row| {
            let corrupt = |e: verity_core::IdError| StoreError::Corrupt(e.to_string());
            Ok(DeadLetter {
                job_id: row.try_get::<String, _>("job_id")?.parse().map_err(corrupt)?,
                round: row.try_get::<i64, _>("round")? as u32,
                enclave_id: row.try_get::<String, _>("enclave_id")?.parse().map_err(corrupt)?,
                attempts: row.try_get::<i64, _>("attempts")? as u32,
                last_error: row.try_get::<Option<String>, _>("last_error")?.unwrap_or_default(),
            })
        })
        .collect()
    }

    async fn release_stale_leases(&self, owner_prefix: &str, current_owner: &str) -> Result<u64> {
        let now = now_ms() as i64;
        let done = sqlx::query(
            "UPDATE queue_tasks SET state = 'ready', available_at = ?, lease_until = NULL, lease_token = NULL, \
             updated_at = ? WHERE state = 'leased' AND substr(lease_owner, 1, length(?)) = ? AND lease_owner != ?",
        )
        .bind(now)
        .bind(now)
        .bind(owner_prefix)
        .bind(owner_prefix)
        .bind(current_owner)
        .execute(&self.db.writer)
        .await?;
        self.published.send_modify(|n| *n = n.wrapping_add(1));
        Ok(done.rows_affected())
    }

    async fn ping(&self) -> Result<()> {
        sqlx::query("SELECT 1 FROM queue_tasks LIMIT 1")
            .execute(&self.db.reader)
            .await?;
        Ok(())
    }
}
