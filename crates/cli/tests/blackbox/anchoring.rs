//! `verity serve --anchor sui` against the local fake Sui node: published
//! checkpoints are anchored (after a node failure), the transaction digest
//! is shown on the checkpoint endpoint and carried by receipts.

use std::collections::HashSet;
use std::time::{Duration, Instant};

use serde_json::Value;
use verity_anchor::fake::{FakeSetup, FakeSuiNode};
use verity_anchor::key::parse_key;
use verity_anchor::tx::address_of;

use crate::harness::{Options, Server, client, generated};

const DEADLINE: Duration = Duration::from_secs(60);
const SEED: &str = "0102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f20";

async fn get(server: &Server, path: &str) -> (u16, Value) {
    let response = client().get(server.url(path)).send().await.unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn checkpoints_are_anchored_on_the_fake_sui_node_and_receipts_carry_the_digest() {
    let node = FakeSuiNode::start(FakeSetup::for_sender(address_of(&parse_key(SEED).unwrap())))
        .await
        .unwrap();
    node.fail_next(1);
    let s = node.setup();
    let keys = tempfile::tempdir().unwrap();
    let key_file = keys.path().join("sui.key");
    std::fs::write(&key_file, SEED).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&key_file, std::fs::Permissions::from_mode(0o600)).unwrap();
    }
    let options = Options::default()
        .env("VERITY_CHECKPOINT_INTERVAL", "100ms")
        .env("VERITY_ANCHOR", "sui")
        .env("VERITY_SUI_CHAIN", "sui:localnet")
        .env("VERITY_SUI_GRAPHQL_URL", &node.url())
        .env("VERITY_SUI_KEY_FILE", key_file.to_str().unwrap())
        .env("VERITY_SUI_PACKAGE", &s.package.to_string())
        .env("VERITY_SUI_REGISTRY", &s.registry.0.to_string())
        .env("VERITY_SUI_CAP", &s.cap.id.to_string())
        .env("VERITY_SUI_GAS_COIN", &s.gas.id.to_string());
    let server = Server::start(options).await;
    let job = server
        .upload_ok(generated(image::ImageFormat::Png, 16, 16, 4), "g.png")
        .await;
    server.wait_decided(&job).await;

    // The receipt carries an anchor once the checkpoint covering the job is anchored.
    let start = Instant::now();
    let receipt = loop {
        let (status, body) = get(&server, &format!("/api/jobs/{job}/receipt")).await;
        if status == 200 && !body["anchor"].is_null() {
            break body;
        }
        assert!(
            start.elapsed() < DEADLINE,
            "no anchored receipt: {status} {body}\n{}",
            server.log()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let anchors = node.anchors();
    let digests: HashSet<&str> = anchors.iter().map(|a| a.digest.as_str()).collect();
    let anchor = &receipt["anchor"];
    assert_eq!(anchor["chain"], "sui:localnet");
    assert!(
        digests.contains(anchor["txDigest"].as_str().unwrap()),
        "{anchor} is not a transaction the node executed: {anchors:?}"
    );
    let size = anchor["checkpointSize"].as_u64().unwrap();
    assert_eq!(receipt["log"]["inclusionProof"]["treeSize"], size);
    // The chain holds the root of exactly that checkpoint.
    let on_chain = anchors.iter().find(|a| a.size == size).unwrap();
    let (_, list) = get(&server, "/api/ledger/checkpoints").await;
    let published = list["checkpoints"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["treeSize"] == size)
        .unwrap();
    assert_eq!(published["rootHash"], hex::encode(&on_chain.root));
    assert!(
        anchors.windows(2).all(|w| w[0].size < w[1].size),
        "anchored sizes must grow: {anchors:?}"
    );
    assert!(
        node.requests() > node.executions(),
        "the induced failure was retried"
    );

    let (status, checkpoint) = get(&server, "/api/ledger/checkpoint").await;
    assert_eq!(status, 200);
    let latest = &checkpoint["latestAnchor"];
    assert!(
        digests.contains(latest["txDigest"].as_str().unwrap()),
        "{checkpoint}"
    );
    assert!(latest["checkpointSize"].as_u64().unwrap() >= size);

    // `verity verify` still verifies it and names the anchor.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("receipt.json");
    std::fs::write(&path, serde_json::to_vec(&receipt).unwrap()).unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_verity"))
        .arg("verify")
        .arg(&path)
        .args(["--log-key", checkpoint["logKey"].as_str().unwrap()])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}");
    assert!(
        stdout.contains("ok    anchor:") && stdout.contains(anchor["txDigest"].as_str().unwrap()),
        "{stdout}"
    );
}

#[tokio::test]
async fn anchor_sui_without_its_settings_refuses_to_start() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_verity"))
        .args(["serve", "--anchor", "sui", "--addr", "127.0.0.1:0"])
        .env("VERITY_DATA_DIR", tempfile::tempdir().unwrap().path())
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("VERITY_SUI_GRAPHQL_URL"), "{stderr}");
}
