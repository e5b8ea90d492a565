//! Bad input gets a clear 4xx JSON error, and the server stays healthy.

use reqwest::StatusCode;
use serde_json::Value;
use verity_core::SignedReport;
use verity_crypto::EnclaveKeys;

use crate::harness::{Options, Server, client, expect_error, fixture, generated};

fn part(bytes: Vec<u8>, name: &str) -> reqwest::multipart::Part {
    reqwest::multipart::Part::bytes(bytes).file_name(name.to_owned())
}

#[tokio::test]
async fn bad_uploads_are_refused_with_the_right_status() {
    let server = Server::start(Options::default()).await;
    let http = client();
    let upload = server.url("/api/upload");
    let png = generated(image::ImageFormat::Png, 64, 64, 5);
    let jpeg = fixture("no_metadata.jpg");

    let cases: Vec<(&str, reqwest::RequestBuilder, u16, &str)> = vec![
        ("empty body", http.post(&upload), 400, "bad_multipart"),
        (
            "JSON instead of multipart",
            http.post(&upload).json(&serde_json::json!({"file": "x"})),
            400,
            "bad_multipart",
        ),
        (
            "wrong field name",
            http.post(&upload).multipart(
                reqwest::multipart::Form::new().part("image", part(png.clone(), "a.png")),
            ),
            400,
            "missing_file",
        ),
        (
            "empty file",
            http.post(&upload)
                .multipart(reqwest::multipart::Form::new().part("file", part(vec![], "a.png"))),
            400,
            "empty_file",
        ),
        (
            "text file renamed .jpg",
            http.post(&upload).multipart(
                reqwest::multipart::Form::new()
                    .part("file", part(b"hello, just text\n".repeat(20), "photo.jpg")),
            ),
            415,
            "unsupported_media_type",
        ),
        (
            "GIF",
            http.post(&upload).multipart(
                reqwest::multipart::Form::new().part("file", part(TINY_GIF.to_vec(), "a.gif")),
            ),
            415,
            "unsupported_media_type",
        ),
        (
            "truncated JPEG",
            http.post(&upload).multipart(
                reqwest::multipart::Form::new()
                    .part("file", part(jpeg[..jpeg.len() / 2].to_vec(), "cut.jpg")),
            ),
            400,
            "malformed_image",
        ),
        (
            "truncated PNG",
            http.post(&upload).multipart(
                reqwest::multipart::Form::new()
                    .part("file", part(png[..png.len() - 20].to_vec(), "cut.png")),
            ),
            400,
            "malformed_image",
        ),
        (
            "1×100000 PNG bomb",
            http.post(&upload)
                .multipart(reqwest::multipart::Form::new().part(
                    "file",
                    part(
                        generated(image::ImageFormat::Png, 1, 100_000, 2),
                        "bomb.png",
                    ),
                )),
            400,
            "image_too_large",
        ),
        (
            "oversized file (25.5 MiB, limit 25 MiB)",
            http.post(&upload)
                .multipart(reqwest::multipart::Form::new().part(
                    "file",
                    part(big_png_prefix(25 * 1024 * 1024 + 512 * 1024), "big.png"),
                )),
            413,
            "file_too_large",
        ),
        (
            "userId too long",
            http.post(&upload).multipart(
                reqwest::multipart::Form::new()
                    .text("userId", "u".repeat(300))
                    .part("file", part(png.clone(), "a.png")),
            ),
            400,
            "bad_user_id",
        ),
        (
            "bad job id",
            http.get(server.url("/api/jobs/not-a-job")),
            400,
            "bad_job_id",
        ),
        (
            "path traversal job id",
            http.get(server.url("/api/job/..%2F..%2Fetc%2Fpasswd")),
            400,
            "bad_job_id",
        ),
        (
            "unknown job",
            http.get(server.url("/api/jobs/job_01jf0000000000000000000000")),
            404,
            "job_not_found",
        ),
        (
            "unknown job events",
            http.get(server.url("/api/jobs/job_01jf0000000000000000000000/events")),
            404,
            "job_not_found",
        ),
        (
            "unknown job retry",
            http.post(server.url("/api/jobs/job_01jf0000000000000000000000/retry")),
            404,
            "job_not_found",
        ),
        (
            "unknown route",
            http.get(server.url("/api/nothing-here")),
            404,
            "route_not_found",
        ),
        (
            "wrong method",
            http.get(server.url("/api/upload")),
            405,
            "method_not_allowed",
        ),
        (
            "malformed JSON report",
            http.post(server.url("/api/enclaves/reports"))
                .body("{not json"),
            400,
            "bad_json",
        ),
        (
            "report of the wrong shape",
            http.post(server.url("/api/enclaves/reports"))
                .json(&serde_json::json!({"verdict": "REAL"})),
            400,
            "bad_json",
        ),
    ];
    let count = cases.len();
    for (what, request, status, code) in cases {
        expect_error(what, request.send().await.unwrap(), status, code).await;
    }
    assert!(count >= 15);

    // Still healthy, and still working.
    assert_eq!(
        http.get(server.url("/health"))
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::OK
    );
    let job = server
        .upload_ok(fixture("a1111_parameters.png"), "a.png")
        .await;
    assert_eq!(server.wait_decided(&job).await["status"], "COMPLETED");
}

/// The classic 1×1 transparent GIF.
const TINY_GIF: &[u8] = b"GIF89a\x01\x00\x01\x00\x80\x00\x00\xff\xff\xff\x00\x00\x00!\xf9\x04\x01\x00\x00\x00\x00,\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02D\x01\x00;";

/// A PNG signature followed by `size` bytes of zeros: big, but obviously not a 202.
fn big_png_prefix(size: usize) -> Vec<u8> {
    let mut v = vec![0u8; size];
    v[..8].copy_from_slice(b"\x89PNG\r\n\x1a\n");
    v
}

#[tokio::test]
async fn mangled_images_never_cause_a_server_error() {
    let server = Server::start(Options::default()).await;
    let originals = [
        fixture("no_metadata.jpg"),
        fixture("a1111_parameters.png"),
        generated(image::ImageFormat::WebP, 40, 40, 7),
    ];
    let mut state = 0x9E37_79B9_7F4A_7C15u64;
    let mut next = || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    for round in 0..30 {
        let mut bytes = originals[round % originals.len()].clone();
        for _ in 0..1 + next() % 8 {
            let i = (next() as usize) % bytes.len();
            bytes[i] = next() as u8;
        }
        if round % 3 == 0 {
            let keep = 1 + (next() as usize) % bytes.len();
            bytes.truncate(keep);
        }
        let response = server.upload(bytes, "mangled.bin").await;
        let status = response.status();
        assert!(
            status == 202 || status.is_client_error(),
            "round {round}: {status} {}",
            response.text().await.unwrap()
        );
    }
    assert_eq!(
        client()
            .get(server.url("/readyz"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
}

#[tokio::test]
async fn forged_replayed_and_stray_reports_are_refused() {
    let server = Server::start(Options::default()).await;
    let http = client();
    let job_a = server
        .upload_ok(fixture("a1111_parameters.png"), "a.png")
        .await;
    let job_b = server.upload_ok(fixture("no_metadata.jpg"), "b.jpg").await;
    server.wait_decided(&job_a).await;
    server.wait_decided(&job_b).await;
    let reports: Value = http
        .get(server.url(&format!("/api/jobs/{job_a}/reports")))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let genuine: SignedReport = serde_json::from_value(reports["reports"][0].clone()).unwrap();
    let submit = |r: &SignedReport| {
        http.post(server.url("/api/enclaves/reports"))
            .json(r)
            .send()
    };

    // The same report again is an idempotent duplicate, not a second vote.
    let again = submit(&genuine).await.unwrap();
    assert_eq!(again.status(), 200);
    assert_eq!(again.json::<Value>().await.unwrap()["duplicate"], true);
    let body = server.job(&job_a).await;
    assert_eq!(
        body["report"]["consensusMetadata"]["participatingEnclaves"],
        3
    );

    // Replayed onto another job: the signature covers the job id.
    let mut replayed = genuine.clone();
    replayed.report.job_id = job_b.parse().unwrap();
    expect_error(
        "replay onto job B",
        submit(&replayed).await.unwrap(),
        400,
        "bad_signature",
    )
    .await;

    // Changed verdict: forged.
    let mut forged = genuine.clone();
    forged.report.verdict = verity_core::Verdict::Real;
    expect_error(
        "changed verdict",
        submit(&forged).await.unwrap(),
        400,
        "bad_signature",
    )
    .await;

    // Signed by a key the server does not know, claiming a registered enclave.
    let impostor = EnclaveKeys::generate().sign_report(genuine.report.clone());
    expect_error(
        "unregistered key",
        submit(&impostor).await.unwrap(),
        400,
        "bad_signature",
    )
    .await;

    // From an enclave that is not registered at all.
    let mut stranger = genuine.report.clone();
    stranger.enclave_id = "enclave-99".parse().unwrap();
    let stranger = EnclaveKeys::generate().sign_report(stranger);
    expect_error(
        "unknown enclave",
        submit(&stranger).await.unwrap(),
        403,
        "unknown_enclave",
    )
    .await;

    // A completed job cannot be retried.
    let retry = http
        .post(server.url(&format!("/api/jobs/{job_a}/retry")))
        .send()
        .await
        .unwrap();
    expect_error("retry of a completed job", retry, 409, "not_failed").await;
}
