//! [`S3BlobStore`]: blobs in an S3-compatible bucket, through `object_store`.
//!
//! Objects are named `<prefix>/<sha256 of the ciphertext>`, so storing the
//! same bytes twice writes the same object. Endpoint, region and credentials
//! come from the usual AWS variables (`AWS_ENDPOINT_URL`, `AWS_REGION`,
//! `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_ALLOW_HTTP`…).

use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;
use object_store::aws::{AmazonS3, AmazonS3Builder};
use object_store::path::Path;
use object_store::{ClientOptions, ObjectStoreExt, PutPayload, RetryConfig};
use sha2::{Digest, Sha256};

use crate::blob::{BlobId, BlobStore};
use crate::{Result, StoreError};

/// An S3 bucket (or a prefix in one).
pub struct S3BlobStore {
    store: AmazonS3,
    bucket: String,
    prefix: String,
}

/// Only the bucket and prefix: the client's configuration holds the credentials.
impl std::fmt::Debug for S3BlobStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("S3BlobStore")
            .field("bucket", &self.bucket)
            .field("prefix", &self.prefix)
            .finish_non_exhaustive()
    }
}

fn error(e: object_store::Error) -> StoreError {
    match e {
        object_store::Error::NotFound { path, .. } => {
            StoreError::NotFound(format!("s3 object {path}"))
        }
        other => StoreError::Unavailable(format!("s3: {other}")),
    }
}

impl S3BlobStore {
    /// A store for `s3://bucket/prefix`, configured from the environment.
    ///
    /// # Errors
    /// [`StoreError::Invalid`] when the configuration is incomplete.
    pub fn from_env(bucket: &str, prefix: &str) -> Result<Self> {
        Self::build(AmazonS3Builder::from_env(), bucket, prefix)
    }

    /// A store configured by `(key, value)` pairs named like the AWS
    /// variables in lower case (`aws_endpoint_url`, `aws_access_key_id`…).
    ///
    /// # Errors
    /// [`StoreError::Invalid`] for an unknown key or incomplete configuration.
    pub fn with_options(bucket: &str, prefix: &str, options: &[(String, String)]) -> Result<Self> {
        let mut builder = AmazonS3Builder::new();
        for (key, value) in options {
            let key = key
                .to_ascii_lowercase()
                .parse()
                .map_err(|e| StoreError::Invalid(format!("s3 option {key}: {e}")))?;
            builder = builder.with_config(key, value);
        }
        Self::build(builder, bucket, prefix)
    }

    fn build(builder: AmazonS3Builder, bucket: &str, prefix: &str) -> Result<Self> {
        let mut builder = builder
            .with_bucket_name(bucket)
            .with_client_options(
                ClientOptions::new()
                    .with_connect_timeout(Duration::from_secs(5))
                    .with_timeout(Duration::from_secs(60)),
            )
            .with_retry(RetryConfig {
                max_retries: 3,
                retry_timeout: Duration::from_secs(30),
                ..RetryConfig::default()
            });
        // A plain-HTTP endpoint (a local S3-compatible server) needs allow_http.
        if builder
            .get_config_value(&object_store::aws::AmazonS3ConfigKey::Endpoint)
            .is_some_and(|e| e.starts_with("http://"))
        {
            builder = builder.with_allow_http(true);
        }
        let store = builder
            .build()
            .map_err(|e| StoreError::Invalid(format!("s3 configuration: {e}")))?;
        Ok(S3BlobStore {
            store,
            bucket: bucket.to_owned(),
            prefix: prefix.trim_matches('/').to_owned(),
        })
    }

    fn path(&self, id: &BlobId) -> Result<Path> {
        let hex = &id.0;
        if hex.len() != 64 || !hex.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
            return Err(StoreError::Invalid(format!("not an s3 blob id: {hex:.80}")));
        }
        Ok(if self.prefix.is_empty() {
            Path::from(hex.as_str())
        } else {
            Path::from(format!("{}/{hex}", self.prefix))
        })
    }
}

#[async_trait]
impl BlobStore for S3BlobStore {
    fn provider(&self) -> &'static str {
        "s3"
    }

    async fn put(&self, bytes: Bytes) -> Result<BlobId> {
        let id = BlobId(hex::encode(Sha256::digest(&bytes)));
        let path = self.path(&id)?;
        self.store
            .put(&path, PutPayload::from(bytes))
            .await
            .map_err(error)?;
        Ok(id)
    }

    async fn get(&self, id: &BlobId) -> Result<Bytes> {
        let path = self.path(id)?;
        let object = self.store.get(&path).await.map_err(error)?;
        let bytes = object.bytes().await.map_err(error)?;
        // Content-addressed: what comes back must hash to its name.
        if hex::encode(Sha256::digest(&bytes)) != id.0 {
            return Err(StoreError::Corrupt(format!(
                "s3 object {path} does not match its digest"
            )));
        }
        Ok(bytes)
    }

    async fn ping(&self) -> Result<()> {
        // Listing fails for a missing bucket or bad credentials, unlike a HEAD.
        let prefix = Path::from(format!("{}/.verity-ping", self.prefix));
        object_store::ObjectStore::list_with_delimiter(&self.store, Some(&prefix))
            .await
            .map(|_| ())
            .map_err(|e| StoreError::Unavailable(format!("s3 bucket {}: {e}", self.bucket)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_never_show_in_debug_output() {
        let options: Vec<(String, String)> = [
            ("aws_access_key_id", "AKIDEXAMPLEKEYID"),
            ("aws_secret_access_key", "wJalrXUtnFEMI-secret-value"),
            ("aws_session_token", "session-token-value"),
            ("aws_region", "us-east-1"),
            ("aws_endpoint", "http://127.0.0.1:9"),
        ]
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
        let store = S3BlobStore::with_options("media", "p/", &options).unwrap();
        let shown = format!("{store:?}");
        for secret in ["wJalrXUtnFEMI", "session-token-value", "AKIDEXAMPLEKEYID"] {
            assert!(!shown.contains(secret), "{shown}");
        }
        assert!(shown.contains("media"), "{shown}");
    }
}
