//! The dispute service (DESIGN.md §4, docs/DISPUTES.md): evidence uploads,
//! disputes and their re-verification rounds, settlement (slashes, refunds,
//! rewards, forfeits), automatic bans, equivocation slashing, reputation
//! from history, and the admin operations on stake.
//!
//! The rules (outcome, amounts, bans, scoring) are `verity_core::dispute`
//! and `verity_core::stake`; this service applies them and stores every
//! movement through the [`DisputeRepository`] ledger.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;
use serde::Serialize;
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;
use tracing::{info, warn};
use verity_core::committee::CommitteeSelection;
use verity_core::dispute::{
    self, DisputePolicy, DisputeState, MAX_EVIDENCE_ID, MAX_REASON, Outcome, SettleInput,
};
use verity_core::reputation::ReputationPolicy;
use verity_core::stake::{Account, EntryKind, Ledger, Movement};
use verity_core::{
    EnclaveId, FinalReport, JobId, JobStatus, Oracle, SealedKeyWire, Sha256Digest, TaskEvidence,
    VerificationTask,
};
use verity_detect::{MediaError, inspect};
use verity_store::{
    Delivery, DisputeRecord, DisputeRepository, EvidenceRecord, FanOut, JobQueue, JobRecord,
    LedgerBatch, NewDispute, Repository, Resolution, Restore, StoreError, now_ms,
};

use crate::aggregator::RoundObserver;
use crate::error::ApiError;
use crate::events::EventBus;
use crate::settings::NodeSettings;
use crate::uploads::{UploadService, candidates};

/// Queue priority of re-verification rounds (normal rounds use 0).
pub const REVERIFY_PRIORITY: i32 = 10;

/// How disputes and the stake economy are configured.
#[derive(Clone)]
pub struct DisputeSettings {
    /// Bond, slash and reward fractions, window, bans.
    pub policy: DisputePolicy,
    /// Reputation from history (its prior is `ORACLE_REPUTATION`).
    pub reputation: ReputationPolicy,
    /// Token for `/api/admin/*` (`VERITY_ADMIN_TOKEN`); `None` disables them.
    pub admin_token: Option<String>,
    /// How often reputations are recomputed and missed settlements retried.
    pub sweep_every: Duration,
}

/// The admin token is shown as `<redacted>`: settings end up in logs.
impl std::fmt::Debug for DisputeSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DisputeSettings")
            .field("policy", &self.policy)
            .field("reputation", &self.reputation)
            .field("admin_token", &crate::redact::Redacted(&self.admin_token))
            .field("sweep_every", &self.sweep_every)
            .finish()
    }
}

impl Default for DisputeSettings {
    fn default() -> Self {
        DisputeSettings {
            policy: DisputePolicy::default(),
            reputation: ReputationPolicy::default(),
            admin_token: None,
            sweep_every: Duration::from_secs(60),
        }
    }
}

/// A dispute request (`POST /api/dispute`), validated.
#[derive(Debug, Clone)]
pub struct DisputeRequest {
    /// The job.
    pub job_id: JobId,
    /// Sui-style address.
    pub challenger: String,
    /// `evidenceCID`.
    pub evidence_id: String,
    /// Why.
    pub reason: String,
}

/// What a 202 on `POST /api/dispute` says (seed shape plus additions).
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DisputeAccepted {
    /// Always true.
    pub success: bool,
    /// The job.
    pub job_id: JobId,
    /// `pending_reverification`.
    pub status: &'static str,
    /// Upper bound of the re-verification, in seconds (the round deadline).
    pub estimated_time: u64,
    /// The dispute.
    pub dispute_id: String,
    /// The bond posted.
    pub bond: u64,
    /// The re-verification round.
    pub round: u32,
    /// Its escalated committee.
    pub committee: Vec<EnclaveId>,
    /// Whether `evidenceCID` named evidence stored here.
    pub evidence_resolved: bool,
}

/// What a 201 on `POST /api/evidence` says.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct EvidenceAccepted {
    /// Always true.
    pub success: bool,
    /// Pass this as `evidenceCID`.
    #[serde(rename = "evidenceCID")]
    pub evidence_cid: String,
    /// SHA-256 of the file.
    pub sha256: Sha256Digest,
    /// Bytes.
    pub size: u64,
    /// Sniffed type.
    pub mime_type: String,
    /// Enclaves that can open it.
    pub sealed_to: Vec<EnclaveId>,
}

/// Disputes and the stake economy.
pub struct DisputeService {
    repo: Arc<dyn Repository>,
    disputes: Arc<dyn DisputeRepository>,
    queue: Arc<dyn JobQueue>,
    uploads: Arc<UploadService>,
    node: NodeSettings,
    config: DisputeSettings,
    events: EventBus,
}

fn media_error(e: MediaError) -> ApiError {
    use axum::http::StatusCode;
    match e {
        MediaError::TooLarge { .. } => ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "file_too_large",
            e.to_string(),
        ),
        MediaError::Unsupported(_) => ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            e.to_string(),
        ),
        MediaError::Empty => ApiError::bad_request("empty_file", e.to_string()),
        other => ApiError::bad_request("malformed_image", other.to_string()),
    }
}

fn conflict_from_store(e: StoreError, code: &'static str) -> ApiError {
    match e {
        StoreError::Conflict(why) => ApiError::conflict(code, why),
        other => other.into(),
    }
}

impl DisputeService {
    /// A dispute service over the node's storage.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        repo: Arc<dyn Repository>,
        disputes: Arc<dyn DisputeRepository>,
        queue: Arc<dyn JobQueue>,
        uploads: Arc<UploadService>,
        node: NodeSettings,
        mut config: DisputeSettings,
        events: EventBus,
    ) -> Self {
        config.reputation.prior = node.oracle_reputation;
        DisputeService {
            repo,
            disputes,
            queue,
            uploads,
            node,
            config,
            events,
        }
    }

    /// The dispute settings.
    pub fn settings(&self) -> &DisputeSettings {
        &self.config
    }

    /// The dispute repository.
    pub fn store(&self) -> &Arc<dyn DisputeRepository> {
        &self.disputes
    }

    /// Stores an evidence file encrypted, its key sealed to every eligible oracle.
    ///
    /// # Errors
    /// 4xx for a file that is not an acceptable image; 503 on storage failures.
    pub async fn upload_evidence(&self, bytes: Bytes) -> Result<EvidenceAccepted, ApiError> {
        let info = inspect(&bytes, &self.node.limits).map_err(media_error)?;
        let sha = Sha256Digest::of(&bytes);
        let oracles = self.uploads.eligible().await?;
        if oracles.is_empty() {
            return Err(ApiError::unavailable(
                "no active enclave can receive evidence",
            ));
        }
        let size = bytes.len() as u64;
        let (blob, sealed) = self.uploads.encrypt_and_store(bytes, sha, &oracles).await?;
        let record = EvidenceRecord {
            evidence_id: dispute::new_evidence_id(),
            blob,
            mime: info.format.mime().to_owned(),
            created_ms: now_ms(),
        };
        self.disputes.store_evidence(&record, &sealed).await?;
        info!(evidence = %record.evidence_id, size, "dispute evidence stored");
        Ok(EvidenceAccepted {
            success: true,
            evidence_cid: record.evidence_id,
            sha256: sha,
            size,
            mime_type: record.mime,
            sealed_to: sealed.into_iter().map(|k| k.enclave_id).collect(),
        })
    }

    /// Parses and validates a `POST /api/dispute` body.
    ///
    /// # Errors
    /// 400 naming the missing, oversized or malformed field.
    pub fn parse_request(body: &[u8]) -> Result<DisputeRequest, ApiError> {
        let value: Value = serde_json::from_slice(body).map_err(|e| {
            ApiError::bad_request(
                "bad_json",
                format!("expected {{jobId, challengerAddress, evidenceCID, reason}}: {e}"),
            )
        })?;
        let field = |name: &'static str| -> Result<String, ApiError> {
            match value.get(name) {
                None | Some(Value::Null) => Err(ApiError::bad_request(
                    "missing_field",
                    format!("{name} is required"),
                )),
                Some(Value::String(s)) => Ok(s.clone()),
                Some(_) => Err(ApiError::bad_request(
                    "bad_field",
                    format!("{name} must be a string"),
                )),
            }
        };
        let bad = |e: dispute::DisputeInputError| {
            let code = match e {
                dispute::DisputeInputError::Missing(_) => "missing_field",
                dispute::DisputeInputError::TooLong { .. } => "field_too_long",
                dispute::DisputeInputError::Invalid { .. } => "bad_field",
            };
            ApiError::bad_request(code, e.to_string())
        };
        let job = field("jobId")?;
        if job.is_empty() {
            return Err(ApiError::bad_request("missing_field", "jobId is required"));
        }
        let job_id: JobId = job.parse().map_err(|e: verity_core::IdError| {
            ApiError::bad_request("bad_job_id", e.to_string())
        })?;
        let challenger = field("challengerAddress")?;
        dispute::check_sui_address(&challenger).map_err(bad)?;
        let evidence_id = field("evidenceCID")?;
        dispute::check_text("evidenceCID", &evidence_id, MAX_EVIDENCE_ID).map_err(bad)?;
        let reason = field("reason")?;
        dispute::check_text("reason", &reason, MAX_REASON).map_err(bad)?;
        Ok(DisputeRequest {
            job_id,
            challenger,
            evidence_id: evidence_id.trim().to_owned(),
            reason,
        })
    }

    /// Opens a dispute and queues the re-verification round.
    ///
    /// # Errors
    /// 404 unknown job; 409 not completed, already disputed or outside the
    /// window; 503 when too few enclaves could re-verify or storage fails.
    pub async fn open(&self, req: DisputeRequest) -> Result<DisputeAccepted, ApiError> {
        let job = self.repo.job(&req.job_id).await?.ok_or_else(|| {
            ApiError::not_found("job_not_found", format!("no job {}", req.job_id))
        })?;
        if let Some(existing) = self.disputes.dispute_for_job(&job.job_id).await? {
            return Err(if existing.state.is_open() {
                ApiError::conflict(
                    "dispute_open",
                    format!(
                        "dispute {} is already open for {}",
                        existing.dispute_id, job.job_id
                    ),
                )
            } else {
                ApiError::conflict(
                    "already_disputed",
                    format!(
                        "{} was already disputed ({}: {}); a re-verification is final",
                        job.job_id, existing.dispute_id, existing.state
                    ),
                )
            });
        }
        let report = match (&job.status, &job.final_report) {
            (JobStatus::Completed, Some(report)) => report.clone(),
            _ => {
                return Err(ApiError::conflict(
                    "job_not_completed",
                    format!(
                        "only COMPLETED jobs can be disputed; {} is {}",
                        job.job_id, job.status
                    ),
                ));
            }
        };
        let now = now_ms();
        let decided = self
            .disputes
            .round(&job.job_id, job.round)
            .await?
            .map_or(job.updated_ms, |r| r.decided_ms);
        let closes = decided.saturating_add(self.config.policy.window_ms);
        if now > closes {
            return Err(ApiError::conflict(
                "dispute_window_closed",
                format!(
                    "the dispute window of {} closed at {} ({} after its verdict)",
                    job.job_id,
                    iso(closes),
                    humantime::format_duration(Duration::from_millis(self.config.policy.window_ms))
                ),
            ));
        }
        let selection = self.escalated_committee(&job).await?;
        let committee = selection.members.clone();
        let evidence = self.disputes.evidence(&req.evidence_id).await?;
        let new = NewDispute {
            dispute_id: dispute::new_dispute_id(),
            job_id: job.job_id.clone(),
            disputed_round: job.round,
            disputed_verdict: report.verdict,
            challenger: req.challenger.clone(),
            evidence_id: req.evidence_id.clone(),
            evidence_resolved: evidence.is_some(),
            reason: req.reason.clone(),
            bond: self.config.policy.bond,
            committee: committee.clone(),
            committee_selection: selection.clone(),
            deadline_ms: now + self.node.round_timeout.as_millis() as u64,
            priority: REVERIFY_PRIORITY,
            created_ms: now,
        };
        let record = self
            .disputes
            .open_dispute(&new)
            .await
            .map_err(|e| conflict_from_store(e, "dispute_conflict"))?;
        info!(job = %job.job_id, dispute = %record.dispute_id, evidence_resolved = record.evidence_resolved,
            committee = committee.len(), "dispute opened; re-verification queued");
        self.events
            .emit(
                &job.job_id,
                "disputed",
                json!({
                    "disputeId": record.dispute_id, "challengerAddress": record.challenger,
                    "evidenceCID": record.evidence_id, "evidenceResolved": record.evidence_resolved,
                    "bond": record.bond, "disputedRound": record.disputed_round,
                    "disputedVerdict": record.disputed_verdict,
                }),
            )
            .await;
        self.events
            .emit(
                &job.job_id,
                "queued",
                json!({ "round": record.reverify_round, "committee": committee,
                    "committeeSelection": selection, "reverification": true, "priority": REVERIFY_PRIORITY }),
            )
            .await;
        self.publish(&record).await?;
        Ok(DisputeAccepted {
            success: true,
            job_id: job.job_id,
            status: DisputeState::PendingReverification.as_str(),
            estimated_time: self.node.round_timeout.as_secs(),
            dispute_id: record.dispute_id,
            bond: record.bond,
            round: record.reverify_round,
            committee,
            evidence_resolved: record.evidence_resolved,
        })
    }

    /// Every active eligible oracle that can open the job's media, recorded
    /// as an escalated committee.
    async fn escalated_committee(&self, job: &JobRecord) -> Result<CommitteeSelection, ApiError> {
        let keys = self.repo.sealed_keys(&job.blob_id).await?;
        let able: Vec<Oracle> = self
            .uploads
            .eligible()
            .await?
            .into_iter()
            .filter(|o| keys.iter().any(|k| k.enclave_id == o.enclave_id))
            .collect();
        let need = self.node.rule.min_enclaves() as usize;
        if able.len() < need {
            return Err(ApiError::unavailable(format!(
                "only {} active enclaves can open this job's media; MIN_ENCLAVES is {need}",
                able.len()
            )));
        }
        Ok(CommitteeSelection::escalated(
            &job.job_id,
            candidates(&able),
        ))
    }

    /// Publishes a dispute's re-verification round with its evidence (idempotent).
    async fn publish(&self, d: &DisputeRecord) -> Result<usize, ApiError> {
        let Some(job) = self.repo.job(&d.job_id).await? else {
            return Ok(0);
        };
        if job.round != d.reverify_round || !job.status.is_open() {
            return Ok(0);
        }
        let evidence = self.disputes.evidence(&d.evidence_id).await?;
        let evidence_keys = match &evidence {
            Some(ev) => self.repo.sealed_keys(&ev.blob.blob_id).await?,
            None => Vec::new(),
        };
        let media_keys = self.repo.sealed_keys(&job.blob_id).await?;
        let mut deliveries = Vec::new();
        for enclave in &job.committee {
            let Some(key) = media_keys.iter().find(|k| &k.enclave_id == enclave) else {
                warn!(job = %job.job_id, %enclave, "no sealed key for committee member; skipping it");
                continue;
            };
            let ev_key = evidence_keys.iter().find(|k| &k.enclave_id == enclave);
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
                evidence: Some(TaskEvidence {
                    evidence_id: d.evidence_id.clone(),
                    blob_id: ev_key
                        .and(evidence.as_ref())
                        .map(|e| e.blob.blob_id.clone()),
                    sha256: ev_key.and(evidence.as_ref()).map(|e| e.blob.media_sha256),
                    sealed_key: ev_key.map(|k| SealedKeyWire {
                        enc: k.enc.clone(),
                        ciphertext: k.ciphertext.clone(),
                    }),
                }),
                deadline_ms: job.deadline_ms,
            };
            deliveries.push(Delivery {
                enclave_id: enclave.clone(),
                payload: serde_json::to_vec(&task).expect("tasks serialize"),
            });
        }
        Ok(self
            .queue
            .publish(&FanOut {
                job_id: job.job_id.clone(),
                round: job.round,
                priority: REVERIFY_PRIORITY,
                deliveries,
            })
            .await?)
    }

    /// Re-publishes open re-verification rounds with their evidence (after a
    /// restart; before the generic re-publishing, which carries no evidence).
    ///
    /// # Errors
    /// Storage or queue failures.
    pub async fn republish_open(&self) -> Result<usize, ApiError> {
        let mut n = 0;
        for d in self.disputes.open_disputes().await? {
            n += self.publish(&d).await?;
        }
        Ok(n)
    }

    /// Settles a decided re-verification round.
    async fn settle_decided(
        &self,
        d: &DisputeRecord,
        report: &FinalReport,
    ) -> Result<(), ApiError> {
        let disputed = self
            .disputes
            .round(&d.job_id, d.disputed_round)
            .await?
            .and_then(|r| r.final_report)
            .ok_or_else(|| ApiError::unavailable("the disputed round's report is missing"))?;
        let policy = &self.config.policy;
        let outcome = dispute::judge(policy, d.disputed_verdict, report);
        let stakes: Vec<(EnclaveId, u64)> = self
            .repo
            .oracles()
            .await?
            .into_iter()
            .map(|o| (o.enclave_id, o.stake))
            .collect();
        let settlement = dispute::settle(
            policy,
            outcome,
            &SettleInput {
                dispute_id: &d.dispute_id,
                challenger: &d.challenger,
                bond: d.bond,
                disputed: &disputed,
                reverified: report,
                stakes: &stakes,
            },
        );
        let now = now_ms();
        let slashed: Vec<EnclaveId> = settlement
            .slashes
            .iter()
            .map(|s| s.enclave_id.clone())
            .collect();
        let bans = self.bans_after(&slashed, now).await?;
        let (state, text) = match outcome {
            Outcome::Overturned => (
                DisputeState::Overturned,
                format!(
                    "re-verification decided {} ({:.1}% of the escalated committee's weight) against the disputed {}; \
                     {} oracle(s) slashed, bond refunded with a reward",
                    report.verdict,
                    report.consensus_metadata.agreement_rate * 100.0,
                    d.disputed_verdict,
                    slashed.len()
                ),
            ),
            Outcome::Upheld => (
                DisputeState::Upheld,
                format!(
                    "re-verification decided {} ({:.1}% of the weight); the disputed {} stands and the bond is forfeited",
                    report.verdict,
                    report.consensus_metadata.agreement_rate * 100.0,
                    d.disputed_verdict
                ),
            ),
        };
        let resolution = Resolution {
            dispute_id: d.dispute_id.clone(),
            state,
            new_verdict: Some(report.verdict),
            outcome: text.clone(),
            batch: LedgerBatch {
                movements: settlement.movements,
                dispute_id: Some(d.dispute_id.clone()),
                idem_key: None,
                slashed: slashed.clone(),
                bans: bans.clone(),
                at_ms: now,
            },
            restore: None,
        };
        if self.disputes.resolve_dispute(&resolution).await? {
            info!(dispute = %d.dispute_id, job = %d.job_id, state = %state, "dispute resolved");
            self.events
                .emit(
                    &d.job_id,
                    "dispute_resolved",
                    json!({ "disputeId": d.dispute_id, "state": state, "newVerdict": report.verdict,
                        "outcome": text, "slashes": settlement.slashes,
                        "bans": bans.iter().map(|(e, why)| json!({"enclaveId": e, "reason": why})).collect::<Vec<_>>() }),
                )
                .await;
            self.refresh_reputations().await?;
        }
        Ok(())
    }

    /// Bans that slashing `slashed` now triggers.
    async fn bans_after(
        &self,
        slashed: &[EnclaveId],
        now: u64,
    ) -> Result<Vec<(EnclaveId, String)>, ApiError> {
        let mut bans = Vec::new();
        for id in slashed {
            let mut times = self.disputes.slash_times(id).await?;
            times.push(now);
            if let Some(why) = self.config.policy.ban.ban_reason(&times, now) {
                warn!(enclave = %id, %why, "oracle banned");
                bans.push((id.clone(), why));
            }
        }
        Ok(bans)
    }

    /// Ends a dispute whose re-verification failed (too few counted reports
    /// by the deadline): the dispute is `rejected` with the reason, the bond
    /// is refunded (the challenger is not at fault), nobody is slashed, and
    /// the job goes back to its disputed round — verdict, round number,
    /// committee — in the same transaction. The failed round stays archived.
    async fn reject(
        &self,
        d: &DisputeRecord,
        failed_round: u32,
        why: &str,
    ) -> Result<(), ApiError> {
        let disputed = self
            .disputes
            .round(&d.job_id, d.disputed_round)
            .await?
            .and_then(|r| r.final_report);
        let mut movements = Vec::new();
        if d.bond > 0 {
            movements.push(Movement::new(
                EntryKind::Refund,
                Some(Account::Escrow(d.dispute_id.clone())),
                Some(Account::Challenger(d.challenger.clone())),
                d.bond,
                format!(
                    "re-verification of dispute {} could not decide",
                    d.dispute_id
                ),
            ));
        }
        let text = match &disputed {
            Some(report) => format!(
                "inconclusive: re-verification round {failed_round} failed ({why}); the bond is refunded \
                 and the verdict of round {} ({}) stands",
                report.round, report.verdict
            ),
            None => format!(
                "inconclusive: re-verification round {failed_round} failed ({why}); the bond is refunded; \
                 the disputed round's report is missing, so the job stays FAILED (retryable)"
            ),
        };
        let resolution = Resolution {
            dispute_id: d.dispute_id.clone(),
            state: DisputeState::Rejected,
            new_verdict: None,
            outcome: text.clone(),
            batch: LedgerBatch {
                movements,
                dispute_id: Some(d.dispute_id.clone()),
                at_ms: now_ms(),
                ..LedgerBatch::default()
            },
            restore: disputed.map(|report| Restore {
                job_id: d.job_id.clone(),
                failed_round,
                report,
            }),
        };
        if self.disputes.resolve_dispute(&resolution).await? {
            warn!(dispute = %d.dispute_id, job = %d.job_id, %why, "dispute rejected: re-verification failed");
            self.events
                .emit(
                    &d.job_id,
                    "dispute_resolved",
                    json!({ "disputeId": d.dispute_id, "state": DisputeState::Rejected, "outcome": text }),
                )
                .await;
        }
        Ok(())
    }

    /// Slashes every equivocation not slashed yet (once per job, round and enclave).
    ///
    /// # Errors
    /// Storage failures.
    pub async fn slash_equivocations(&self) -> Result<usize, ApiError> {
        let mut n = 0;
        for proof in self.disputes.equivocations().await? {
            let key = format!(
                "equivocation:{}:{}:{}",
                proof.job_id, proof.round, proof.enclave_id
            );
            let Some(oracle) = self.repo.oracle(&proof.enclave_id).await? else {
                continue;
            };
            let amount = self.config.policy.slash_amount(oracle.stake);
            let now = now_ms();
            let movements = if amount > 0 {
                vec![Movement::new(
                    EntryKind::Slash,
                    Some(Account::Oracle(proof.enclave_id.clone())),
                    Some(Account::Treasury),
                    amount,
                    format!(
                        "equivocation: two different signed reports for {} round {} (digests {} and {})",
                        proof.job_id,
                        proof.round,
                        proof.first.report.digest(),
                        proof.second.report.digest()
                    ),
                )]
            } else {
                Vec::new()
            };
            let bans = self
                .bans_after(std::slice::from_ref(&proof.enclave_id), now)
                .await?;
            let batch = LedgerBatch {
                movements,
                dispute_id: None,
                idem_key: Some(key),
                slashed: vec![proof.enclave_id.clone()],
                bans,
                at_ms: now,
            };
            if self.disputes.post(&batch).await? {
                n += 1;
                warn!(enclave = %proof.enclave_id, job = %proof.job_id, amount, "equivocation slashed");
                self.events
                    .emit(
                        &proof.job_id,
                        "equivocation_slashed",
                        json!({ "enclaveId": proof.enclave_id, "round": proof.round, "amount": amount,
                            "banned": !batch.bans.is_empty() }),
                    )
                    .await;
            }
        }
        Ok(n)
    }

    /// Recomputes every oracle's reputation from its finalized history.
    ///
    /// # Errors
    /// Storage failures.
    pub async fn refresh_reputations(&self) -> Result<(), ApiError> {
        let now = now_ms();
        let closed_before = now.saturating_sub(self.config.policy.window_ms);
        for oracle in self.repo.oracles().await? {
            let history: Vec<_> = self
                .disputes
                .finalized_reports(&oracle.enclave_id, closed_before)
                .await?
                .into_iter()
                .filter_map(|r| dispute::score(r.verdict, r.final_verdict, r.at_ms))
                .collect();
            let reputation = self.config.reputation.reputation(&history, now);
            if (reputation - oracle.reputation).abs() > 1e-12 {
                self.disputes
                    .set_reputation(&oracle.enclave_id, reputation)
                    .await?;
            }
        }
        Ok(())
    }

    /// Settles what a crash may have left: decided re-verifications not yet
    /// settled, unslashed equivocations; then refreshes reputations.
    ///
    /// # Errors
    /// Storage failures.
    pub async fn sweep(&self) -> Result<(), ApiError> {
        for d in self.disputes.open_disputes().await? {
            let Some(job) = self.repo.job(&d.job_id).await? else {
                continue;
            };
            if job.round != d.reverify_round || job.status.is_open() {
                continue;
            }
            match (job.status, &job.final_report) {
                (JobStatus::Completed, Some(r)) if r.round == d.reverify_round => {
                    self.settle_decided(&d, r).await?;
                }
                (JobStatus::Failed, _) => {
                    let why = job.failure_reason.clone().unwrap_or_default();
                    self.reject(&d, job.round, &why).await?;
                }
                _ => {}
            }
        }
        self.slash_equivocations().await?;
        self.refresh_reputations().await
    }

    /// Runs [`Self::sweep`] every `sweep_every` until `shutdown`.
    pub async fn run(self: Arc<Self>, shutdown: CancellationToken) {
        loop {
            if let Err(e) = self.sweep().await {
                warn!(error = %e.message, "dispute sweep failed");
            }
            tokio::select! {
                _ = shutdown.cancelled() => return,
                _ = tokio::time::sleep(self.config.sweep_every) => {}
            }
        }
    }

    /// `GET /api/dispute/:jobId`.
    ///
    /// # Errors
    /// 404 when the job or its dispute does not exist.
    pub async fn view(&self, job_id: &JobId) -> Result<Value, ApiError> {
        let job = self
            .repo
            .job(job_id)
            .await?
            .ok_or_else(|| ApiError::not_found("job_not_found", format!("no job {job_id}")))?;
        let d = self
            .disputes
            .dispute_for_job(job_id)
            .await?
            .ok_or_else(|| {
                ApiError::not_found("dispute_not_found", format!("{job_id} has no dispute"))
            })?;
        let disputed = self.disputes.round(job_id, d.disputed_round).await?;
        let reverified = self.disputes.round(job_id, d.reverify_round).await?;
        let reverify_reports = self.repo.reports(job_id, d.reverify_round).await?;
        let entries = self.disputes.ledger(Some(&d.dispute_id)).await?;
        let round_json = |role: &str, round: u32, rec: Option<&verity_store::RoundRecord>| {
            let mut v = json!({ "round": round, "role": role });
            if let Some(rec) = rec {
                v["status"] = json!(rec.status);
                v["committee"] = json!(rec.committee);
                v["decidedAt"] = json!(iso(rec.decided_ms));
                if let Some(r) = &rec.final_report {
                    v["verdict"] = json!(r.verdict);
                    v["confidence"] = json!(r.confidence);
                    v["agreementRate"] = json!(r.consensus_metadata.agreement_rate);
                    v["thresholdMet"] = json!(r.consensus_metadata.threshold_met);
                    v["reportDigest"] = json!(r.report_digest);
                    v["votes"] = json!(r.consensus_metadata.votes.iter().map(|x| json!({
                        "enclaveId": x.enclave_id, "verdict": x.verdict, "confidence": x.confidence,
                        "weight": x.weight, "reputation": x.reputation, "stake": x.stake,
                        "reportDigest": x.report_digest,
                    })).collect::<Vec<_>>());
                }
                if let Some(why) = &rec.failure_reason {
                    v["failureReason"] = json!(why);
                }
            }
            v
        };
        let mut second = round_json("reverification", d.reverify_round, reverified.as_ref());
        if reverified.is_none() {
            second["status"] = json!(job.status);
            second["committee"] = json!(job.committee);
            second["reportsReceived"] = json!(reverify_reports.len());
            second["reports"] =
                json!(reverify_reports.iter().map(|r| json!({
                "enclaveId": r.signed.report.enclave_id, "verdict": r.signed.report.verdict,
                "reportDigest": r.digest,
            })).collect::<Vec<_>>());
        }
        let is_bond = |m: &Movement| {
            matches!(
                m.kind,
                EntryKind::Bond | EntryKind::Refund | EntryKind::Forfeit | EntryKind::Reward
            )
        };
        let entry_json = |e: &verity_store::LedgerEntry| {
            json!({ "id": e.id, "kind": e.movement.kind, "from": e.movement.from, "to": e.movement.to,
                "amount": e.movement.amount, "reason": e.movement.reason, "at": iso(e.at_ms) })
        };
        let slashes: Vec<Value> = entries
            .iter()
            .filter(|e| e.movement.kind == EntryKind::Slash)
            .map(|e| {
                let enclave = match &e.movement.from {
                    Some(Account::Oracle(id)) => json!(id),
                    _ => Value::Null,
                };
                json!({ "enclaveId": enclave, "amount": e.movement.amount, "reason": e.movement.reason })
            })
            .collect();
        let ledger = Ledger::replay(
            self.disputes
                .ledger(None)
                .await?
                .iter()
                .map(|e| &e.movement),
        )
        .map_err(|e| ApiError::unavailable(format!("the stake ledger does not replay: {e}")))?;
        let state =
            if d.state == DisputeState::PendingReverification && !reverify_reports.is_empty() {
                DisputeState::Reverifying
            } else {
                d.state
            };
        Ok(json!({
            "success": true,
            "disputeId": d.dispute_id,
            "jobId": d.job_id,
            "state": state,
            "jobStatus": job.status,
            "challengerAddress": d.challenger,
            "evidenceCID": d.evidence_id,
            "evidenceResolved": d.evidence_resolved,
            "reason": d.reason,
            "bond": d.bond,
            "disputedVerdict": d.disputed_verdict,
            "newVerdict": d.new_verdict,
            "outcome": d.outcome,
            "createdAt": iso(d.created_ms),
            "resolvedAt": d.resolved_ms.map(iso),
            "rounds": [round_json("disputed", d.disputed_round, disputed.as_ref()), second],
            "slashes": slashes,
            "bondMovements": entries.iter().filter(|e| is_bond(&e.movement)).map(entry_json).collect::<Vec<_>>(),
            "ledger": entries.iter().map(entry_json).collect::<Vec<_>>(),
            "challengerBalance": ledger.balance(&Account::Challenger(d.challenger.clone())),
            "escrowBalance": ledger.balance(&Account::Escrow(d.dispute_id.clone())),
        }))
    }

    /// Open disputes whose disputed round counted a vote by `enclave` (its stake is locked).
    ///
    /// # Errors
    /// Storage failures.
    pub async fn locks(&self, enclave: &EnclaveId) -> Result<Vec<String>, ApiError> {
        let mut locked = Vec::new();
        for d in self.disputes.open_disputes().await? {
            let voted = self
                .disputes
                .round(&d.job_id, d.disputed_round)
                .await?
                .and_then(|r| r.final_report)
                .is_some_and(|r| {
                    r.consensus_metadata
                        .votes
                        .iter()
                        .any(|v| &v.enclave_id == enclave)
                });
            if voted {
                locked.push(d.dispute_id);
            }
        }
        Ok(locked)
    }

    async fn oracle(&self, id: &EnclaveId) -> Result<Oracle, ApiError> {
        self.repo
            .oracle(id)
            .await?
            .ok_or_else(|| ApiError::not_found("oracle_not_found", format!("no oracle {id}")))
    }

    /// An admin slash of `amount` (the seed's `slashOracle`).
    ///
    /// # Errors
    /// 404 unknown oracle; 409 when the stake is smaller than `amount`.
    pub async fn admin_slash(
        &self,
        id: &EnclaveId,
        amount: u64,
        reason: &str,
    ) -> Result<Oracle, ApiError> {
        self.oracle(id).await?;
        let now = now_ms();
        let bans = self.bans_after(std::slice::from_ref(id), now).await?;
        let batch = LedgerBatch {
            movements: vec![Movement::new(
                EntryKind::Slash,
                Some(Account::Oracle(id.clone())),
                Some(Account::Treasury),
                amount,
                format!("admin: {reason}"),
            )],
            slashed: vec![id.clone()],
            bans,
            at_ms: now,
            ..LedgerBatch::default()
        };
        self.disputes
            .post(&batch)
            .await
            .map_err(|e| conflict_from_store(e, "insufficient_stake"))?;
        warn!(enclave = %id, amount, reason, "oracle slashed by an administrator");
        self.oracle(id).await
    }

    /// Adds stake to an oracle.
    ///
    /// # Errors
    /// 404 unknown oracle.
    pub async fn admin_stake(&self, id: &EnclaveId, amount: u64) -> Result<Oracle, ApiError> {
        self.oracle(id).await?;
        self.disputes
            .post(&LedgerBatch {
                movements: vec![Movement::new(
                    EntryKind::Stake,
                    None,
                    Some(Account::Oracle(id.clone())),
                    amount,
                    "admin: stake added",
                )],
                at_ms: now_ms(),
                ..LedgerBatch::default()
            })
            .await?;
        self.oracle(id).await
    }

    /// Withdraws stake from an oracle, refused while a dispute on its votes is open.
    ///
    /// # Errors
    /// 404 unknown oracle; 409 when locked or insufficient.
    pub async fn admin_withdraw(&self, id: &EnclaveId, amount: u64) -> Result<Oracle, ApiError> {
        self.oracle(id).await?;
        let locks = self.locks(id).await?;
        if !locks.is_empty() {
            return Err(ApiError::conflict(
                "stake_locked",
                format!(
                    "{id}'s stake is locked by open dispute(s) {}",
                    locks.join(", ")
                ),
            ));
        }
        self.disputes
            .post(&LedgerBatch {
                movements: vec![Movement::new(
                    EntryKind::Withdraw,
                    Some(Account::Oracle(id.clone())),
                    None,
                    amount,
                    "admin: stake withdrawn",
                )],
                at_ms: now_ms(),
                ..LedgerBatch::default()
            })
            .await
            .map_err(|e| conflict_from_store(e, "insufficient_stake"))?;
        self.oracle(id).await
    }

    /// Bans (with a reason) or unbans an oracle.
    ///
    /// # Errors
    /// 404 unknown oracle.
    pub async fn admin_ban(
        &self,
        id: &EnclaveId,
        reason: Option<&str>,
    ) -> Result<Oracle, ApiError> {
        if !self.disputes.set_ban(id, reason).await? {
            return Err(ApiError::not_found(
                "oracle_not_found",
                format!("no oracle {id}"),
            ));
        }
        warn!(enclave = %id, ?reason, "oracle ban changed by an administrator");
        self.oracle(id).await
    }
}

#[async_trait]
impl RoundObserver for DisputeService {
    async fn report_accepted(&self, job: &JobRecord) {
        if job.status != JobStatus::Disputed {
            return;
        }
        if let Ok(Some(d)) = self.disputes.dispute_for_job(&job.job_id).await
            && d.reverify_round == job.round
        {
            let _ = self.disputes.mark_reverifying(&d.dispute_id).await;
        }
    }

    async fn round_decided(&self, job: &JobRecord, report: &FinalReport) {
        let open = match self.disputes.dispute_for_job(&job.job_id).await {
            Ok(Some(d)) if d.state.is_open() && d.reverify_round == report.round => d,
            Ok(_) => return,
            Err(e) => {
                warn!(job = %job.job_id, error = %e, "dispute lookup failed; the sweeper will settle");
                return;
            }
        };
        if let Err(e) = self.settle_decided(&open, report).await {
            warn!(job = %job.job_id, error = %e.message, "settling the dispute failed; the sweeper will retry");
        }
    }

    async fn round_failed(&self, job: &JobRecord, reason: &str) {
        if let Ok(Some(d)) = self.disputes.dispute_for_job(&job.job_id).await
            && d.state.is_open()
            && d.reverify_round == job.round
            && let Err(e) = self.reject(&d, job.round, reason).await
        {
            warn!(job = %job.job_id, error = %e.message, "rejecting the dispute failed; the sweeper will retry");
        }
    }

    async fn equivocation(&self, job: &JobId, round: u32, enclave: &EnclaveId) {
        if let Err(e) = self.slash_equivocations().await {
            warn!(%job, round, %enclave, error = %e.message, "slashing the equivocation failed; the sweeper will retry");
        }
    }
}

/// RFC 3339 with milliseconds.
fn iso(ms: u64) -> String {
    humantime::format_rfc3339_millis(std::time::UNIX_EPOCH + Duration::from_millis(ms)).to_string()
}
