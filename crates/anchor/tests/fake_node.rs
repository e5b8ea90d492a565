//! The Sui anchoring client against the local fake node: digests and
//! signatures checked by the node, retries, resubmission of the same
//! transaction after a lost reply, and on-chain failures.

use std::time::Duration;

use verity_anchor::fake::{FakeSetup, FakeSuiNode};
use verity_anchor::key::parse_key;
use verity_anchor::tx::address_of;
use verity_anchor::{AnchorError, ChainAnchor, CheckpointRef, SuiAnchor, SuiAnchorConfig};

const SEED: &str = "0102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f20";

async fn setup(seed: &str) -> (FakeSuiNode, SuiAnchor) {
    let owner = address_of(&parse_key(SEED).unwrap());
    let node = FakeSuiNode::start(FakeSetup::for_sender(owner))
        .await
        .unwrap();
    let s = node.setup();
    let mut config = SuiAnchorConfig::new(node.url(), s.package, s.registry.0, s.cap.id, s.gas.id);
    config.chain = "sui:localnet".into();
    config.attempts = 4;
    config.backoff = Duration::from_millis(10);
    config.max_backoff = Duration::from_millis(40);
    config.request_timeout = Duration::from_secs(5);
    let anchor = SuiAnchor::new(config, parse_key(seed).unwrap()).unwrap();
    (node, anchor)
}

fn checkpoint(size: u64) -> CheckpointRef {
    CheckpointRef {
        size,
        root: [size as u8; 32],
    }
}

#[tokio::test]
async fn anchors_a_checkpoint_and_follows_object_versions() {
    let (node, anchor) = setup(SEED).await;
    let first = anchor.anchor(&checkpoint(3)).await.unwrap();
    assert_eq!(first.chain, "sui:localnet");
    let second = anchor.anchor(&checkpoint(9)).await.unwrap();
    assert_ne!(first.tx_digest, second.tx_digest);
    let anchors = node.anchors();
    assert_eq!(anchors.len(), 2);
    assert_eq!(anchors[0].size, 3);
    assert_eq!(anchors[0].root, vec![3u8; 32]);
    assert_eq!(anchors[0].digest, first.tx_digest);
    assert_eq!(anchors[1].digest, second.tx_digest);
    assert_eq!(node.executions(), 2);
}

#[tokio::test]
async fn retries_after_node_failures() {
    let (node, anchor) = setup(SEED).await;
    node.fail_next(2);
    let anchored = anchor.anchor(&checkpoint(5)).await.unwrap();
    assert_eq!(node.anchors()[0].digest, anchored.tx_digest);
    // two refused requests, then the objects query and the execution
    assert_eq!(node.requests(), 4);
}

#[tokio::test]
async fn a_lost_reply_resubmits_the_same_transaction_once_executed() {
    let (node, anchor) = setup(SEED).await;
    node.lose_next_replies(1);
    let anchored = anchor.anchor(&checkpoint(5)).await.unwrap();
    assert_eq!(
        node.executions(),
        1,
        "the resubmission must not execute twice"
    );
    assert_eq!(node.anchors().len(), 1);
    assert_eq!(node.anchors()[0].digest, anchored.tx_digest);
}

#[tokio::test]
async fn a_size_that_does_not_grow_fails_on_chain_without_retrying() {
    let (node, anchor) = setup(SEED).await;
    anchor.anchor(&checkpoint(8)).await.unwrap();
    let err = anchor.anchor(&checkpoint(8)).await.unwrap_err();
    let AnchorError::Failed { digest, message } = &err else {
        panic!("expected an on-chain failure, got {err:?}");
    };
    assert!(!digest.is_empty());
    assert!(message.contains("code 2"), "{message}");
    assert_eq!(node.executions(), 2);
    assert_eq!(node.anchors().len(), 1);
}

#[tokio::test]
async fn a_key_that_does_not_own_the_capability_is_refused() {
    let stranger = "11".repeat(32);
    let (node, anchor) = setup(&stranger).await;
    let err = anchor.anchor(&checkpoint(1)).await.unwrap_err();
    let AnchorError::Exhausted { attempts, last } = &err else {
        panic!("expected exhaustion, got {err:?}");
    };
    assert_eq!(*attempts, 4);
    assert!(matches!(**last, AnchorError::Rejected(_)), "{last:?}");
    assert!(node.anchors().is_empty());
}

#[tokio::test]
async fn gives_up_when_the_node_stays_down() {
    let (node, anchor) = setup(SEED).await;
    node.fail_next(100);
    let err = anchor.anchor(&checkpoint(1)).await.unwrap_err();
    assert!(
        matches!(&err, AnchorError::Exhausted { attempts: 4, last } if matches!(**last, AnchorError::Transport(_))),
        "{err:?}"
    );
    assert_eq!(node.requests(), 4);
}

#[tokio::test]
async fn an_unknown_object_is_a_configuration_error() {
    let (node, _) = setup(SEED).await;
    let s = node.setup();
    let mut config = SuiAnchorConfig::new(node.url(), s.package, s.registry.0, s.cap.id, s.package);
    config.attempts = 1;
    let anchor = SuiAnchor::new(config, parse_key(SEED).unwrap()).unwrap();
    let err = anchor.anchor(&checkpoint(1)).await.unwrap_err().to_string();
    assert!(
        err.contains("gas object") && err.contains("does not exist"),
        "{err}"
    );
}
