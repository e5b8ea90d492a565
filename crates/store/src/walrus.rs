//! [`WalrusBlobStore`]: blobs on Walrus through its publisher and aggregator
//! HTTP APIs.
//!
//! - Store: `PUT <publisher>/v1/blobs?epochs=N` with the bytes as the body;
//!   the answer names the blob id in `newlyCreated.blobObject.blobId` (first
//!   store) or `alreadyCertified.blobId` (the same bytes again).
//! - Read: `GET <aggregator>/v1/blobs/<blobId>`. Right after a store the
//!   aggregator may answer 404 for a moment, so reads retry with backoff.
//! - Errors are `{"error": {"code", "status", "message", "details"}}`: 504 (not
//!   stored on enough nodes) and 500 are retried; 413 (over the publisher's
//!   cap) and 403 (over the aggregator's limit) are [`StoreError::TooLarge`];
//!   400 and 451 are refusals.
//! - Size: public publishers cap bodies at 10 MiB by default. Larger blobs
//!   are refused before upload with a clear error (no chunking: one job, one
//!   blob id that anyone can fetch); raise `max_bytes` for a publisher
//!   configured with a larger cap.
//!
//! Integrity: blob ids are Walrus's own (content-derived) ids; a reader does
//! not recompute them. Everything read back is ciphertext that the enclave
//! authenticates (AEAD bound to the media digest) and whose plaintext it
//! checks against the job's SHA-256 before any use.

use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;
use reqwest::StatusCode;
use serde::Deserialize;

use crate::blob::{BlobId, BlobStore};
use crate::{Result, StoreError};

/// Publishers' default body cap.
pub const DEFAULT_MAX_BYTES: u64 = 10 * 1024 * 1024;

/// Where Walrus is and how blobs are stored there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WalrusConfig {
    /// Publisher base URL (`https://publisher.example`).
    pub publisher: String,
    /// Aggregator base URL.
    pub aggregator: String,
    /// Storage epochs per blob.
    pub epochs: u32,
    /// Largest blob sent to the publisher.
    pub max_bytes: u64,
    /// Read attempts while the aggregator answers 404 or 5xx.
    pub read_attempts: u32,
    /// First retry delay (doubled per attempt, capped at 2 s).
    pub retry_base: Duration,
}

impl WalrusConfig {
    /// Defaults for a publisher and an aggregator.
    pub fn new(publisher: &str, aggregator: &str) -> Self {
        WalrusConfig {
            publisher: publisher.trim_end_matches('/').to_owned(),
            aggregator: aggregator.trim_end_matches('/').to_owned(),
            epochs: 1,
            max_bytes: DEFAULT_MAX_BYTES,
            read_attempts: 8,
            retry_base: Duration::from_millis(100),
        }
    }
}

/// A Walrus client as a [`BlobStore`].
#[derive(Debug, Clone)]
pub struct WalrusBlobStore {
    config: WalrusConfig,
    http: reqwest::Client,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct StoreResponse {
    newly_created: Option<NewlyCreated>,
    already_certified: Option<AlreadyCertified>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct NewlyCreated {
    blob_object: BlobObject,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct BlobObject {
    blob_id: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct AlreadyCertified {
    blob_id: String,
}

#[derive(Deserialize)]
struct ErrorBody {
    error: ErrorDetail,
}

#[derive(Deserialize)]
struct ErrorDetail {
    #[serde(default)]
    code: Option<String>,
    #[serde(default)]
    message: Option<String>,
}

/// `code: message` from a Walrus error body, or the raw text.
fn describe(status: StatusCode, body: &[u8]) -> String {
    match serde_json::from_slice::<ErrorBody>(body) {
        Ok(b) => format!(
            "{status} {}: {}",
            b.error.code.unwrap_or_default(),
            b.error.message.unwrap_or_default()
        ),
        Err(_) => format!(
            "{status}: {}",
            String::from_utf8_lossy(&body[..body.len().min(300)])
        ),
    }
}

fn transport(what: &str, e: reqwest::Error) -> StoreError {
    StoreError::Unavailable(format!("walrus {what}: {e}"))
}

/// A Walrus blob id: 32 bytes, URL-safe base64 without padding.
fn check_id(id: &BlobId) -> Result<()> {
    let ok = id.0.len() == 43
        && id
            .0
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if ok {
        Ok(())
    } else {
        Err(StoreError::Invalid(format!(
            "not a Walrus blob id: {:.80}",
            id.0
        )))
    }
}

impl WalrusBlobStore {
    /// A client for `config`.
    ///
    /// # Errors
    /// [`StoreError::Invalid`] when the HTTP client cannot be built.
    pub fn new(config: WalrusConfig) -> Result<Self> {
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(5))
            .timeout(Duration::from_secs(120))
            .build()
            .map_err(|e| StoreError::Invalid(format!("walrus client: {e}")))?;
        Ok(WalrusBlobStore { config, http })
    }

    /// The configuration.
    pub fn config(&self) -> &WalrusConfig {
        &self.config
    }

    fn backoff(&self, attempt: u32) -> Duration {
        self.config
            .retry_base
            .saturating_mul(1 << attempt.min(5))
            .min(Duration::from_secs(2))
    }

    async fn store_once(
        &self,
        bytes: Bytes,
    ) -> Result<std::result::Result<BlobId, (bool, String)>> {
        let url = format!(
            "{}/v1/blobs?epochs={}",
            self.config.publisher, self.config.epochs
        );
        let response = match self.http.put(&url).body(bytes).send().await {
            Ok(r) => r,
            Err(e) if e.is_connect() || e.is_timeout() => return Ok(Err((true, e.to_string()))),
            Err(e) => return Err(transport("publisher", e)),
        };
        let status = response.status();
        let body = response
            .bytes()
            .await
            .map_err(|e| transport("publisher", e))?;
        match status {
            s if s.is_success() => {
                let parsed: StoreResponse = serde_json::from_slice(&body)
                    .map_err(|e| StoreError::Corrupt(format!("walrus publisher answer: {e}")))?;
                let id = parsed
                    .newly_created
                    .map(|n| n.blob_object.blob_id)
                    .or(parsed.already_certified.map(|a| a.blob_id))
                    .ok_or_else(|| {
                        StoreError::Corrupt(
                            "walrus publisher answer has neither newlyCreated nor alreadyCertified"
                                .into(),
                        )
                    })?;
                let id = BlobId(id);
                check_id(&id)?;
                Ok(Ok(id))
            }
            StatusCode::PAYLOAD_TOO_LARGE => Err(StoreError::TooLarge(format!(
                "the Walrus publisher refused the blob as too large ({})",
                describe(status, &body)
            ))),
            StatusCode::GATEWAY_TIMEOUT
            | StatusCode::INTERNAL_SERVER_ERROR
            | StatusCode::SERVICE_UNAVAILABLE
            | StatusCode::BAD_GATEWAY
            | StatusCode::TOO_MANY_REQUESTS => Ok(Err((true, describe(status, &body)))),
            _ => Err(StoreError::Unavailable(format!(
                "the Walrus publisher refused the blob: {}",
                describe(status, &body)
            ))),
        }
    }
}

#[async_trait]
impl BlobStore for WalrusBlobStore {
    fn provider(&self) -> &'static str {
        "walrus"
    }

    async fn put(&self, bytes: Bytes) -> Result<BlobId> {
        if bytes.len() as u64 > self.config.max_bytes {
            return Err(StoreError::TooLarge(format!(
                "the encrypted upload is {} bytes; the Walrus publisher accepts at most {} \
                 (max_bytes in VERITY_BLOBS, 10 MiB on public publishers)",
                bytes.len(),
                self.config.max_bytes
            )));
        }
        let mut last = String::new();
        for attempt in 0..4 {
            match self.store_once(bytes.clone()).await? {
                Ok(id) => return Ok(id),
                Err((_, why)) => last = why,
            }
            tokio::time::sleep(self.backoff(attempt)).await;
        }
        Err(StoreError::Unavailable(format!("walrus publisher: {last}")))
    }

    async fn get(&self, id: &BlobId) -> Result<Bytes> {
        check_id(id)?;
        let url = format!("{}/v1/blobs/{}", self.config.aggregator, id.0);
        let mut last = String::new();
        for attempt in 0..self.config.read_attempts.max(1) {
            if attempt > 0 {
                tokio::time::sleep(self.backoff(attempt - 1)).await;
            }
            let response = match self.http.get(&url).send().await {
                Ok(r) => r,
                Err(e) => {
                    last = e.to_string();
                    continue;
                }
            };
            let status = response.status();
            let body = response
                .bytes()
                .await
                .map_err(|e| transport("aggregator", e))?;
            match status {
                s if s.is_success() => return Ok(body),
                // Not readable yet right after a store, or a transient server error: retry.
                StatusCode::NOT_FOUND => last = describe(status, &body),
                s if s.is_server_error() => last = describe(status, &body),
                StatusCode::FORBIDDEN => {
                    return Err(StoreError::TooLarge(format!(
                        "the Walrus aggregator refuses blob {id}: {}",
                        describe(status, &body)
                    )));
                }
                _ => {
                    return Err(StoreError::Unavailable(format!(
                        "the Walrus aggregator refused blob {id}: {}",
                        describe(status, &body)
                    )));
                }
            }
        }
        if last.starts_with("404") {
            Err(StoreError::NotFound(format!("walrus blob {id} ({last})")))
        } else {
            Err(StoreError::Unavailable(format!(
                "walrus aggregator, blob {id}: {last}"
            )))
        }
    }

    async fn ping(&self) -> Result<()> {
        // Any HTTP answer shows the daemon is up; only transport errors count.
        for (what, base) in [
            ("publisher", &self.config.publisher),
            ("aggregator", &self.config.aggregator),
        ] {
            self.http
                .get(format!("{base}/v1/api"))
                .timeout(Duration::from_secs(5))
                .send()
                .await
                .map_err(|e| transport(what, e))?;
        }
        Ok(())
    }
}
