//! The upload service: inspect, encrypt, seal, store, enqueue — then 202.
//!
//! Nothing is acknowledged before it is durable: the ciphertext is in the
//! blob store, the job (with its sealed keys) is committed to the repository
//! and the round is published to the queue. If publishing fails after the job
//! was stored, the job is failed with the reason so it is not left hanging,
//! and the client gets 503.

use std::sync::Arc;

use bytes::Bytes;
use serde::Serialize;
use serde_json::json;
use tracing::warn;
use verity_core::committee::{Candidate, CommitteeSelection};
use verity_core::{EnclaveId, JobId, Oracle, SealedKeyWire, Sha256Digest, VerificationTask};
use verity_crypto::{encrypt_media, seal_data_key};
use verity_detect::{MediaError, inspect};
use verity_store::{
    BlobRecord, BlobStore, Delivery, FanOut, JobQueue, JobRecord, NewJob, Repository,
    SealedKeyRecord, now_ms,
};

use crate::error::ApiError;
use crate::events::EventBus;
use crate::metrics as m;
use crate::settings::NodeSettings;

/// Priority of a job's first round.
pub const NORMAL_PRIORITY: i32 = 0;

/// What a 202 tells the client (seed field names).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct UploadAccepted {
    /// Always true.
    pub success: bool,
    /// The new job.
    #[schema(value_type = String, example = "job_01JD5Y8ZP1W3Q9V4M2C7K6H0XR")]
    pub job_id: JobId,
    /// Always `PENDING`.
    #[schema(value_type = String, example = "PENDING")]
    pub status: &'static str,
    /// SHA-256 of the uploaded bytes.
    #[schema(value_type = String)]
    pub media_hash: Sha256Digest,
    /// Id of the encrypted blob in the store.
    #[serde(rename = "mediaCID")]
    pub media_cid: String,
    /// The blob store provider (`local`, `s3`, `walrus`).
    pub storage_provider: String,
}

/// Committee candidates: each oracle with its current consensus weight.
pub(crate) fn candidates(oracles: &[Oracle]) -> Vec<Candidate> {
    oracles
        .iter()
        .map(|o| Candidate {
            enclave_id: o.enclave_id.clone(),
            weight: o.weight(),
        })
        .collect()
}

/// Accepts uploads.
pub struct UploadService {
    repo: Arc<dyn Repository>,
    queue: Arc<dyn JobQueue>,
    blobs: Arc<dyn BlobStore>,
    settings: NodeSettings,
    events: EventBus,
    /// Enclaves eligible for committees; `None` means every registered one.
    eligible: Option<Vec<EnclaveId>>,
}

impl UploadService {
    /// An upload service; `eligible` restricts committees to those enclaves.
    pub fn new(
        repo: Arc<dyn Repository>,
        queue: Arc<dyn JobQueue>,
        blobs: Arc<dyn BlobStore>,
        settings: NodeSettings,
        events: EventBus,
        eligible: Option<Vec<EnclaveId>>,
    ) -> Self {
        UploadService {
            repo,
            queue,
            blobs,
            settings,
            events,
            eligible,
        }
    }

    /// Accepts `bytes` as a new job.
    ///
    /// # Errors
    /// 4xx for bad media, 503 when too few enclaves or storage is down.
    pub async fn accept(
        &self,
        bytes: Bytes,
        user_id: Option<String>,
    ) -> Result<UploadAccepted, ApiError> {
        let result = self.accept_inner(bytes, user_id).await;
        match &result {
            Ok(_) => metrics::counter!(m::UPLOADS).increment(1),
            Err(e) => metrics::counter!(m::UPLOADS_REJECTED, "reason" => e.code).increment(1),
        }
        result
    }

    async fn accept_inner(
        &self,
        bytes: Bytes,
        user_id: Option<String>,
    ) -> Result<UploadAccepted, ApiError> {
        let info = inspect(&bytes, &self.settings.limits).map_err(media_error)?;
        let job_id = JobId::generate();
        let oracles = self.eligible_oracles().await?;
        let selection = self.committee(&job_id, &oracles)?;
        let committee = selection.members.clone();
        let media = Sha256Digest::of(&bytes);
        let (blob, sealed_keys) = match self.repo.reusable_blob(&media, &committee).await? {
            Some(blob) => (blob, Vec::new()),
            None => {
                self.encrypt_and_store(bytes.clone(), media, &oracles)
                    .await?
            }
        };
        let now = now_ms();
        let new_job = NewJob {
            job_id: job_id.clone(),
            blob: blob.clone(),
            sealed_keys,
            mime: info.format.mime().to_owned(),
            width: info.width,
            height: info.height,
            size: bytes.len() as u64,
            user_id,
            committee: committee.clone(),
            committee_selection: Some(selection.clone()),
            deadline_ms: now + self.settings.round_timeout.as_millis() as u64,
            created_ms: now,
        };
        // Everything needed to recompute the committee choice (core::committee);
        // the same record is signed into the round's final report.
        let queued = json!({ "round": 0, "committee": committee, "mediaHash": media, "committeeSelection": selection });
        self.repo.create_job(&new_job, &queued).await?;
        self.events.announced(&job_id);
        let job = self
            .repo
            .job(&job_id)
            .await?
            .ok_or_else(|| ApiError::unavailable("the job vanished after being stored"))?;
        if let Err(e) = self.publish(&job, NORMAL_PRIORITY, None).await {
            let _ = self
                .repo
                .fail_round(&job_id, 0, &format!("could not be queued: {}", e.message))
                .await;
            return Err(e);
        }
        Ok(UploadAccepted {
            success: true,
            job_id,
            status: "PENDING",
            media_hash: media,
            media_cid: blob.blob_id,
            storage_provider: blob.storage,
        })
    }

    /// The active oracles eligible for committees (escalated dispute committees too).
    ///
    /// # Errors
    /// Storage failures.
    pub async fn eligible(&self) -> Result<Vec<Oracle>, ApiError> {
        self.eligible_oracles().await
    }

    async fn eligible_oracles(&self) -> Result<Vec<Oracle>, ApiError> {
        let all = self.repo.oracles().await?;
        Ok(all
            .into_iter()
            .filter(|o| o.is_active())
            .filter(|o| {
                self.eligible
                    .as_ref()
                    .is_none_or(|e| e.contains(&o.enclave_id))
            })
            .collect())
    }

    fn committee(&self, job: &JobId, oracles: &[Oracle]) -> Result<CommitteeSelection, ApiError> {
        let need = self.settings.rule.min_enclaves() as usize;
        if oracles.len() < need {
            return Err(ApiError::unavailable(format!(
                "only {} active enclaves are registered; MIN_ENCLAVES is {need}",
                oracles.len()
            )));
        }
        Ok(CommitteeSelection::sample(
            job,
            candidates(oracles),
            self.settings.committee_size.max(need),
        ))
    }

    /// Encrypts `bytes` with a fresh data key, seals it to each of `oracles`
    /// and stores the ciphertext (uploads and dispute evidence alike).
    pub(crate) async fn encrypt_and_store(
        &self,
        bytes: Bytes,
        media: Sha256Digest,
        oracles: &[Oracle],
    ) -> Result<(BlobRecord, Vec<SealedKeyRecord>), ApiError> {
        // Sealed to every eligible oracle, not only the committee, so that an
        // escalated re-verification committee can open it (docs/DISPUTES.md).
        let recipients: Vec<(EnclaveId, Vec<u8>)> = oracles
            .iter()
            .map(|o| (o.enclave_id.clone(), o.encryption_key.clone()))
            .collect();
        // CPU-bound (hash already done): encrypt and seal off the async threads.
        let (ciphertext, sealed) = tokio::task::spawn_blocking(move || {
            let (ciphertext, key) = encrypt_media(&bytes, &media.0);
            let sealed: Result<Vec<SealedKeyRecord>, _> = recipients
                .iter()
                .map(|(id, pk)| {
                    seal_data_key(&key, pk, &media.0).map(|s| SealedKeyRecord {
                        enclave_id: id.clone(),
                        enc: s.enc,
                        ciphertext: s.ciphertext,
                    })
                })
                .collect();
            (ciphertext, sealed)
        })
        .await
        .map_err(|e| ApiError::unavailable(format!("encryption task failed: {e}")))?;
        let sealed = sealed
            .map_err(|e| ApiError::unavailable(format!("an enclave key is unusable: {e}")))?;
        let size = ciphertext.len() as u64;
        let blob_id = self.blobs.put(Bytes::from(ciphertext)).await?;
        Ok((
            BlobRecord {
                blob_id: blob_id.0,
                media_sha256: media,
                storage: self.blobs.provider().to_owned(),
                size,
            },
            sealed,
        ))
    }

    /// Starts a new round for a failed job with the same committee and publishes it.
    ///
    /// # Errors
    /// 404 unknown job, 409 when the job is not failed.
    pub async fn retry(&self, job_id: &JobId) -> Result<JobRecord, ApiError> {
        let job = self
            .repo
            .job(job_id)
            .await?
            .ok_or_else(|| ApiError::not_found("job_not_found", format!("no job {job_id}")))?;
        if job.status != verity_core::JobStatus::Failed {
            return Err(ApiError::conflict(
                "not_failed",
                format!(
                    "only FAILED jobs can be retried; {job_id} is {}",
                    job.status
                ),
            ));
        }
        let deadline = now_ms() + self.settings.round_timeout.as_millis() as u64;
        let started = self
            .repo
            .start_round(
                job_id,
                job.round,
                &job.committee,
                deadline,
                NORMAL_PRIORITY,
                verity_core::JobStatus::Pending,
            )
            .await?;
        if !started {
            return Err(ApiError::conflict(
                "not_failed",
                "the job changed meanwhile; reload it",
            ));
        }
        let job = self
            .repo
            .job(job_id)
            .await?
            .ok_or_else(|| ApiError::unavailable("job vanished"))?;
        self.events
            .emit(
                job_id,
                "queued",
                json!({ "round": job.round, "committee": job.committee, "retry": true }),
            )
            .await;
        self.publish(&job, NORMAL_PRIORITY, None).await?;
        Ok(job)
    }

    /// Re-publishes every open round (after a restart); publishing is idempotent.
    ///
    /// # Errors
    /// Storage or queue failures.
    pub async fn republish_open(&self) -> Result<usize, ApiError> {
        let mut count = 0;
        for job in self.repo.open_jobs(10_000).await? {
            count += self.publish(&job, job.priority, None).await?;
        }
        Ok(count)
    }

    /// Publishes the job's current round to its committee (idempotent).
    ///
    /// # Errors
    /// Storage or queue failures (503).
    pub async fn publish(
        &self,
        job: &JobRecord,
        priority: i32,
        evidence: Option<&verity_core::TaskEvidence>,
    ) -> Result<usize, ApiError> {
        let keys = self.repo.sealed_keys(&job.blob_id).await?;
        let mut deliveries = Vec::with_capacity(job.committee.len());
        for enclave in &job.committee {
            let Some(key) = keys.iter().find(|k| &k.enclave_id == enclave) else {
                warn!(job = %job.job_id, %enclave, "no sealed key for committee member; skipping it");
                continue;
            };
            let task = VerificationTask {
                job_id: job.job_id.clone(),
                round: job.round,
                enclave_id: enclave.clone(),
                blob_id: job.blob_id.clone(),
                media_sha256: job.media_sha256,
                mime: job.mime.clone(),
                sealed_key: SealedKeyWire {
                    enc: key.enc.clone(),
                    ciphertext: key.ciphertext.clone(),
                },
                evidence: evidence.cloned(),
                deadline_ms: job.deadline_ms,
            };
            deliveries.push(Delivery {
                enclave_id: enclave.clone(),
                payload: serde_json::to_vec(&task).expect("tasks serialize"),
            });
        }
        let fanout = FanOut {
            job_id: job.job_id.clone(),
            round: job.round,
            priority,
            deliveries,
        };
        Ok(self.queue.publish(&fanout).await?)
    }
}

fn media_error(e: MediaError) -> ApiError {
    use axum::http::StatusCode;
    let code = match &e {
        MediaError::Empty => "empty_file",
        MediaError::TooLarge { .. } => "file_too_large",
        MediaError::Unsupported(_) => "unsupported_media_type",
        MediaError::Malformed { .. } => "malformed_image",
        MediaError::TooManyPixels { .. } => "image_too_large",
    };
    let status = match &e {
        MediaError::TooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
        MediaError::Unsupported(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
        _ => StatusCode::BAD_REQUEST,
    };
    ApiError::new(status, code, e.to_string())
}
