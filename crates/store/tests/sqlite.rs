//! The SQLite adapters against the port contracts.

use verity_core::*;
use verity_store::conformance::{contract_policy, queue_contract};
use verity_store::*;

async fn db() -> (tempfile::TempDir, SqliteDb) {
    let dir = tempfile::tempdir().unwrap();
    let db = SqliteDb::open(&dir.path().join("verity.db"), false)
        .await
        .unwrap();
    (dir, db)
}

#[tokio::test]
async fn sqlite_queue_meets_the_contract() {
    let (_dir, db) = db().await;
    queue_contract(&SqliteQueue::new(db, contract_policy())).await;
}

#[tokio::test]
async fn queue_survives_reopening() {
    let (dir, db) = db().await;
    let queue = SqliteQueue::new(db.clone(), contract_policy());
    let job = JobId::generate();
    let e: EnclaveId = "e1".parse().unwrap();
    queue
        .publish(&FanOut {
            job_id: job.clone(),
            round: 0,
            priority: 0,
            deliveries: vec![Delivery {
                enclave_id: e.clone(),
                payload: b"x".to_vec(),
            }],
        })
        .await
        .unwrap();
    db.close().await;
    let reopened = SqliteDb::open(&dir.path().join("verity.db"), false)
        .await
        .unwrap();
    let queue = SqliteQueue::new(reopened, contract_policy());
    let task = queue
        .lease(&e, "w", std::time::Duration::ZERO)
        .await
        .unwrap()
        .expect("task persisted");
    assert_eq!(task.job_id, job);
}

fn registration(id: &str) -> OracleRegistration {
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

fn new_job(media: Sha256Digest, blob: &str, committee: &[&str]) -> NewJob {
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
    }
}

#[tokio::test]
async fn oracles_keep_their_economy_across_registrations() {
    let (_dir, db) = db().await;
    let repo = SqliteRepository::new(db);
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

#[tokio::test]
async fn jobs_reports_and_rounds() {
    let (_dir, db) = db().await;
    let repo = SqliteRepository::new(db);
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
