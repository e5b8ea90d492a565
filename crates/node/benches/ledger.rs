//! Transparency-log appends per second with batching, on the embedded SQLite
//! database (or `DB=postgres://…`).
//!
//! `cargo bench -p verity-node --bench ledger` (ENTRIES=20000 by default,
//! all submitted at once so the writer batches them). Prints appends/s and
//! the time until the checkpoint covering them is published. A benchmark,
//! not a test.

use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio_util::sync::CancellationToken;
use verity_core::Sha256Digest;
use verity_node::ledger::{Ledger, LedgerConfig};
use verity_receipt::EntryKind;
use verity_store::select::{DbUrl, open_db};
use verity_tlog::note::NoteSigner;

fn main() {
    let entries: u64 = std::env::var("ENTRIES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(20_000);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async move {
        let dir = tempfile::tempdir().unwrap();
        let url = match std::env::var("DB") {
            Ok(url) => DbUrl::parse(Some(&url), &dir.path().join("v.db")).unwrap(),
            Err(_) => DbUrl::Sqlite(dir.path().join("verity.db")),
        };
        let db = open_db(&url, false).await.unwrap();
        let shutdown = CancellationToken::new();
        let (ledger, tasks) = Ledger::start(
            verity_store::log::log_store(&db),
            db.repo.clone(),
            NoteSigner::generate("bench.example/log").unwrap(),
            LedgerConfig {
                checkpoint_interval: Duration::from_secs(1),
                checkpoint_entries: 1_000_000,
                ..LedgerConfig::default()
            },
            shutdown.clone(),
        )
        .await
        .unwrap();
        let start = Instant::now();
        let appends: Vec<_> = (0..entries)
            .map(|i| {
                let ledger: Arc<Ledger> = ledger.clone();
                tokio::spawn(async move {
                    let digest = Sha256Digest::of(&i.to_be_bytes());
                    ledger
                        .append(
                            EntryKind::DisputeOutcome,
                            &format!("job_{i}"),
                            0,
                            &digest,
                            None,
                        )
                        .await
                        .unwrap()
                })
            })
            .collect();
        for a in appends {
            a.await.unwrap();
        }
        let appended = start.elapsed();
        let cp = ledger
            .wait_for_checkpoint(entries, Duration::from_secs(60))
            .await
            .expect("a checkpoint covers every entry");
        let checkpointed = start.elapsed();
        println!(
            "{entries} appends in {:.2} s: {:.0} appends/s (batched, one transaction per batch); \
             checkpoint of {} entries after {:.2} s",
            appended.as_secs_f64(),
            entries as f64 / appended.as_secs_f64(),
            cp.size,
            checkpointed.as_secs_f64()
        );
        let t = Instant::now();
        let mut proofs = 0u32;
        while t.elapsed() < Duration::from_secs(1) {
            ledger
                .inclusion_proof(u64::from(proofs) % entries, &cp)
                .await
                .unwrap();
            proofs += 1;
        }
        println!(
            "inclusion proof at {} entries: {:.1} µs each",
            cp.size,
            t.elapsed().as_secs_f64() * 1e6 / f64::from(proofs)
        );
        shutdown.cancel();
        for task in tasks {
            let _ = task.await;
        }
        db.close().await;
    });
}
