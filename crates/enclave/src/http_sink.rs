//! [`HttpSink`]: a remote enclave's way to the aggregator, over HTTP.
//!
//! - `POST /api/enclaves/nonce`: a fresh single-use challenge the next
//!   attestation answers.
//! - `POST /api/enclaves/register` `{enclaveId, attestation}`: registers (or
//!   re-registers) the enclave's attested keys before it takes work.
//! - `POST /api/enclaves/started`: a signed [`StartedNotice`].
//! - `POST /api/enclaves/reports`: the signed report.
//!
//! A 4xx answer is a refusal ([`SinkError::Refused`]: resending the same
//! report cannot help); anything else (5xx, connection refused, timeout) is
//! [`SinkError::Unavailable`] and the task is retried.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use serde_json::{Value, json};
use verity_core::{EnclaveId, JobId, SignedReport};
use verity_crypto::Attestation;
use verity_store::now_ms;

use crate::process::EnclaveIdentity;
use crate::sink::{ReportSink, SinkError, SubmitOutcome};

/// Reports to an aggregator at `base` (`http://host:port`).
pub struct HttpSink {
    base: String,
    http: reqwest::Client,
    identity: Arc<EnclaveIdentity>,
}

impl HttpSink {
    /// A sink for `identity`, talking to the API at `base`.
    ///
    /// # Errors
    /// [`SinkError::Unavailable`] when the HTTP client cannot be built.
    pub fn new(base: &str, identity: Arc<EnclaveIdentity>) -> Result<Self, SinkError> {
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(5))
            .timeout(Duration::from_secs(30))
            .build()
            .map_err(|e| SinkError::Unavailable(e.to_string()))?;
        Ok(HttpSink {
            base: base.trim_end_matches('/').to_owned(),
            http,
            identity,
        })
    }

    async fn post(&self, path: &str, body: &Value) -> Result<(u16, Value), SinkError> {
        let response = self
            .http
            .post(format!("{}{path}", self.base))
            .json(body)
            .send()
            .await
            .map_err(|e| SinkError::Unavailable(format!("{path}: {e}")))?;
        let status = response.status();
        let body: Value = response.json().await.unwrap_or(Value::Null);
        if status.is_client_error() {
            let error = &body["error"];
            return Err(SinkError::Refused(format!(
                "{status} {}: {}",
                error["code"].as_str().unwrap_or("?"),
                error["message"].as_str().unwrap_or("no message")
            )));
        }
        if !status.is_success() {
            return Err(SinkError::Unavailable(format!("{path}: {status} {body}")));
        }
        Ok((status.as_u16(), body))
    }

    /// A fresh attestation challenge from the aggregator.
    ///
    /// # Errors
    /// Refused or unavailable; an answer without a hex `nonce` is unavailable.
    pub async fn nonce(&self) -> Result<Vec<u8>, SinkError> {
        let (_, body) = self.post("/api/enclaves/nonce", &json!({})).await?;
        body["nonce"]
            .as_str()
            .and_then(|n| hex::decode(n).ok())
            .ok_or_else(|| {
                SinkError::Unavailable(format!(
                    "POST /api/enclaves/nonce answered without a nonce: {body}"
                ))
            })
    }

    /// Registers this enclave with `attestation` (retried by the caller on
    /// [`SinkError::Unavailable`]).
    ///
    /// # Errors
    /// Refused (bad attestation) or unavailable.
    pub async fn register(&self, attestation: &Attestation) -> Result<Value, SinkError> {
        let body = json!({ "enclaveId": self.identity.id, "attestation": attestation });
        self.post("/api/enclaves/register", &body)
            .await
            .map(|(_, b)| b)
    }
}

#[async_trait]
impl ReportSink for HttpSink {
    async fn started(&self, job: &JobId, round: u32, enclave: &EnclaveId) -> Result<(), SinkError> {
        let notice = self
            .identity
            .keys
            .sign_started(job, round, enclave, now_ms());
        let body = serde_json::to_value(&notice).map_err(|e| SinkError::Refused(e.to_string()))?;
        self.post("/api/enclaves/started", &body).await.map(|_| ())
    }

    async fn submit(&self, report: &SignedReport) -> Result<SubmitOutcome, SinkError> {
        let body = serde_json::to_value(report).map_err(|e| SinkError::Refused(e.to_string()))?;
        let (_, answer) = self.post("/api/enclaves/reports", &body).await?;
        Ok(if answer["duplicate"] == true {
            SubmitOutcome::Duplicate
        } else {
            SubmitOutcome::Accepted
        })
    }
}
