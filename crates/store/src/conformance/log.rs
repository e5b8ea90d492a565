//! The [`LogStore`] contract: call [`log_contract`] with a fresh, empty log
//! store and the repository on the same database.

use std::collections::BTreeMap;

use sha2::{Digest, Sha256};
use verity_core::{Confidence, ConsensusMetadata, FinalReport, JobStatus, Sha256Digest, Verdict};

use super::repo::{new_job, registration};
use crate::StoreError;
use crate::log::{AnchorRecord, LogStore, NewLogEntry, StoredCheckpoint};
use crate::repo::Repository;

fn entry(kind: &str, subject: &str, round: u32, leaf: &str) -> NewLogEntry {
    let mut h = Sha256::new();
    h.update([0u8]);
    h.update(leaf.as_bytes());
    NewLogEntry {
        kind: kind.into(),
        subject: subject.into(),
        round,
        leaf: leaf.as_bytes().to_vec(),
        leaf_hash: h.finalize().into(),
        payload: (kind != "final_report").then(|| format!("{{\"leaf\":\"{leaf}\"}}")),
    }
}

/// Runs every check against `log` (fresh and empty) and `repo` (same database).
pub async fn log_contract(log: &dyn LogStore, repo: &dyn Repository) {
    appends_are_gap_free_and_idempotent(log).await;
    concurrent_appends_stay_gap_free(log).await;
    checkpoints_and_anchors(log).await;
    unlogged_final_reports_and_attestations(log, repo).await;
}

async fn appends_are_gap_free_and_idempotent(log: &dyn LogStore) {
    assert_eq!(log.log_size().await.unwrap(), 0);
    assert!(log.latest_checkpoint().await.unwrap().is_none());
    let batch = [
        entry("final_report", "job_a", 0, "a0"),
        entry("final_report", "job_b", 0, "b0"),
        entry("dispute_outcome", "job_a", 1, "a1"),
    ];
    let stored = log.append(&batch).await.unwrap();
    let indexes: Vec<(u64, bool)> = stored.iter().map(|(e, new)| (e.index, *new)).collect();
    assert_eq!(indexes, vec![(0, true), (1, true), (2, true)]);
    assert_eq!(stored[2].0.payload.as_deref(), Some("{\"leaf\":\"a1\"}"));

    // A retried append returns the stored entry instead of a second copy.
    let again = log
        .append(&[batch[1].clone(), entry("slash", "enclave-1", 0, "s")])
        .await
        .unwrap();
    assert_eq!((again[0].0.index, again[0].1), (1, false));
    assert_eq!((again[1].0.index, again[1].1), (3, true));
    assert_eq!(log.log_size().await.unwrap(), 4);
    let twice = entry("ban", "enclave-2", 0, "b");
    let dup = log.append(&[twice.clone(), twice]).await.unwrap();
    assert_eq!((dup[0].0.index, dup[0].1), (4, true));
    assert_eq!(
        (dup[1].0.index, dup[1].1),
        (4, false),
        "a leaf twice in one batch is logged once"
    );

    let hashes = log.leaf_hashes(0, 100).await.unwrap();
    assert_eq!(hashes.len(), 5);
    assert_eq!(hashes[2], batch[2].leaf_hash);
    assert_eq!(
        log.leaf_hashes(2, 1).await.unwrap(),
        vec![batch[2].leaf_hash]
    );
    let e = log.entry(1).await.unwrap().unwrap();
    assert_eq!(
        (e.kind.as_str(), e.subject.as_str(), e.leaf.as_slice()),
        ("final_report", "job_b", &b"b0"[..])
    );
    assert!(log.entry(5).await.unwrap().is_none());
    let about_a: Vec<u64> = log
        .entries_for("job_a")
        .await
        .unwrap()
        .iter()
        .map(|e| e.index)
        .collect();
    assert_eq!(about_a, vec![0, 2]);
}

async fn concurrent_appends_stay_gap_free(log: &dyn LogStore) {
    let before = log.log_size().await.unwrap();
    let appends = (0..8).map(|i| {
        let batch: Vec<NewLogEntry> = (0..5)
            .map(|j| {
                entry(
                    "final_report",
                    &format!("job_c{i}"),
                    j,
                    &format!("c{i}-{j}"),
                )
            })
            .collect();
        async move { log.append(&batch).await.unwrap() }
    });
    let results = futures::future::join_all(appends).await;
    let mut indexes: Vec<u64> = results.iter().flatten().map(|(e, _)| e.index).collect();
    indexes.sort_unstable();
    assert_eq!(indexes, (before..before + 40).collect::<Vec<_>>());
    for batch in &results {
        let own: Vec<u64> = batch.iter().map(|(e, _)| e.index).collect();
        assert!(
            own.windows(2).all(|w| w[1] == w[0] + 1),
            "a batch is contiguous"
        );
    }
    assert_eq!(log.log_size().await.unwrap(), before + 40);
}

async fn checkpoints_and_anchors(log: &dyn LogStore) {
    let cp = |size: u64, root: u8| StoredCheckpoint {
        size,
        root: [root; 32],
        note: format!("note {size}\n"),
        created_ms: 100 + size,
    };
    log.save_checkpoint(&cp(2, 1)).await.unwrap();
    log.save_checkpoint(&cp(4, 2)).await.unwrap();
    log.save_checkpoint(&cp(4, 2)).await.unwrap();
    assert!(matches!(
        log.save_checkpoint(&cp(4, 3)).await,
        Err(StoreError::Conflict(_))
    ));
    assert_eq!(log.latest_checkpoint().await.unwrap(), Some(cp(4, 2)));
    assert_eq!(log.checkpoint(2).await.unwrap(), Some(cp(2, 1)));
    assert!(log.checkpoint(3).await.unwrap().is_none());
    let all: Vec<u64> = log
        .checkpoints(0, 10)
        .await
        .unwrap()
        .iter()
        .map(|c| c.size)
        .collect();
    assert_eq!(all, vec![2, 4]);
    assert_eq!(log.checkpoints(3, 10).await.unwrap().len(), 1);

    assert!(log.latest_anchor().await.unwrap().is_none());
    let anchor = AnchorRecord {
        size: 2,
        chain: "sui:localnet".into(),
        tx_digest: "digest-1".into(),
        anchored_ms: 7,
    };
    log.save_anchor(&anchor).await.unwrap();
    let mut other = anchor.clone();
    other.tx_digest = "digest-2".into();
    log.save_anchor(&other).await.unwrap();
    assert_eq!(
        log.anchor(2).await.unwrap(),
        Some(anchor.clone()),
        "one anchor per checkpoint"
    );
    assert!(log.anchor(4).await.unwrap().is_none());
    assert_eq!(log.latest_anchor().await.unwrap(), Some(anchor));
}

async fn unlogged_final_reports_and_attestations(log: &dyn LogStore, repo: &dyn Repository) {
    repo.register_oracle(&registration("e1")).await.unwrap();
    assert_eq!(
        log.attestation_document(&"e1".parse().unwrap())
            .await
            .unwrap()
            .as_deref(),
        Some("{}")
    );
    assert!(
        log.attestation_document(&"e9".parse().unwrap())
            .await
            .unwrap()
            .is_none()
    );

    let media = Sha256Digest::of(b"log media");
    let job = new_job(media, &"c".repeat(64), &["e1"]);
    repo.create_job(&job, &serde_json::json!({})).await.unwrap();
    assert!(log.unlogged_final_reports(10).await.unwrap().is_empty());
    let report = FinalReport {
        job_id: job.job_id.clone(),
        round: 0,
        verdict: Verdict::Real,
        confidence: Confidence::from_f64(0.5),
        consensus_metadata: ConsensusMetadata {
            agreement_rate: 1.0,
            participating_enclaves: 0,
            consensus_timestamp: 1,
            threshold: 0.66,
            threshold_met: true,
            min_enclaves: 1,
            tie: false,
            votes: vec![],
        },
        models: BTreeMap::new(),
        evidence: vec![],
        media_sha256: media,
        committee: None,
        report_digest: Sha256Digest::of(b"fr"),
        aggregator_signature: vec![1; 64],
        aggregator_key: vec![2; 32],
    };
    assert!(repo.complete_round(&report).await.unwrap());
    assert_eq!(
        repo.job(&job.job_id).await.unwrap().unwrap().status,
        JobStatus::Completed
    );
    assert_eq!(log.unlogged_final_reports(10).await.unwrap(), vec![report]);
    log.append(&[entry(
        "dispute_outcome",
        job.job_id.as_str(),
        0,
        "other kind",
    )])
    .await
    .unwrap();
    assert_eq!(log.unlogged_final_reports(10).await.unwrap().len(), 1);
    log.append(&[entry("final_report", job.job_id.as_str(), 0, "the report")])
        .await
        .unwrap();
    assert!(log.unlogged_final_reports(10).await.unwrap().is_empty());
}
