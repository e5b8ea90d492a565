//! Wiring: the runtime that `verity serve` and `verity check` run.
//!
//! [`Role::All`] (embedded): one process with the database, queue and blob
//! store chosen by URL (SQLite and local files by default), the aggregator
//! (with the deadline sweeper), and one enclave worker task per enclave
//! identity, each with its own key file. [`Role::Api`]: the same without
//! workers; enclaves are separate `verity worker` processes that register
//! over HTTP.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tracing::{info, warn};
use verity_core::{AttestationKind, EnclaveId, JobId, SignedReport};
use verity_crypto::{AggregatorKey, Attestation, DevAttestation, EnclaveKeys};
use verity_enclave::{
    EnclaveIdentity, EnclaveWorker, ReportSink, SinkError, SubmitOutcome, WorkerSettings,
};
use verity_store::select::{BlobUrl, DbUrl, OpenedDb, QueueUrl, open_blobs, open_db, open_queue};
use verity_store::{JobQueue, JobRecord, QueuePolicy, Repository, StoreError, now_ms};

use crate::aggregator::Aggregator;
use crate::error::ApiError;
use crate::events::EventBus;
use crate::http::{AppState, router};
use crate::settings::NodeSettings;
use crate::uploads::UploadService;

/// Why the node could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// Storage could not be opened.
    #[error("storage: {0}")]
    Store(#[from] StoreError),
    /// One storage setting could not be opened; names the setting.
    #[error("{setting}: {source}")]
    Setting {
        /// The setting, e.g. `VERITY_DB (--db)`.
        setting: &'static str,
        /// Why.
        source: StoreError,
    },
    /// A key could not be loaded or created.
    #[error("keys: {0}")]
    Crypto(#[from] verity_crypto::CryptoError),
    /// Something else in the configuration.
    #[error("{0}")]
    Config(String),
}

/// What a `verity serve` process runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// API, aggregator and the enclave workers (embedded).
    All,
    /// API and aggregator only; workers are `verity worker` processes.
    Api,
}

/// Configuration of the runtime.
#[derive(Debug, Clone)]
pub struct EmbeddedConfig {
    /// Where keys live (and, by default, the database and blobs).
    pub data_dir: PathBuf,
    /// The database (`VERITY_DB`).
    pub db: DbUrl,
    /// The queue (`VERITY_QUEUE`).
    pub queue: QueueUrl,
    /// The blob store (`VERITY_BLOBS`).
    pub blobs: BlobUrl,
    /// With or without local workers.
    pub role: Role,
    /// Enclave identities run in this process (`enclave-1` …).
    pub enclaves: u32,
    /// Enclaves registered but not run (fault simulation: they never report).
    pub offline_enclaves: Vec<EnclaveId>,
    /// Service settings.
    pub settings: NodeSettings,
    /// Fsync every SQLite commit (power-loss durability).
    pub full_sync: bool,
    /// Fsync blob files before acknowledging uploads.
    pub sync_blobs: bool,
    /// Queue leases and retries.
    pub queue_policy: QueuePolicy,
    /// Tasks each enclave worker runs at once.
    pub worker_concurrency: usize,
    /// The transparency log.
    pub ledger: crate::ledger::LedgerConfig,
    /// Attestation kinds accepted, PCR allow-list, freshness and expiry.
    pub attestation: crate::attest::AttestationConfig,
    /// Disputes, stake economy and the admin token.
    pub disputes: crate::disputes::DisputeSettings,
    /// Byzantine simulation per embedded enclave (tests and demos only).
    pub byzantine: Vec<(EnclaveId, verity_enclave::Byzantine)>,
    /// Detection configuration file (`VERITY_DETECT_CONFIG`); `None`: the
    /// built-in defaults, which need no files.
    pub detect_config: Option<PathBuf>,
    /// Where published checkpoints are anchored (`--anchor`); `None`: nowhere.
    pub anchor: Option<Arc<dyn verity_anchor::ChainAnchor>>,
}

impl EmbeddedConfig {
    /// Defaults for `data_dir`.
    pub fn new(data_dir: impl Into<PathBuf>) -> Self {
        let data_dir = data_dir.into();
        EmbeddedConfig {
            db: DbUrl::Sqlite(data_dir.join("verity.db")),
            queue: QueueUrl::Sqlite,
            blobs: BlobUrl::File(data_dir.join("blobs")),
            role: Role::All,
            data_dir,
            enclaves: 3,
            offline_enclaves: Vec::new(),
            settings: NodeSettings::default(),
            full_sync: false,
            sync_blobs: true,
            queue_policy: QueuePolicy::default(),
            worker_concurrency: 4,
            ledger: crate::ledger::LedgerConfig::default(),
            attestation: crate::attest::AttestationConfig::default(),
            disputes: crate::disputes::DisputeSettings::default(),
            byzantine: Vec::new(),
            detect_config: None,
            anchor: None,
        }
    }
}

/// A running node: services, background tasks and workers.
pub struct Node {
    /// Shared state of the HTTP handlers (and of `verity check`).
    pub state: AppState,
    shutdown: CancellationToken,
    tasks: Vec<JoinHandle<()>>,
    db: Option<OpenedDb>,
}

/// Delivers reports straight to the aggregator in the same process.
struct InProcessSink(Arc<Aggregator>);

#[async_trait]
impl ReportSink for InProcessSink {
    async fn started(&self, job: &JobId, round: u32, enclave: &EnclaveId) -> Result<(), SinkError> {
        self.0
            .started(job, round, enclave)
            .await
            .map_err(to_sink_error)
    }

    async fn submit(&self, report: &SignedReport) -> Result<SubmitOutcome, SinkError> {
        self.0.submit(report).await.map_err(to_sink_error)
    }
}

fn to_sink_error(e: ApiError) -> SinkError {
    if e.status.is_client_error() {
        SinkError::Refused(format!("{}: {}", e.code, e.message))
    } else {
        SinkError::Unavailable(e.message)
    }
}

/// Worker names of embedded enclaves start with this (then the process id).
const EMBEDDED_WORKER_PREFIX: &str = "embedded-";

/// After a restart: open rounds get a fresh deadline (downtime is not the
/// enclaves' fault) and, when this process runs the enclaves, leases left by
/// the previous process's workers are given back at once instead of expiring.
async fn recover_after_restart(
    repo: &dyn Repository,
    queue: &dyn JobQueue,
    config: &EmbeddedConfig,
    worker_name: &str,
    local: bool,
) -> Result<(), StartError> {
    let deadline = now_ms() + config.settings.round_timeout.as_millis() as u64;
    let extended = repo.extend_open_deadlines(deadline).await?;
    let released = if local {
        queue
            .release_stale_leases(EMBEDDED_WORKER_PREFIX, worker_name)
            .await?
    } else {
        0
    };
    if extended + released > 0 {
        info!(extended, released, "recovered open rounds after a restart");
    }
    Ok(())
}

/// The id of the `n`th embedded enclave (1-based).
pub fn embedded_enclave_id(n: u32) -> EnclaveId {
    format!("enclave-{n}")
        .parse()
        .expect("enclave-N is a valid id")
}

impl Node {
    /// Opens storage, registers the enclaves and starts workers and the sweeper.
    ///
    /// # Errors
    /// Storage or key files that cannot be opened.
    pub async fn start_embedded(config: EmbeddedConfig) -> Result<Node, StartError> {
        let setting = |setting: &'static str| {
            move |source: StoreError| StartError::Setting { setting, source }
        };
        let db = open_db(&config.db, config.full_sync)
            .await
            .map_err(setting("VERITY_DB (--db)"))?;
        let repo = db.repo.clone();
        let queue = open_queue(&config.queue, config.queue_policy, db.sqlite.as_ref())
            .await
            .map_err(setting("VERITY_QUEUE (--queue)"))?;
        let blobs = open_blobs(&config.blobs, config.sync_blobs)
            .await
            .map_err(setting("VERITY_BLOBS (--blobs)"))?;
        let keys_dir = config.data_dir.join("keys");
        let aggregator_key = AggregatorKey::load_or_create(&keys_dir.join("aggregator.key"))?;

        let local = config.role == Role::All;
        let worker_name = format!("{EMBEDDED_WORKER_PREFIX}{}", std::process::id());
        recover_after_restart(&*repo, &*queue, &config, &worker_name, local).await?;
        let ids: Vec<EnclaveId> = if local {
            (1..=config.enclaves).map(embedded_enclave_id).collect()
        } else {
            Vec::new()
        };
        if !ids.is_empty() && config.attestation.mode == crate::attest::AttestationMode::Nitro {
            return Err(StartError::Config(
                "VERITY_ATTESTATION=nitro: embedded enclaves can only make dev attestations; \
                 run the API with --role api and workers inside Nitro enclaves"
                    .into(),
            ));
        }
        let attest = Arc::new(
            crate::attest::AttestationService::new(
                config.attestation.clone(),
                repo.clone(),
                db.attestations.clone(),
                config.settings.oracle_stake,
                config.settings.oracle_reputation,
            )
            .map_err(|e| StartError::Config(e.to_string()))?,
        );
        let mut identities = Vec::new();
        for id in &ids {
            let identity = load_identity(&keys_dir, id)?;
            register(&attest, &identity).await?;
            identities.push(identity);
        }

        let shutdown = CancellationToken::new();
        let log_signer =
            crate::ledger::load_or_create_log_key(&keys_dir.join("log.key"), &config.ledger.origin)
                .map_err(StartError::Config)?;
        let (ledger, ledger_tasks) = crate::ledger::Ledger::start(
            verity_store::log::log_store(&db),
            repo.clone(),
            log_signer,
            config.ledger.clone(),
            shutdown.clone(),
        )
        .await
        .map_err(StartError::Config)?;

        let events = EventBus::new(repo.clone());
        let aggregator = Arc::new(
            Aggregator::new(
                repo.clone(),
                aggregator_key,
                config.settings.clone(),
                events.clone(),
            )
            .with_attestation(attest.clone()),
        );
        aggregator.attach_ledger(ledger.clone());
        let uploads = Arc::new(UploadService::new(
            repo.clone(),
            queue.clone(),
            blobs.clone(),
            config.settings.clone(),
            events.clone(),
            local.then(|| ids.clone()),
        ));
        let disputes = Arc::new(crate::disputes::DisputeService::new(
            repo.clone(),
            verity_store::open_disputes(&db),
            queue.clone(),
            uploads.clone(),
            config.settings.clone(),
            config.disputes.clone(),
            events.clone(),
        ));
        aggregator.observe(disputes.clone());
        let state = AppState {
            uploads: uploads.clone(),
            aggregator: aggregator.clone(),
            disputes: disputes.clone(),
            repo: repo.clone(),
            queue: queue.clone(),
            blobs: blobs.clone(),
            events,
            settings: config.settings.clone(),
            ledger,
            metrics: crate::metrics::install(),
            attest: attest.clone(),
        };

        let mut tasks = ledger_tasks;
        if let Some(chain) = config.anchor.clone() {
            let task = crate::anchoring::run(state.ledger.clone(), chain, shutdown.clone());
            tasks.push(tokio::spawn(task));
        }
        tasks.extend([tokio::spawn(sweep(
            aggregator.clone(),
            config.settings.sweep_every,
            shutdown.clone(),
        ))]);
        if !identities.is_empty() {
            tasks.push(tokio::spawn(renew_embedded(
                attest.clone(),
                keys_dir.clone(),
                identities.iter().map(|i| i.id.clone()).collect(),
                shutdown.clone(),
            )));
        }
        tasks.push(tokio::spawn(disputes.clone().run(shutdown.clone())));
        // Detectors (models, trust anchors, index) load once; each enclave
        // gets its own ensemble from them (per-enclave overrides apply).
        let catalog =
            verity_detect::config::DetectConfig::load_or_default(config.detect_config.as_deref())
                .and_then(|c| c.instantiate())
                .map_err(|e| StartError::Config(format!("VERITY_DETECT_CONFIG: {e}")))?;
        let sink: Arc<dyn ReportSink> = Arc::new(InProcessSink(aggregator));
        for identity in identities {
            if config.offline_enclaves.contains(&identity.id) {
                warn!(enclave = %identity.id, "enclave registered but offline (fault simulation)");
                continue;
            }
            let byzantine = config
                .byzantine
                .iter()
                .find(|(id, _)| *id == identity.id)
                .map(|(_, b)| *b);
            if let Some(b) = byzantine {
                warn!(enclave = %identity.id, behaviour = ?b, "BYZANTINE SIMULATION: this enclave misbehaves on purpose (test/demo only)");
            }
            let ensemble = Arc::new(catalog.ensemble_for(identity.id.as_str()));
            let worker = Arc::new(EnclaveWorker::new(
                Arc::new(identity),
                ensemble,
                queue.clone(),
                blobs.clone(),
                sink.clone(),
                WorkerSettings {
                    worker_name: worker_name.clone(),
                    concurrency: config.worker_concurrency,
                    heartbeat: config.queue_policy.lease / 3,
                    byzantine,
                    ..WorkerSettings::default()
                },
            ));
            tasks.push(tokio::spawn(worker.run(shutdown.clone())));
        }
        // Re-verification rounds first: they carry evidence the generic re-publishing lacks.
        disputes
            .republish_open()
            .await
            .map_err(|e| StartError::Config(e.message))?;
        let republished = uploads
            .republish_open()
            .await
            .map_err(|e| StartError::Config(e.message))?;
        if republished > 0 {
            info!(republished, "re-queued deliveries of open jobs");
        }
        Ok(Node {
            state,
            shutdown,
            tasks,
            db: Some(db),
        })
    }

    /// Serves HTTP on `listener` until [`Self::shutdown_token`] is cancelled;
    /// in-flight requests are drained.
    ///
    /// # Errors
    /// The server's I/O error.
    pub async fn serve(&self, listener: TcpListener) -> std::io::Result<()> {
        crate::http::server::serve(
            listener,
            router(self.state.clone()),
            &self.state.settings.http,
            self.shutdown.clone(),
        )
        .await
    }

    /// Cancel this to stop serving and stop the workers.
    pub fn shutdown_token(&self) -> CancellationToken {
        self.shutdown.clone()
    }

    /// Stops workers (letting in-flight tasks finish) and closes storage.
    pub async fn shutdown(mut self) {
        self.shutdown.cancel();
        for task in self.tasks.drain(..) {
            let _ = task.await;
        }
        if let Some(db) = self.db.take() {
            db.close().await;
        }
    }

    /// Waits until `job`'s current round is decided, or `timeout` passes.
    ///
    /// # Errors
    /// Storage failures.
    pub async fn wait_for_decision(
        &self,
        job: &JobId,
        timeout: Duration,
    ) -> Result<Option<JobRecord>, StoreError> {
        let deadline = tokio::time::Instant::now() + timeout;
        let mut announcements = self.state.events.subscribe();
        loop {
            if let Some(record) = self
                .state
                .repo
                .job(job)
                .await?
                .filter(|r| !r.status.is_open())
            {
                return Ok(Some(record));
            }
            let wake = tokio::time::timeout(Duration::from_millis(500), announcements.recv());
            if tokio::time::timeout_at(deadline, wake).await.is_err() {
                return Ok(None);
            }
        }
    }
}

fn load_identity(keys_dir: &Path, id: &EnclaveId) -> Result<EnclaveIdentity, StartError> {
    let keys = EnclaveKeys::load_or_create(&keys_dir.join(format!("{id}.key")))?;
    Ok(EnclaveIdentity {
        id: id.clone(),
        keys,
        attestation: AttestationKind::DevInsecure,
    })
}

/// Registers an embedded enclave in-process with a fresh `dev` attestation.
async fn register(
    attest: &crate::attest::AttestationService,
    identity: &EnclaveIdentity,
) -> Result<(), StartError> {
    let attestation = Attestation::Dev(DevAttestation::issue(
        &identity.id,
        &identity.keys,
        now_ms(),
    ));
    attest
        .register(&identity.id, &attestation)
        .await
        .map_err(|e| StartError::Config(format!("registering {}: {}", identity.id, e.message)))?;
    Ok(())
}

/// Renews the embedded enclaves' registrations at half their lifetime.
async fn renew_embedded(
    attest: Arc<crate::attest::AttestationService>,
    keys_dir: PathBuf,
    enclaves: Vec<EnclaveId>,
    shutdown: CancellationToken,
) {
    let every = (attest.config().ttl / 2).max(Duration::from_secs(1));
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = tokio::time::sleep(every) => {}
        }
        for id in &enclaves {
            match load_identity(&keys_dir, id) {
                Ok(identity) => {
                    if let Err(e) = register(&attest, &identity).await {
                        warn!(enclave = %id, error = %e, "renewing the attestation failed");
                    }
                }
                Err(e) => warn!(enclave = %id, error = %e, "renewing the attestation failed"),
            }
        }
    }
}

async fn sweep(aggregator: Arc<Aggregator>, every: Duration, shutdown: CancellationToken) {
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = tokio::time::sleep(every) => {}
        }
        if let Err(e) = aggregator.sweep_overdue().await {
            warn!(error = %e.message, "deadline sweep failed");
        }
    }
}
