//! The [`JobQueue`] port: verification tasks fanned out to enclaves.
//!
//! A job round is published once as a [`FanOut`] with one [`Delivery`] per
//! committee member; each enclave leases only its own deliveries. Leases
//! expire, so a crashed worker's task is picked up again; failures are retried
//! with exponential backoff and full jitter and dead-lettered after
//! [`QueuePolicy::max_attempts`], keeping the last error. Publishing the same
//! (job, round, enclave) twice is a no-op. Higher priority is served first.

use std::time::Duration;

use async_trait::async_trait;
use serde::Serialize;
use verity_core::{EnclaveId, JobId};

use crate::Result;

/// One enclave's share of a fan-out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivery {
    /// The enclave that must process it.
    pub enclave_id: EnclaveId,
    /// The task message (a JSON `VerificationTask`).
    pub payload: Vec<u8>,
}

/// Everything to publish for one job round.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FanOut {
    /// The job.
    pub job_id: JobId,
    /// The round.
    pub round: u32,
    /// Larger is served first (re-verification uses a higher priority).
    pub priority: i32,
    /// One delivery per enclave.
    pub deliveries: Vec<Delivery>,
}

/// A task leased by a worker; ack it, fail it or release it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeasedTask {
    /// Queue-internal id.
    pub task_id: String,
    /// The job.
    pub job_id: JobId,
    /// The round.
    pub round: u32,
    /// The enclave it is for.
    pub enclave_id: EnclaveId,
    /// The task message.
    pub payload: Vec<u8>,
    /// 1 on the first delivery, +1 per retry or expired lease.
    pub attempt: u32,
    /// Proves this lease is still the current one.
    pub lease_token: String,
}

/// What happened to a failed task.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailOutcome {
    /// It will be offered again at `at_ms`.
    Retry {
        /// Unix milliseconds.
        at_ms: u64,
    },
    /// Attempts are exhausted; it is kept as a dead letter.
    DeadLettered,
}

/// Counts for metrics and `/readyz`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct QueueStats {
    /// Waiting to be leased (including those backing off).
    pub ready: u64,
    /// Currently leased.
    pub leased: u64,
    /// Dead-lettered.
    pub dead: u64,
}

/// A task that exhausted its attempts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DeadLetter {
    /// The job.
    pub job_id: JobId,
    /// The round.
    pub round: u32,
    /// The enclave.
    pub enclave_id: EnclaveId,
    /// Attempts made.
    pub attempts: u32,
    /// The last error.
    pub last_error: String,
}

/// Leases, retries and dead-lettering.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QueuePolicy {
    /// Attempts before dead-lettering.
    pub max_attempts: u32,
    /// How long a lease lasts without an extension.
    pub lease: Duration,
    /// First retry delay (doubled per attempt).
    pub base_backoff: Duration,
    /// Longest retry delay.
    pub max_backoff: Duration,
}

impl Default for QueuePolicy {
    fn default() -> Self {
        QueuePolicy {
            max_attempts: 5,
            lease: Duration::from_secs(30),
            base_backoff: Duration::from_millis(500),
            max_backoff: Duration::from_secs(30),
        }
    }
}

impl QueuePolicy {
    /// Delay before retry number `attempt` (1-based): exponential with full
    /// jitter, i.e. uniform in `[0, min(max, base × 2^(attempt−1))]`, so that
    /// tasks failed together do not retry together.
    pub fn backoff(&self, attempt: u32) -> Duration {
        let exp = self
            .base_backoff
            .saturating_mul(1u32 << attempt.saturating_sub(1).min(20))
            .min(self.max_backoff);
        let millis = exp.as_millis() as u64;
        Duration::from_millis(if millis == 0 {
            0
        } else {
            rand::random::<u64>() % (millis + 1)
        })
    }
}

/// Fan-out task queue.
#[async_trait]
pub trait JobQueue: Send + Sync {
    /// Publishes a round; deliveries already published are skipped.
    /// Returns how many were new.
    async fn publish(&self, fanout: &FanOut) -> Result<usize>;

    /// Leases the next task for `enclave`, waiting up to `wait` for one.
    async fn lease(
        &self,
        enclave: &EnclaveId,
        worker: &str,
        wait: Duration,
    ) -> Result<Option<LeasedTask>>;

    /// Marks a task done. A lease that expired and was taken over is a
    /// [`crate::StoreError::Conflict`].
    async fn ack(&self, task: &LeasedTask) -> Result<()>;

    /// Records a failure: retry later with backoff, or dead-letter.
    async fn fail(&self, task: &LeasedTask, error: &str) -> Result<FailOutcome>;

    /// Gives a task back without counting an attempt (graceful shutdown).
    async fn release(&self, task: &LeasedTask) -> Result<()>;

    /// Extends a lease by the policy's lease time (long detections).
    async fn extend(&self, task: &LeasedTask) -> Result<()>;

    /// Counts by state.
    async fn stats(&self) -> Result<QueueStats>;

    /// The most recent dead letters.
    async fn dead_letters(&self, limit: u32) -> Result<Vec<DeadLetter>>;

    /// Checks the queue is reachable (for `/readyz`).
    async fn ping(&self) -> Result<()>;

    /// Makes leases held by workers named `owner_prefix…` (other than
    /// `current_owner`) available again at once; returns how many. A process
    /// that runs all of a queue's workers itself calls this at start-up: the
    /// previous process's workers are gone, so waiting for their leases to
    /// expire would only delay (and possibly fail) their rounds. The attempt
    /// count is kept, so a task that crashes its process still dead-letters.
    /// Adapters whose leases are reclaimed otherwise may keep this default.
    async fn release_stale_leases(&self, _owner_prefix: &str, _current_owner: &str) -> Result<u64> {
        Ok(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_and_is_capped() {
        let p = QueuePolicy::default();
        for attempt in 1..30 {
            let cap = p
                .base_backoff
                .saturating_mul(1 << (attempt - 1).min(20))
                .min(p.max_backoff);
            for _ in 0..20 {
                assert!(p.backoff(attempt) <= cap);
            }
        }
        // Jitter: not always the same value.
        let samples: std::collections::BTreeSet<_> = (0..50).map(|_| p.backoff(5)).collect();
        assert!(samples.len() > 1);
    }
}
