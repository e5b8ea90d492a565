//! The [`BlobStore`] port: encrypted media, addressed by an opaque id.

use std::fmt;

use async_trait::async_trait;
use bytes::Bytes;
use serde::{Deserialize, Serialize};

use crate::Result;

/// A blob's id in its store (a SHA-256 for local files, a Walrus blob id, an S3 key…).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct BlobId(pub String);

impl fmt::Display for BlobId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Where encrypted blobs live.
///
/// `put` returns only once the bytes are durable. Stores hold ciphertext only;
/// integrity is checked by the reader (AEAD and media digest).
#[async_trait]
pub trait BlobStore: Send + Sync {
    /// Short provider name shown to clients as `storageProvider` (`local`, `s3`, `walrus`).
    fn provider(&self) -> &'static str;

    /// Stores `bytes` durably and returns their id; storing the same bytes twice
    /// may return the same id.
    async fn put(&self, bytes: Bytes) -> Result<BlobId>;

    /// Reads a blob back.
    async fn get(&self, id: &BlobId) -> Result<Bytes>;

    /// Checks that the store is reachable (for `/readyz`).
    async fn ping(&self) -> Result<()>;
}
