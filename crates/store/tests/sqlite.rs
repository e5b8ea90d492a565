//! The SQLite adapters against the port contracts.

use verity_core::*;
use verity_store::conformance::{
    blob_contract, contract_policy, queue_contract, repository_contract,
};
use verity_store::*;

async fn db() -> (tempfile::TempDir, SqliteDb) {
    let dir = tempfile::tempdir().unwrap();
    let db = SqliteDb::open(&dir.path().join("verity.db"), false)
        .await
        .unwrap();
    (dir, db)
}

#[tokio::test]
async fn sqlite_attestations_meet_the_contract() {
    let (_dir, db) = db().await;
    verity_store::conformance::attestation_contract(&SqliteAttestations::new(db)).await;
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

#[tokio::test]
async fn sqlite_repository_meets_the_contract() {
    let (_dir, db) = db().await;
    repository_contract(&SqliteRepository::new(db)).await;
}

#[tokio::test]
async fn file_blobs_meet_the_contract() {
    let dir = tempfile::tempdir().unwrap();
    blob_contract(
        &FileBlobStore::new(dir.path(), true),
        &BlobId("0".repeat(64)),
    )
    .await;
}

#[tokio::test]
async fn sqlite_log_store_meets_the_contract() {
    let (_dir, db) = db().await;
    verity_store::conformance::log_contract(
        &SqliteLogStore::new(db.clone()),
        &SqliteRepository::new(db),
    )
    .await;
}
