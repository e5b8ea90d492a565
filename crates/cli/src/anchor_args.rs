//! `serve` settings of checkpoint anchoring (`--anchor none|sui`).

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use clap::{Args, ValueEnum};
use verity_anchor::{ChainAnchor, SuiAnchor, SuiAnchorConfig};

/// `--anchor`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum AnchorKind {
    /// Checkpoints are not anchored.
    None,
    /// Checkpoints are anchored on Sui (`verity::anchor`, contracts/sui).
    Sui,
}

/// Checkpoint anchoring settings (docs/RECEIPT.md).
#[derive(Debug, Args)]
pub struct AnchorArgs {
    /// Where published checkpoints are anchored.
    #[arg(long, env = "VERITY_ANCHOR", value_enum, default_value = "none")]
    pub anchor: AnchorKind,
    /// Sui GraphQL endpoint (e.g. https://graphql.testnet.sui.io/graphql).
    #[arg(long, env = "VERITY_SUI_GRAPHQL_URL")]
    pub sui_graphql_url: Option<String>,
    /// Chain name recorded with anchors and shown in receipts.
    #[arg(long, env = "VERITY_SUI_CHAIN", default_value = "sui:testnet")]
    pub sui_chain: String,
    /// File with the sender's Ed25519 key (`suiprivkey1…`, Base64
    /// flag||seed as in sui.keystore, or 64 hex digits), mode 0600.
    #[arg(long, env = "VERITY_SUI_KEY_FILE")]
    pub sui_key_file: Option<PathBuf>,
    /// The published `verity` Move package id.
    #[arg(long, env = "VERITY_SUI_PACKAGE")]
    pub sui_package: Option<String>,
    /// The log's shared `Registry` object id.
    #[arg(long, env = "VERITY_SUI_REGISTRY")]
    pub sui_registry: Option<String>,
    /// The sender's `AnchorCap` object id for that registry.
    #[arg(long, env = "VERITY_SUI_CAP")]
    pub sui_cap: Option<String>,
    /// The sender's SUI coin that pays for gas.
    #[arg(long, env = "VERITY_SUI_GAS_COIN")]
    pub sui_gas_coin: Option<String>,
    /// Gas budget per anchor, in MIST.
    #[arg(long, env = "VERITY_SUI_GAS_BUDGET", default_value_t = 10_000_000, value_parser = clap::value_parser!(u64).range(1..))]
    pub sui_gas_budget: u64,
    /// Gas price in MIST (default: the network's reference gas price).
    #[arg(long, env = "VERITY_SUI_GAS_PRICE", value_parser = clap::value_parser!(u64).range(1..))]
    pub sui_gas_price: Option<u64>,
    /// Attempts per checkpoint before the task backs off and tries again later.
    #[arg(long, env = "VERITY_SUI_ATTEMPTS", default_value_t = 5, value_parser = clap::value_parser!(u32).range(1..=100))]
    pub sui_attempts: u32,
}

impl AnchorArgs {
    /// The configured anchor, if any.
    ///
    /// # Errors
    /// A message naming the missing or malformed setting.
    pub fn chain_anchor(&self) -> Result<Option<Arc<dyn ChainAnchor>>> {
        if self.anchor == AnchorKind::None {
            return Ok(None);
        }
        fn required<'a>(value: &'a Option<String>, setting: &str) -> Result<&'a str> {
            match value.as_deref() {
                Some(v) if !v.trim().is_empty() => Ok(v.trim()),
                _ => bail!("--anchor sui needs {setting}"),
            }
        }
        let id = |value: &Option<String>, setting: &str| -> Result<verity_anchor::Address> {
            let text = required(value, setting)?;
            text.parse()
                .map_err(|e| anyhow::anyhow!("{setting}: {text:?} is not a Sui object id: {e}"))
        };
        let url = required(
            &self.sui_graphql_url,
            "VERITY_SUI_GRAPHQL_URL (--sui-graphql-url)",
        )?;
        let mut config = SuiAnchorConfig::new(
            url,
            id(&self.sui_package, "VERITY_SUI_PACKAGE (--sui-package)")?,
            id(&self.sui_registry, "VERITY_SUI_REGISTRY (--sui-registry)")?,
            id(&self.sui_cap, "VERITY_SUI_CAP (--sui-cap)")?,
            id(&self.sui_gas_coin, "VERITY_SUI_GAS_COIN (--sui-gas-coin)")?,
        );
        config.chain = self.sui_chain.clone();
        config.gas_budget = self.sui_gas_budget;
        config.gas_price = self.sui_gas_price;
        config.attempts = self.sui_attempts;
        config.max_backoff = Duration::from_secs(30);
        let Some(key_file) = &self.sui_key_file else {
            bail!("--anchor sui needs VERITY_SUI_KEY_FILE (--sui-key-file)");
        };
        let key = verity_anchor::key::load_key(key_file)
            .context("VERITY_SUI_KEY_FILE (--sui-key-file)")?;
        let anchor = SuiAnchor::new(config, key).context("--anchor sui")?;
        tracing::info!(sender = %anchor.sender(), url, "anchoring checkpoints on Sui");
        Ok(Some(Arc::new(anchor)))
    }
}
