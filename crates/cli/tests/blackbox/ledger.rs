//! The transparency log over HTTP and `verity verify` on real receipts.

use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::Value;
use verity_tlog::checkpoint::Checkpoint;
use verity_tlog::note::NoteVerifier;
use verity_tlog::proof::verify_consistency;

use crate::harness::{Options, Server, client, fixture, generated};

const DEADLINE: Duration = Duration::from_secs(60);

async fn get(server: &Server, path: &str) -> (u16, Value) {
    let response = client().get(server.url(path)).send().await.unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap())
}

/// Polls the receipt until the log has checkpointed the job's report.
async fn receipt(server: &Server, job: &str) -> Value {
    let start = Instant::now();
    loop {
        let (status, body) = get(server, &format!("/api/jobs/{job}/receipt")).await;
        if status == 200 {
            assert_eq!(body["success"], true);
            return body;
        }
        assert!(
            matches!(
                body["error"]["code"].as_str(),
                Some("not_checkpointed" | "not_logged")
            ),
            "unexpected {status}: {body}"
        );
        assert!(start.elapsed() < DEADLINE, "no receipt for {job}: {body}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn log_key(checkpoint: &Value) -> String {
    checkpoint["logKey"].as_str().unwrap().to_owned()
}

/// Runs `verity verify` on `receipt` with `args`; (exit success, stdout).
fn verify(receipt: &Value, args: &[&str]) -> (bool, String) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("receipt.json");
    std::fs::write(&path, serde_json::to_vec_pretty(receipt).unwrap()).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_verity"))
        .arg("verify")
        .arg(&path)
        .args(args)
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

/// Changes a receipt in place.
type Tamper = Box<dyn Fn(&mut Value)>;

fn fast_checkpoints() -> Options {
    Options::default().env("VERITY_CHECKPOINT_INTERVAL", "100ms")
}

#[tokio::test]
async fn receipts_verify_offline_and_tampered_ones_are_refused() {
    let server = Server::start(fast_checkpoints()).await;
    let image = fixture("a1111_parameters.png");
    let job = server.upload_ok(image.clone(), "a.png").await;
    assert_eq!(server.wait_decided(&job).await["status"], "COMPLETED");
    let receipt = receipt(&server, &job).await;
    let (_, checkpoint) = get(&server, "/api/ledger/checkpoint").await;
    let key = log_key(&checkpoint);

    let dir = tempfile::tempdir().unwrap();
    let image_path = dir.path().join("a.png");
    std::fs::write(&image_path, &image).unwrap();
    let image_arg = image_path.to_str().unwrap();
    let (ok, out) = verify(&receipt, &["--log-key", &key, "--image", image_arg]);
    assert!(ok, "{out}");
    for check in [
        "version",
        "attestations",
        "enclave-signatures",
        "aggregator-signature",
        "votes",
        "committee",
        "consensus",
        "image",
        "log-entry",
        "checkpoint-signature",
        "inclusion",
    ] {
        assert!(
            out.contains(&format!("ok    {check}: ")),
            "{check} missing:\n{out}"
        );
    }
    assert!(out.contains("VERIFIED: AI_GENERATED"), "{out}");

    // The key may also be given as a file.
    let key_file = dir.path().join("log.vkey");
    std::fs::write(&key_file, &key).unwrap();
    assert!(verify(&receipt, &["--log-key", key_file.to_str().unwrap()]).0);

    let other_image = dir.path().join("b.png");
    std::fs::write(&other_image, generated(image::ImageFormat::Png, 8, 8, 3)).unwrap();
    let tampered: Vec<(&str, Tamper, Vec<String>)> = vec![
        (
            "final verdict",
            Box::new(|r| r["finalReport"]["verdict"] = "REAL".into()),
            vec![],
        ),
        (
            "enclave verdict",
            Box::new(|r| r["enclaveReports"][0]["report"]["verdict"] = "REAL".into()),
            vec![],
        ),
        (
            "enclave Nautilus signature",
            Box::new(|r| {
                let sig = r["enclaveReports"][0]["nautilusSignature"]
                    .as_str()
                    .expect("enclave reports carry a Nautilus-layout signature")
                    .to_owned();
                let flipped = if sig.starts_with('0') { "1" } else { "0" };
                r["enclaveReports"][0]["nautilusSignature"] =
                    format!("{flipped}{}", &sig[1..]).into();
            }),
            vec![],
        ),
        (
            "consensus stake",
            Box::new(|r| r["consensusInputs"]["ballots"][0]["stake"] = 1.into()),
            vec![],
        ),
        (
            "inclusion proof",
            Box::new(|r| r["log"]["inclusionProof"]["leafIndex"] = 5.into()),
            vec![],
        ),
        (
            "checkpoint",
            Box::new(|r| {
                let note = r["log"]["checkpoint"]
                    .as_str()
                    .unwrap()
                    .replacen("\n1\n", "\n2\n", 1);
                r["log"]["checkpoint"] = note.into();
            }),
            vec![],
        ),
        (
            "nothing, other image",
            Box::new(|_| {}),
            vec!["--image".into(), other_image.to_str().unwrap().into()],
        ),
    ];
    let expected = [
        "aggregator-signature",
        "enclave-signatures",
        "enclave-signatures",
        "consensus",
        "inclusion",
        "checkpoint-signature",
        "image",
    ];
    for ((what, tamper, extra), check) in tampered.into_iter().zip(expected) {
        let mut r = receipt.clone();
        tamper(&mut r);
        let mut args = vec!["--log-key".to_owned(), key.clone()];
        args.extend(extra);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let (ok, out) = verify(&r, &args);
        assert!(!ok, "tampered {what} was accepted:\n{out}");
        assert!(
            out.contains(&format!("FAIL  {check}: ")),
            "tampered {what}:\n{out}"
        );
    }
    let (ok, out) = verify(&serde_json::json!({"version": 1}), &[]);
    assert!(!ok && out.contains("FAIL  format"), "{out}");
}

#[tokio::test]
async fn every_pair_of_published_checkpoints_is_consistent_across_a_restart() {
    let mut server = Server::start(fast_checkpoints()).await;
    let mut jobs = Vec::new();
    let mut sizes = Vec::new();
    for seed in 1..=3u8 {
        let job = server
            .upload_ok(generated(image::ImageFormat::Png, 16, 16, seed), "g.png")
            .await;
        server.wait_decided(&job).await;
        let r = receipt(&server, &job).await;
        sizes.push(r["log"]["inclusionProof"]["treeSize"].as_u64().unwrap());
        jobs.push(job);
    }
    let (_, before) = get(&server, "/api/ledger/checkpoint").await;
    server.restart_with(&[]).await;
    let (_, after) = get(&server, "/api/ledger/checkpoint").await;
    assert_eq!(
        before["checkpoint"], after["checkpoint"],
        "the log reloads as it was"
    );
    assert_eq!(log_key(&before), log_key(&after), "the log key persists");
    let job = server
        .upload_ok(generated(image::ImageFormat::Png, 16, 16, 9), "g.png")
        .await;
    server.wait_decided(&job).await;
    receipt(&server, &job).await;

    let key = NoteVerifier::parse(&log_key(&after)).unwrap();
    let (status, list) = get(&server, "/api/ledger/checkpoints").await;
    assert_eq!(status, 200);
    let checkpoints: Vec<Checkpoint> = list["checkpoints"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| Checkpoint::open(c["note"].as_str().unwrap(), &key, key.name()).unwrap())
        .collect();
    assert!(checkpoints.len() >= 2, "{list}");
    assert_eq!(checkpoints.last().unwrap().size, 4);
    for (i, a) in checkpoints.iter().enumerate() {
        for b in &checkpoints[i..] {
            let (status, body) = get(
                &server,
                &format!("/api/ledger/consistency?from={}&to={}", a.size, b.size),
            )
            .await;
            assert_eq!(status, 200, "{body}");
            let proof: Vec<[u8; 32]> = body["proof"]
                .as_array()
                .unwrap()
                .iter()
                .map(|h| {
                    hex::decode(h.as_str().unwrap())
                        .unwrap()
                        .try_into()
                        .unwrap()
                })
                .collect();
            verify_consistency(a.size, b.size, &proof, &a.root, &b.root).unwrap_or_else(|e| {
                panic!(
                    "checkpoints {} and {} are not consistent: {e}",
                    a.size, b.size
                )
            });
        }
    }

    // The proof endpoint proves inclusion in the latest checkpoint.
    let (status, proof) = get(&server, &format!("/api/ledger/proof/{}", jobs[0])).await;
    assert_eq!(status, 200, "{proof}");
    assert_eq!(proof["inclusionProof"]["treeSize"], 4);
    assert_eq!(proof["entry"]["index"], 0);
    let _ = sizes;

    // Bad input is a 4xx with a JSON error, never a 500.
    for (path, want) in [
        ("/api/ledger/consistency?from=0&to=1", 400),
        ("/api/ledger/consistency?from=2&to=1", 400),
        ("/api/ledger/consistency?from=1&to=999", 400),
        ("/api/ledger/consistency?from=x&to=1", 400),
        ("/api/ledger/consistency?to=1", 400),
        ("/api/ledger/proof/not-a-job", 400),
        ("/api/ledger/proof/job_01jf0000000000000000000000", 404),
        ("/api/jobs/job_01jf0000000000000000000000/receipt", 404),
        ("/api/jobs/not-a-job/receipt", 400),
    ] {
        let (status, body) = get(&server, path).await;
        assert_eq!(status, want, "{path}: {body}");
        assert_eq!(body["success"], false, "{path}");
        assert!(body["error"]["code"].is_string(), "{path}");
    }
}
