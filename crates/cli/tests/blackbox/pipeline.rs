//! The pipeline end to end: upload → enclaves → consensus → signed report.

use serde_json::Value;
use verity_core::{FinalReport, Sha256Digest, SignedReport};
use verity_crypto::verify_report;

use crate::harness::{Options, Server, fixture, generated};

/// The final report verifies with the aggregator key, and every vote is backed by
/// an enclave report whose signature verifies with the key `/api/oracles` publishes.
async fn assert_signatures(server: &Server, job: &str, report: &Value, oracles: &Value) {
    let report: FinalReport = serde_json::from_value(report.clone()).unwrap();
    verity_crypto::verify_final_report(&report, None).expect("aggregator signature verifies");
    let reports: Value = crate::harness::client()
        .get(server.url(&format!("/api/jobs/{job}/reports")))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let signed: Vec<SignedReport> = serde_json::from_value(reports["reports"].clone()).unwrap();
    assert_eq!(signed.len(), report.consensus_metadata.votes.len());
    for vote in &report.consensus_metadata.votes {
        let oracle = oracles["oracles"]
            .as_array()
            .unwrap()
            .iter()
            .find(|o| o["enclaveId"] == vote.enclave_id.as_str())
            .expect("every voter is a published oracle");
        assert_eq!(oracle["attestation"], "dev-insecure");
        let key = hex::decode(oracle["signingKey"].as_str().unwrap()).unwrap();
        let backing = signed
            .iter()
            .find(|s| s.report.enclave_id == vote.enclave_id)
            .expect("a signed report per vote");
        verify_report(&key, backing).expect("enclave signature verifies with the published key");
        assert_eq!(backing.report.digest(), vote.report_digest);
        assert_eq!(backing.report.verdict, vote.verdict);
        assert!((vote.weight - vote.reputation * (vote.stake as f64 / 100.0).sqrt()).abs() < 1e-12);
    }
}

#[tokio::test]
async fn jpeg_and_png_reach_a_signed_three_enclave_verdict() {
    let server = Server::start(Options::default()).await;
    let cases = [
        (
            "a1111_parameters.png",
            fixture("a1111_parameters.png"),
            "AI_GENERATED",
        ),
        (
            "xmp.jpg",
            fixture("xmp_dst_trainedAlgorithmicMedia.jpg"),
            "AI_GENERATED",
        ),
        ("plain.jpg", fixture("no_metadata.jpg"), "UNCERTAIN"),
    ];
    let oracles = server.oracles().await;
    assert_eq!(oracles["oracles"].as_array().unwrap().len(), 3);
    for (name, bytes, expected) in cases {
        let response = server.upload(bytes.clone(), name).await;
        assert_eq!(response.status(), 202);
        let accepted: Value = response.json().await.unwrap();
        assert_eq!(accepted["success"], true);
        assert_eq!(accepted["status"], "PENDING");
        assert_eq!(accepted["mediaHash"], Sha256Digest::of(&bytes).to_hex());
        assert_eq!(accepted["storageProvider"], server.mode.provider());
        assert!(accepted["mediaCID"].as_str().is_some_and(|c| !c.is_empty()));
        let job = accepted["jobId"].as_str().unwrap();
        assert!(job.starts_with("job_"));

        let events = server.events(job).await;
        let kinds: Vec<&str> = events.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(kinds.first(), Some(&"queued"), "{kinds:?}");
        assert_eq!(
            kinds.iter().filter(|k| **k == "enclave_finished").count(),
            3,
            "{kinds:?}"
        );
        assert!(kinds.contains(&"consensus"), "{kinds:?}");
        assert_eq!(kinds.last(), Some(&"completed"), "{kinds:?}");

        let body = server.job(job).await;
        assert_eq!(body["status"], "COMPLETED", "{body}");
        assert_eq!(body["progress"], 100);
        let report = &body["report"];
        assert_eq!(report["verdict"], expected, "{name}: {report}");
        assert_eq!(report["consensusMetadata"]["participatingEnclaves"], 3);
        assert_eq!(report["consensusMetadata"]["threshold"], 0.66);
        assert_eq!(report["mediaSha256"], Sha256Digest::of(&bytes).to_hex());
        assert_signatures(&server, job, report, &oracles).await;
        // The seed's alias answers the same.
        let alias = server.job(job).await;
        assert_eq!(alias["jobId"], body["jobId"]);
    }
}

#[tokio::test]
async fn same_bytes_twice_get_two_jobs() {
    let server = Server::start(Options::default()).await;
    let bytes = generated(image::ImageFormat::Png, 64, 48, 3);
    let a = server.upload_ok(bytes.clone(), "a.png").await;
    let b = server.upload_ok(bytes, "b.png").await;
    assert_ne!(a, b);
    let (ja, jb) = (server.wait_decided(&a).await, server.wait_decided(&b).await);
    assert_eq!(ja["mediaHash"], jb["mediaHash"]);
    assert_eq!(
        ja["mediaCID"], jb["mediaCID"],
        "identical media may share its ciphertext"
    );
    assert_eq!(jb["status"], "COMPLETED");
}

#[tokio::test]
async fn webp_is_accepted() {
    let server = Server::start(Options::default()).await;
    let job = server
        .upload_ok(generated(image::ImageFormat::WebP, 32, 32, 9), "x.webp")
        .await;
    let body = server.wait_decided(&job).await;
    assert_eq!(body["status"], "COMPLETED", "{body}");
    assert_eq!(body["mimeType"], "image/webp");
}

#[tokio::test]
async fn one_enclave_down_gives_consensus_from_two() {
    let server = Server::start(
        Options::default()
            .env("VERITY_OFFLINE_ENCLAVES", "enclave-3")
            .env("VERITY_ROUND_TIMEOUT", "2s"),
    )
    .await;
    let job = server
        .upload_ok(fixture("a1111_parameters.png"), "a.png")
        .await;
    let body = server.wait_decided(&job).await;
    assert_eq!(body["status"], "COMPLETED", "{body}");
    let meta = &body["report"]["consensusMetadata"];
    assert_eq!(meta["participatingEnclaves"], 2);
    let voters: Vec<&str> = meta["votes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["enclaveId"].as_str().unwrap())
        .collect();
    assert_eq!(voters, ["enclave-1", "enclave-2"]);
    assert_eq!(body["report"]["verdict"], "AI_GENERATED");
}

#[tokio::test]
async fn too_few_enclaves_fails_with_a_reason_and_can_be_retried() {
    let mut server = Server::start(
        Options::default()
            .env("VERITY_OFFLINE_ENCLAVES", "enclave-3")
            .env("MIN_ENCLAVES", "3")
            .env("VERITY_ROUND_TIMEOUT", "2s"),
    )
    .await;
    let job = server
        .upload_ok(fixture("a1111_parameters.png"), "a.png")
        .await;
    let body = server.wait_decided(&job).await;
    assert_eq!(body["status"], "FAILED", "{body}");
    let reason = body["failureReason"].as_str().unwrap();
    assert!(reason.contains("only 2 of the 3"), "{reason}");
    assert_eq!(body["retryable"], true);
    assert!(body.get("report").is_none());
    let events = server.events(&job).await;
    assert_eq!(events.last().map(|(k, _)| k.as_str()), Some("failed"));

    // Bring the third enclave back and retry: a new round completes.
    server
        .restart_with(&[("VERITY_OFFLINE_ENCLAVES", "")])
        .await;
    let retry = crate::harness::client()
        .post(server.url(&format!("/api/jobs/{job}/retry")))
        .send()
        .await
        .unwrap();
    assert_eq!(retry.status(), 202);
    let body = server.wait_decided(&job).await;
    assert_eq!(body["status"], "COMPLETED", "{body}");
    assert_eq!(body["round"], 1);
    assert_eq!(
        body["report"]["consensusMetadata"]["participatingEnclaves"],
        3
    );
}

#[tokio::test]
async fn single_enclave_dev_mode() {
    let server = Server::start(Options::default().env("USE_MULTI_WORKER", "false")).await;
    assert_eq!(
        server.oracles().await["oracles"].as_array().unwrap().len(),
        1
    );
    let job = server
        .upload_ok(fixture("a1111_parameters.png"), "a.png")
        .await;
    let body = server.wait_decided(&job).await;
    assert_eq!(
        body["report"]["consensusMetadata"]["participatingEnclaves"],
        1
    );
    assert_eq!(body["report"]["consensusMetadata"]["minEnclaves"], 1);
}
