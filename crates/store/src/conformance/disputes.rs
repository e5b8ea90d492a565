//! The [`DisputeRepository`] contract: call [`dispute_contract`] with a
//! fresh, empty database's [`Repository`] and [`DisputeRepository`].

use std::collections::BTreeMap;

use verity_core::committee::{Candidate, CommitteeSelection};
use verity_core::dispute::DisputeState;
use verity_core::stake::{Account, EntryKind, Ledger, Movement};
use verity_core::{
    AttestationKind, Confidence, ConsensusMetadata, EnclaveId, EnclaveReport, FinalReport, JobId,
    JobStatus, Sha256Digest, SignedReport, Verdict, Vote,
};

use crate::StoreError;
use crate::disputes::{DisputeRepository, LedgerBatch, NewDispute, Resolution, Restore};
use crate::repo::{BlobRecord, NewJob, OracleRegistration, Repository, SealedKeyRecord};

/// Runs every check (fresh, empty database).
pub async fn dispute_contract(repo: &dyn Repository, disputes: &dyn DisputeRepository) {
    registration_deposits_stake(repo, disputes).await;
    ledger_batches_are_checked_and_idempotent(repo, disputes).await;
    disputes_archive_rounds_and_resolve_once(repo, disputes).await;
    equivocations_are_kept(repo, disputes).await;
    conservation(disputes).await;
}

fn id(s: &str) -> EnclaveId {
    s.parse().unwrap()
}

async fn register(repo: &dyn Repository, name: &str) {
    repo.register_oracle(&OracleRegistration {
        enclave_id: id(name),
        signing_key: vec![1; 32],
        encryption_key: vec![2; 32],
        attestation_kind: AttestationKind::DevInsecure,
        attestation: "{}".into(),
        initial_stake: 1000,
        initial_reputation: 0.8,
    })
    .await
    .unwrap();
}

async fn registration_deposits_stake(repo: &dyn Repository, disputes: &dyn DisputeRepository) {
    register(repo, "d1").await;
    register(repo, "d2").await;
    register(repo, "d1").await; // re-registration deposits nothing
    let entries = disputes.ledger(None).await.unwrap();
    assert_eq!(entries.len(), 2, "one stake deposit per new oracle");
    assert!(entries.iter().all(|e| e.movement.kind == EntryKind::Stake
        && e.movement.amount == 1000
        && e.movement.from.is_none()));
}

async fn ledger_batches_are_checked_and_idempotent(
    repo: &dyn Repository,
    disputes: &dyn DisputeRepository,
) {
    let slash = |amount| LedgerBatch {
        movements: vec![Movement::new(
            EntryKind::Slash,
            Some(Account::Oracle(id("d1"))),
            Some(Account::Treasury),
            amount,
            "test slash",
        )],
        idem_key: Some(format!("test:{amount}")),
        slashed: vec![id("d1")],
        at_ms: 50,
        ..LedgerBatch::default()
    };
    assert!(disputes.post(&slash(100)).await.unwrap());
    assert!(
        !disputes.post(&slash(100)).await.unwrap(),
        "same key: no-op"
    );
    let d1 = repo.oracle(&id("d1")).await.unwrap().unwrap();
    assert_eq!((d1.stake, d1.slashes), (900, 1));
    let before = disputes.ledger(None).await.unwrap().len();
    match disputes.post(&slash(5000)).await {
        Err(StoreError::Conflict(_)) => {}
        other => panic!("an overdraft must be refused, got {other:?}"),
    }
    assert_eq!(
        disputes.ledger(None).await.unwrap().len(),
        before,
        "nothing stored"
    );
    assert_eq!(repo.oracle(&id("d1")).await.unwrap().unwrap().slashes, 1);
    assert_eq!(disputes.slash_times(&id("d1")).await.unwrap(), vec![50]);

    assert!(disputes.set_ban(&id("d2"), Some("test ban")).await.unwrap());
    let d2 = repo.oracle(&id("d2")).await.unwrap().unwrap();
    assert!(d2.banned && d2.ban_reason.as_deref() == Some("test ban"));
    assert!(disputes.set_ban(&id("d2"), None).await.unwrap());
    assert!(!repo.oracle(&id("d2")).await.unwrap().unwrap().banned);
    assert!(!disputes.set_ban(&id("nobody"), None).await.unwrap());
    disputes.set_reputation(&id("d2"), 0.42).await.unwrap();
    assert_eq!(
        repo.oracle(&id("d2")).await.unwrap().unwrap().reputation,
        0.42
    );
}

fn vote(enclave: &str, verdict: Verdict) -> Vote {
    Vote {
        enclave_id: id(enclave),
        verdict,
        confidence: Confidence::from_f64(0.9),
        reputation: 0.8,
        stake: 1000,
        weight: 1.0,
        report_digest: Sha256Digest::of(enclave.as_bytes()),
        attestation: AttestationKind::DevInsecure,
    }
}

fn selection(job: &JobId, escalated: bool) -> CommitteeSelection {
    let candidates = ["d1", "d2"]
        .iter()
        .map(|e| Candidate {
            enclave_id: id(e),
            weight: 1.0,
        })
        .collect();
    if escalated {
        CommitteeSelection::escalated(job, candidates)
    } else {
        CommitteeSelection::sample(job, candidates, 2)
    }
}

/// A final report counting votes of d1 and d2, with its committee record.
fn final_report(job: &JobId, round: u32, verdict: Verdict, media: Sha256Digest) -> FinalReport {
    FinalReport {
        job_id: job.clone(),
        round,
        verdict,
        confidence: Confidence::from_f64(0.9),
        consensus_metadata: ConsensusMetadata {
            agreement_rate: 1.0,
            participating_enclaves: 2,
            consensus_timestamp: 1,
            threshold: 0.66,
            threshold_met: true,
            min_enclaves: 2,
            tie: false,
            votes: vec![vote("d1", verdict), vote("d2", verdict)],
        },
        models: BTreeMap::new(),
        evidence: vec![],
        media_sha256: media,
        committee: Some(selection(job, round > 0)),
        report_digest: Sha256Digest::of(b"digest"),
        aggregator_signature: vec![0; 64],
        aggregator_key: vec![0; 32],
    }
}

fn signed(
    job: &JobId,
    round: u32,
    enclave: &str,
    verdict: Verdict,
    media: Sha256Digest,
) -> SignedReport {
    SignedReport {
        report: EnclaveReport {
            job_id: job.clone(),
            round,
            enclave_id: id(enclave),
            media_sha256: media,
            verdict,
            confidence: Confidence::from_f64(0.9),
            detectors: vec![],
            attestation: AttestationKind::DevInsecure,
            timestamp_ms: 5,
        },
        signature: vec![0; 64],
        nautilus_signature: None,
    }
}

async fn new_job(repo: &dyn Repository, media: Sha256Digest, blob: &str) -> JobId {
    let job_id = JobId::generate();
    let job = NewJob {
        job_id: job_id.clone(),
        blob: BlobRecord {
            blob_id: blob.into(),
            media_sha256: media,
            storage: "local".into(),
            size: 10,
        },
        sealed_keys: ["d1", "d2"]
            .iter()
            .map(|e| SealedKeyRecord {
                enclave_id: id(e),
                enc: vec![3; 32],
                ciphertext: vec![4; 48],
            })
            .collect(),
        mime: "image/png".into(),
        width: 1,
        height: 1,
        size: 10,
        user_id: None,
        committee: vec![id("d1"), id("d2")],
        committee_selection: Some(selection(&job_id, false)),
        deadline_ms: 1,
        created_ms: 1,
    };
    repo.create_job(&job, &serde_json::json!({})).await.unwrap();
    job.job_id
}

fn new_dispute(dispute_id: &str, job: &JobId) -> NewDispute {
    NewDispute {
        dispute_id: dispute_id.into(),
        job_id: job.clone(),
        disputed_round: 0,
        disputed_verdict: Verdict::AiGenerated,
        challenger: "0xab".into(),
        evidence_id: "evidence_blob".into(),
        evidence_resolved: false,
        reason: "it is a photo".into(),
        bond: 100,
        committee: vec![id("d1"), id("d2")],
        committee_selection: selection(job, true),
        deadline_ms: 500,
        priority: 10,
        created_ms: 100,
    }
}

async fn disputes_archive_rounds_and_resolve_once(
    repo: &dyn Repository,
    disputes: &dyn DisputeRepository,
) {
    let media = Sha256Digest::of(b"disputed");
    let job = new_job(repo, media, &"d".repeat(64)).await;
    for (e, v) in [("d1", Verdict::AiGenerated), ("d2", Verdict::AiGenerated)] {
        repo.save_report(&signed(&job, 0, e, v, media), 10)
            .await
            .unwrap();
    }
    let new = new_dispute("dsp_test", &job);
    match disputes.open_dispute(&new).await {
        Err(StoreError::Conflict(_)) => {}
        other => panic!("a job that is not COMPLETED cannot be disputed, got {other:?}"),
    }
    assert!(
        repo.complete_round(&final_report(&job, 0, Verdict::AiGenerated, media))
            .await
            .unwrap()
    );
    let opened = disputes.open_dispute(&new).await.unwrap();
    assert_eq!(
        (opened.state, opened.reverify_round, opened.bond),
        (DisputeState::PendingReverification, 1, 100)
    );
    let moved = repo.job(&job).await.unwrap().unwrap();
    assert_eq!(
        (moved.status, moved.round, moved.priority),
        (JobStatus::Disputed, 1, 10)
    );
    assert_eq!(
        moved.committee_selection,
        Some(selection(&job, true)),
        "the escalated committee's record"
    );
    assert!(matches!(
        disputes.open_dispute(&new).await,
        Err(StoreError::Conflict(_))
    ));
    assert_eq!(disputes.open_disputes().await.unwrap().len(), 1);
    let archived = disputes
        .round(&job, 0)
        .await
        .unwrap()
        .expect("round 0 archived");
    assert_eq!(archived.final_report.unwrap().verdict, Verdict::AiGenerated);
    assert_eq!(
        repo.reports(&job, 0).await.unwrap().len(),
        2,
        "old reports kept"
    );
    assert!(disputes.mark_reverifying("dsp_test").await.unwrap());
    assert!(!disputes.mark_reverifying("dsp_test").await.unwrap());

    // Nothing is final while the dispute is open.
    assert!(
        disputes
            .finalized_reports(&id("d1"), u64::MAX)
            .await
            .unwrap()
            .is_empty()
    );

    repo.save_report(&signed(&job, 1, "d1", Verdict::Real, media), 20)
        .await
        .unwrap();
    assert!(
        repo.complete_round(&final_report(&job, 1, Verdict::Real, media))
            .await
            .unwrap()
    );
    let resolution = Resolution {
        dispute_id: "dsp_test".into(),
        state: DisputeState::Overturned,
        new_verdict: Some(Verdict::Real),
        outcome: "overturned".into(),
        batch: LedgerBatch {
            movements: vec![
                Movement::new(
                    EntryKind::Slash,
                    Some(Account::Oracle(id("d2"))),
                    Some(Account::Treasury),
                    100,
                    "wrong",
                ),
                Movement::new(
                    EntryKind::Refund,
                    Some(Account::Escrow("dsp_test".into())),
                    Some(Account::Challenger("0xab".into())),
                    100,
                    "refund",
                ),
                Movement::new(
                    EntryKind::Reward,
                    Some(Account::Treasury),
                    Some(Account::Challenger("0xab".into())),
                    50,
                    "reward",
                ),
            ],
            dispute_id: Some("dsp_test".into()),
            slashed: vec![id("d2")],
            at_ms: 200,
            ..LedgerBatch::default()
        },
        restore: None,
    };
    assert!(disputes.resolve_dispute(&resolution).await.unwrap());
    assert!(
        !disputes.resolve_dispute(&resolution).await.unwrap(),
        "resolved once"
    );
    let resolved = disputes.dispute_for_job(&job).await.unwrap().unwrap();
    assert_eq!(
        (resolved.state, resolved.new_verdict),
        (DisputeState::Overturned, Some(Verdict::Real))
    );
    assert_eq!(
        disputes.ledger(Some("dsp_test")).await.unwrap().len(),
        4,
        "bond + 3"
    );
    assert_eq!(repo.oracle(&id("d2")).await.unwrap().unwrap().stake, 900);

    // A resolved dispute makes the job final at once: every round's reports score.
    let d1 = disputes.finalized_reports(&id("d1"), 0).await.unwrap();
    assert_eq!(d1.len(), 2);
    assert!(d1.iter().all(|r| r.final_verdict == Verdict::Real));
    assert_eq!(d1[0].verdict, Verdict::AiGenerated);

    // A failed re-verification puts the job back to its disputed round.
    failed_reverification_restores_the_round(repo, disputes, media).await;
    // Every vote of a decided round counted: d1 and d2 voted in rounds 0 and 1
    // of `job` and in round 0 of the restored job.
    let counted = disputes.reports_counted().await.unwrap();
    for enclave in ["d1", "d2"] {
        assert!(counted.contains(&(id(enclave), 3)), "{counted:?}");
    }
    // Undisputed jobs are final only once their window closed.
    assert!(
        disputes
            .finalized_reports(&id("d2"), 0)
            .await
            .unwrap()
            .iter()
            .all(|r| r.at_ms != 999)
    );
}

async fn failed_reverification_restores_the_round(
    repo: &dyn Repository,
    disputes: &dyn DisputeRepository,
    media: Sha256Digest,
) {
    let job = new_job(repo, media, &"d".repeat(64)).await;
    let decided = final_report(&job, 0, Verdict::AiGenerated, media);
    assert!(repo.complete_round(&decided).await.unwrap());
    disputes
        .open_dispute(&new_dispute("dsp_failed", &job))
        .await
        .unwrap();
    assert!(repo.fail_round(&job, 1, "too few reports").await.unwrap());
    let restore = |failed_round| Restore {
        job_id: job.clone(),
        failed_round,
        report: decided.clone(),
    };
    let resolution = |failed_round| Resolution {
        dispute_id: "dsp_failed".into(),
        state: DisputeState::Rejected,
        new_verdict: None,
        outcome: "re-verification failed".into(),
        batch: LedgerBatch {
            movements: vec![Movement::new(
                EntryKind::Refund,
                Some(Account::Escrow("dsp_failed".into())),
                Some(Account::Challenger("0xcd".into())),
                100,
                "refund",
            )],
            dispute_id: Some("dsp_failed".into()),
            at_ms: 300,
            ..LedgerBatch::default()
        },
        restore: Some(restore(failed_round)),
    };
    // Not FAILED in that round: nothing at all is stored.
    assert!(matches!(
        disputes.resolve_dispute(&resolution(7)).await,
        Err(StoreError::Conflict(_))
    ));
    assert!(
        disputes
            .dispute_for_job(&job)
            .await
            .unwrap()
            .unwrap()
            .state
            .is_open()
    );
    assert!(disputes.resolve_dispute(&resolution(1)).await.unwrap());
    let back = repo.job(&job).await.unwrap().unwrap();
    assert_eq!((back.status, back.round), (JobStatus::Completed, 0));
    assert_eq!(back.final_report.as_ref(), Some(&decided));
    assert_eq!(back.committee, vec![id("d1"), id("d2")]);
    assert_eq!(back.committee_selection, decided.committee);
    assert_eq!(back.failure_reason, None);
    let failed = disputes.round(&job, 1).await.unwrap().expect("archived");
    assert_eq!(failed.status, "FAILED");
    assert_eq!(failed.failure_reason.as_deref(), Some("too few reports"));
    let resolved = disputes.dispute_for_job(&job).await.unwrap().unwrap();
    assert_eq!(resolved.state, DisputeState::Rejected);
}

async fn equivocations_are_kept(repo: &dyn Repository, disputes: &dyn DisputeRepository) {
    let media = Sha256Digest::of(b"equivocation");
    let job = new_job(repo, media, &"e".repeat(64)).await;
    repo.save_report(&signed(&job, 0, "d1", Verdict::Real, media), 1)
        .await
        .unwrap();
    repo.save_report(&signed(&job, 0, "d1", Verdict::AiGenerated, media), 2)
        .await
        .unwrap();
    let proofs = disputes.equivocations().await.unwrap();
    assert_eq!(proofs.len(), 1);
    assert_eq!(proofs[0].first.report.verdict, Verdict::Real);
    assert_eq!(proofs[0].second.report.verdict, Verdict::AiGenerated);
    assert_eq!(proofs[0].enclave_id, id("d1"));
}

async fn conservation(disputes: &dyn DisputeRepository) {
    let entries = disputes.ledger(None).await.unwrap();
    let ledger =
        Ledger::replay(entries.iter().map(|e| &e.movement)).expect("stored entries replay");
    assert_eq!(ledger.total(), ledger.expected_total());
    assert_eq!(ledger.balance(&Account::Oracle(id("d2"))), 900);
    assert_eq!(ledger.balance(&Account::Challenger("0xab".into())), 150);
    assert_eq!(ledger.balance(&Account::Escrow("dsp_test".into())), 0);
    assert_eq!(ledger.balance(&Account::Treasury), 150);
}
