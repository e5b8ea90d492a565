//! Command-line arguments, each with its environment fallback (DESIGN.md §7).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Result, bail};
use clap::builder::BoolishValueParser;
use clap::{ArgAction, Args, Parser, Subcommand, ValueEnum};
use verity_core::{ConsensusRule, EnclaveId};
use verity_detect::MediaLimits;
use verity_node::{EmbeddedConfig, NodeSettings, Role};
use verity_store::QueuePolicy;
use verity_store::select::{BlobUrl, DbUrl, QueueUrl};

/// Verity: is this image a real capture or AI-generated — and can you prove it?
#[derive(Debug, Parser)]
#[command(name = "verity", version, about)]
pub struct Cli {
    /// Log format: `text` or `json` (filter with RUST_LOG).
    #[arg(long, env = "VERITY_LOG_FORMAT", default_value = "text", global = true)]
    pub log_format: String,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run Verity: API, web UI, aggregator and enclave workers in one process
    /// (or, with --role api, without workers).
    Serve(Box<ServeArgs>),
    /// Run one enclave identity's worker process for a `serve --role api` cluster.
    Worker(WorkerArgs),
    /// Check images in-process (the full pipeline, no server) and print verdicts.
    Check(CheckArgs),
    /// Upload an image to a running server; with --wait, follow it to the verdict.
    Submit(SubmitArgs),
    /// List the oracles of a running server.
    Oracles(OraclesArgs),
    /// Check a receipt offline: signatures, consensus, image, log inclusion, checkpoint.
    Verify(crate::ledger_args::VerifyArgs),
    /// Dispute a verdict on a running server: upload evidence, post the bond,
    /// and (with --wait) follow the re-verification to its outcome.
    Dispute(DisputeCmdArgs),
    /// Manage the local reverse-search index (perceptual hashes).
    Index(crate::index::IndexArgs),
    /// Evaluate the detection ensemble on a labelled set.
    Eval(crate::eval::EvalArgs),
}

impl Command {
    /// Commands whose output is the point keep logs to warnings.
    pub fn is_quiet(&self) -> bool {
        !matches!(self, Command::Serve(_) | Command::Worker(_))
    }
}

/// `verity serve`.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address to listen on.
    #[arg(long, env = "VERITY_ADDR", default_value = "127.0.0.1:3001")]
    pub addr: SocketAddr,
    /// `all`: API and enclave workers in one process; `api`: API and
    /// aggregator only, workers run as `verity worker`.
    #[arg(long, env = "VERITY_ROLE", value_enum, default_value = "all")]
    pub role: RoleArg,
    /// Pipeline settings.
    #[command(flatten)]
    pub node: NodeArgs,
    /// Enclave attestation settings.
    #[command(flatten)]
    pub attest: crate::attest_args::AttestationArgs,
    /// Anchoring checkpoints on a chain (boxed: many rarely-set options).
    #[command(flatten)]
    pub anchor: Box<crate::anchor_args::AnchorArgs>,
    /// HTTP request limits.
    #[command(flatten)]
    pub limits: crate::limit_args::LimitArgs,
}

/// `--role`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum RoleArg {
    /// Everything in one process.
    All,
    /// API and aggregator only.
    Api,
}

/// `verity worker`.
#[derive(Debug, Args)]
pub struct WorkerArgs {
    /// The enclave identity this process works for (several processes may share one).
    #[arg(long, env = "VERITY_ENCLAVE_ID")]
    pub enclave_id: String,
    /// Base URL of the `verity serve --role api` process.
    #[arg(long, env = "VERITY_API", default_value = "http://127.0.0.1:3001")]
    pub api: String,
    /// The identity's key file (created with mode 0600 when absent;
    /// default DATA_DIR/keys/ENCLAVE_ID.key).
    #[arg(long, env = "VERITY_KEY_FILE")]
    pub key_file: Option<PathBuf>,
    /// Data directory (for the default key file).
    #[arg(long, env = "VERITY_DATA_DIR", default_value = "verity-data")]
    pub data_dir: PathBuf,
    /// Queue URL: `redis://…` or `postgres://…` (the API's).
    #[arg(long = "queue", env = "VERITY_QUEUE", hide_env_values = true)]
    pub queue: Option<crate::secret_arg::UrlArg>,
    /// Blob store URL (the API's): `s3://…`, `walrus+https://…` or a shared `file://DIR`.
    #[arg(long = "blobs", env = "VERITY_BLOBS")]
    pub blobs: Option<String>,
    /// Detection configuration (TOML; default: built-in detectors, no files needed).
    #[arg(long, env = "VERITY_DETECT_CONFIG")]
    pub detect_config: Option<PathBuf>,
    /// How this worker attests its keys: `dev` (self-signed, insecure) or
    /// `nitro` (a document from the Nitro Secure Module; inside an AWS Nitro enclave only).
    #[arg(long, env = "VERITY_WORKER_ATTESTATION", value_enum, default_value_t = WorkerAttestation::Dev)]
    pub attestation: WorkerAttestation,
    /// The Nitro Secure Module device (`--attestation nitro`).
    #[arg(long, env = "VERITY_NSM_DEVICE", default_value = crate::nsm::NSM_DEVICE)]
    pub nsm_device: PathBuf,
    /// Tasks worked on at once.
    #[arg(long, env = "VERITY_WORKER_CONCURRENCY", default_value_t = 2, value_parser = clap::value_parser!(u32).range(1..=64))]
    pub concurrency: u32,
    /// Queue lease (a crashed worker's task is taken over after this long;
    /// renewed every third of it while the task runs; keep it well under the round timeout).
    #[arg(long, env = "VERITY_LEASE", default_value = "10s", value_parser = humantime::parse_duration)]
    pub lease: Duration,
    /// On SIGTERM, how long in-flight tasks may finish before their leases are released.
    #[arg(long, env = "VERITY_DRAIN", default_value = "20s", value_parser = humantime::parse_duration)]
    pub drain: Duration,
    /// Fault injection for tests: `garbage-report` (reports with a broken
    /// signature) or `slow:DURATION` (a pause before each report).
    #[arg(long, env = "VERITY_WORKER_FAULT", hide = true)]
    pub fault: Option<String>,
    /// TEST/DEMO ONLY: the Byzantine simulation, as for `verity serve`
    /// (`ID:lie` or `ID:equivocate`); this worker misbehaves when its id is listed.
    #[arg(
        long,
        env = "VERITY_BYZANTINE_ENCLAVES",
        value_delimiter = ',',
        hide = true
    )]
    pub byzantine_enclaves: Vec<String>,
}

/// `verity worker --attestation`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum WorkerAttestation {
    /// A self-signed development statement (`dev-insecure`).
    Dev,
    /// An AWS Nitro attestation document from `/dev/nsm`.
    Nitro,
}

/// `verity check`.
#[derive(Debug, Args)]
pub struct CheckArgs {
    /// Images to check.
    #[arg(required = true)]
    pub images: Vec<PathBuf>,
    /// Print one JSON document instead of text.
    #[arg(long)]
    pub json: bool,
    /// Pipeline settings (the data directory defaults to a temporary one).
    #[command(flatten)]
    pub node: NodeArgs,
}

/// `verity submit`.
#[derive(Debug, Args)]
pub struct SubmitArgs {
    /// The image to upload.
    pub image: PathBuf,
    /// Server base URL.
    #[arg(long, env = "VERITY_SERVER", default_value = "http://127.0.0.1:3001")]
    pub server: String,
    /// Follow the job to its verdict with a progress bar.
    #[arg(long)]
    pub wait: bool,
    /// Optional `userId` sent with the upload.
    #[arg(long)]
    pub user_id: Option<String>,
    /// Print the final job as JSON.
    #[arg(long)]
    pub json: bool,
}

/// `verity oracles`.
#[derive(Debug, Args)]
pub struct OraclesArgs {
    /// Server base URL.
    #[arg(long, env = "VERITY_SERVER", default_value = "http://127.0.0.1:3001")]
    pub server: String,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

/// `verity dispute`.
#[derive(Debug, Args)]
pub struct DisputeCmdArgs {
    /// The job to dispute.
    pub job: String,
    /// An evidence file to upload (its id becomes the `evidenceCID`).
    #[arg(long)]
    pub evidence: Option<PathBuf>,
    /// An evidence id instead of a file (uploaded earlier, or external).
    #[arg(long)]
    pub evidence_cid: Option<String>,
    /// Why the verdict is wrong.
    #[arg(long)]
    pub reason: String,
    /// The challenger's Sui address (`0x` + 1–64 hex digits).
    #[arg(long, env = "VERITY_CHALLENGER")]
    pub challenger: String,
    /// Server base URL.
    #[arg(long, env = "VERITY_SERVER", default_value = "http://127.0.0.1:3001")]
    pub server: String,
    /// Follow the dispute to its outcome.
    #[arg(long)]
    pub wait: bool,
    /// How long --wait waits.
    #[arg(long, default_value = "5m", value_parser = humantime::parse_duration)]
    pub timeout: Duration,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

/// SQLite durability.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SqliteSync {
    /// Survives a process crash (WAL, synchronous=NORMAL).
    Normal,
    /// Also survives power loss (an fsync per commit).
    Full,
}

/// Settings shared by `serve` and `check`.
#[derive(Debug, Args)]
pub struct NodeArgs {
    /// Data directory (database, blobs, keys).
    #[arg(long, env = "VERITY_DATA_DIR")]
    pub data_dir: Option<PathBuf>,
    /// Detection configuration (TOML; default: built-in detectors, no files needed).
    #[arg(long, env = "VERITY_DETECT_CONFIG")]
    pub detect_config: Option<PathBuf>,
    /// Database URL; `sqlite://PATH` (default: DATA_DIR/verity.db).
    #[arg(long = "db", env = "VERITY_DB", hide_env_values = true)]
    pub db: Option<crate::secret_arg::UrlArg>,
    /// Queue URL; `sqlite://` (the database's own queue, default).
    #[arg(long = "queue", env = "VERITY_QUEUE", hide_env_values = true)]
    pub queue: Option<crate::secret_arg::UrlArg>,
    /// Blob store URL; `file://DIR` (default: DATA_DIR/blobs).
    #[arg(long = "blobs", env = "VERITY_BLOBS")]
    pub blobs: Option<String>,
    /// Run several enclaves (false: one enclave, development mode).
    #[arg(long, env = "USE_MULTI_WORKER", default_value = "true", action = ArgAction::Set, value_parser = BoolishValueParser::new())]
    pub use_multi_worker: bool,
    /// Number of enclave workers (and committee size).
    #[arg(long, env = "NUM_ENCLAVE_WORKERS", default_value_t = 3, value_parser = clap::value_parser!(u32).range(1..=64))]
    pub num_enclave_workers: u32,
    /// Counted reports needed for a consensus (default: 2, or 1 with a single enclave).
    #[arg(long, env = "MIN_ENCLAVES", value_parser = clap::value_parser!(u32).range(1..=64))]
    pub min_enclaves: Option<u32>,
    /// Share of weight the winning verdict needs, in (0, 1].
    #[arg(long, env = "CONSENSUS_THRESHOLD", default_value_t = 0.66, value_parser = fraction_open)]
    pub consensus_threshold: f64,
    /// Reputation of a newly registered oracle, in [0, 1].
    #[arg(long, env = "ORACLE_REPUTATION", default_value_t = 0.8, value_parser = fraction_closed)]
    pub oracle_reputation: f64,
    /// Stake of a newly registered oracle.
    #[arg(long, env = "ORACLE_STAKE", default_value_t = 1000)]
    pub oracle_stake: u64,
    /// How long a round waits for enclave reports (e.g. `30s`).
    #[arg(long, env = "VERITY_ROUND_TIMEOUT", default_value = "30s", value_parser = humantime::parse_duration)]
    pub round_timeout: Duration,
    /// Largest accepted upload, in bytes.
    #[arg(long, env = "VERITY_MAX_UPLOAD_BYTES", default_value_t = 25 * 1024 * 1024, value_parser = clap::value_parser!(u64).range(1..=1024 * 1024 * 1024))]
    pub max_upload_bytes: u64,
    /// Largest accepted width × height.
    #[arg(long, env = "VERITY_MAX_PIXELS", default_value_t = 50_000_000, value_parser = clap::value_parser!(u64).range(1..))]
    pub max_pixels: u64,
    /// Largest accepted width or height.
    #[arg(long, env = "VERITY_MAX_SIDE", default_value_t = 16_384, value_parser = clap::value_parser!(u32).range(1..))]
    pub max_side: u32,
    /// Enclaves to register but not run (fault simulation), comma-separated.
    #[arg(long, env = "VERITY_OFFLINE_ENCLAVES", value_delimiter = ',')]
    pub offline_enclaves: Vec<String>,
    /// SQLite durability.
    #[arg(long, env = "VERITY_SQLITE_SYNC", value_enum, default_value = "normal")]
    pub sqlite_sync: SqliteSync,
    /// Tasks each enclave works on at once.
    #[arg(long, env = "VERITY_WORKER_CONCURRENCY", default_value_t = 4, value_parser = clap::value_parser!(u32).range(1..=64))]
    pub worker_concurrency: u32,
    /// Queue lease (a crashed worker's task is taken over after this long;
    /// renewed every third of it while the task runs; keep it well under the round timeout).
    #[arg(long, env = "VERITY_LEASE", default_value = "10s", value_parser = humantime::parse_duration)]
    pub lease: Duration,
    /// The transparency log.
    #[command(flatten)]
    pub ledger: crate::ledger_args::LedgerArgs,
    /// Disputes and the stake economy.
    #[command(flatten)]
    pub disputes: DisputeArgs,
}

/// Dispute, slashing and ban settings (docs/DISPUTES.md).
#[derive(Debug, Args)]
pub struct DisputeArgs {
    /// Enclaves run in this process when more should be registered than a
    /// committee uses (default: NUM_ENCLAVE_WORKERS).
    #[arg(long, env = "VERITY_EMBEDDED_ENCLAVES", value_parser = clap::value_parser!(u32).range(1..=64))]
    pub embedded_enclaves: Option<u32>,
    /// TEST/DEMO ONLY: embedded enclaves that misbehave on purpose, as
    /// `ID:lie` or `ID:equivocate`, comma-separated (Byzantine simulation).
    #[arg(long, env = "VERITY_BYZANTINE_ENCLAVES", value_delimiter = ',')]
    pub byzantine_enclaves: Vec<String>,
    /// Bond a challenger posts with a dispute.
    #[arg(long, env = "VERITY_DISPUTE_BOND", default_value_t = 100)]
    pub dispute_bond: u64,
    /// Share of an oracle's stake one slash takes, in [0, 1].
    #[arg(long, env = "VERITY_SLASH_FRACTION", default_value_t = 0.1, value_parser = fraction_closed)]
    pub slash_fraction: f64,
    /// Share of the slashed stake paid to a successful challenger, in [0, 1].
    #[arg(long, env = "VERITY_DISPUTE_REWARD", default_value_t = 0.5, value_parser = fraction_closed)]
    pub dispute_reward: f64,
    /// How long after its verdict a job may be disputed (and after which its
    /// reports count towards reputation).
    #[arg(long, env = "VERITY_DISPUTE_WINDOW", default_value = "24h", value_parser = humantime::parse_duration)]
    pub dispute_window: Duration,
    /// Slashes within VERITY_BAN_WINDOW that ban an oracle (0: never automatically).
    #[arg(long, env = "VERITY_BAN_AFTER_SLASHES", default_value_t = 3)]
    pub ban_after_slashes: u32,
    /// The window automatic bans count slashes in.
    #[arg(long, env = "VERITY_BAN_WINDOW", default_value = "30d", value_parser = humantime::parse_duration)]
    pub ban_window: Duration,
    /// Bearer token of the admin API (`/api/admin/…`); unset disables it.
    #[arg(long, env = "VERITY_ADMIN_TOKEN", hide_env_values = true)]
    pub admin_token: Option<crate::secret_arg::SecretArg>,
}

impl DisputeArgs {
    /// The node's dispute settings.
    ///
    /// # Errors
    /// A message naming the offending setting.
    pub fn settings(&self) -> Result<verity_node::DisputeSettings> {
        use verity_core::dispute::{BanPolicy, DisputePolicy};
        if self.admin_token.as_deref().is_some_and(|t| t.len() < 16) {
            bail!("VERITY_ADMIN_TOKEN (--admin-token): use at least 16 characters");
        }
        let ms = |d: Duration| u64::try_from(d.as_millis()).unwrap_or(u64::MAX);
        Ok(verity_node::DisputeSettings {
            policy: DisputePolicy {
                bond: self.dispute_bond,
                slash_bps: (self.slash_fraction * 10_000.0).round() as u16,
                reward_bps: (self.dispute_reward * 10_000.0).round() as u16,
                window_ms: ms(self.dispute_window),
                ban: BanPolicy {
                    after_slashes: self.ban_after_slashes,
                    window_ms: ms(self.ban_window),
                },
                ..DisputePolicy::default()
            },
            admin_token: self
                .admin_token
                .as_deref()
                .filter(|t| !t.is_empty())
                .map(str::to_owned),
            ..verity_node::DisputeSettings::default()
        })
    }

    /// The Byzantine simulation's enclaves.
    ///
    /// # Errors
    /// A malformed entry, naming the setting.
    pub fn byzantine(&self) -> Result<Vec<(EnclaveId, verity_enclave::Byzantine)>> {
        parse_byzantine(&self.byzantine_enclaves)
    }
}

/// Parses `VERITY_BYZANTINE_ENCLAVES` entries (`ID:lie`, `ID:equivocate`; bare `ID` lies).
///
/// # Errors
/// A malformed entry, naming the setting.
pub fn parse_byzantine(entries: &[String]) -> Result<Vec<(EnclaveId, verity_enclave::Byzantine)>> {
    entries
        .iter()
        .filter(|s| !s.is_empty())
        .map(|s| {
            let (id, how) = s.split_once(':').unwrap_or((s, "lie"));
            let id = id
                .parse::<EnclaveId>()
                .map_err(|e| anyhow::anyhow!("VERITY_BYZANTINE_ENCLAVES: {e}"))?;
            let how = how
                .parse()
                .map_err(|e| anyhow::anyhow!("VERITY_BYZANTINE_ENCLAVES: {e}"))?;
            Ok((id, how))
        })
        .collect()
}

fn fraction_open(s: &str) -> Result<f64, String> {
    let x: f64 = s.parse().map_err(|_| format!("{s:?} is not a number"))?;
    if x > 0.0 && x <= 1.0 {
        Ok(x)
    } else {
        Err(format!("{x} is outside (0, 1]"))
    }
}

fn fraction_closed(s: &str) -> Result<f64, String> {
    let x: f64 = s.parse().map_err(|_| format!("{s:?} is not a number"))?;
    if (0.0..=1.0).contains(&x) {
        Ok(x)
    } else {
        Err(format!("{x} is outside [0, 1]"))
    }
}

impl NodeArgs {
    /// Validates cross-setting rules and builds the embedded configuration.
    ///
    /// # Errors
    /// A message naming the offending setting.
    pub fn embedded_config(&self, data_dir: PathBuf) -> Result<EmbeddedConfig> {
        let committee = if self.use_multi_worker {
            self.num_enclave_workers
        } else {
            1
        };
        let enclaves = match self.disputes.embedded_enclaves {
            Some(n) if self.use_multi_worker => n,
            _ => committee,
        };
        let min_enclaves = self.min_enclaves.unwrap_or(2.min(enclaves));
        if min_enclaves > enclaves {
            bail!(
                "MIN_ENCLAVES ({min_enclaves}) is larger than the number of enclaves ({enclaves}{})",
                if self.use_multi_worker {
                    ", NUM_ENCLAVE_WORKERS"
                } else {
                    ": USE_MULTI_WORKER=false runs one"
                }
            );
        }
        let rule = ConsensusRule::new(self.consensus_threshold, min_enclaves)
            .map_err(|e| anyhow::anyhow!("CONSENSUS_THRESHOLD / MIN_ENCLAVES: {e}"))?;
        let db = DbUrl::parse(self.db.as_deref(), &data_dir.join("verity.db"))
            .map_err(|e| anyhow::anyhow!("VERITY_DB (--db): {e}"))?;
        let queue = QueueUrl::parse(self.queue.as_deref())
            .map_err(|e| anyhow::anyhow!("VERITY_QUEUE (--queue): {e}"))?;
        if queue == QueueUrl::Sqlite && !matches!(db, DbUrl::Sqlite(_)) {
            bail!(
                "VERITY_QUEUE (--queue): the SQLite queue lives in the SQLite database; \
                 with VERITY_DB=postgres://… choose redis://… or postgres://…"
            );
        }
        let blobs = BlobUrl::parse(self.blobs.as_deref(), &data_dir.join("blobs"))
            .map_err(|e| anyhow::anyhow!("VERITY_BLOBS (--blobs): {e}"))?;
        let offline = self
            .offline_enclaves
            .iter()
            .filter(|s| !s.is_empty())
            .map(|s| {
                s.parse::<EnclaveId>()
                    .map_err(|e| anyhow::anyhow!("VERITY_OFFLINE_ENCLAVES: {e}"))
            })
            .collect::<Result<Vec<_>>>()?;
        let mut config = EmbeddedConfig::new(data_dir);
        config.db = db;
        config.queue = queue;
        config.blobs = blobs;
        config.queue_policy = queue_policy(self.lease);
        config.enclaves = enclaves;
        config.offline_enclaves = offline;
        config.full_sync = self.sqlite_sync == SqliteSync::Full;
        config.worker_concurrency = self.worker_concurrency as usize;
        config.ledger = self.ledger.config()?;
        config.disputes = self.disputes.settings()?;
        config.byzantine = self.disputes.byzantine()?;
        config.detect_config = self.detect_config.clone();
        config.settings = NodeSettings {
            rule,
            committee_size: committee as usize,
            round_timeout: self.round_timeout,
            limits: MediaLimits {
                max_bytes: usize::try_from(self.max_upload_bytes).unwrap_or(usize::MAX),
                max_pixels: self.max_pixels,
                max_side: self.max_side,
            },
            oracle_stake: self.oracle_stake,
            oracle_reputation: self.oracle_reputation,
            ..NodeSettings::default()
        };
        Ok(config)
    }
}

/// The queue policy with `lease` (at least 1 s; retries back off at most one lease).
pub fn queue_policy(lease: Duration) -> QueuePolicy {
    QueuePolicy {
        lease: lease.max(Duration::from_secs(1)),
        max_backoff: QueuePolicy::default().max_backoff.min(lease),
        ..QueuePolicy::default()
    }
}

impl ServeArgs {
    /// The runtime role.
    pub fn role(&self) -> Role {
        match self.role {
            RoleArg::All => Role::All,
            RoleArg::Api => Role::Api,
        }
    }
}

/// Installs the tracing subscriber (RUST_LOG filter; text or JSON).
pub fn init_tracing(format: &str, quiet: bool) {
    use tracing_subscriber::EnvFilter;
    let default = if quiet {
        "warn"
    } else {
        "info,tower_http=warn,sqlx=warn"
    };
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    if format == "json" {
        builder.json().init();
    } else {
        builder.init();
    }
}
