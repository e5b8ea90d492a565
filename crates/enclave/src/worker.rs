//! The enclave worker loop.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;
use tracing::{debug, info, warn};
use verity_core::VerificationTask;
use verity_detect::Ensemble;
use verity_store::{BlobId, BlobStore, JobQueue, LeasedTask, now_ms};

use crate::process::{EnclaveIdentity, process_task};
use crate::sink::{ReportSink, SinkError};

/// How a worker runs.
#[derive(Debug, Clone)]
pub struct WorkerSettings {
    /// Name of this worker process (several may share one enclave identity).
    pub worker_name: String,
    /// Tasks processed at once.
    pub concurrency: usize,
    /// How often a lease is extended while a task runs.
    pub heartbeat: Duration,
    /// How long one lease call waits for work before re-checking shutdown.
    pub poll: Duration,
    /// On shutdown, how long in-flight tasks may run on before their leases
    /// are released for another worker.
    pub drain: Duration,
}

impl Default for WorkerSettings {
    fn default() -> Self {
        WorkerSettings {
            worker_name: format!("worker-{}", std::process::id()),
            concurrency: 4,
            heartbeat: Duration::from_secs(10),
            poll: Duration::from_secs(1),
            drain: Duration::from_secs(20),
        }
    }
}

/// One enclave identity's worker: leases its tasks and reports on them.
pub struct EnclaveWorker {
    identity: Arc<EnclaveIdentity>,
    ensemble: Arc<Ensemble>,
    queue: Arc<dyn JobQueue>,
    blobs: Arc<dyn BlobStore>,
    sink: Arc<dyn ReportSink>,
    settings: WorkerSettings,
    /// Cancelled when draining is over: in-flight tasks release their leases.
    abandon: CancellationToken,
}

impl EnclaveWorker {
    /// A worker for `identity`.
    pub fn new(
        identity: Arc<EnclaveIdentity>,
        ensemble: Arc<Ensemble>,
        queue: Arc<dyn JobQueue>,
        blobs: Arc<dyn BlobStore>,
        sink: Arc<dyn ReportSink>,
        settings: WorkerSettings,
    ) -> Self {
        EnclaveWorker {
            identity,
            ensemble,
            queue,
            blobs,
            sink,
            settings,
            abandon: CancellationToken::new(),
        }
    }

    /// Runs until `shutdown` is cancelled, then lets in-flight tasks finish
    /// for up to [`WorkerSettings::drain`] and releases the leases of those
    /// still running (so another worker takes them at once, no attempt lost).
    pub async fn run(self: Arc<Self>, shutdown: CancellationToken) {
        let slots = Arc::new(Semaphore::new(self.settings.concurrency.max(1)));
        info!(enclave = %self.identity.id, worker = %self.settings.worker_name, "enclave worker started");
        loop {
            let permit = tokio::select! {
                _ = shutdown.cancelled() => break,
                p = slots.clone().acquire_owned() => p.expect("semaphore is never closed"),
            };
            let leased = tokio::select! {
                _ = shutdown.cancelled() => break,
                r = self.queue.lease(&self.identity.id, &self.settings.worker_name, self.settings.poll) => r,
            };
            match leased {
                Ok(Some(task)) => {
                    let worker = self.clone();
                    tokio::spawn(async move {
                        worker.handle(task).await;
                        drop(permit);
                    });
                }
                Ok(None) => {}
                Err(e) => {
                    warn!(enclave = %self.identity.id, error = %e, "leasing failed; backing off");
                    tokio::select! {
                        _ = shutdown.cancelled() => break,
                        _ = tokio::time::sleep(self.settings.poll) => {}
                    }
                }
            }
        }
        // Graceful stop: in-flight tasks finish and acknowledge, or give their leases back.
        let all = self.settings.concurrency.max(1) as u32;
        if tokio::time::timeout(self.settings.drain, slots.acquire_many(all))
            .await
            .is_err()
        {
            warn!(enclave = %self.identity.id, "drain time is over; releasing the leases of unfinished tasks");
            self.abandon.cancel();
            let _ = slots.acquire_many(all).await;
        }
        info!(enclave = %self.identity.id, "enclave worker stopped");
    }

    async fn handle(&self, leased: LeasedTask) {
        let heartbeat = self.keep_lease(&leased);
        let result = tokio::select! {
            r = self.attempt(&leased) => r,
            _ = self.abandon.cancelled() => {
                heartbeat.cancel();
                match self.queue.release(&leased).await {
                    Ok(()) => info!(job = %leased.job_id, "lease released on shutdown"),
                    Err(e) => warn!(job = %leased.job_id, error = %e, "could not release; the lease will expire"),
                }
                return;
            }
        };
        heartbeat.cancel();
        let settled = match result {
            Ok(()) => self.queue.ack(&leased).await,
            Err(Attempt::Refused(reason)) => {
                // Retrying an identical report cannot change the answer.
                warn!(job = %leased.job_id, enclave = %self.identity.id, %reason, "report refused; dropping task");
                self.queue.ack(&leased).await
            }
            Err(Attempt::Retry(error)) => {
                warn!(job = %leased.job_id, enclave = %self.identity.id, attempt = leased.attempt, %error, "task failed");
                self.queue.fail(&leased, &error).await.map(|outcome| {
                    debug!(?outcome, "failure recorded");
                })
            }
        };
        if let Err(e) = settled {
            warn!(job = %leased.job_id, error = %e, "could not settle the task; its lease will expire");
        }
    }

    async fn attempt(&self, leased: &LeasedTask) -> Result<(), Attempt> {
        let task: VerificationTask = serde_json::from_slice(&leased.payload)
            .map_err(|e| Attempt::Retry(format!("bad task message: {e}")))?;
        if let Err(e) = self
            .sink
            .started(&task.job_id, task.round, &self.identity.id)
            .await
        {
            debug!(error = %e, "could not announce start");
        }
        let blob = self
            .blobs
            .get(&BlobId(task.blob_id.clone()))
            .await
            .map_err(|e| Attempt::Retry(format!("fetching blob {}: {e}", task.blob_id)))?;
        let (identity, ensemble) = (self.identity.clone(), self.ensemble.clone());
        let signed = tokio::task::spawn_blocking(move || {
            process_task(&identity, &ensemble, &task, &blob, now_ms())
        })
        .await
        .map_err(|e| Attempt::Retry(format!("detection panicked: {e}")))?
        .map_err(|e| Attempt::Retry(e.to_string()))?;
        match self.sink.submit(&signed).await {
            Ok(outcome) => {
                debug!(job = %signed.report.job_id, ?outcome, "report delivered");
                Ok(())
            }
            Err(SinkError::Refused(reason)) => Err(Attempt::Refused(reason)),
            Err(SinkError::Unavailable(reason)) => Err(Attempt::Retry(reason)),
        }
    }

    fn keep_lease(&self, leased: &LeasedTask) -> CancellationToken {
        let stop = CancellationToken::new();
        let (queue, task, every, token) = (
            self.queue.clone(),
            leased.clone(),
            self.settings.heartbeat,
            stop.clone(),
        );
        tokio::spawn(async move {
            loop {
                tokio::select! {
                    _ = token.cancelled() => return,
                    _ = tokio::time::sleep(every) => {
                        if let Err(e) = queue.extend(&task).await {
                            warn!(job = %task.job_id, error = %e, "lease extension failed");
                            return;
                        }
                    }
                }
            }
        });
        stop
    }
}

enum Attempt {
    Refused(String),
    Retry(String),
}
