//! [`PgQueue`]: the [`JobQueue`] port on PostgreSQL.
//!
//! Each delivery is a row (table `queue_tasks`, as in SQLite); leasing is one
//! `UPDATE … WHERE id = (SELECT … FOR UPDATE SKIP LOCKED) RETURNING`, so any
//! number of worker processes lease concurrently without blocking each other
//! and never lease the same row. `publish` and `release` send `NOTIFY
//! verity_queue`; every queue instance keeps one `LISTEN` connection that wakes
//! its waiting leases, which otherwise re-check every 250 ms (retries coming
//! due, expired leases, a listener reconnecting).

use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use sqlx::Row;
use tokio::sync::watch;
use verity_core::{EnclaveId, JobId};

use super::PgDb;
use crate::queue::{
    DeadLetter, FailOutcome, FanOut, JobQueue, LeasedTask, QueuePolicy, QueueStats,
};
use crate::{Result, StoreError, now_ms};

const RECHECK: Duration = Duration::from_millis(250);

/// The `NOTIFY` channel of publishes and releases.
const CHANNEL: &str = "verity_queue";

/// The queue on a [`PgDb`].
#[derive(Debug, Clone)]
pub struct PgQueue {
    db: PgDb,
    policy: QueuePolicy,
    published: Arc<watch::Sender<u64>>,
    _listener: Arc<AbortOnDrop>,
}

/// Stops the `LISTEN` task when the last clone of the queue is dropped.
#[derive(Debug)]
struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Wakes local waiters on every notification; `PgListener` reconnects by itself.
async fn listen(db: PgDb, published: Arc<watch::Sender<u64>>) {
    loop {
        let listener = async {
            let mut l = sqlx::postgres::PgListener::connect_with(&db.pool).await?;
            l.listen(CHANNEL).await?;
            Ok::<_, sqlx::Error>(l)
        };
        let mut listener = match listener.await {
            Ok(l) => l,
            Err(e) => {
                tracing::debug!(error = %e, "queue LISTEN failed; polling meanwhile");
                tokio::time::sleep(Duration::from_secs(1)).await;
                continue;
            }
        };
        while listener.recv().await.is_ok() {
            published.send_modify(|n| *n = n.wrapping_add(1));
        }
    }
}

impl PgQueue {
    /// A queue on `db` under `policy`.
    pub fn new(db: PgDb, policy: QueuePolicy) -> Self {
        let published = Arc::new(watch::channel(0).0);
        let listener = tokio::spawn(listen(db.clone(), published.clone()));
        PgQueue {
            db,
            policy,
            published,
            _listener: Arc::new(AbortOnDrop(listener)),
        }
    }

    async fn try_lease(&self, enclave: &EnclaveId, worker: &str) -> Result<Option<LeasedTask>> {
        let now = now_ms() as i64;
        // Leases that expired on their last allowed attempt become dead letters.
        sqlx::query(
            "UPDATE queue_tasks SET state = 'dead', last_error = COALESCE(last_error, 'lease expired') \
             || ' (lease expired on the last attempt)', updated_at = $1 \
             WHERE enclave_id = $2 AND state = 'leased' AND lease_until <= $3 AND attempts >= $4",
        )
        .bind(now)
        .bind(enclave.as_str())
        .bind(now)
        .bind(i64::from(self.policy.max_attempts))
        .execute(&self.db.pool)
        .await?;
        let token = format!("{:016x}", rand::random::<u64>());
        let row = sqlx::query(
            "UPDATE queue_tasks SET state = 'leased', attempts = attempts + 1, lease_owner = $1, lease_token = $2, \
             lease_until = $3, updated_at = $4 WHERE id = (SELECT id FROM queue_tasks WHERE enclave_id = $5 AND \
             ((state = 'ready' AND available_at <= $6) OR (state = 'leased' AND lease_until <= $7)) \
             ORDER BY priority DESC, id LIMIT 1 FOR UPDATE SKIP LOCKED) \
             RETURNING id, job_id, round, payload, attempts",
        )
        .bind(worker)
        .bind(&token)
        .bind(now + self.policy.lease.as_millis() as i64)
        .bind(now)
        .bind(enclave.as_str())
        .bind(now)
        .bind(now)
        .fetch_optional(&self.db.pool)
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
        let sql = numbered(&format!(
            "UPDATE queue_tasks SET {set}, updated_at = ? WHERE id = ? AND state = 'leased' AND lease_token = ?"
        ));
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
            .execute(&self.db.pool)
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

/// `?` placeholders to PostgreSQL's `$1, $2, …` (the fragments contain no other `?`).
fn numbered(sql: &str) -> String {
    let mut out = String::with_capacity(sql.len() + 8);
    let mut n = 0;
    for c in sql.chars() {
        if c == '?' {
            n += 1;
            out.push_str(&format!("${n}"));
        } else {
            out.push(c);
        }
    }
    out
}

enum Bind<'a> {
    Int(i64),
    Text(&'a str),
}

#[async_trait]
impl JobQueue for PgQueue {
    async fn publish(&self, fanout: &FanOut) -> Result<usize> {
        let now = now_ms() as i64;
        let mut tx = self.db.pool.begin().await?;
        let mut new = 0;
        for d in &fanout.deliveries {
            let done = sqlx::query(
                "INSERT INTO queue_tasks (job_id, round, enclave_id, payload, priority, state, available_at, \
                 created_at, updated_at) VALUES ($1, $2, $3, $4, $5, 'ready', $6, $7, $8) \
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
        if new > 0 {
            sqlx::query("SELECT pg_notify($1, $2)")
                .bind(CHANNEL)
                .bind(fanout.job_id.as_str())
                .execute(&mut *tx)
                .await?;
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
        sqlx::query("SELECT pg_notify($1, $2)")
            .bind(CHANNEL)
            .bind(task.job_id.as_str())
            .execute(&self.db.pool)
            .await?;
        self.published.send_modify(|n| *n = n.wrapping_add(1));
        Ok(())
    }

    async fn extend(&self, task: &LeasedTask) -> Result<()> {
        let until = now_ms() as i64 + self.policy.lease.as_millis() as i64;
        self.update_leased(task, "lease_until = ?", &[Bind::Int(until)])
            .await
    }

    async fn release_stale_leases(&self, owner_prefix: &str, current_owner: &str) -> Result<u64> {
        let done = sqlx::query(
            "UPDATE queue_tasks SET state = 'ready', available_at = $1, lease_until = NULL, lease_token = NULL, \
             updated_at = $1 WHERE state = 'leased' AND starts_with(lease_owner, $2) AND lease_owner <> $3",
        )
        .bind(now_ms() as i64)
        .bind(owner_prefix)
        .bind(current_owner)
        .execute(&self.db.pool)
        .await?;
        sqlx::query("SELECT pg_notify($1, '')")
            .bind(CHANNEL)
            .execute(&self.db.pool)
            .await?;
        self.published.send_modify(|n| *n = n.wrapping_add(1));
        Ok(done.rows_affected())
    }

    async fn stats(&self) -> Result<QueueStats> {
        let rows = sqlx::query(
            "SELECT state, COUNT(*) AS n FROM queue_tasks WHERE state != 'done' GROUP BY state",
        )
        .fetch_all(&self.db.pool)
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
             ORDER BY updated_at DESC LIMIT $1",
        )
        .bind(i64::from(limit))
        .fetch_all(&self.db.pool)
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

    async fn ping(&self) -> Result<()> {
        sqlx::query("SELECT 1 FROM queue_tasks LIMIT 1")
            .execute(&self.db.pool)
            .await?;
        Ok(())
    }
}
