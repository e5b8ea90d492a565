//! The aggregator: checks enclave reports and decides rounds.
//!
//! A report is accepted only when its enclave is registered, not banned and
//! holds a current attestation binding its key ([`crate::attest`]), its signature verifies with the registered key, it is for the job's
//! current round and media, and its enclave sits on the round's committee.
//! A second, different report from the same enclave for the same round is
//! equivocation: both are kept as proof and the second is refused.
//!
//! A round is decided as soon as every committee member has reported, or by
//! the deadline sweeper with whatever arrived: at least `MIN_ENCLAVES`
//! counted reports give a signed final report; fewer fail the job with the
//! reason (retryable with a new round).

use std::collections::BTreeSet;
use std::sync::Arc;

use serde_json::json;
use tracing::{info, warn};
use verity_core::finalize::{RoundContext, assemble};
use verity_core::{Ballot, ConsensusError, EnclaveId, JobId, JobStatus, Oracle, SignedReport};
use verity_crypto::{AggregatorKey, verify_report};
use verity_enclave::SubmitOutcome;
use verity_store::{JobRecord, Repository, SaveReport, StoredReport, now_ms};

use crate::error::ApiError;
use crate::events::EventBus;
use crate::metrics as m;
use crate::settings::NodeSettings;

/// Why a round is being decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DecideReason {
    /// Every committee member reported.
    AllReported,
    /// The deadline passed.
    Deadline,
}

/// Told what the aggregator decided (the dispute service listens).
#[async_trait::async_trait]
pub trait RoundObserver: Send + Sync {
    /// A report was accepted for `job`'s current round.
    async fn report_accepted(&self, job: &JobRecord);
    /// `job`'s current round was decided with `report`.
    async fn round_decided(&self, job: &JobRecord, report: &verity_core::FinalReport);
    /// `job`'s current round failed.
    async fn round_failed(&self, job: &JobRecord, reason: &str);
    /// An enclave signed two different reports for one job round.
    async fn equivocation(&self, job: &JobId, round: u32, enclave: &EnclaveId);
}

/// Verifies reports and decides rounds.
pub struct Aggregator {
    repo: Arc<dyn Repository>,
    key: AggregatorKey,
    settings: NodeSettings,
    events: EventBus,
    ledger: std::sync::OnceLock<Arc<crate::ledger::Ledger>>,
    attest: Option<Arc<crate::attest::AttestationService>>,
    observer: std::sync::OnceLock<Arc<dyn RoundObserver>>,
}

impl Aggregator {
    /// An aggregator signing with `key`.
    pub fn new(
        repo: Arc<dyn Repository>,
        key: AggregatorKey,
        settings: NodeSettings,
        events: EventBus,
    ) -> Self {
        Aggregator {
            repo,
            key,
            settings,
            events,
            ledger: std::sync::OnceLock::new(),
            attest: None,
            observer: std::sync::OnceLock::new(),
        }
    }

    /// Logs every final report from now on in `ledger` (before `completed` is announced).
    pub fn attach_ledger(&self, ledger: Arc<crate::ledger::Ledger>) {
        let _ = self.ledger.set(ledger);
    }

    /// Refuses reports from enclaves without a current attestation binding their key.
    pub fn with_attestation(mut self, attest: Arc<crate::attest::AttestationService>) -> Self {
        self.attest = Some(attest);
        self
    }

    /// Sets the observer told about decisions (once; later calls are ignored).
    pub fn observe(&self, observer: Arc<dyn RoundObserver>) {
        let _ = self.observer.set(observer);
    }

    /// The aggregator's public key (verifies final reports).
    pub fn public_key(&self) -> [u8; 32] {
        self.key.public()
    }

    /// Notes that `enclave` started on a round (progress only).
    ///
    /// # Errors
    /// Unknown job or an enclave outside the committee.
    pub async fn started(
        &self,
        job_id: &JobId,
        round: u32,
        enclave: &EnclaveId,
    ) -> Result<(), ApiError> {
        let job = self.job(job_id).await?;
        if job.round != round || !job.committee.contains(enclave) {
            return Err(ApiError::conflict(
                "stale_round",
                "not a current committee member for this round",
            ));
        }
        self.repo
            .transition(job_id, round, &[JobStatus::Pending], JobStatus::Processing)
            .await?;
        self.events
            .emit(
                job_id,
                "enclave_started",
                json!({ "enclaveId": enclave, "round": round }),
            )
            .await;
        Ok(())
    }

    /// Checks and stores a signed report, deciding the round when it is the last.
    ///
    /// # Errors
    /// A 4xx [`ApiError`] naming why the report is refused.
    pub async fn submit(&self, signed: &SignedReport) -> Result<SubmitOutcome, ApiError> {
        let result = self.check_and_store(signed).await;
        if let Err(e) = &result {
            metrics::counter!(m::REPORTS_REJECTED, "reason" => e.code).increment(1);
            warn!(enclave = %signed.report.enclave_id, job = %signed.report.job_id, code = e.code, "report refused: {}", e.message);
        }
        if matches!(result, Ok(SubmitOutcome::Accepted))
            && signed.report.round == 0
            && let Ok(Some(job)) = self.repo.job(&signed.report.job_id).await
        {
            m::record_report(signed.report.enclave_id.as_str(), 0, job.created_ms);
        }
        result
    }

    async fn check_and_store(&self, signed: &SignedReport) -> Result<SubmitOutcome, ApiError> {
        let r = &signed.report;
        let oracle = self.counted_oracle(&r.enclave_id).await?;
        verify_report(&oracle.signing_key, signed).map_err(|e| {
            ApiError::bad_request("bad_signature", format!("report signature: {e}"))
        })?;
        if r.attestation != oracle.attestation {
            return Err(ApiError::bad_request(
                "attestation_kind_mismatch",
                format!(
                    "the report claims {} attestation, {} is registered with {}",
                    r.attestation, r.enclave_id, oracle.attestation
                ),
            ));
        }
        let job = self.job(&r.job_id).await?;
        if r.media_sha256 != job.media_sha256 {
            return Err(ApiError::bad_request(
                "media_mismatch",
                "the report is about other media than the job's",
            ));
        }
        if r.round != job.round {
            return Err(ApiError::conflict(
                "stale_round",
                format!(
                    "report is for round {}, the job is in round {}",
                    r.round, job.round
                ),
            ));
        }
        if !job.committee.contains(&r.enclave_id) {
            return Err(ApiError::new(
                axum::http::StatusCode::FORBIDDEN,
                "not_in_committee",
                format!("{} is not on this round's committee", r.enclave_id),
            ));
        }
        if r.timestamp_ms > now_ms() + 5 * 60_000 {
            return Err(ApiError::bad_request(
                "bad_timestamp",
                "report is dated in the future",
            ));
        }
        if !job.status.is_open() {
            return self.late_report(signed, &job).await;
        }
        match self.repo.save_report(signed, now_ms()).await? {
            SaveReport::Duplicate => Ok(SubmitOutcome::Duplicate),
            SaveReport::Equivocation { first } => self.equivocated(signed, &first).await,
            SaveReport::Inserted => {
                metrics::counter!(m::REPORTS_ACCEPTED).increment(1);
                if let Some(o) = self.observer.get() {
                    o.report_accepted(&job).await;
                }
                self.events
                    .emit(&r.job_id, "enclave_finished", json!({ "enclaveId": r.enclave_id, "round": r.round,
                        "verdict": r.verdict, "confidence": r.confidence, "reportDigest": r.digest() }))
                    .await;
                let reported = self.repo.reports(&job.job_id, job.round).await?;
                let in_committee: BTreeSet<_> = reported
                    .iter()
                    .map(|s| &s.signed.report.enclave_id)
                    .collect();
                if job.committee.iter().all(|e| in_committee.contains(e)) {
                    self.decide(&job, DecideReason::AllReported).await?;
                }
                Ok(SubmitOutcome::Accepted)
            }
        }
    }

    /// A report for a decided round: fine if it is a retry of a stored one.
    async fn late_report(
        &self,
        signed: &SignedReport,
        job: &JobRecord,
    ) -> Result<SubmitOutcome, ApiError> {
        let stored = self.repo.reports(&job.job_id, job.round).await?;
        if stored.iter().any(|s| s.signed == *signed) {
            return Ok(SubmitOutcome::Duplicate);
        }
        // A different report from an enclave that already reported: still equivocation.
        if stored
            .iter()
            .any(|s| s.signed.report.enclave_id == signed.report.enclave_id)
            && let SaveReport::Equivocation { first } =
                self.repo.save_report(signed, now_ms()).await?
        {
            return self.equivocated(signed, &first).await;
        }
        Err(ApiError::conflict(
            "round_closed",
            format!("round {} of {} is already decided", job.round, job.job_id),
        ))
    }

    /// Records an equivocation (both reports are already kept) and refuses the second.
    async fn equivocated(
        &self,
        signed: &SignedReport,
        first: &SignedReport,
    ) -> Result<SubmitOutcome, ApiError> {
        let r = &signed.report;
        metrics::counter!(m::EQUIVOCATIONS).increment(1);
        self.events
            .emit(
                &r.job_id,
                "equivocation",
                json!({ "enclaveId": r.enclave_id, "round": r.round,
                "firstDigest": first.report.digest(), "secondDigest": r.digest() }),
            )
            .await;
        if let Some(o) = self.observer.get() {
            o.equivocation(&r.job_id, r.round, &r.enclave_id).await;
        }
        Err(ApiError::conflict(
            "equivocation",
            "this enclave already signed a different report for this round; both are kept as proof",
        ))
    }

    async fn counted_oracle(&self, id: &EnclaveId) -> Result<Oracle, ApiError> {
        let oracle = self.repo.oracle(id).await?.ok_or_else(|| {
            ApiError::new(
                axum::http::StatusCode::FORBIDDEN,
                "unknown_enclave",
                format!("{id} is not a registered enclave"),
            )
        })?;
        if oracle.banned {
            return Err(ApiError::new(
                axum::http::StatusCode::FORBIDDEN,
                "banned_enclave",
                format!(
                    "{id} is banned: {}",
                    oracle.ban_reason.clone().unwrap_or_default()
                ),
            ));
        }
        if let Some(attest) = &self.attest {
            attest.check_reporter(&oracle).await?;
        }
        Ok(oracle)
    }

    async fn job(&self, id: &JobId) -> Result<JobRecord, ApiError> {
        self.repo
            .job(id)
            .await?
            .ok_or_else(|| ApiError::not_found("job_not_found", format!("no job {id}")))
    }

    /// Decides the job's current round from the reports that count.
    ///
    /// # Errors
    /// Storage failures only; "too few reports" is an outcome (the job fails).
    pub async fn decide(&self, job: &JobRecord, reason: DecideReason) -> Result<(), ApiError> {
        let reports = self.repo.reports(&job.job_id, job.round).await?;
        let (ballots, counted) = self.ballots(job, &reports).await?;
        match self.settings.rule.decide(&ballots) {
            Ok(outcome) => {
                let ctx = RoundContext {
                    job_id: job.job_id.clone(),
                    round: job.round,
                    media_sha256: job.media_sha256,
                    timestamp_ms: now_ms(),
                };
                let mut report = assemble(&ctx, &self.settings.rule, &outcome, &counted);
                // Signed with the verdict so anyone can recheck who was asked.
                report.committee = job.committee_selection.clone();
                self.key.sign_final(&mut report);
                if self.repo.complete_round(&report).await? {
                    if let Some(ledger) = self.ledger.get()
                        && let Err(e) = ledger.append_final_report(&report).await
                    {
                        // The catch-up sweep logs it later; the verdict stands.
                        warn!(job = %job.job_id, error = %e.message, "final report not logged yet");
                    }
                    m::record_decision(&report, job.created_ms);
                    info!(job = %job.job_id, verdict = %report.verdict, agreement = report.consensus_metadata.agreement_rate,
                        threshold_met = report.consensus_metadata.threshold_met, ?reason, "round decided");
                    self.events
                        .emit(&job.job_id, "consensus", json!({
                            "round": job.round, "verdict": report.verdict, "confidence": report.confidence,
                            "agreementRate": report.consensus_metadata.agreement_rate,
                            "thresholdMet": report.consensus_metadata.threshold_met,
                            "participatingEnclaves": report.consensus_metadata.participating_enclaves,
                            "reportDigest": report.report_digest,
                        }))
                        .await;
                    self.events
                        .emit(
                            &job.job_id,
                            "completed",
                            json!({ "round": job.round, "verdict": report.verdict }),
                        )
                        .await;
                    if let Some(o) = self.observer.get() {
                        o.round_decided(job, &report).await;
                    }
                }
                Ok(())
            }
            // At the deadline nothing more will be counted; when everyone reported but too
            // few count (an oracle banned meanwhile), nothing more can come either.
            Err(ConsensusError::TooFewReports { have, need }) => {
                let why = format!(
                    "only {have} of the {need} counted enclave reports required (MIN_ENCLAVES) arrived by the deadline; \
                     retry with POST /api/jobs/{}/retry",
                    job.job_id
                );
                if self.repo.fail_round(&job.job_id, job.round, &why).await? {
                    metrics::counter!(m::JOBS_FAILED).increment(1);
                    warn!(job = %job.job_id, have, need, "round failed");
                    self.events
                        .emit(
                            &job.job_id,
                            "failed",
                            json!({ "round": job.round, "reason": why }),
                        )
                        .await;
                    if let Some(o) = self.observer.get() {
                        o.round_failed(job, &why).await;
                    }
                }
                Ok(())
            }
            Err(other) => {
                let why = format!("consensus could not be computed: {other}");
                if self.repo.fail_round(&job.job_id, job.round, &why).await? {
                    self.events
                        .emit(
                            &job.job_id,
                            "failed",
                            json!({ "round": job.round, "reason": why }),
                        )
                        .await;
                    if let Some(o) = self.observer.get() {
                        o.round_failed(job, &why).await;
                    }
                }
                Ok(())
            }
        }
    }

    /// Ballots for the reports that count: registered, not banned, on the committee.
    async fn ballots(
        &self,
        job: &JobRecord,
        reports: &[StoredReport],
    ) -> Result<(Vec<Ballot>, Vec<verity_core::EnclaveReport>), ApiError> {
        let mut ballots = Vec::new();
        let mut counted = Vec::new();
        for stored in reports {
            let r = &stored.signed.report;
            let Some(oracle) = self.repo.oracle(&r.enclave_id).await? else {
                continue;
            };
            if oracle.banned || !job.committee.contains(&r.enclave_id) {
                continue;
            }
            if let Some(attest) = &self.attest
                && !attest.is_attested(&oracle).await?
            {
                continue;
            }
            ballots.push(Ballot {
                enclave_id: r.enclave_id.clone(),
                verdict: r.verdict,
                confidence: r.confidence,
                reputation: oracle.reputation,
                stake: oracle.stake,
                report_digest: stored.digest,
                attestation: r.attestation,
            });
            counted.push(r.clone());
        }
        Ok((ballots, counted))
    }

    /// Decides every open round whose deadline has passed.
    ///
    /// # Errors
    /// Storage failures.
    pub async fn sweep_overdue(&self) -> Result<usize, ApiError> {
        let overdue = self.repo.overdue_jobs(now_ms(), 100).await?;
        for job in &overdue {
            self.decide(job, DecideReason::Deadline).await?;
        }
        Ok(overdue.len())
    }
}
