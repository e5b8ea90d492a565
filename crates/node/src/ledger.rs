//! The transparency log service: batched appends, signed checkpoints,
//! proofs and receipts.
//!
//! One writer task owns appending. Callers send entries over a channel and
//! wait for their batch: the writer drains whatever is queued (up to
//! `max_batch`), appends it in one database transaction (so one commit, one
//! fsync at most, per batch), extends the in-memory [`MerkleTree`] and
//! answers everyone in the batch. After a batch, or when its timer fires,
//! it publishes a checkpoint if there are new entries and either
//! `checkpoint_entries` accumulated or `checkpoint_interval` passed since
//! the last one: at most one checkpoint per interval unless entries pile up.
//!
//! The tree is rebuilt from the stored leaf hashes at start-up and checked
//! against the latest stored checkpoint (a mismatch refuses to start: the
//! log never rewrites history). Final reports decided while the log was
//! unavailable are caught up at start-up and every 30 seconds.

use std::fs::OpenOptions;
use std::io::Write;
use std::path::Path;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use tokio::sync::{mpsc, oneshot, watch};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tracing::{info, warn};
use verity_core::{FinalReport, JobId, Sha256Digest};
use verity_receipt::entry::final_report_leaf;
use verity_receipt::{
    AnchorInfo, ConsensusInputs, EnclaveInfo, EntryKind, InclusionProof, LogEntryInfo, LogProof,
    RECEIPT_VERSION, Receipt, leaf_bytes,
};
use verity_store::{JobRecord, LogEntry, LogStore, NewLogEntry, Repository, StoredCheckpoint};
use verity_tlog::checkpoint::Checkpoint;
use verity_tlog::note::NoteSigner;
use verity_tlog::{Hash, MerkleTree, leaf_hash};

use crate::error::ApiError;

/// Gauge: entries covered by the latest checkpoint.
pub const LOG_SIZE_METRIC: &str = "verity_log_checkpoint_size";

/// How the log runs.
#[derive(Debug, Clone)]
pub struct LedgerConfig {
    /// The log's origin: the checkpoints' first line and the log key's name.
    pub origin: String,
    /// At most one checkpoint per this interval (unless `checkpoint_entries` pile up).
    pub checkpoint_interval: Duration,
    /// A checkpoint is published as soon as this many entries are new.
    pub checkpoint_entries: u64,
    /// Most entries appended in one transaction.
    pub max_batch: usize,
}

impl Default for LedgerConfig {
    fn default() -> Self {
        LedgerConfig {
            origin: "verity.local/log".into(),
            checkpoint_interval: Duration::from_secs(1),
            checkpoint_entries: 1000,
            max_batch: 1024,
        }
    }
}

struct Request {
    entry: NewLogEntry,
    reply: oneshot::Sender<Result<LogEntry, ApiError>>,
}

/// The running transparency log.
pub struct Ledger {
    store: Arc<dyn LogStore>,
    signer: NoteSigner,
    tree: Arc<RwLock<MerkleTree>>,
    requests: mpsc::Sender<Request>,
    latest: watch::Receiver<Option<StoredCheckpoint>>,
}

/// Loads the log's signer key from `path` (`PRIVATE+KEY+…`, mode 0600),
/// creating it for `origin` when absent.
///
/// # Errors
/// I/O errors, a file readable by others, a malformed key, or a key made for
/// another origin.
pub fn load_or_create_log_key(path: &Path, origin: &str) -> Result<NoteSigner, String> {
    let shown = path.display();
    if path.exists() {
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(path)
                .map_err(|e| format!("log key {shown}: {e}"))?
                .permissions()
                .mode();
            if mode & 0o077 != 0 {
                return Err(format!(
                    "log key {shown} is readable by group or others (chmod 600 it)"
                ));
            }
        }
        let text = std::fs::read_to_string(path).map_err(|e| format!("log key {shown}: {e}"))?;
        let signer = NoteSigner::parse(&text).map_err(|e| format!("log key {shown}: {e}"))?;
        if signer.name() != origin {
            return Err(format!(
                "log key {shown} is for origin {:?}, not {origin:?} (VERITY_LOG_ORIGIN)",
                signer.name()
            ));
        }
        return Ok(signer);
    }
    let signer =
        NoteSigner::generate(origin).map_err(|e| format!("VERITY_LOG_ORIGIN {origin:?}: {e}"))?;
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(|e| format!("log key {shown}: {e}"))?;
    }
    let mut options = OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options
        .open(path)
        .map_err(|e| format!("log key {shown}: {e}"))?;
    file.write_all(format!("{}\n", signer.to_skey()).as_bytes())
        .and_then(|()| file.sync_all())
        .map_err(|e| format!("log key {shown}: {e}"))?;
    Ok(signer)
}

impl Ledger {
    /// Loads the log, checks it against its latest checkpoint and starts the
    /// writer and catch-up tasks (stopped by `shutdown`).
    ///
    /// # Errors
    /// Storage failures, or stored entries that do not match the latest checkpoint.
    pub async fn start(
        store: Arc<dyn LogStore>,
        repo: Arc<dyn Repository>,
        signer: NoteSigner,
        config: LedgerConfig,
        shutdown: CancellationToken,
    ) -> Result<(Arc<Ledger>, Vec<JoinHandle<()>>), String> {
        let mut tree = MerkleTree::new();
        extend_from_store(&*store, &mut tree, u64::MAX)
            .await
            .map_err(|e| format!("loading the transparency log: {}", e.message))?;
        let latest = store
            .latest_checkpoint()
            .await
            .map_err(|e| format!("loading the latest checkpoint: {e}"))?;
        if let Some(cp) = &latest {
            match tree.root_at(cp.size) {
                Ok(root) if root == cp.root => {}
                _ => {
                    return Err(format!(
                        "the stored log does not match its checkpoint of size {}: refusing to rewrite history",
                        cp.size
                    ));
                }
            }
        }
        info!(entries = tree.size(), checkpoint = latest.as_ref().map(|c| c.size), origin = %config.origin,
            key = %signer.verifier().to_vkey(), "transparency log loaded");
        let tree = Arc::new(RwLock::new(tree));
        let (requests, receiver) = mpsc::channel(config.max_batch * 4);
        let (latest_tx, latest_rx) = watch::channel(latest);
        let ledger = Arc::new(Ledger {
            store: store.clone(),
            signer: signer.clone(),
            tree: tree.clone(),
            requests,
            latest: latest_rx,
        });
        let writer = Writer {
            store,
            signer,
            tree,
            latest: latest_tx,
            config,
            last_checkpoint_at: Instant::now(),
        };
        let tasks = vec![
            tokio::spawn(writer.run(receiver, shutdown.clone())),
            tokio::spawn(catch_up_loop(ledger.clone(), repo, shutdown)),
        ];
        Ok((ledger, tasks))
    }

    /// The log's verifier key (`NAME+KEYID+BASE64`).
    pub fn verifier_key(&self) -> String {
        self.signer.verifier().to_vkey()
    }

    /// The log's origin.
    pub fn origin(&self) -> &str {
        self.signer.name()
    }

    /// The store behind the log.
    pub fn store(&self) -> &Arc<dyn LogStore> {
        &self.store
    }

    /// Appends an entry and waits for its batch to commit; appending the
    /// same entry again returns the stored one.
    ///
    /// `digest` is the SHA-256 of what the entry stands for (for a dispute
    /// outcome, slash or ban: of its canonical record); `payload` is JSON
    /// served alongside.
    ///
    /// # Errors
    /// 503 when storage fails or the log is stopping.
    pub async fn append(
        &self,
        kind: EntryKind,
        subject: &str,
        round: u32,
        digest: &Sha256Digest,
        payload: Option<&serde_json::Value>,
    ) -> Result<LogEntry, ApiError> {
        let leaf = leaf_bytes(kind, subject, round, digest);
        self.append_leaf(NewLogEntry {
            kind: kind.as_str().to_owned(),
            subject: subject.to_owned(),
            round,
            leaf_hash: leaf_hash(&leaf),
            leaf,
            payload: payload.map(serde_json::Value::to_string),
        })
        .await
    }

    /// Appends a final report's entry (see [`Self::append`]).
    ///
    /// # Errors
    /// As [`Self::append`].
    pub async fn append_final_report(&self, report: &FinalReport) -> Result<LogEntry, ApiError> {
        let leaf = final_report_leaf(report);
        self.append_leaf(NewLogEntry {
            kind: EntryKind::FinalReport.as_str().to_owned(),
            subject: report.job_id.to_string(),
            round: report.round,
            leaf_hash: leaf_hash(&leaf),
            leaf,
            payload: None,
        })
        .await
    }

    async fn append_leaf(&self, entry: NewLogEntry) -> Result<LogEntry, ApiError> {
        let (reply, answer) = oneshot::channel();
        let stopping = || ApiError::unavailable("the transparency log is stopping");
        self.requests
            .send(Request { entry, reply })
            .await
            .map_err(|_| stopping())?;
        answer.await.map_err(|_| stopping())?
    }

    /// Follows published checkpoints (the latest one, then each new one).
    pub fn subscribe(&self) -> watch::Receiver<Option<StoredCheckpoint>> {
        self.latest.clone()
    }

    /// The latest published checkpoint.
    pub fn latest_checkpoint(&self) -> Option<StoredCheckpoint> {
        self.latest.borrow().clone()
    }

    /// Waits until a checkpoint of at least `size` entries is published, or `timeout`.
    pub async fn wait_for_checkpoint(
        &self,
        size: u64,
        timeout: Duration,
    ) -> Option<StoredCheckpoint> {
        let mut rx = self.latest.clone();
        let wait = rx.wait_for(|c| c.as_ref().is_some_and(|c| c.size >= size));
        tokio::time::timeout(timeout, wait)
            .await
            .ok()?
            .ok()
            .and_then(|c| c.clone())
    }

    /// Leaf hashes up to `size` are in memory (another process may have appended).
    async fn ensure_tree(&self, size: u64) -> Result<(), ApiError> {
        let have = self.tree.read().map_or(0, |t| t.size());
        if have >= size {
            return Ok(());
        }
        let mut fresh = self.tree.read().map(|t| t.clone()).unwrap_or_default();
        extend_from_store(&*self.store, &mut fresh, size).await?;
        if let Ok(mut tree) = self.tree.write()
            && fresh.size() > tree.size()
        {
            *tree = fresh;
        }
        Ok(())
    }

    fn with_tree<T>(
        &self,
        f: impl FnOnce(&MerkleTree) -> Result<T, verity_tlog::TlogError>,
    ) -> Result<T, ApiError> {
        let tree = self
            .tree
            .read()
            .map_err(|_| ApiError::unavailable("the log's tree is unavailable"))?;
        f(&tree).map_err(|e| ApiError::bad_request("bad_range", e.to_string()))
    }

    /// The final-report entry of `job`'s `round`.
    ///
    /// # Errors
    /// 404 `not_logged` when there is none (yet).
    pub async fn final_report_entry(&self, job: &JobId, round: u32) -> Result<LogEntry, ApiError> {
        self.store
            .entries_for(job.as_str())
            .await?
            .into_iter()
            .find(|e| e.kind == EntryKind::FinalReport.as_str() && e.round == round)
            .ok_or_else(|| {
                ApiError::not_found(
                    "not_logged",
                    format!("round {round} of {job} has no entry in the transparency log yet"),
                )
            })
    }

    /// The inclusion proof of entry `index` to `checkpoint`.
    ///
    /// # Errors
    /// 409 `not_checkpointed` when the checkpoint does not cover the entry yet.
    pub async fn inclusion_proof(
        &self,
        index: u64,
        checkpoint: &StoredCheckpoint,
    ) -> Result<Vec<Hash>, ApiError> {
        if index >= checkpoint.size {
            return Err(ApiError::conflict(
                "not_checkpointed",
                format!(
                    "entry {index} is not covered by a published checkpoint yet (latest has {} entries); retry shortly",
                    checkpoint.size
                ),
            ));
        }
        self.ensure_tree(checkpoint.size).await?;
        self.with_tree(|t| t.inclusion_proof(index, checkpoint.size))
    }

    /// The consistency proof between two tree sizes, both within the latest
    /// checkpoint, with the two roots.
    ///
    /// # Errors
    /// 400 `bad_range` unless `1 ≤ from ≤ to ≤` the latest checkpoint's size.
    pub async fn consistency(
        &self,
        from: u64,
        to: u64,
    ) -> Result<(Vec<Hash>, Hash, Hash), ApiError> {
        let latest = self.latest_checkpoint().map_or(0, |c| c.size);
        if from == 0 || from > to || to > latest {
            return Err(ApiError::bad_request(
                "bad_range",
                format!(
                    "need 1 ≤ from ≤ to ≤ {latest} (the latest checkpoint's size); got from={from}, to={to}"
                ),
            ));
        }
        self.ensure_tree(to).await?;
        self.with_tree(|t| {
            Ok((
                t.consistency_proof(from, to)?,
                t.root_at(from)?,
                t.root_at(to)?,
            ))
        })
    }

    /// The receipt of `job`'s current round.
    ///
    /// # Errors
    /// 409 `not_decided` before a final report, 404 `not_logged` or 409
    /// `not_checkpointed` while the log has not caught up.
    pub async fn receipt(
        &self,
        job: &JobRecord,
        repo: &dyn Repository,
    ) -> Result<Receipt, ApiError> {
        let fr = job.final_report.clone().ok_or_else(|| {
            ApiError::conflict(
                "not_decided",
                format!(
                    "{} has no final report yet (status {})",
                    job.job_id,
                    job.status.as_str()
                ),
            )
        })?;
        let entry = self.final_report_entry(&fr.job_id, fr.round).await?;
        // Prefer the latest anchored checkpoint that covers the entry, so the
        // receipt carries an on-chain anchor when there is one.
        let mut anchor = None;
        let mut checkpoint = self.latest_checkpoint();
        if let Some(a) = self.store.latest_anchor().await?
            && a.size > entry.index
            && let Some(cp) = self.store.checkpoint(a.size).await?
        {
            anchor = Some(AnchorInfo {
                chain: a.chain,
                tx_digest: a.tx_digest,
                checkpoint_size: a.size,
            });
            checkpoint = Some(cp);
        }
        let checkpoint = checkpoint.ok_or_else(|| {
            ApiError::conflict(
                "not_checkpointed",
                "no checkpoint has been published yet; retry shortly",
            )
        })?;
        let hashes = self.inclusion_proof(entry.index, &checkpoint).await?;

        let stored = repo.reports(&fr.job_id, fr.round).await?;
        let mut enclave_reports = Vec::new();
        let mut enclaves = Vec::new();
        for vote in &fr.consensus_metadata.votes {
            if let Some(s) = stored.iter().find(|s| s.digest == vote.report_digest) {
                enclave_reports.push(s.signed.clone());
            }
            let oracle = repo.oracle(&vote.enclave_id).await?;
            let document = self.store.attestation_document(&vote.enclave_id).await?;
            if let (Some(oracle), Some(document)) = (oracle, document) {
                let attestation = serde_json::from_str(&document).map_err(|e| {
                    ApiError::unavailable(format!(
                        "stored attestation of {} is unreadable: {e}",
                        vote.enclave_id
                    ))
                })?;
                enclaves.push(EnclaveInfo {
                    enclave_id: vote.enclave_id.clone(),
                    signing_key: oracle.signing_key,
                    attestation,
                });
            }
        }
        Ok(Receipt {
            version: RECEIPT_VERSION.to_owned(),
            job_id: fr.job_id.clone(),
            consensus_inputs: ConsensusInputs::of(&fr),
            enclave_reports,
            enclaves,
            log: LogProof {
                origin: self.origin().to_owned(),
                log_key: self.verifier_key(),
                entry: LogEntryInfo {
                    index: entry.index,
                    kind: EntryKind::FinalReport,
                    leaf: entry.leaf,
                },
                inclusion_proof: InclusionProof {
                    leaf_index: entry.index,
                    tree_size: checkpoint.size,
                    hashes: hashes.into_iter().map(Sha256Digest).collect(),
                },
                checkpoint: checkpoint.note,
            },
            anchor,
            final_report: fr,
        })
    }

    /// Appends the final reports that are not logged yet; returns how many.
    ///
    /// # Errors
    /// Storage failures.
    pub async fn catch_up(&self) -> Result<usize, ApiError> {
        let missing = self.store.unlogged_final_reports(500).await?;
        for report in &missing {
            self.append_final_report(report).await?;
        }
        Ok(missing.len())
    }
}

/// Appends stored leaf hashes from `tree.size()` up to `until` (exclusive) to `tree`.
async fn extend_from_store(
    store: &dyn LogStore,
    tree: &mut MerkleTree,
    until: u64,
) -> Result<(), ApiError> {
    while tree.size() < until {
        let want = (until - tree.size()).min(10_000) as u32;
        let page = store.leaf_hashes(tree.size(), want).await?;
        if page.is_empty() {
            break;
        }
        for h in page {
            tree.push_leaf_hash(h);
        }
    }
    Ok(())
}

async fn catch_up_loop(
    ledger: Arc<Ledger>,
    _repo: Arc<dyn Repository>,
    shutdown: CancellationToken,
) {
    loop {
        match ledger.catch_up().await {
            Ok(0) => {}
            Ok(n) => info!(
                entries = n,
                "logged final reports that were missing from the log"
            ),
            Err(e) => warn!(error = %e.message, "catching up the transparency log failed"),
        }
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = tokio::time::sleep(Duration::from_secs(30)) => {}
        }
    }
}

struct Writer {
    store: Arc<dyn LogStore>,
    signer: NoteSigner,
    tree: Arc<RwLock<MerkleTree>>,
    latest: watch::Sender<Option<StoredCheckpoint>>,
    config: LedgerConfig,
    last_checkpoint_at: Instant,
}

impl Writer {
    async fn run(mut self, mut requests: mpsc::Receiver<Request>, shutdown: CancellationToken) {
        loop {
            let pending = self.size() > self.checkpoint_size();
            let wait = if pending {
                self.config
                    .checkpoint_interval
                    .saturating_sub(self.last_checkpoint_at.elapsed())
            } else {
                Duration::from_secs(3600)
            };
            let first = tokio::select! {
                _ = shutdown.cancelled() => None,
                r = requests.recv() => r,
                _ = tokio::time::sleep(wait) => {
                    self.maybe_checkpoint().await;
                    continue;
                }
            };
            let Some(first) = first else {
                // Stopping: answer what is queued, then publish what was appended.
                requests.close();
                let mut rest = Vec::new();
                while let Ok(r) = requests.try_recv() {
                    rest.push(r);
                }
                if !rest.is_empty() {
                    self.append_batch(rest).await;
                }
                self.checkpoint_now().await;
                return;
            };
            let mut batch = vec![first];
            while batch.len() < self.config.max_batch {
                match requests.try_recv() {
                    Ok(r) => batch.push(r),
                    Err(_) => break,
                }
            }
            self.append_batch(batch).await;
            self.maybe_checkpoint().await;
        }
    }

    fn size(&self) -> u64 {
        self.tree.read().map_or(0, |t| t.size())
    }

    fn checkpoint_size(&self) -> u64 {
        self.latest.borrow().as_ref().map_or(0, |c| c.size)
    }

    async fn append_batch(&mut self, batch: Vec<Request>) {
        let entries: Vec<NewLogEntry> = batch.iter().map(|r| r.entry.clone()).collect();
        match self.store.append(&entries).await {
            Ok(stored) => {
                let mut resync_to = 0;
                if let Ok(mut tree) = self.tree.write() {
                    for (e, new) in &stored {
                        if *new && e.index == tree.size() {
                            tree.push_leaf_hash(e.leaf_hash);
                        }
                        resync_to = resync_to.max(e.index + 1);
                    }
                }
                if self.size() < resync_to {
                    // Another process appended meanwhile: read the log from the store.
                    let mut fresh = self.tree.read().map(|t| t.clone()).unwrap_or_default();
                    if let Err(e) = extend_from_store(&*self.store, &mut fresh, resync_to).await {
                        warn!(error = %e.message, "re-reading the log failed");
                    } else if let Ok(mut tree) = self.tree.write() {
                        *tree = fresh;
                    }
                }
                for (request, (entry, _)) in batch.into_iter().zip(stored) {
                    let _ = request.reply.send(Ok(entry));
                }
            }
            Err(e) => {
                warn!(error = %e, entries = batch.len(), "appending to the transparency log failed");
                for request in batch {
                    let _ = request
                        .reply
                        .send(Err(ApiError::unavailable(format!("transparency log: {e}"))));
                }
            }
        }
    }

    async fn maybe_checkpoint(&mut self) {
        let (size, last) = (self.size(), self.checkpoint_size());
        if size > last
            && (size - last >= self.config.checkpoint_entries
                || self.last_checkpoint_at.elapsed() >= self.config.checkpoint_interval)
        {
            self.checkpoint_now().await;
        }
    }

    async fn checkpoint_now(&mut self) {
        let size = self.size();
        if size <= self.checkpoint_size() {
            return;
        }
        let Ok(root) = self.tree.read().map(|t| t.root()) else {
            return;
        };
        let body = Checkpoint {
            origin: self.signer.name().to_owned(),
            size,
            root,
            extensions: Vec::new(),
        };
        let note = match body.sign(&self.signer) {
            Ok(n) => n,
            Err(e) => {
                warn!(error = %e, "signing a checkpoint failed");
                return;
            }
        };
        let stored = StoredCheckpoint {
            size,
            root,
            note,
            created_ms: verity_store::now_ms(),
        };
        match self.store.save_checkpoint(&stored).await {
            Ok(()) => {
                self.last_checkpoint_at = Instant::now();
                metrics::gauge!(LOG_SIZE_METRIC).set(size as f64);
                self.latest.send_replace(Some(stored));
            }
            Err(e) => warn!(error = %e, size, "storing a checkpoint failed"),
        }
    }
}

#[cfg(all(test, unix))]
mod key_file_tests {
    use std::os::unix::fs::PermissionsExt;

    use super::load_or_create_log_key;

    #[test]
    fn the_log_key_is_written_0600_and_refused_when_others_can_read_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("keys/log.key");
        let created = load_or_create_log_key(&path, "verity.local/log").unwrap();
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        let loaded = load_or_create_log_key(&path, "verity.local/log").unwrap();
        assert_eq!(created.to_skey(), loaded.to_skey());
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        let refused = load_or_create_log_key(&path, "verity.local/log")
            .err()
            .unwrap();
        assert!(refused.contains("chmod 600"), "{refused}");
    }
}
