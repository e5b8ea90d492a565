//! The Rust builder and signer against the TypeScript SDK's golden vectors
//! (`scripts/sui-vectors`, `@mysten/sui` 2.33.1): same bytes, digest and
//! signature for the same inputs.

use serde_json::Value;
use sui_sdk_types::Address;
use verity_anchor::CheckpointRef;
use verity_anchor::key::parse_key;
use verity_anchor::tx::{AnchorTx, ObjectRef, address_of, sign};

fn fixture() -> Value {
    serde_json::from_str(include_str!("fixtures/anchor_tx_vectors.json")).unwrap()
}

fn object_ref(v: &Value) -> ObjectRef {
    ObjectRef {
        id: v["objectId"].as_str().unwrap().parse().unwrap(),
        version: v["version"].as_u64().unwrap(),
        digest: v["digest"].as_str().unwrap().parse().unwrap(),
    }
}

#[test]
fn anchor_transactions_match_the_typescript_sdk_byte_for_byte() {
    let f = fixture();
    let package: Address = f["package"].as_str().unwrap().parse().unwrap();
    let registry: Address = f["registry"]["objectId"].as_str().unwrap().parse().unwrap();
    let isv = f["registry"]["initialSharedVersion"].as_u64().unwrap();
    let cases = f["cases"].as_array().unwrap();
    assert!(cases.len() >= 2);
    for case in cases {
        let name = case["name"].as_str().unwrap();
        let key = parse_key(case["seed"].as_str().unwrap()).unwrap();
        let sender = address_of(&key);
        assert_eq!(
            sender.to_string(),
            case["sender"].as_str().unwrap(),
            "{name}: sender"
        );
        let root: [u8; 32] = hex::decode(case["rootHash"].as_str().unwrap())
            .unwrap()
            .try_into()
            .unwrap();
        let tx = AnchorTx {
            package,
            registry: (registry, isv),
            cap: object_ref(&f["cap"]),
            gas: vec![object_ref(&f["gasCoin"])],
            gas_price: case["gasPrice"].as_u64().unwrap(),
            gas_budget: case["gasBudget"].as_u64().unwrap(),
            sender,
            checkpoint: CheckpointRef {
                size: case["treeSize"].as_u64().unwrap(),
                root,
            },
        };
        let signed = sign(&tx.build().unwrap(), &key).unwrap();
        assert_eq!(
            signed.tx_bytes,
            case["txBytes"].as_str().unwrap(),
            "{name}: tx bytes"
        );
        assert_eq!(
            signed.digest,
            case["digest"].as_str().unwrap(),
            "{name}: digest"
        );
        assert_eq!(
            signed.signature,
            case["signature"].as_str().unwrap(),
            "{name}: signature"
        );
    }
}

#[test]
fn a_different_checkpoint_gives_different_bytes() {
    let f = fixture();
    let case = &f["cases"][0];
    let key = parse_key(case["seed"].as_str().unwrap()).unwrap();
    let tx = AnchorTx {
        package: f["package"].as_str().unwrap().parse().unwrap(),
        registry: (
            f["registry"]["objectId"].as_str().unwrap().parse().unwrap(),
            7,
        ),
        cap: object_ref(&f["cap"]),
        gas: vec![object_ref(&f["gasCoin"])],
        gas_price: 1000,
        gas_budget: 10_000_000,
        sender: address_of(&key),
        checkpoint: CheckpointRef {
            size: 2,
            root: [0xaa; 32],
        },
    };
    let signed = sign(&tx.build().unwrap(), &key).unwrap();
    assert_ne!(signed.tx_bytes, case["txBytes"].as_str().unwrap());
    assert_ne!(signed.digest, case["digest"].as_str().unwrap());
}
