//! The anchor transaction: building, BCS layout, signing.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use sui_crypto::SuiSigner as _;
use sui_crypto::ed25519::Ed25519PrivateKey;
use sui_sdk_types::{Address, Digest, Identifier, Transaction};
use sui_transaction_builder::{Function, ObjectInput, TransactionBuilder};

use crate::{AnchorError, CheckpointRef};

/// Name of the Move module (`contracts/sui/sources/anchor.move`).
pub const MODULE: &str = "anchor";
/// Name of the anchoring function in [`MODULE`].
pub const FUNCTION: &str = "anchor";
/// The Sui system clock object (`0x6`, shared since version 1).
pub const CLOCK_ID: &str = "0x6";

/// A version of an owned object.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ObjectRef {
    /// The object id.
    pub id: Address,
    /// Its current version.
    pub version: u64,
    /// Its current digest.
    pub digest: Digest,
}

/// Everything the anchor transaction is made of.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AnchorTx {
    /// The published `verity` package.
    pub package: Address,
    /// The shared `Registry` and the version it was shared at.
    pub registry: (Address, u64),
    /// The sender's `AnchorCap` for that registry.
    pub cap: ObjectRef,
    /// The coins paying for gas (owned by the sender).
    pub gas: Vec<ObjectRef>,
    /// Gas price (at least the network's reference gas price).
    pub gas_price: u64,
    /// Most gas the transaction may use.
    pub gas_budget: u64,
    /// The sender (the key's address).
    pub sender: Address,
    /// The checkpoint.
    pub checkpoint: CheckpointRef,
}

/// The BCS bytes of the two pure arguments of `anchor`: `tree_size: u64`
/// then `root_hash: vector<u8>`.
pub fn pure_args(checkpoint: &CheckpointRef) -> (Vec<u8>, Vec<u8>) {
    let size = bcs::to_bytes(&checkpoint.size).expect("a u64 always encodes");
    let root = bcs::to_bytes(&checkpoint.root.to_vec()).expect("bytes always encode");
    (size, root)
}

fn identifier(name: &'static str) -> Identifier {
    Identifier::from_static(name)
}

impl AnchorTx {
    /// Builds the transaction (offline, deterministic).
    ///
    /// Inputs are added in argument order (registry, cap, size, root, clock),
    /// which is the order the TypeScript SDK uses, so the bytes match it.
    ///
    /// # Errors
    /// [`AnchorError::Build`] when the builder refuses (no gas coin…).
    pub fn build(&self) -> Result<Transaction, AnchorError> {
        let clock: Address = CLOCK_ID
            .parse()
            .map_err(|e| AnchorError::Build(format!("clock id: {e}")))?;
        let (size, root) = pure_args(&self.checkpoint);
        let mut tx = TransactionBuilder::new();
        let registry = tx.object(ObjectInput::shared(self.registry.0, self.registry.1, true));
        let cap = tx.object(ObjectInput::owned(
            self.cap.id,
            self.cap.version,
            self.cap.digest,
        ));
        let size = tx.pure_bytes(size);
        let root = tx.pure_bytes(root);
        let clock = tx.object(ObjectInput::shared(clock, 1, false));
        tx.move_call(
            Function::new(self.package, identifier(MODULE), identifier(FUNCTION)),
            vec![registry, cap, size, root, clock],
        );
        tx.set_sender(self.sender);
        tx.set_gas_price(self.gas_price);
        tx.set_gas_budget(self.gas_budget);
        tx.add_gas_objects(
            self.gas
                .iter()
                .map(|g| ObjectInput::owned(g.id, g.version, g.digest)),
        );
        tx.try_build()
            .map_err(|e| AnchorError::Build(e.to_string()))
    }
}

/// A signed transaction, as submitted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedTx {
    /// BCS of the transaction data, Base64.
    pub tx_bytes: String,
    /// The transaction digest (Base58).
    pub digest: String,
    /// The serialized signature (`flag || signature || public key`), Base64.
    pub signature: String,
}

/// Signs `tx` with `key`.
///
/// # Errors
/// [`AnchorError::Build`] when encoding or signing fails.
pub fn sign(tx: &Transaction, key: &Ed25519PrivateKey) -> Result<SignedTx, AnchorError> {
    let bytes = bcs::to_bytes(tx).map_err(|e| AnchorError::Build(format!("BCS: {e}")))?;
    let signature = key
        .sign_transaction(tx)
        .map_err(|e| AnchorError::Build(format!("signing: {e}")))?;
    Ok(SignedTx {
        tx_bytes: B64.encode(bytes),
        digest: tx.digest().to_string(),
        signature: signature.to_base64(),
    })
}

/// The Sui address of `key`.
pub fn address_of(key: &Ed25519PrivateKey) -> Address {
    key.public_key().derive_address()
}

#[cfg(test)]
mod tests {
    use sui_sdk_types::{Argument, Command, Input, TransactionKind};

    use super::*;

    fn sample() -> AnchorTx {
        let id = |b: u8| Address::new([b; 32]);
        let r = |b: u8, version| ObjectRef {
            id: id(b),
            version,
            digest: Digest::new([b; 32]),
        };
        AnchorTx {
            package: id(0x7a),
            registry: (id(0x11), 7),
            cap: r(0x22, 12),
            gas: vec![r(0x33, 15)],
            gas_price: 1000,
            gas_budget: 10_000_000,
            sender: id(0x99),
            checkpoint: CheckpointRef {
                size: 57,
                root: [0xab; 32],
            },
        }
    }

    /// `anchor(registry: &mut Registry, cap: &AnchorCap, tree_size: u64,
    /// root_hash: vector<u8>, clock: &Clock)`: the pure arguments are a
    /// little-endian u64 and a ULEB128-length-prefixed byte vector.
    #[test]
    fn move_call_argument_layout_is_pinned() {
        let (size, root) = pure_args(&sample().checkpoint);
        assert_eq!(hex::encode(size), "3900000000000000");
        assert_eq!(hex::encode(&root), format!("20{}", "ab".repeat(32)));
        let (size, _) = pure_args(&CheckpointRef {
            size: 0x0102_0304_0506_0708,
            root: [0; 32],
        });
        assert_eq!(hex::encode(size), "0807060504030201");
    }

    #[test]
    fn the_call_takes_registry_cap_size_root_clock_in_order() {
        let tx = sample().build().unwrap();
        let TransactionKind::ProgrammableTransaction(ptb) = &tx.kind else {
            panic!("not a PTB");
        };
        let [Command::MoveCall(call)] = ptb.commands.as_slice() else {
            panic!("expected one Move call");
        };
        assert_eq!(call.module.as_str(), MODULE);
        assert_eq!(call.function.as_str(), FUNCTION);
        let inputs: Vec<&Input> = call
            .arguments
            .iter()
            .map(|a| match a {
                Argument::Input(i) => &ptb.inputs[*i as usize],
                other => panic!("argument {other:?} is not an input"),
            })
            .collect();
        assert_eq!(inputs.len(), 5);
        assert!(matches!(inputs[0], Input::Shared(_)));
        assert!(matches!(inputs[1], Input::ImmutableOrOwned(_)));
        let (size, root) = pure_args(&sample().checkpoint);
        assert_eq!(inputs[2], &Input::Pure(size));
        assert_eq!(inputs[3], &Input::Pure(root));
        assert!(matches!(inputs[4], Input::Shared(_)));
        assert_eq!(tx.gas_payment.owner, tx.sender);
    }
}
