//! `serve`/`check` settings of the transparency log, and `verity verify`'s arguments.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Result, bail};
use clap::Args;
use verity_node::ledger::LedgerConfig;

/// Transparency log settings.
#[derive(Debug, Args)]
pub struct LedgerArgs {
    /// The log's origin: first line of every checkpoint and the log key's name.
    #[arg(long, env = "VERITY_LOG_ORIGIN", default_value = "verity.local/log")]
    pub log_origin: String,
    /// At most one checkpoint per this interval (e.g. `1s`), unless --checkpoint-entries pile up.
    #[arg(long, env = "VERITY_CHECKPOINT_INTERVAL", default_value = "1s", value_parser = humantime::parse_duration)]
    pub checkpoint_interval: Duration,
    /// Publish a checkpoint as soon as this many entries are new.
    #[arg(long, env = "VERITY_CHECKPOINT_ENTRIES", default_value_t = 1000, value_parser = clap::value_parser!(u64).range(1..))]
    pub checkpoint_entries: u64,
}

impl LedgerArgs {
    /// The log configuration.
    ///
    /// # Errors
    /// A message naming the offending setting.
    pub fn config(&self) -> Result<LedgerConfig> {
        if !verity_tlog::note::is_valid_name(&self.log_origin) {
            bail!(
                "VERITY_LOG_ORIGIN (--log-origin): {:?} must be non-empty without spaces or '+'",
                self.log_origin
            );
        }
        if self.checkpoint_interval.is_zero() {
            bail!("VERITY_CHECKPOINT_INTERVAL (--checkpoint-interval): must be positive");
        }
        Ok(LedgerConfig {
            origin: self.log_origin.clone(),
            checkpoint_interval: self.checkpoint_interval,
            checkpoint_entries: self.checkpoint_entries,
            ..LedgerConfig::default()
        })
    }
}

/// `verity verify`.
#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// The receipt (JSON from `GET /api/jobs/{jobId}/receipt`); `-` reads stdin.
    pub receipt: PathBuf,
    /// The log's published verifier key (`NAME+KEYID+BASE64`), or a file holding it.
    #[arg(long, env = "VERITY_LOG_KEY")]
    pub log_key: Option<String>,
    /// The aggregator's Ed25519 public key (hex) to require.
    #[arg(long)]
    pub aggregator_key: Option<String>,
    /// The image the receipt should be about (its SHA-256 is checked).
    #[arg(long)]
    pub image: Option<PathBuf>,
    /// PCR allow-list (the aggregator's `VERITY_NITRO_PCRS` JSON) that Nitro
    /// documents must satisfy; without it their PCRs are shown, not judged.
    #[arg(long)]
    pub nitro_pcrs: Option<PathBuf>,
}
