//! [`SuiAnchor`]: the [`ChainAnchor`] on Sui.

use std::time::Duration;

use async_trait::async_trait;
use sui_crypto::ed25519::Ed25519PrivateKey;
use sui_sdk_types::Address;
use tracing::{info, warn};

use crate::graphql::GraphQlClient;
use crate::tx::{AnchorTx, SignedTx, address_of, sign};
use crate::{AnchorError, Anchored, ChainAnchor, CheckpointRef};

/// Where and how to anchor on Sui.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SuiAnchorConfig {
    /// The chain name recorded with anchors (`sui:testnet`, `sui:mainnet`…).
    pub chain: String,
    /// The GraphQL endpoint.
    pub graphql_url: String,
    /// The published `verity` package.
    pub package: Address,
    /// The log's shared `Registry`.
    pub registry: Address,
    /// The sender's `AnchorCap` of that registry.
    pub cap: Address,
    /// The SUI coin paying for gas (owned by the sender).
    pub gas_coin: Address,
    /// Gas price; `None`: the network's reference gas price.
    pub gas_price: Option<u64>,
    /// Most gas (MIST) one anchor may cost.
    pub gas_budget: u64,
    /// Attempts per checkpoint before giving up.
    pub attempts: u32,
    /// Wait after the first failed attempt (doubled each time, at most `max_backoff`).
    pub backoff: Duration,
    /// Longest wait between attempts.
    pub max_backoff: Duration,
    /// Timeout of one HTTP request (execution waits for finality).
    pub request_timeout: Duration,
}

impl SuiAnchorConfig {
    /// A configuration with default gas and retry settings.
    pub fn new(
        graphql_url: impl Into<String>,
        package: Address,
        registry: Address,
        cap: Address,
        gas_coin: Address,
    ) -> Self {
        SuiAnchorConfig {
            chain: "sui:testnet".into(),
            graphql_url: graphql_url.into(),
            package,
            registry,
            cap,
            gas_coin,
            gas_price: None,
            gas_budget: 10_000_000,
            attempts: 5,
            backoff: Duration::from_millis(500),
            max_backoff: Duration::from_secs(30),
            request_timeout: Duration::from_secs(60),
        }
    }
}

/// Anchors checkpoints with the `verity::anchor::anchor` Move call.
pub struct SuiAnchor {
    config: SuiAnchorConfig,
    key: Ed25519PrivateKey,
    sender: Address,
    client: GraphQlClient,
}

impl std::fmt::Debug for SuiAnchor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SuiAnchor")
            .field("config", &self.config)
            .field("sender", &self.sender)
            .finish_non_exhaustive()
    }
}

/// Where one attempt got to.
enum Attempt {
    Done(Anchored),
    /// Executed and failed on chain: retrying the same checkpoint will not help.
    Failed(AnchorError),
    /// Submit the same bytes again (the node may have executed them).
    Resubmit(AnchorError),
    /// Read the objects again and rebuild.
    Rebuild(AnchorError),
}

impl SuiAnchor {
    /// An anchor signing with `key`.
    ///
    /// # Errors
    /// [`AnchorError::Config`] for a bad URL or zero attempts.
    pub fn new(config: SuiAnchorConfig, key: Ed25519PrivateKey) -> Result<Self, AnchorError> {
        if config.attempts == 0 {
            return Err(AnchorError::Config("attempts must be at least 1".into()));
        }
        let client = GraphQlClient::new(&config.graphql_url, config.request_timeout)?;
        Ok(SuiAnchor {
            sender: address_of(&key),
            config,
            key,
            client,
        })
    }

    /// The sender's address (the key's).
    pub fn sender(&self) -> Address {
        self.sender
    }

    /// The configuration.
    pub fn config(&self) -> &SuiAnchorConfig {
        &self.config
    }

    /// Reads the current object versions and builds and signs the transaction.
    async fn prepare(&self, checkpoint: &CheckpointRef) -> Result<SignedTx, AnchorError> {
        let c = &self.config;
        let objects = self.client.objects(c.registry, c.cap, c.gas_coin).await?;
        let tx = AnchorTx {
            package: c.package,
            registry: (c.registry, objects.registry_initial_version),
            cap: objects.cap,
            gas: vec![objects.gas],
            gas_price: c.gas_price.unwrap_or(objects.reference_gas_price),
            gas_budget: c.gas_budget,
            sender: self.sender,
            checkpoint: *checkpoint,
        };
        sign(&tx.build()?, &self.key)
    }

    async fn submit(&self, signed: &SignedTx) -> Attempt {
        match self.client.execute(signed).await {
            Ok(effects) if effects.digest != signed.digest => {
                Attempt::Rebuild(AnchorError::Protocol(format!(
                    "the node executed {} but the signed transaction is {}",
                    effects.digest, signed.digest
                )))
            }
            Ok(effects) if effects.success => Attempt::Done(Anchored {
                chain: self.config.chain.clone(),
                tx_digest: effects.digest,
            }),
            Ok(effects) => Attempt::Failed(AnchorError::Failed {
                digest: effects.digest,
                message: effects.error.unwrap_or_default(),
            }),
            Err(e @ AnchorError::Transport(_)) => Attempt::Resubmit(e),
            Err(e) => Attempt::Rebuild(e),
        }
    }
}

#[async_trait]
impl ChainAnchor for SuiAnchor {
    fn chain(&self) -> &str {
        &self.config.chain
    }

    async fn anchor(&self, checkpoint: &CheckpointRef) -> Result<Anchored, AnchorError> {
        let mut signed: Option<SignedTx> = None;
        let mut wait = self.config.backoff;
        let mut last = None;
        for attempt in 1..=self.config.attempts {
            if attempt > 1 {
                tokio::time::sleep(wait).await;
                wait = (wait * 2).min(self.config.max_backoff);
            }
            let tx = match &signed {
                Some(tx) => tx.clone(),
                None => match self.prepare(checkpoint).await {
                    Ok(tx) => tx,
                    Err(e @ (AnchorError::Key(_) | AnchorError::Build(_))) => return Err(e),
                    Err(e) => {
                        warn!(size = checkpoint.size, attempt, error = %e, "anchor: reading Sui objects failed");
                        last = Some(e);
                        continue;
                    }
                },
            };
            match self.submit(&tx).await {
                Attempt::Failed(e) => return Err(e),
                Attempt::Done(anchored) => {
                    info!(size = checkpoint.size, digest = %anchored.tx_digest, attempt, "checkpoint anchored on Sui");
                    return Ok(anchored);
                }
                Attempt::Resubmit(e) => {
                    warn!(size = checkpoint.size, attempt, digest = %tx.digest, error = %e, "anchor: submission failed, resubmitting the same transaction");
                    signed = Some(tx);
                    last = Some(e);
                }
                Attempt::Rebuild(e) => {
                    warn!(size = checkpoint.size, attempt, digest = %tx.digest, error = %e, "anchor: transaction refused, rebuilding");
                    signed = None;
                    last = Some(e);
                }
            }
        }
        Err(AnchorError::Exhausted {
            attempts: self.config.attempts,
            last: Box::new(last.unwrap_or_else(|| AnchorError::Transport("no attempt".into()))),
        })
    }
}
