//! A local stand-in for a Sui GraphQL node (tests and demos).
//!
//! It answers the two operations [`crate::graphql::GraphQlClient`] sends.
//! For `executeTransaction` it does what a validator would check for this
//! transaction, in memory: decodes the BCS, recomputes the digest, verifies
//! the signature against the sender, checks the gas coin, capability and
//! registry versions, checks the Move call (`verity::anchor::anchor` with
//! its five arguments) and then applies it (tree sizes must grow, roots are
//! 32 bytes: the Move module's aborts), bumping the owned objects' versions.
//! A transaction already executed is answered with its recorded effects, as
//! Sui does. It can fail the next requests with HTTP 503 to test retries.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use serde_json::{Value, json};
use sui_crypto::SuiVerifier as _;
use sui_crypto::simple::SimpleVerifier;
use sui_sdk_types::{
    Address, Argument, Command, Digest, Input, SimpleSignature, Transaction, TransactionKind,
    UserSignature,
};
use tokio::task::JoinHandle;

use crate::tx::{CLOCK_ID, FUNCTION, MODULE, ObjectRef};

/// The chain state the fake node starts with.
#[derive(Debug, Clone)]
pub struct FakeSetup {
    /// The `verity` package.
    pub package: Address,
    /// The shared registry and its initial shared version.
    pub registry: (Address, u64),
    /// The capability (owned by `sender`).
    pub cap: ObjectRef,
    /// The gas coin (owned by `sender`).
    pub gas: ObjectRef,
    /// The only address allowed to anchor.
    pub sender: Address,
    /// The reference gas price it announces.
    pub reference_gas_price: u64,
}

impl FakeSetup {
    /// Fixed object ids and versions for `sender`.
    pub fn for_sender(sender: Address) -> Self {
        let id = |b: u8| Address::new([b; 32]);
        FakeSetup {
            package: id(0x7a),
            registry: (id(0x11), 7),
            cap: ObjectRef {
                id: id(0x22),
                version: 12,
                digest: Digest::new([0x44; 32]),
            },
            gas: ObjectRef {
                id: id(0x33),
                version: 15,
                digest: Digest::new([0x55; 32]),
            },
            sender,
            reference_gas_price: 1000,
        }
    }
}

/// A checkpoint the fake chain recorded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FakeAnchor {
    /// Tree size.
    pub size: u64,
    /// Root hash.
    pub root: Vec<u8>,
    /// The transaction digest.
    pub digest: String,
}

#[derive(Debug)]
struct Chain {
    setup: FakeSetup,
    latest_size: u64,
    anchors: Vec<FakeAnchor>,
    executed: HashMap<String, Value>,
    fail_next: u32,
    lose_next_reply: u32,
    requests: u32,
    executions: u32,
}

/// A running fake node.
pub struct FakeSuiNode {
    addr: SocketAddr,
    chain: Arc<Mutex<Chain>>,
    task: JoinHandle<()>,
}

impl Drop for FakeSuiNode {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl FakeSuiNode {
    /// Starts it on `127.0.0.1` (a free port).
    ///
    /// # Errors
    /// When no port can be bound.
    pub async fn start(setup: FakeSetup) -> std::io::Result<Self> {
        Self::start_on("127.0.0.1:0", setup).await
    }

    /// Starts it on `addr`.
    ///
    /// # Errors
    /// When `addr` cannot be bound.
    pub async fn start_on(addr: &str, setup: FakeSetup) -> std::io::Result<Self> {
        let listener = tokio::net::TcpListener::bind(addr).await?;
        let addr = listener.local_addr()?;
        let chain = Arc::new(Mutex::new(Chain {
            setup,
            latest_size: 0,
            anchors: Vec::new(),
            executed: HashMap::new(),
            fail_next: 0,
            lose_next_reply: 0,
            requests: 0,
            executions: 0,
        }));
        let app = axum::Router::new()
            .fallback(axum::routing::post(graphql))
            .with_state(chain.clone());
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Ok(FakeSuiNode { addr, chain, task })
    }

    /// Its GraphQL URL.
    pub fn url(&self) -> String {
        format!("http://{}/graphql", self.addr)
    }

    /// The object ids and versions it holds now.
    pub fn setup(&self) -> FakeSetup {
        self.lock().setup.clone()
    }

    /// The next `n` requests are answered with HTTP 503 and not processed.
    pub fn fail_next(&self, n: u32) {
        self.lock().fail_next = n;
    }

    /// The next `n` executions are applied but answered with HTTP 503 (a
    /// reply lost after the transaction executed).
    pub fn lose_next_replies(&self, n: u32) {
        self.lock().lose_next_reply = n;
    }

    /// The anchored checkpoints, in order.
    pub fn anchors(&self) -> Vec<FakeAnchor> {
        self.lock().anchors.clone()
    }

    /// Requests received (failed ones included).
    pub fn requests(&self) -> u32 {
        self.lock().requests
    }

    /// Transactions executed (a resubmitted one counts once).
    pub fn executions(&self) -> u32 {
        self.lock().executions
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Chain> {
        self.chain.lock().unwrap_or_else(|p| p.into_inner())
    }
}

fn gql_error(message: impl Into<String>) -> Response {
    let message = message.into();
    (
        StatusCode::OK,
        Json(json!({ "data": null, "errors": [{ "message": message, "extensions": { "code": "BAD_USER_INPUT" } }] })),
    )
        .into_response()
}

fn unavailable() -> Response {
    (
        StatusCode::SERVICE_UNAVAILABLE,
        "fake node: induced failure",
    )
        .into_response()
}

async fn graphql(State(chain): State<Arc<Mutex<Chain>>>, body: axum::body::Bytes) -> Response {
    let mut chain = chain.lock().unwrap_or_else(|p| p.into_inner());
    chain.requests += 1;
    if chain.fail_next > 0 {
        chain.fail_next -= 1;
        return unavailable();
    }
    let Ok(request) = serde_json::from_slice::<Value>(&body) else {
        return gql_error("request is not JSON");
    };
    let query = request.get("query").and_then(Value::as_str).unwrap_or("");
    let variables = request.get("variables").cloned().unwrap_or(Value::Null);
    if query.contains("executeTransaction(") {
        match execute(&mut chain, &variables) {
            Ok(effects) => {
                if chain.lose_next_reply > 0 {
                    chain.lose_next_reply -= 1;
                    return unavailable();
                }
                Json(json!({ "data": { "executeTransaction": { "effects": effects } } }))
                    .into_response()
            }
            Err(message) => gql_error(message),
        }
    } else if query.contains("object(address:") {
        objects(&chain, &variables)
    } else {
        gql_error("the fake node only answers the anchor client's query and mutation")
    }
}

fn objects(chain: &Chain, variables: &Value) -> Response {
    let s = &chain.setup;
    let find = |name: &str| -> Value {
        let Some(id) = variables
            .get(name)
            .and_then(Value::as_str)
            .and_then(|v| v.parse::<Address>().ok())
        else {
            return Value::Null;
        };
        if id == s.registry.0 {
            json!({ "version": s.registry.1 + chain.executions as u64, "digest": Digest::new([0x66; 32]).to_string(),
                    "owner": { "__typename": "Shared", "initialSharedVersion": s.registry.1 } })
        } else if id == s.cap.id {
            json!({ "version": s.cap.version, "digest": s.cap.digest.to_string(),
                    "owner": { "__typename": "AddressOwner" } })
        } else if id == s.gas.id {
            json!({ "version": s.gas.version, "digest": s.gas.digest.to_string(),
                    "owner": { "__typename": "AddressOwner" } })
        } else {
            Value::Null
        }
    };
    Json(json!({ "data": {
        "registry": find("registry"),
        "cap": find("cap"),
        "gas": find("gas"),
        "epoch": { "referenceGasPrice": s.reference_gas_price.to_string() },
    }}))
    .into_response()
}

fn shared(input: &Input) -> Option<(Address, u64, bool)> {
    match input {
        Input::Shared(shared) => Some((
            shared.object_id(),
            shared.version(),
            shared.mutability().is_mutable(),
        )),
        _ => None,
    }
}

/// Checks and applies one anchor transaction; `Err` is a GraphQL error.
fn execute(chain: &mut Chain, variables: &Value) -> Result<Value, String> {
    let tx_b64 = variables
        .get("tx")
        .and_then(Value::as_str)
        .ok_or("missing transactionDataBcs")?;
    let bytes = B64
        .decode(tx_b64)
        .map_err(|e| format!("transactionDataBcs: {e}"))?;
    let tx: Transaction = bcs::from_bytes(&bytes)
        .map_err(|e| format!("transactionDataBcs is not a transaction: {e}"))?;
    let digest = tx.digest().to_string();
    if let Some(effects) = chain.executed.get(&digest) {
        return Ok(effects.clone());
    }
    let signatures = variables
        .get("signatures")
        .and_then(Value::as_array)
        .ok_or("missing signatures")?;
    let [signature] = signatures.as_slice() else {
        return Err(format!("expected one signature, got {}", signatures.len()));
    };
    let signature = UserSignature::from_base64(signature.as_str().unwrap_or(""))
        .map_err(|e| format!("signature: {e}"))?;
    let UserSignature::Simple(SimpleSignature::Ed25519 { public_key, .. }) = &signature else {
        return Err("only Ed25519 signatures are accepted here".into());
    };
    if public_key.derive_address() != tx.sender {
        return Err(format!(
            "signer {} is not the sender {}",
            public_key.derive_address(),
            tx.sender
        ));
    }
    SimpleVerifier
        .verify_transaction(&tx, &signature)
        .map_err(|e| format!("invalid signature: {e}"))?;

    let s = chain.setup.clone();
    if tx.sender != s.sender {
        return Err(format!("{} does not own the capability", tx.sender));
    }
    let gas = &tx.gas_payment;
    let expected_gas = sui_sdk_types::ObjectReference::new(s.gas.id, s.gas.version, s.gas.digest);
    if gas.objects != vec![expected_gas] || gas.owner != s.sender {
        return Err(format!(
            "gas payment {:?} is not the current version of the gas coin",
            gas.objects
        ));
    }
    if gas.price < s.reference_gas_price || gas.budget == 0 {
        return Err("gas price below the reference gas price, or no budget".into());
    }
    let TransactionKind::ProgrammableTransaction(ptb) = &tx.kind else {
        return Err("not a programmable transaction".into());
    };
    let [Command::MoveCall(call)] = ptb.commands.as_slice() else {
        return Err("expected exactly one Move call".into());
    };
    if call.package != s.package
        || call.module.as_str() != MODULE
        || call.function.as_str() != FUNCTION
    {
        return Err(format!(
            "unexpected call {}::{}::{}",
            call.package, call.module, call.function
        ));
    }
    if !call.type_arguments.is_empty() {
        return Err("anchor takes no type arguments".into());
    }
    let input = |i: usize| -> Result<&Input, String> {
        match call.arguments.get(i) {
            Some(Argument::Input(n)) => ptb
                .inputs
                .get(*n as usize)
                .ok_or_else(|| format!("argument {i} refers to a missing input")),
            _ => Err(format!("argument {i} must be a transaction input")),
        }
    };
    if call.arguments.len() != 5 {
        return Err(format!(
            "anchor takes 5 arguments, got {}",
            call.arguments.len()
        ));
    }
    if shared(input(0)?) != Some((s.registry.0, s.registry.1, true)) {
        return Err("argument 0 must be the registry, shared and mutable".into());
    }
    let expected_cap = sui_sdk_types::ObjectReference::new(s.cap.id, s.cap.version, s.cap.digest);
    match input(1)? {
        Input::ImmutableOrOwned(r) if *r == expected_cap => {}
        other => {
            return Err(format!(
                "argument 1 must be the current capability version, got {other:?}"
            ));
        }
    }
    let clock: Address = CLOCK_ID.parse().map_err(|_| "clock id")?;
    if shared(input(4)?) != Some((clock, 1, false)) {
        return Err("argument 4 must be the clock 0x6, shared read-only".into());
    }
    let (Input::Pure(size), Input::Pure(root)) = (input(2)?, input(3)?) else {
        return Err("arguments 2 and 3 must be pure values".into());
    };
    let size: u64 = bcs::from_bytes(size).map_err(|e| format!("tree_size: {e}"))?;
    let root: Vec<u8> = bcs::from_bytes(root).map_err(|e| format!("root_hash: {e}"))?;

    // Executed: gas is charged and owned objects move to a new version
    // whether the Move call aborts or not.
    let lamport = s.cap.version.max(s.gas.version) + 1;
    let mut digest_bytes = tx.digest().into_inner();
    chain.setup.cap.version = lamport;
    chain.setup.gas.version = lamport;
    digest_bytes[0] ^= 1;
    chain.setup.cap.digest = Digest::new(digest_bytes);
    digest_bytes[0] ^= 3;
    chain.setup.gas.digest = Digest::new(digest_bytes);
    chain.executions += 1;
    let abort = if root.len() != 32 {
        Some(1)
    } else if size <= chain.latest_size {
        Some(2)
    } else {
        None
    };
    let effects = match abort {
        None => {
            chain.latest_size = size;
            chain.anchors.push(FakeAnchor {
                size,
                root,
                digest: digest.clone(),
            });
            json!({ "digest": digest, "status": "SUCCESS", "executionError": null })
        }
        Some(code) => json!({ "digest": digest, "status": "FAILURE", "executionError": {
            "message": format!("MoveAbort in {}::{MODULE}::{FUNCTION} with code {code}", s.package) } }),
    };
    chain.executed.insert(digest, effects.clone());
    Ok(effects)
}
