//! Anchoring of transparency-log checkpoints on a chain.
//!
//! [`ChainAnchor`] is the port the node's anchoring task talks to: give it
//! a checkpoint (tree size and root), get back the chain's transaction
//! digest. [`SuiAnchor`] implements it for Sui: it reads the current
//! versions of the objects it needs over Sui GraphQL, builds the
//! programmable transaction that calls `verity::anchor::anchor(registry,
//! cap, tree_size, root_hash, clock)` (see `contracts/sui`) with
//! `sui-transaction-builder`, signs it with `sui-crypto` and submits it with
//! the `executeTransaction` mutation, retrying with backoff.
//!
//! The transaction bytes, digest and signature are pinned against the
//! TypeScript SDK (`scripts/sui-vectors`, `tests/vectors.rs`).

mod error;
#[cfg(feature = "fake-node")]
pub mod fake;
pub mod graphql;
pub mod key;
mod sui;
pub mod tx;

pub use error::AnchorError;
pub use sui::{SuiAnchor, SuiAnchorConfig};
/// A Sui address or object id (`0x` + 64 hex digits).
pub use sui_sdk_types::Address;

use async_trait::async_trait;

/// A checkpoint to anchor.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CheckpointRef {
    /// Its tree size.
    pub size: u64,
    /// Its RFC 6962 root hash.
    pub root: [u8; 32],
}

/// A checkpoint's anchoring transaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Anchored {
    /// The chain (`sui:testnet`, …).
    pub chain: String,
    /// The transaction digest (Base58 for Sui).
    pub tx_digest: String,
}

/// Records checkpoints on a chain.
#[async_trait]
pub trait ChainAnchor: Send + Sync + std::fmt::Debug {
    /// The chain's name as recorded with anchors (`sui:testnet`, …).
    fn chain(&self) -> &str;

    /// Anchors `checkpoint` and returns its transaction once executed.
    ///
    /// # Errors
    /// [`AnchorError::Failed`] when the chain executed the transaction and
    /// it failed (retrying the same checkpoint will not help), other
    /// variants when it could not be submitted after the configured retries.
    async fn anchor(&self, checkpoint: &CheckpointRef) -> Result<Anchored, AnchorError>;
}
