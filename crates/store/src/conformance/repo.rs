//! The [`Repository`] contract: call [`repository_contract`] with a fresh,
//! empty repository.

use verity_core::{
    AttestationKind, Confidence, EnclaveId, EnclaveReport, JobId, JobStatus, Sha256Digest,
    SignedReport, Verdict,
};

use crate::repo::{
    BlobRecord, NewJob, OracleRegistration, Repository, SaveReport, SealedKeyRecord,
};

/// Runs every check against `repo` (fresh and empty).
pub async fn repository_contract(repo: &dyn Repository) {
    repo.ping().await.unwrap();
    oracles_keep_their_economy(repo).await;
    jobs_reports_and_rounds(repo).await;
    concurrent_saves_and_events(repo).await;
}

pub(crate) fn registration(id: &str) -> OracleRegistration {
    OracleRegistration {
        enclave_id: id.parse().unwrap(),
        signing_key: vec![1; 32],
        encryption_key: vec![2; 32],
        attestation_kind: AttestationKind::DevInsecure,
        attestation: "{}".into(),
        initial_stake: 1000,
        initial_reputation: 0.8,
    }
}

pub(crate) fn new_job(media: Sha256Digest, blob: &str, committee: &[&str]) -> NewJob {
    NewJob {
        job_id: JobId::generate(),
        blob: BlobRecord {
            blob_id: blob.into(),
            media_sha256: media,
            storage: "local".into(),
            size: 10,
        },
        sealed_keys: committee
            .iter()
            .map(|e| SealedKeyRecord {
                enclave_id: e.parse().unwrap(),
                enc: vec![3; 32],
                ciphertext: vec![4; 48],
            })
            .collect(),
        mime: "image/png".into(),
        width: 1,
        height: 1,
        size: 10,
        user_id: Some("user-1".into()),
        committee: committee.iter().map(|e| e.parse().unwrap()).collect(),
        committee_selection: None,
        deadline_ms: 1,
        created_ms: 1,
    }
}

fn report(job: &JobId, enclave: &str, verdict: Verdict, media: Sha256Digest) -> SignedReport {
    SignedReport {
        report: EnclaveReport {
            job_id: job.clone(),
            round: 0,
            enclave_id: enclave.parse().unwrap(),
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

async fn oracles_keep_their_economy(repo: &dyn Repository) {
    let first = repo
        .register_oracle(&registration("enclave-1"))
        .await
        .unwrap();
    assert_eq!((first.stake, first.reputation), (1000, 0.8));
    let mut again = registration("enclave-1");
    again.initial_stake = 5;
    again.signing_key = vec![9; 32];
    let second = repo.register_oracle(&again).await.unwrap();
    assert_eq!(second.stake, 1000, "re-registration must not reset stake");
    assert_eq!(second.signing_key, vec![9; 32], "keys are updated");
    assert_eq!(repo.oracles().await.unwrap().len(), 1);
}

async fn jobs_reports_and_rounds(repo: &dyn Repository) {
    let media = Sha256Digest::of(b"media");
    let job = new_job(media, &"a".repeat(64), &["e1", "e2"]);
    let queued = repo
        .create_job(&job, &serde_json::json!({"n": 1}))
        .await
        .unwrap();
    assert_eq!(queued.kind, "queued");

    let stored = repo.job(&job.job_id).await.unwrap().unwrap();
    assert_eq!(
        (stored.status, stored.round, stored.committee.len()),
        (JobStatus::Pending, 0, 2)
    );
    assert_eq!(stored.user_id.as_deref(), Some("user-1"));

    // Blob reuse only when every wanted enclave can open it.
    let e1: EnclaveId = "e1".parse().unwrap();
    let e3: EnclaveId = "e3".parse().unwrap();
    assert!(
        repo.reusable_blob(&media, std::slice::from_ref(&e1))
            .await
            .unwrap()
            .is_some()
    );
    assert!(
        repo.reusable_blob(&media, &[e1.clone(), e3])
            .await
            .unwrap()
            .is_none()
    );

    assert!(
        repo.transition(&job.job_id, 0, &[JobStatus::Pending], JobStatus::Processing)
            .await
            .unwrap()
    );
    assert!(
        !repo
            .transition(&job.job_id, 0, &[JobStatus::Pending], JobStatus::Processing)
            .await
            .unwrap()
    );

    let r1 = report(&job.job_id, "e1", Verdict::Real, media);
    assert_eq!(
        repo.save_report(&r1, 10).await.unwrap(),
        SaveReport::Inserted
    );
    assert_eq!(
        repo.save_report(&r1, 11).await.unwrap(),
        SaveReport::Duplicate
    );
    let equivocating = report(&job.job_id, "e1", Verdict::AiGenerated, media);
    match repo.save_report(&equivocating, 12).await.unwrap() {
        SaveReport::Equivocation { first } => assert_eq!(*first, r1),
        other => panic!("expected equivocation, got {other:?}"),
    }
    let reports = repo.reports(&job.job_id, 0).await.unwrap();
    assert_eq!(reports.len(), 1);
    assert_eq!(
        reports[0].signed, r1,
        "the first report stays the counted one"
    );

    // Deciding a round happens once.
    assert_eq!(repo.overdue_jobs(u64::MAX, 10).await.unwrap().len(), 1);
    assert!(
        repo.fail_round(&job.job_id, 0, "too few reports")
            .await
            .unwrap()
    );
    assert!(!repo.fail_round(&job.job_id, 0, "again").await.unwrap());
    let failed = repo.job(&job.job_id).await.unwrap().unwrap();
    assert_eq!(failed.failure_reason.as_deref(), Some("too few reports"));
    assert!(repo.overdue_jobs(u64::MAX, 10).await.unwrap().is_empty());

    // A retry starts round 1; the old round's reports stay.
    assert!(
        repo.start_round(&job.job_id, 0, &job.committee, 99, 5, JobStatus::Pending)
            .await
            .unwrap()
    );
    assert!(
        !repo
            .start_round(&job.job_id, 0, &job.committee, 99, 5, JobStatus::Pending)
            .await
            .unwrap()
    );
    let retried = repo.job(&job.job_id).await.unwrap().unwrap();
    assert_eq!(
        (retried.round, retried.priority, retried.status),
        (1, 5, JobStatus::Pending)
    );
    assert_eq!(repo.reports(&job.job_id, 0).await.unwrap().len(), 1);
    assert_eq!(repo.open_jobs(10).await.unwrap().len(), 1);

    let ev = repo
        .append_event(&job.job_id, "enclave_started", &serde_json::json!({"e": 1}))
        .await
        .unwrap();
    let all = repo.events_after(&job.job_id, 0).await.unwrap();
    assert_eq!(
        all.iter().map(|e| e.kind.as_str()).collect::<Vec<_>>(),
        ["queued", "enclave_started"]
    );
    assert!(
        repo.events_after(&job.job_id, ev.id)
            .await
            .unwrap()
            .is_empty()
    );
    let counts = repo.job_counts().await.unwrap();
    assert_eq!(counts, vec![(JobStatus::Pending, 1)]);
}

/// Two saves of one report at once store it once; event ids grow per job.
async fn concurrent_saves_and_events(repo: &dyn Repository) {
    let media = Sha256Digest::of(b"concurrent");
    let job = new_job(media, &"c".repeat(64), &["e1"]);
    repo.create_job(&job, &serde_json::json!({})).await.unwrap();
    let r = report(&job.job_id, "e1", Verdict::Real, media);
    let (a, b) = tokio::join!(repo.save_report(&r, 1), repo.save_report(&r, 2));
    let mut outcomes = [a.unwrap(), b.unwrap()];
    outcomes.sort_by_key(|o| matches!(o, SaveReport::Duplicate));
    assert_eq!(outcomes, [SaveReport::Inserted, SaveReport::Duplicate]);
    let appends = (0..8).map(|i| {
        let data = serde_json::json!({ "i": i });
        let job_id = job.job_id.clone();
        async move { repo.append_event(&job_id, "tick", &data).await.unwrap() }
    });
    futures::future::join_all(appends).await;
    let ids: Vec<i64> = repo
        .events_after(&job.job_id, 0)
        .await
        .unwrap()
        .iter()
        .map(|e| e.id)
        .collect();
    assert_eq!(ids.len(), 9, "queued + 8 ticks");
    assert!(ids.windows(2).all(|w| w[0] < w[1]), "{ids:?}");
}
