//! Anchoring published checkpoints on a chain (`--anchor sui`).
//!
//! One task per process: it waits for the log to publish a checkpoint,
//! anchors the latest one that is larger than the latest anchored one, and
//! records the transaction with [`LogStore::save_anchor`]. One anchor at a
//! time: checkpoints published while an anchor is in flight are coalesced
//! into the next one (the latest), since anchoring a checkpoint also commits
//! to every smaller tree (they are consistent with it) and one transaction
//! per checkpoint interval would cost gas for nothing. The anchor store is
//! the idempotency record: a checkpoint that has an anchor is never sent
//! again, across restarts too. When the chain executes the transaction and
//! it fails (for example the registry already holds a larger size), that
//! size is skipped; other failures are retried with backoff.

use std::sync::Arc;
use std::time::Duration;

use tokio_util::sync::CancellationToken;
use tracing::{info, warn};
use verity_anchor::{AnchorError, ChainAnchor, CheckpointRef};
use verity_store::{AnchorRecord, LogStore, StoredCheckpoint};

use crate::ledger::Ledger;

/// Counter: checkpoints anchored.
pub const ANCHORED_METRIC: &str = "verity_anchor_checkpoints_total";
/// Counter: anchoring attempts that failed.
pub const ANCHOR_FAILURES_METRIC: &str = "verity_anchor_failures_total";

/// First wait after a failed anchor; doubled up to [`MAX_BACKOFF`].
const BACKOFF: Duration = Duration::from_secs(1);
/// Longest wait between failed anchors.
const MAX_BACKOFF: Duration = Duration::from_secs(300);

/// What happened to one checkpoint.
enum Outcome {
    /// Anchored now or before.
    Anchored,
    /// The chain refused it for good: do not try this size again.
    Skip,
    /// Try again later.
    Retry,
}

/// Anchors checkpoints of `ledger` with `chain` until `shutdown`.
pub async fn run(ledger: Arc<Ledger>, chain: Arc<dyn ChainAnchor>, shutdown: CancellationToken) {
    let store = ledger.store().clone();
    let mut published = ledger.subscribe();
    let mut skipped: Option<u64> = None;
    let mut backoff = BACKOFF;
    info!(chain = chain.chain(), "anchoring checkpoints");
    loop {
        let latest = published.borrow_and_update().clone();
        let mut retry = false;
        if let Some(cp) = latest.filter(|cp| skipped.is_none_or(|s| cp.size > s)) {
            let outcome = tokio::select! {
                () = shutdown.cancelled() => return,
                outcome = anchor_one(&*store, &*chain, &cp) => outcome,
            };
            match outcome {
                Outcome::Anchored => backoff = BACKOFF,
                Outcome::Skip => skipped = Some(cp.size),
                Outcome::Retry => retry = true,
            }
        }
        if retry {
            tokio::select! {
                () = shutdown.cancelled() => return,
                () = tokio::time::sleep(backoff) => {}
            }
            backoff = (backoff * 2).min(MAX_BACKOFF);
        } else {
            tokio::select! {
                () = shutdown.cancelled() => return,
                changed = published.changed() => if changed.is_err() { return },
            }
        }
    }
}

async fn anchor_one(
    store: &dyn LogStore,
    chain: &dyn ChainAnchor,
    cp: &StoredCheckpoint,
) -> Outcome {
    match store.latest_anchor().await {
        Ok(Some(a)) if a.size >= cp.size => return Outcome::Anchored,
        Ok(_) => {}
        Err(e) => {
            warn!(error = %e, "anchoring: reading the anchor records failed");
            return Outcome::Retry;
        }
    }
    let checkpoint = CheckpointRef {
        size: cp.size,
        root: cp.root,
    };
    match chain.anchor(&checkpoint).await {
        Ok(anchored) => {
            let record = AnchorRecord {
                size: cp.size,
                chain: anchored.chain,
                tx_digest: anchored.tx_digest,
                anchored_ms: verity_store::now_ms(),
            };
            // The transaction is on chain: keep trying to record it, since
            // anchoring the same size again would fail (sizes must grow).
            let mut wait = BACKOFF;
            loop {
                match store.save_anchor(&record).await {
                    Ok(()) => break,
                    Err(e) => {
                        warn!(size = cp.size, digest = %record.tx_digest, error = %e, "anchoring: recording the anchor failed; retrying");
                        tokio::time::sleep(wait).await;
                        wait = (wait * 2).min(MAX_BACKOFF);
                    }
                }
            }
            metrics::counter!(ANCHORED_METRIC).increment(1);
            info!(size = cp.size, chain = %record.chain, digest = %record.tx_digest, "checkpoint anchored");
            Outcome::Anchored
        }
        Err(e @ AnchorError::Failed { .. }) => {
            metrics::counter!(ANCHOR_FAILURES_METRIC).increment(1);
            warn!(size = cp.size, error = %e, "anchoring: the chain refused this checkpoint; waiting for the next one");
            Outcome::Skip
        }
        Err(e) => {
            metrics::counter!(ANCHOR_FAILURES_METRIC).increment(1);
            warn!(size = cp.size, error = %e, "anchoring failed; will retry");
            Outcome::Retry
        }
    }
}
