//! `verity worker`: one enclave identity's worker process.
//!
//! Loads (or creates) the identity's key file, registers its attestation with
//! the API, then leases that identity's tasks from the shared queue, fetches
//! blobs from the shared store and sends signed reports to the API. SIGTERM
//! or SIGINT: stop leasing, let in-flight tasks finish for `--drain`, then
//! release the leases of those still running.

use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use async_trait::async_trait;
use tokio_util::sync::CancellationToken;
use tracing::{info, warn};
use verity_core::{AttestationKind, EnclaveId, JobId, SignedReport};
use verity_crypto::attestation::NitroAttestation;
use verity_crypto::{Attestation, DevAttestation, EnclaveKeys};
use verity_enclave::{
    EnclaveIdentity, EnclaveWorker, HttpSink, ReportSink, SinkError, SubmitOutcome, WorkerSettings,
};
use verity_store::now_ms;
use verity_store::select::{BlobUrl, QueueUrl, open_blobs, open_queue};

use crate::args::{WorkerArgs, WorkerAttestation, queue_policy};
use crate::nsm::Nsm;

/// Runs the worker until a signal.
pub async fn run(args: WorkerArgs) -> Result<()> {
    let id: EnclaveId = args
        .enclave_id
        .parse()
        .map_err(|e| anyhow::anyhow!("VERITY_ENCLAVE_ID (--enclave-id): {e}"))?;
    // Opened before anything else: a worker told to attest with Nitro
    // outside an enclave stops here with the reason, never falls back to dev.
    let attester = Arc::new(match args.attestation {
        WorkerAttestation::Dev => Attester::Dev,
        WorkerAttestation::Nitro => Attester::Nitro(
            Nsm::open(&args.nsm_device)
                .context("--attestation nitro (VERITY_WORKER_ATTESTATION)")?,
        ),
    });
    let queue_url = QueueUrl::parse(args.queue.as_deref())
        .map_err(|e| anyhow::anyhow!("VERITY_QUEUE (--queue): {e}"))?;
    if queue_url == QueueUrl::Sqlite {
        bail!(
            "VERITY_QUEUE (--queue): a worker process needs a shared queue: redis://… or postgres://…"
        );
    }
    let blob_url = BlobUrl::parse(args.blobs.as_deref(), &args.data_dir.join("blobs"))
        .map_err(|e| anyhow::anyhow!("VERITY_BLOBS (--blobs): {e}"))?;
    let policy = queue_policy(args.lease);
    let queue = open_queue(&queue_url, policy, None)
        .await
        .context("VERITY_QUEUE (--queue): cannot open the queue")?;
    let blobs = open_blobs(&blob_url, false)
        .await
        .context("VERITY_BLOBS (--blobs): cannot open the blob store")?;
    let key_file = args
        .key_file
        .clone()
        .unwrap_or_else(|| args.data_dir.join("keys").join(format!("{id}.key")));
    let keys = EnclaveKeys::load_or_create(&key_file)
        .with_context(|| format!("VERITY_KEY_FILE (--key-file): {}", key_file.display()))?;
    let identity = Arc::new(EnclaveIdentity {
        id: id.clone(),
        keys,
        attestation: attester.kind(),
    });
    let http = HttpSink::new(&args.api, identity.clone()).map_err(|e| anyhow::anyhow!("{e}"))?;
    let shutdown = CancellationToken::new();
    tokio::spawn({
        let token = shutdown.clone();
        async move {
            crate::serve::wait_for_signal().await;
            info!("shutting down: finishing or releasing in-flight tasks");
            token.cancel();
        }
    });
    let Some(lifetime) = register(&http, &identity, &attester, &args.api, &shutdown).await? else {
        return Ok(());
    };
    let renewer = HttpSink::new(&args.api, identity.clone()).map_err(|e| anyhow::anyhow!("{e}"))?;
    tokio::spawn(renew(
        renewer,
        identity.clone(),
        attester.clone(),
        lifetime,
        shutdown.clone(),
    ));
    let sink: Arc<dyn ReportSink> = match Fault::parse(args.fault.as_deref())? {
        None => Arc::new(http),
        Some(fault) => {
            warn!(
                ?fault,
                "fault injection is on: this worker misbehaves on purpose"
            );
            Arc::new(Faulty { inner: http, fault })
        }
    };
    let byzantine = crate::args::parse_byzantine(&args.byzantine_enclaves)?
        .into_iter()
        .find(|(e, _)| *e == id)
        .map(|(_, how)| how);
    if let Some(how) = byzantine {
        warn!(enclave = %id, behaviour = ?how, "BYZANTINE SIMULATION: this worker misbehaves on purpose (test/demo only)");
    }
    let ensemble = Arc::new(
        verity_detect::config::DetectConfig::load_or_default(args.detect_config.as_deref())
            .and_then(|c| c.instantiate())
            .map_err(|e| anyhow::anyhow!("VERITY_DETECT_CONFIG: {e}"))?
            .ensemble_for(identity.id.as_str()),
    );
    let worker = Arc::new(EnclaveWorker::new(
        identity,
        ensemble,
        queue,
        blobs,
        sink,
        WorkerSettings {
            worker_name: worker_name(),
            concurrency: args.concurrency as usize,
            heartbeat: policy.lease / 3,
            drain: args.drain,
            byzantine,
            ..WorkerSettings::default()
        },
    ));
    info!(enclave = %id, api = %args.api, "worker running");
    worker.run(shutdown).await;
    Ok(())
}

/// Unique among processes and hosts sharing one identity (a queue consumer name).
fn worker_name() -> String {
    let host = std::fs::read_to_string("/etc/hostname")
        .map(|h| h.trim().to_owned())
        .unwrap_or_else(|_| "host".into());
    format!(
        "{host}-{}-{:08x}",
        std::process::id(),
        rand::random::<u32>()
    )
}

/// Registers with the API, retrying while it is unreachable; returns how long
/// the registration lasts, or `None` if shut down first.
async fn register(
    http: &HttpSink,
    identity: &EnclaveIdentity,
    attester: &Attester,
    api: &str,
    shutdown: &CancellationToken,
) -> Result<Option<Duration>> {
    let mut delay = Duration::from_millis(200);
    loop {
        match attest_and_register(http, identity, attester).await {
            Ok(answer) => {
                info!(enclave = %identity.id, attestation = identity.attestation.as_str(), "registered with the API");
                return Ok(Some(lifetime(&answer)));
            }
            Err(SinkError::Refused(why)) => {
                bail!("VERITY_API ({api}) refused the registration: {why}")
            }
            Err(SinkError::Unavailable(why)) => {
                warn!(%why, "API unreachable; retrying registration");
            }
        }
        tokio::select! {
            _ = shutdown.cancelled() => return Ok(None),
            _ = tokio::time::sleep(delay) => {}
        }
        delay = (delay * 2).min(Duration::from_secs(5));
    }
}

/// Asks the API for a fresh challenge, answers it in a new attestation and
/// registers that: each registration proves it was made just now, for this
/// aggregator, and cannot be replayed.
async fn attest_and_register(
    http: &HttpSink,
    identity: &EnclaveIdentity,
    attester: &Attester,
) -> Result<serde_json::Value, SinkError> {
    let nonce = http.nonce().await?;
    let attestation = attester.attest(identity, nonce)?;
    http.register(&attestation).await
}

/// How this worker proves where its keys live.
enum Attester {
    /// Self-signed statements (`dev-insecure`).
    Dev,
    /// Documents from the Nitro Secure Module.
    Nitro(Nsm),
}

impl Attester {
    /// The kind its reports claim.
    fn kind(&self) -> AttestationKind {
        match self {
            Attester::Dev => AttestationKind::DevInsecure,
            Attester::Nitro(_) => AttestationKind::Nitro,
        }
    }

    /// A fresh attestation answering the aggregator's `nonce`.
    fn attest(&self, identity: &EnclaveIdentity, nonce: Vec<u8>) -> Result<Attestation, SinkError> {
        match self {
            Attester::Dev => Ok(Attestation::Dev(DevAttestation::answering(
                &identity.id,
                &identity.keys,
                now_ms(),
                Some(nonce),
            ))),
            Attester::Nitro(nsm) => {
                let public = identity.keys.public();
                let binding = verity_crypto::nitro::key_binding(
                    identity.id.as_str(),
                    &public.signing,
                    &public.encryption,
                );
                // A module that refuses will refuse again: not worth retrying.
                let document = nsm
                    .attest(&binding, &nonce)
                    .map_err(|e| SinkError::Refused(e.to_string()))?;
                Ok(Attestation::Nitro(NitroAttestation {
                    signing_key: public.signing.to_vec(),
                    encryption_key: public.encryption.to_vec(),
                    document,
                }))
            }
        }
    }
}

/// The registration's lifetime from the API's answer (`expiresInMs`).
fn lifetime(answer: &serde_json::Value) -> Duration {
    Duration::from_millis(answer["expiresInMs"].as_u64().unwrap_or(24 * 3_600_000))
}

/// Renews the registration at half its lifetime until shut down.
async fn renew(
    http: HttpSink,
    identity: Arc<EnclaveIdentity>,
    attester: Arc<Attester>,
    mut lifetime_left: Duration,
    shutdown: CancellationToken,
) {
    loop {
        let wait = (lifetime_left / 2).max(Duration::from_millis(500));
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = tokio::time::sleep(wait) => {}
        }
        match attest_and_register(&http, &identity, &attester).await {
            Ok(answer) => {
                lifetime_left = lifetime(&answer);
                info!(enclave = %identity.id, "attestation renewed");
            }
            Err(e) => {
                warn!(enclave = %identity.id, error = %e, "renewing the attestation failed; retrying");
                lifetime_left = wait; // retry at a quarter of what was left
            }
        }
    }
}

/// Misbehaviours for fault tests.
#[derive(Debug, Clone, Copy)]
enum Fault {
    /// Send reports whose signature does not verify.
    GarbageReport,
    /// Pause before each report (a worker "mid-job" for kill tests).
    Slow(Duration),
}

impl Fault {
    fn parse(text: Option<&str>) -> Result<Option<Fault>> {
        Ok(match text.filter(|t| !t.is_empty()) {
            None => None,
            Some("garbage-report") => Some(Fault::GarbageReport),
            Some(t) if t.starts_with("slow:") => Some(Fault::Slow(
                humantime::parse_duration(&t[5..])
                    .map_err(|e| anyhow::anyhow!("VERITY_WORKER_FAULT: {e}"))?,
            )),
            Some(other) => bail!("VERITY_WORKER_FAULT: unknown fault {other:?}"),
        })
    }
}

struct Faulty {
    inner: HttpSink,
    fault: Fault,
}

#[async_trait]
impl ReportSink for Faulty {
    async fn started(&self, job: &JobId, round: u32, enclave: &EnclaveId) -> Result<(), SinkError> {
        self.inner.started(job, round, enclave).await
    }

    async fn submit(&self, report: &SignedReport) -> Result<SubmitOutcome, SinkError> {
        match self.fault {
            Fault::GarbageReport => {
                let mut garbage = report.clone();
                garbage.report.verdict = verity_core::Verdict::Real;
                garbage.signature.iter_mut().for_each(|b| *b ^= 0x5a);
                self.inner.submit(&garbage).await
            }
            Fault::Slow(pause) => {
                tokio::time::sleep(pause).await;
                self.inner.submit(report).await
            }
        }
    }
}
