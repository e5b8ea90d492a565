//! The enclave worker loop.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;
use tracing::{debug, info, warn};
use verity_core::VerificationTask;
use verity_detect::Ensemble;
use verity_store::{BlobId, BlobStore, JobQueue, LeasedTask, now_ms};

use crate::byzantine::{Byzantine, lie_about};
use crate::process::{EnclaveIdentity, open_evidence, process_task_with};
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
    /// Byzantine simulation (tests and demos only; `None` is honest).
    pub byzantine: Option<Byzantine>,
}

impl Default for WorkerSettings {
    fn default() -> Self {
        WorkerSettings {
            worker_name: format!("worker-{}", std::process::id()),
            concurrency: 4,
            heartbeat: Duration::from_secs(10),
            poll: Duration::from_secs(1),
            drain: Duration::from_secs(20),
            byzantine: None,
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
        let evidence_blob = self.evidence_blob(&task).await;
        let (identity, ensemble) = (self.identity.clone(), self.ensemble.clone());
        let byzantine = self.settings.byzantine;
        let (signed, second) = tokio::task::spawn_blocking(move || {
            let evidence = match (&task.evidence, evidence_blob) {
                (Some(ev), Some(bytes)) => match open_evidence(&identity, ev, &bytes) {
                    Ok(plain) => Some(plain),
                    Err(why) => {
                        warn!(job = %task.job_id, enclave = %identity.id, %why, "evidence unusable; analysing without it");
                        None
                    }
                },
                _ => None,
            };
            let honest = process_task_with(&identity, &ensemble, &task, &blob, evidence.as_deref(), now_ms())?;
            Ok::<_, crate::TaskError>(match byzantine {
                None => (honest, None),
                Some(Byzantine::Lie) => (identity.keys.sign_report(lie_about(&honest.report)), None),
                Some(Byzantine::Equivocate) => {
                    let lie = identity.keys.sign_report(lie_about(&honest.report));
                    (honest, Some(lie))
                }
            })
        })
        .await
        .map_err(|e| Attempt::Retry(format!("detection panicked: {e}")))?
        .map_err(|e| Attempt::Retry(e.to_string()))?;
        let result = self.sink.submit(&signed).await;
        if let Some(second) = second {
            // Byzantine simulation: a second, conflicting report for the same round.
            let answer = self.sink.submit(&second).await;
            debug!(job = %second.report.job_id, ?answer, "equivocating report sent");
        }
        match result {
            Ok(outcome) => {
                debug!(job = %signed.report.job_id, ?outcome, "report delivered");
                Ok(())
            }
            Err(SinkError::Refused(reason)) => Err(Attempt::Refused(reason)),
            Err(SinkError::Unavailable(reason)) => Err(Attempt::Retry(reason)),
        }
    }

    /// The encrypted evidence blob of a re-verification task, if it has one
    /// for this enclave and it can be fetched.
    async fn evidence_blob(&self, task: &VerificationTask) -> Option<bytes::Bytes> {
        let ev = task.evidence.as_ref()?;
        let blob_id = ev.blob_id.as_ref()?;
        ev.sealed_key.as_ref()?;
        match self.blobs.get(&BlobId(blob_id.clone())).await {
            Ok(bytes) => Some(bytes),
            Err(e) => {
                warn!(job = %task.job_id, evidence = %ev.evidence_id, error = %e, "evidence blob unavailable; analysing without it");
                None
            }
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
