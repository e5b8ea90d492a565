//! The Sui GraphQL transport: object versions and `executeTransaction`.
//!
//! Sui's JSON-RPC is being retired; GraphQL (the `executeTransaction`
//! mutation, `transactionDataBcs` + `signatures`, both Base64) is the
//! supported HTTP way to submit a transaction.

use std::time::Duration;

use serde_json::{Value, json};
use sui_sdk_types::{Address, Digest};

use crate::AnchorError;
use crate::tx::{ObjectRef, SignedTx};

/// The query reading the objects an anchor transaction uses and the
/// reference gas price.
pub const OBJECTS_QUERY: &str = "query VerityAnchorObjects($registry: SuiAddress!, $cap: SuiAddress!, $gas: SuiAddress!) { \
registry: object(address: $registry) { version digest owner { __typename ... on Shared { initialSharedVersion } } } \
cap: object(address: $cap) { version digest } \
gas: object(address: $gas) { version digest } \
epoch { referenceGasPrice } }";

/// The mutation executing a signed transaction.
pub const EXECUTE_MUTATION: &str = "mutation VerityAnchorExecute($tx: Base64!, $signatures: [Base64!]!) { \
executeTransaction(transactionDataBcs: $tx, signatures: $signatures) { \
effects { digest status executionError { message } } } }";

/// What the chain holds now for one anchor transaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainObjects {
    /// The version the registry was shared at.
    pub registry_initial_version: u64,
    /// The capability's current version.
    pub cap: ObjectRef,
    /// The gas coin's current version.
    pub gas: ObjectRef,
    /// The network's reference gas price.
    pub reference_gas_price: u64,
}

/// The executed transaction's effects.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Effects {
    /// The transaction digest.
    pub digest: String,
    /// Whether it succeeded.
    pub success: bool,
    /// The failure's message, if it failed.
    pub error: Option<String>,
}

/// A Sui GraphQL endpoint.
#[derive(Debug, Clone)]
pub struct GraphQlClient {
    http: reqwest::Client,
    url: String,
}

impl GraphQlClient {
    /// A client for `url` (e.g. `https://graphql.testnet.sui.io/graphql`).
    ///
    /// # Errors
    /// [`AnchorError::Config`] for a URL that is not http(s).
    pub fn new(url: &str, timeout: Duration) -> Result<Self, AnchorError> {
        if !(url.starts_with("http://") || url.starts_with("https://")) {
            return Err(AnchorError::Config(format!(
                "GraphQL URL {url:?} must start with http:// or https://"
            )));
        }
        let http = reqwest::Client::builder()
            .timeout(timeout)
            .build()
            .map_err(|e| AnchorError::Config(format!("HTTP client: {e}")))?;
        Ok(GraphQlClient {
            http,
            url: url.to_owned(),
        })
    }

    /// The endpoint.
    pub fn url(&self) -> &str {
        &self.url
    }

    async fn post(&self, query: &str, variables: Value) -> Result<Value, AnchorError> {
        let response = self
            .http
            .post(&self.url)
            .json(&json!({ "query": query, "variables": variables }))
            .send()
            .await
            .map_err(|e| AnchorError::Transport(e.to_string()))?;
        let status = response.status();
        let text = response
            .text()
            .await
            .map_err(|e| AnchorError::Transport(e.to_string()))?;
        if status.is_server_error() || status == reqwest::StatusCode::TOO_MANY_REQUESTS {
            return Err(AnchorError::Transport(format!(
                "HTTP {status}: {}",
                clip(&text)
            )));
        }
        let body: Value = serde_json::from_str(&text).map_err(|_| {
            AnchorError::Protocol(format!("HTTP {status}, not JSON: {}", clip(&text)))
        })?;
        if let Some(errors) = body.get("errors").and_then(Value::as_array)
            && !errors.is_empty()
        {
            let messages: Vec<&str> = errors
                .iter()
                .map(|e| e.get("message").and_then(Value::as_str).unwrap_or("?"))
                .collect();
            return Err(AnchorError::Rejected(messages.join("; ")));
        }
        if !status.is_success() {
            return Err(AnchorError::Rejected(format!(
                "HTTP {status}: {}",
                clip(&text)
            )));
        }
        body.get("data")
            .cloned()
            .filter(|d| !d.is_null())
            .ok_or_else(|| AnchorError::Protocol("no data in the answer".into()))
    }

    /// Reads the registry, capability and gas coin.
    ///
    /// # Errors
    /// [`AnchorError::Config`] when an object does not exist or the registry
    /// is not shared; transport and protocol errors.
    pub async fn objects(
        &self,
        registry: Address,
        cap: Address,
        gas: Address,
    ) -> Result<ChainObjects, AnchorError> {
        let data = self
            .post(
                OBJECTS_QUERY,
                json!({
                    "registry": registry.to_string(),
                    "cap": cap.to_string(),
                    "gas": gas.to_string(),
                }),
            )
            .await?;
        let object = |alias: &str, id: Address| -> Result<&Value, AnchorError> {
            data.get(alias)
                .filter(|o| !o.is_null())
                .ok_or_else(|| AnchorError::Config(format!("{alias} object {id} does not exist")))
        };
        let registry_json = object("registry", registry)?;
        let owner = registry_json.get("owner").unwrap_or(&Value::Null);
        let registry_initial_version = match owner.get("__typename").and_then(Value::as_str) {
            Some("Shared") => number(owner.get("initialSharedVersion")).ok_or_else(|| {
                AnchorError::Protocol("registry without initialSharedVersion".into())
            })?,
            other => {
                return Err(AnchorError::Config(format!(
                    "registry {registry} is not a shared object (owner {})",
                    other.unwrap_or("unknown")
                )));
            }
        };
        let reference_gas_price =
            number(data.get("epoch").and_then(|e| e.get("referenceGasPrice")))
                .ok_or_else(|| AnchorError::Protocol("no referenceGasPrice".into()))?;
        Ok(ChainObjects {
            registry_initial_version,
            cap: object_ref(object("cap", cap)?, cap)?,
            gas: object_ref(object("gas", gas)?, gas)?,
            reference_gas_price,
        })
    }

    /// Executes a signed transaction and waits for its effects.
    ///
    /// # Errors
    /// Transport errors (retry with the same bytes), rejections (stale
    /// objects, bad signature…) and protocol errors.
    pub async fn execute(&self, signed: &SignedTx) -> Result<Effects, AnchorError> {
        let data = self
            .post(
                EXECUTE_MUTATION,
                json!({ "tx": signed.tx_bytes, "signatures": [signed.signature] }),
            )
            .await?;
        let effects = data
            .get("executeTransaction")
            .and_then(|r| r.get("effects"))
            .filter(|e| !e.is_null())
            .ok_or_else(|| {
                AnchorError::Protocol("executeTransaction returned no effects".into())
            })?;
        let digest = effects
            .get("digest")
            .and_then(Value::as_str)
            .ok_or_else(|| AnchorError::Protocol("effects without a digest".into()))?
            .to_owned();
        let status = effects.get("status").and_then(Value::as_str).unwrap_or("");
        let error = effects
            .get("executionError")
            .and_then(|e| e.get("message"))
            .and_then(Value::as_str)
            .map(str::to_owned);
        match status {
            "SUCCESS" => Ok(Effects {
                digest,
                success: true,
                error: None,
            }),
            "FAILURE" => Ok(Effects {
                digest,
                success: false,
                error: Some(error.unwrap_or_else(|| "execution failed".into())),
            }),
            other => Err(AnchorError::Protocol(format!("unknown status {other:?}"))),
        }
    }
}

fn number(v: Option<&Value>) -> Option<u64> {
    match v? {
        Value::Number(n) => n.as_u64(),
        Value::String(s) => s.parse().ok(),
        _ => None,
    }
}

fn object_ref(v: &Value, id: Address) -> Result<ObjectRef, AnchorError> {
    let version = number(v.get("version"))
        .ok_or_else(|| AnchorError::Protocol(format!("object {id} without a version")))?;
    let digest: Digest = v
        .get("digest")
        .and_then(Value::as_str)
        .ok_or_else(|| AnchorError::Protocol(format!("object {id} without a digest")))?
        .parse()
        .map_err(|e| AnchorError::Protocol(format!("object {id} digest: {e}")))?;
    Ok(ObjectRef {
        id,
        version,
        digest,
    })
}

fn clip(text: &str) -> &str {
    let end = text.char_indices().nth(300).map_or(text.len(), |(i, _)| i);
    &text[..end]
}
