//! [`RedisQueue`]: the [`JobQueue`] port on Redis Streams (Redis ≥ 7).
//!
//! - **Fan-out**: a round is one stream entry carrying every committee
//!   member's delivery (`d:<enclave>` fields). Each enclave identity is a
//!   consumer group, so every enclave sees every entry exactly once, and all
//!   worker processes of one identity share its group (each process is a
//!   consumer). A group acknowledges entries that carry nothing for it.
//! - **Priority**: one stream per priority level (`{verity}:tasks:<p>`); a
//!   lease tries the levels from the highest down.
//! - **Acknowledge after storing**: the worker acks only once the aggregator
//!   stored its signed report; until then the entry stays in the group's
//!   pending list.
//! - **Leases and retries**: an entry pending longer than the lease is
//!   reclaimed with `XAUTOCLAIM` (a crashed worker's task). The delivery count
//!   is the attempt number. A failure keeps the entry pending with its idle
//!   time set so it becomes reclaimable after the backoff (so a Redis retry
//!   waits at most one lease), and records the error; after `max_attempts`
//!   the entry goes to the dead-letter stream `{verity}:dead` with its last
//!   error. A release makes it reclaimable at once without counting an attempt.
//! - **Idempotent publish**: a per-round hash of published enclaves (expiring
//!   after a week) turns a republish into a no-op.
//! - **Trimming**: entries every group has acknowledged are trimmed
//!   (`XTRIM MINID`) now and then; an identity that never reads holds entries back.
//!
//! Durability is Redis's: run it with `appendonly yes` (and `appendfsync
//! always` for no loss at all on a crash) so a restart loses no task. All keys
//! share the `{verity}` hash tag, so they live in one slot on a cluster too.

mod scripts;

use std::collections::HashSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use redis::aio::{ConnectionManager, ConnectionManagerConfig, MultiplexedConnection};
use redis::{AsyncConnectionConfig, Client, Script, Value};
use tokio::sync::Mutex;
use verity_core::{EnclaveId, JobId};

use crate::queue::{
    DeadLetter, FailOutcome, FanOut, JobQueue, LeasedTask, QueuePolicy, QueueStats,
};
use crate::{Result, StoreError};

/// Longest single blocking read; shorter than the wait so that expired
/// leases and due retries are picked up without a publish.
const BLOCK: Duration = Duration::from_millis(250);
/// Dedupe records outlive any round.
const DEDUPE_TTL_SECS: u64 = 7 * 24 * 3600;
/// Dead letters kept (approximately).
const DEAD_CAP: u64 = 100_000;
/// Trim streams after this many acknowledgements in this process.
const COMPACT_EVERY: u64 = 512;

/// The queue on a Redis server.
#[derive(Clone)]
pub struct RedisQueue {
    inner: Arc<Inner>,
}

struct Inner {
    client: Client,
    conn: ConnectionManager,
    /// Connections for blocking reads (a blocking command holds its connection).
    blocking: Mutex<Vec<MultiplexedConnection>>,
    prefix: String,
    policy: QueuePolicy,
    groups: Mutex<HashSet<(i32, String)>>,
    acks: AtomicU64,
    publish: Script,
    lease: Script,
    settle: Script,
    compact: Script,
}

fn unavailable(e: redis::RedisError) -> StoreError {
    StoreError::Unavailable(format!("redis: {e}"))
}

impl RedisQueue {
    /// Connects to `url` (`redis://[user:pass@]host:port[/db]`), checking the
    /// server answers within `timeout`. `prefix` names the keys (`{prefix}:…`).
    ///
    /// # Errors
    /// [`StoreError::Invalid`] for a bad URL, [`StoreError::Unavailable`] when
    /// the server does not answer.
    pub async fn connect(
        url: &str,
        prefix: &str,
        policy: QueuePolicy,
        timeout: Duration,
    ) -> Result<Self> {
        let client =
            Client::open(url).map_err(|e| StoreError::Invalid(format!("redis URL: {e}")))?;
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(timeout))
            .set_response_timeout(Some(Duration::from_secs(10)))
            .set_number_of_retries(2);
        let conn = tokio::time::timeout(timeout, client.get_connection_manager_with_config(config))
            .await
            .map_err(|_| StoreError::Unavailable(format!("redis: no answer within {timeout:?}")))?
            .map_err(unavailable)?;
        let queue = RedisQueue {
            inner: Arc::new(Inner {
                client,
                conn,
                blocking: Mutex::new(Vec::new()),
                prefix: format!("{{{prefix}}}"),
                policy,
                groups: Mutex::new(HashSet::new()),
                acks: AtomicU64::new(0),
                publish: Script::new(scripts::PUBLISH),
                lease: Script::new(scripts::LEASE),
                settle: Script::new(scripts::SETTLE),
                compact: Script::new(scripts::COMPACT),
            }),
        };
        queue.ping().await?;
        Ok(queue)
    }

    fn stream(&self, priority: i32) -> String {
        format!("{}:tasks:{priority}", self.inner.prefix)
    }

    fn key(&self, name: &str) -> String {
        format!("{}:{name}", self.inner.prefix)
    }

    fn conn(&self) -> ConnectionManager {
        self.inner.conn.clone()
    }

    /// Priority levels in use, highest first.
    async fn priorities(&self) -> Result<Vec<i32>> {
        let raw: Vec<String> = redis::cmd("ZRANGE")
            .arg(self.key("priorities"))
            .arg("+inf")
            .arg("-inf")
            .arg("BYSCORE")
            .arg("REV")
            .query_async(&mut self.conn())
            .await
            .map_err(unavailable)?;
        Ok(raw.iter().filter_map(|p| p.parse().ok()).collect())
    }

    async fn ensure_group(&self, priority: i32, enclave: &EnclaveId) -> Result<()> {
        let key = (priority, enclave.as_str().to_owned());
        if self.inner.groups.lock().await.contains(&key) {
            return Ok(());
        }
        // From 0: an identity sees entries published before it first connected.
        let created: redis::RedisResult<()> = redis::cmd("XGROUP")
            .arg("CREATE")
            .arg(self.stream(priority))
            .arg(enclave.as_str())
            .arg("0")
            .arg("MKSTREAM")
            .query_async(&mut self.conn())
            .await;
        match created {
            Ok(()) => {}
            Err(e) if e.code() == Some("BUSYGROUP") => {}
            Err(e) => return Err(unavailable(e)),
        }
        self.inner.groups.lock().await.insert(key);
        Ok(())
    }

    /// Forgets created groups (after Redis lost its data, they must be re-created).
    async fn forget_groups_on(&self, e: &redis::RedisError) {
        if e.code() == Some("NOGROUP") || e.to_string().contains("NOGROUP") {
            self.inner.groups.lock().await.clear();
        }
    }

    /// One pass over every priority level, highest first, in a single script
    /// call (it also creates this enclave's missing groups).
    async fn try_lease(&self, enclave: &EnclaveId, worker: &str) -> Result<Option<LeasedTask>> {
        let reply: redis::RedisResult<Value> = self
            .inner
            .lease
            .key(self.key("priorities"))
            .key(self.key("dead"))
            .key(self.key("errors"))
            .arg(enclave.as_str())
            .arg(worker)
            .arg(self.inner.policy.lease.as_millis() as u64)
            .arg(self.inner.policy.max_attempts)
            .arg(DEAD_CAP)
            .arg(format!("{}:tasks:", self.inner.prefix))
            .invoke_async(&mut self.conn())
            .await;
        let reply = match reply {
            Ok(v) => v,
            Err(e) => {
                self.forget_groups_on(&e).await;
                return Err(unavailable(e));
            }
        };
        let Value::Array(items) = reply else {
            return Ok(None);
        };
        let [priority, id, count, job, round, payload] = <[Value; 6]>::try_from(items)
            .map_err(|_| StoreError::Corrupt("lease script reply".into()))?;
        let text = |v: Value| -> Result<String> {
            redis::from_redis_value(v).map_err(|e| StoreError::Corrupt(format!("redis entry: {e}")))
        };
        let count: u32 = redis::from_redis_value(count)
            .map_err(|e| StoreError::Corrupt(format!("delivery count: {e}")))?;
        Ok(Some(LeasedTask {
            task_id: format!("{}/{}", text(priority)?, text(id)?),
            job_id: text(job)?
                .parse::<JobId>()
                .map_err(|e| StoreError::Corrupt(e.to_string()))?,
            round: text(round)?
                .parse()
                .map_err(|_| StoreError::Corrupt("round".into()))?,
            enclave_id: enclave.clone(),
            payload: redis::from_redis_value(payload)
                .map_err(|e| StoreError::Corrupt(format!("payload: {e}")))?,
            attempt: count,
            lease_token: format!("{worker}/{count}"),
        }))
    }

    /// Blocks up to `wait` for a new entry on any priority stream of `enclave`'s
    /// groups. The entry read from the highest priority level is leased
    /// straight away (it is delivered to this consumer, attempt 1, as the lease
    /// script would have done); entries read from lower levels at the same time
    /// are handed back (reclaimable at once, no attempt counted) for a later
    /// lease to take in priority order. An entry with nothing for `enclave` is
    /// acknowledged and `None` returned.
    async fn wait_for_entries(
        &self,
        enclave: &EnclaveId,
        worker: &str,
        wait: Duration,
    ) -> Result<Option<LeasedTask>> {
        let priorities = self.priorities().await?;
        if priorities.is_empty() {
            tokio::time::sleep(wait).await;
            return Ok(None);
        }
        for p in &priorities {
            self.ensure_group(*p, enclave).await?;
        }
        let mut conn = self.blocking_conn(wait).await?;
        let mut cmd = redis::cmd("XREADGROUP");
        cmd.arg("GROUP")
            .arg(enclave.as_str())
            .arg(worker)
            .arg("COUNT")
            .arg(1)
            .arg("BLOCK")
            .arg(wait.as_millis().max(1) as u64)
            .arg("STREAMS");
        for p in &priorities {
            cmd.arg(self.stream(*p));
        }
        for _ in &priorities {
            cmd.arg(">");
        }
        // A timeout answers nil.
        let reply: redis::RedisResult<Option<redis::streams::StreamReadReply>> =
            cmd.query_async(&mut conn).await;
        let reply = match reply {
            Ok(r) => {
                self.inner.blocking.lock().await.push(conn);
                r.unwrap_or_default()
            }
            Err(e) => {
                self.forget_groups_on(&e).await;
                return Err(unavailable(e));
            }
        };
        let mut read: Vec<(i32, String, redis::streams::StreamId)> = Vec::new();
        for key in reply.keys {
            let Some(p) = priorities.iter().find(|p| self.stream(**p) == key.key) else {
                continue;
            };
            for entry in key.ids {
                read.push((*p, key.key.clone(), entry));
            }
        }
        read.sort_by_key(|(p, _, _)| std::cmp::Reverse(*p));
        let mut read = read.into_iter();
        let first = read.next();
        for (_, stream, entry) in read {
            let _: Vec<String> = redis::cmd("XCLAIM")
                .arg(&stream)
                .arg(enclave.as_str())
                .arg(worker)
                .arg(0)
                .arg(&entry.id)
                .arg("IDLE")
                .arg(self.inner.policy.lease.as_millis() as u64)
                .arg("RETRYCOUNT")
                .arg(0)
                .arg("JUSTID")
                .query_async(&mut self.conn())
                .await
                .map_err(unavailable)?;
        }
        match first {
            Some((p, stream, entry)) => self.take_read(p, &stream, entry, enclave, worker).await,
            None => Ok(None),
        }
    }

    /// Turns an entry just read (delivered once, to `worker`) into a lease, or
    /// acknowledges it when it carries nothing for `enclave`.
    async fn take_read(
        &self,
        priority: i32,
        stream: &str,
        entry: redis::streams::StreamId,
        enclave: &EnclaveId,
        worker: &str,
    ) -> Result<Option<LeasedTask>> {
        let want = format!("d:{}", enclave.as_str());
        let Some(payload) = entry.map.get(&want) else {
            let _: u64 = redis::cmd("XACK")
                .arg(stream)
                .arg(enclave.as_str())
                .arg(&entry.id)
                .query_async(&mut self.conn())
                .await
                .map_err(unavailable)?;
            return Ok(None);
        };
        let corrupt = |what: &str| StoreError::Corrupt(format!("redis entry {}: {what}", entry.id));
        let job: String = entry.get("job").ok_or_else(|| corrupt("job"))?;
        let round: String = entry.get("round").ok_or_else(|| corrupt("round"))?;
        Ok(Some(LeasedTask {
            task_id: format!("{priority}/{}", entry.id),
            job_id: job
                .parse::<JobId>()
                .map_err(|e| StoreError::Corrupt(e.to_string()))?,
            round: round.parse().map_err(|_| corrupt("round"))?,
            enclave_id: enclave.clone(),
            payload: redis::from_redis_value(payload.clone())
                .map_err(|e| StoreError::Corrupt(format!("payload: {e}")))?,
            attempt: 1,
            lease_token: format!("{worker}/1"),
        }))
    }

    async fn blocking_conn(&self, wait: Duration) -> Result<MultiplexedConnection> {
        if let Some(conn) = self.inner.blocking.lock().await.pop() {
            return Ok(conn);
        }
        let config = AsyncConnectionConfig::new()
            .set_connection_timeout(Some(Duration::from_secs(5)))
            .set_response_timeout(Some(wait.max(BLOCK) + Duration::from_secs(5)));
        self.inner
            .client
            .get_multiplexed_async_connection_with_config(&config)
            .await
            .map_err(unavailable)
    }

    /// Runs the settle script; `Conflict` when the lease is no longer ours.
    async fn settle(&self, task: &LeasedTask, action: &str, extra: &[String]) -> Result<()> {
        let (priority, id) = task
            .task_id
            .split_once('/')
            .ok_or_else(|| StoreError::Invalid(format!("not a redis task id: {}", task.task_id)))?;
        let priority: i32 = priority
            .parse()
            .map_err(|_| StoreError::Invalid("task priority".into()))?;
        let (consumer, count) = task
            .lease_token
            .rsplit_once('/')
            .ok_or_else(|| StoreError::Invalid("lease token".into()))?;
        let mut call = self.inner.settle.prepare_invoke();
        call.key(self.stream(priority))
            .key(self.key("dead"))
            .key(self.key("errors"))
            .arg(task.enclave_id.as_str())
            .arg(id)
            .arg(consumer)
            .arg(count)
            .arg(action);
        for a in extra {
            call.arg(a);
        }
        let settled: i64 = call
            .invoke_async(&mut self.conn())
            .await
            .map_err(unavailable)?;
        if settled == 1 {
            Ok(())
        } else {
            Err(StoreError::Conflict(format!(
                "task {} is no longer leased by this worker (lease expired?)",
                task.task_id
            )))
        }
    }

    /// Trims what every group has acknowledged, on every priority stream.
    ///
    /// # Errors
    /// Redis unavailable.
    pub async fn compact(&self) -> Result<u64> {
        let mut trimmed = 0;
        for p in self.priorities().await? {
            let n: u64 = self
                .inner
                .compact
                .key(self.stream(p))
                .invoke_async(&mut self.conn())
                .await
                .map_err(unavailable)?;
            trimmed += n;
        }
        Ok(trimmed)
    }
}

#[async_trait]
impl JobQueue for RedisQueue {
    async fn publish(&self, fanout: &FanOut) -> Result<usize> {
        if fanout.deliveries.is_empty() {
            return Ok(0);
        }
        let mut call = self.inner.publish.prepare_invoke();
        call.key(self.key(&format!("published:{}:{}", fanout.job_id, fanout.round)))
            .key(self.stream(fanout.priority))
            .key(self.key("priorities"))
            .arg(DEDUPE_TTL_SECS)
            .arg(fanout.priority)
            .arg(fanout.job_id.as_str())
            .arg(fanout.round);
        for d in &fanout.deliveries {
            call.arg(d.enclave_id.as_str()).arg(&d.payload[..]);
        }
        let new: usize = call
            .invoke_async(&mut self.conn())
            .await
            .map_err(unavailable)?;
        Ok(new)
    }

    async fn lease(
        &self,
        enclave: &EnclaveId,
        worker: &str,
        wait: Duration,
    ) -> Result<Option<LeasedTask>> {
        let deadline = Instant::now() + wait;
        loop {
            if let Some(task) = self.try_lease(enclave, worker).await? {
                return Ok(Some(task));
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Ok(None);
            }
            if let Some(task) = self
                .wait_for_entries(enclave, worker, left.min(BLOCK))
                .await?
            {
                return Ok(Some(task));
            }
        }
    }

    async fn ack(&self, task: &LeasedTask) -> Result<()> {
        self.settle(task, "ack", &[]).await?;
        if self.inner.acks.fetch_add(1, Ordering::Relaxed) % COMPACT_EVERY == COMPACT_EVERY - 1
            && let Err(e) = self.compact().await
        {
            tracing::debug!(error = %e, "stream trimming failed; will retry");
        }
        Ok(())
    }

    async fn fail(&self, task: &LeasedTask, error: &str) -> Result<FailOutcome> {
        let error: String = error.chars().take(2000).collect();
        if task.attempt >= self.inner.policy.max_attempts {
            self.settle(
                task,
                "dead",
                &[
                    task.job_id.to_string(),
                    task.round.to_string(),
                    error,
                    DEAD_CAP.to_string(),
                ],
            )
            .await?;
            return Ok(FailOutcome::DeadLettered);
        }
        let lease = self.inner.policy.lease;
        let backoff = self.inner.policy.backoff(task.attempt).min(lease);
        let idle = (lease - backoff).as_millis() as u64;
        self.settle(task, "retry", &[idle.to_string(), error])
            .await?;
        Ok(FailOutcome::Retry {
            at_ms: crate::now_ms() + backoff.as_millis() as u64,
        })
    }

    async fn release(&self, task: &LeasedTask) -> Result<()> {
        let lease = self.inner.policy.lease.as_millis() as u64;
        self.settle(task, "release", &[lease.to_string()]).await
    }

    async fn extend(&self, task: &LeasedTask) -> Result<()> {
        self.settle(task, "extend", &[]).await
    }

    async fn stats(&self) -> Result<QueueStats> {
        let mut stats = QueueStats::default();
        for p in self.priorities().await? {
            let groups: Vec<std::collections::HashMap<String, Value>> = redis::cmd("XINFO")
                .arg("GROUPS")
                .arg(self.stream(p))
                .query_async(&mut self.conn())
                .await
                .map_err(unavailable)?;
            for g in groups {
                let num = |k: &str| {
                    g.get(k)
                        .and_then(|v| redis::from_redis_value::<u64>(v.clone()).ok())
                        .unwrap_or(0)
                };
                stats.ready += num("lag");
                stats.leased += num("pending");
            }
        }
        stats.dead = redis::cmd("XLEN")
            .arg(self.key("dead"))
            .query_async(&mut self.conn())
            .await
            .map_err(unavailable)?;
        Ok(stats)
    }

    async fn dead_letters(&self, limit: u32) -> Result<Vec<DeadLetter>> {
        let reply: redis::streams::StreamRangeReply = redis::cmd("XREVRANGE")
            .arg(self.key("dead"))
            .arg("+")
            .arg("-")
            .arg("COUNT")
            .arg(limit)
            .query_async(&mut self.conn())
            .await
            .map_err(unavailable)?;
        reply
            .ids
            .iter()
            .map(|e| {
                let text = |k: &str| e.get::<String>(k).unwrap_or_default();
                let corrupt = |what: &str| StoreError::Corrupt(format!("dead letter {what}"));
                Ok(DeadLetter {
                    job_id: text("job").parse().map_err(|_| corrupt("job"))?,
                    round: text("round").parse().map_err(|_| corrupt("round"))?,
                    enclave_id: text("enclave").parse().map_err(|_| corrupt("enclave"))?,
                    attempts: text("attempts").parse().map_err(|_| corrupt("attempts"))?,
                    last_error: text("error"),
                })
            })
            .collect()
    }

    async fn ping(&self) -> Result<()> {
        let _: String = redis::cmd("PING")
            .query_async(&mut self.conn())
            .await
            .map_err(unavailable)?;
        Ok(())
    }
}
