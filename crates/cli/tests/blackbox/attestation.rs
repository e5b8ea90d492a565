//! Enclave attestation over HTTP: the aggregator's mode decides which kinds
//! register, reports from keys no valid attestation binds are refused and
//! counted, registrations expire, and the PCR allow-list reloads.

use std::time::{Duration, Instant};

use serde_json::{Value, json};
use verity_core::{
    AttestationKind, Confidence, EnclaveId, EnclaveReport, JobId, Sha256Digest, Verdict,
};
use verity_crypto::{Attestation, DevAttestation, EnclaveKeys};

use crate::harness::{DEADLINE, Mode, Options, Server, client};

fn nitro_fixture(name: &str) -> Vec<u8> {
    std::fs::read(format!(
        "{}/../crypto/tests/fixtures/nitro/{name}.cose",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap()
}

fn dev_registration(id: &str, keys: &EnclaveKeys) -> Value {
    let id: EnclaveId = id.parse().unwrap();
    let attestation = Attestation::Dev(DevAttestation::issue(&id, keys, 1));
    json!({ "enclaveId": id, "attestation": attestation })
}

fn report(enclave: &str, keys: &EnclaveKeys, attestation: AttestationKind) -> Value {
    let signed = keys.sign_report(EnclaveReport {
        job_id: JobId::generate(),
        round: 0,
        enclave_id: enclave.parse().unwrap(),
        media_sha256: Sha256Digest::of(b"media"),
        verdict: Verdict::Real,
        confidence: Confidence::from_f64(0.9),
        detectors: vec![],
        attestation,
        timestamp_ms: 1,
    });
    serde_json::to_value(signed).unwrap()
}

const DEV: AttestationKind = AttestationKind::DevInsecure;

async fn post(server: &Server, path: &str, body: &Value) -> (u16, Value) {
    let resp = client()
        .post(server.url(path))
        .json(body)
        .send()
        .await
        .unwrap();
    (resp.status().as_u16(), resp.json().await.unwrap())
}

async fn metrics(server: &Server) -> String {
    client()
        .get(server.url("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
}

/// The value of the metric line starting with `prefix` (0 when absent).
fn metric(text: &str, prefix: &str) -> f64 {
    text.lines()
        .find(|l| l.starts_with(prefix))
        .and_then(|l| l.rsplit(' ').next())
        .map_or(0.0, |v| v.parse().unwrap())
}

async fn api_server(env: &[(&str, &str)]) -> Server {
    let mut options = Options::default().env("VERITY_ROLE", "api");
    for (k, v) in env {
        options = options.env(k, v);
    }
    Server::start_in(Mode::Embedded, options)
        .await
        .expect("embedded mode needs no engines")
}

#[tokio::test]
async fn a_nitro_aggregator_refuses_dev_enclaves_and_unattested_reports() {
    let server = api_server(&[("VERITY_ATTESTATION", "nitro")]).await;
    let keys = EnclaveKeys::generate();

    // A dev statement is refused outright in nitro mode.
    let (status, body) = post(
        &server,
        "/api/enclaves/register",
        &dev_registration("enclave-1", &keys),
    )
    .await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["success"], false);
    assert_eq!(body["error"]["code"], "attestation_kind_refused", "{body}");

    // A real Nitro document from 2024 is verified and refused as stale
    // (freshness is checked after the signature and chain hold).
    let nitro = json!({
        "enclaveId": "enclave-1",
        "attestation": {
            "kind": "nitro",
            "signingKey": hex::encode(keys.public().signing),
            "encryptionKey": hex::encode(keys.public().encryption),
            "document": hex::encode(nitro_fixture("sui_2024-11-14_debug_pcr34")),
        }
    });
    let (status, body) = post(&server, "/api/enclaves/register", &nitro).await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["error"]["code"], "attestation_stale", "{body}");

    // A document whose signature was tampered with is refused for that.
    let mut forged = nitro.clone();
    forged["attestation"]["document"] =
        hex::encode(nitro_fixture("DERIVED_sui_sigflip_INVALID")).into();
    let (status, body) = post(&server, "/api/enclaves/register", &forged).await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["error"]["code"], "attestation_bad_signature", "{body}");

    // Garbage is a 400, not a 500.
    let mut garbage = nitro.clone();
    garbage["attestation"]["document"] = "00".into();
    let (status, body) = post(&server, "/api/enclaves/register", &garbage).await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["error"]["code"], "attestation_malformed", "{body}");

    // Nothing was registered.
    let oracles = server.oracles().await;
    assert_eq!(oracles["oracles"].as_array().unwrap().len(), 0, "{oracles}");

    // A report signed by a key nobody registered is refused and counted.
    let (status, body) = post(
        &server,
        "/api/enclaves/reports",
        &report("enclave-1", &keys, AttestationKind::Nitro),
    )
    .await;
    assert_eq!(status, 403, "{body}");
    assert_eq!(body["error"]["code"], "unknown_enclave", "{body}");

    let text = metrics(&server).await;
    assert!(
        metric(
            &text,
            "verity_reports_rejected_total{reason=\"unknown_enclave\"}"
        ) >= 1.0,
        "{text}"
    );
    for reason in [
        "attestation_kind_refused",
        "attestation_stale",
        "attestation_bad_signature",
        "attestation_malformed",
    ] {
        assert_eq!(
            metric(
                &text,
                &format!("verity_attestations_refused_total{{reason=\"{reason}\"}}")
            ),
            1.0,
            "{reason}: {text}"
        );
    }
}

#[tokio::test]
async fn dev_registrations_are_marked_insecure_expire_and_forged_reports_are_refused() {
    let server = api_server(&[
        ("VERITY_ATTESTATION", "dev"),
        ("VERITY_ATTESTATION_TTL", "2s"),
    ])
    .await;
    let keys = EnclaveKeys::generate();
    let (status, body) = post(
        &server,
        "/api/enclaves/register",
        &dev_registration("enclave-7", &keys),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["attestation"], "dev-insecure");
    assert_eq!(body["expiresInMs"], 2000);
    assert_eq!(body["measurements"]["insecure"], true);

    let oracles = server.oracles().await;
    let o = &oracles["oracles"][0];
    assert_eq!(o["enclaveId"], "enclave-7");
    assert_eq!(o["attestation"], "dev-insecure");
    assert_eq!(o["attestationStatus"]["kind"], "dev-insecure");
    assert_eq!(o["attestationStatus"]["pcr0Prefix"], Value::Null);
    assert_eq!(o["attestationStatus"]["valid"], true);
    assert!(o["attestationStatus"]["verifiedAt"].is_string(), "{o}");

    // Signed by another key in the registered enclave's name: a forgery.
    let (status, body) = post(
        &server,
        "/api/enclaves/reports",
        &report("enclave-7", &EnclaveKeys::generate(), DEV),
    )
    .await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["error"]["code"], "bad_signature", "{body}");

    // A dev enclave cannot pass its reports off as Nitro-attested.
    let (status, body) = post(
        &server,
        "/api/enclaves/reports",
        &report("enclave-7", &keys, AttestationKind::Nitro),
    )
    .await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["error"]["code"], "attestation_kind_mismatch", "{body}");

    // The attested key passes the attestation check (the job is unknown).
    let (status, body) = post(
        &server,
        "/api/enclaves/reports",
        &report("enclave-7", &keys, DEV),
    )
    .await;
    assert_eq!(status, 404, "{body}");
    assert_eq!(body["error"]["code"], "job_not_found", "{body}");

    // Unrenewed, the registration lapses and its reports are refused.
    let start = Instant::now();
    loop {
        let (status, body) = post(
            &server,
            "/api/enclaves/reports",
            &report("enclave-7", &keys, DEV),
        )
        .await;
        if body["error"]["code"] == "attestation_expired" {
            assert_eq!(status, 403);
            break;
        }
        assert!(start.elapsed() < DEADLINE, "never expired: {body}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let oracles = server.oracles().await;
    assert_eq!(oracles["oracles"][0]["attestationStatus"]["valid"], false);
    let text = metrics(&server).await;
    assert!(
        metric(
            &text,
            "verity_reports_unattested_total{reason=\"attestation_expired\"}"
        ) >= 1.0,
        "{text}"
    );
    assert!(
        metric(
            &text,
            "verity_reports_rejected_total{reason=\"bad_signature\"}"
        ) >= 1.0,
        "{text}"
    );

    // Renewal restores it.
    let (status, _) = post(
        &server,
        "/api/enclaves/register",
        &dev_registration("enclave-7", &keys),
    )
    .await;
    assert_eq!(status, 200);
    let (status, body) = post(
        &server,
        "/api/enclaves/reports",
        &report("enclave-7", &keys, DEV),
    )
    .await;
    assert_eq!(status, 404, "{body}");
}

#[tokio::test]
async fn the_pcr_allow_list_reloads_behind_the_admin_token() {
    let dir = tempfile::tempdir().unwrap();
    let pcrs = dir.path().join("pcrs.json");
    std::fs::write(&pcrs, r#"{"allowed": [], "allowDebug": false}"#).unwrap();
    let server = api_server(&[
        ("VERITY_ATTESTATION", "nitro"),
        ("VERITY_NITRO_PCRS", pcrs.to_str().unwrap()),
        ("VERITY_ADMIN_TOKEN", "s3cret-admin-token-for-tests"),
    ])
    .await;
    let reload = |token: Option<&'static str>| {
        let mut req = client().post(server.url("/api/admin/attestation/reload"));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        async move {
            let resp = req.send().await.unwrap();
            (resp.status().as_u16(), resp.json::<Value>().await.unwrap())
        }
    };
    assert_eq!(reload(None).await.0, 401);
    assert_eq!(reload(Some("wrong")).await.0, 401);

    let set = json!({"name": "v2", "pcr0": "aa".repeat(48), "pcr1": "bb".repeat(48), "pcr2": "cc".repeat(48)});
    std::fs::write(&pcrs, json!({ "allowed": [set] }).to_string()).unwrap();
    let (status, body) = reload(Some("s3cret-admin-token-for-tests")).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["reload"]["allowedSets"], 1);
    assert_eq!(body["reload"]["revoked"], json!([]));

    // A broken file is refused and the previous list stays in force.
    std::fs::write(&pcrs, r#"{"allowed": [{"pcr0": "zz"}]}"#).unwrap();
    let (status, body) = reload(Some("s3cret-admin-token-for-tests")).await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(body["error"]["code"], "bad_pcr_policy");
}

#[tokio::test]
async fn admin_endpoints_are_off_without_a_token_and_nitro_mode_needs_the_api_role() {
    let server = api_server(&[]).await;
    let resp = client()
        .post(server.url("/api/admin/attestation/reload"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 403);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["error"]["code"], "admin_disabled");

    // Embedded enclaves can only make dev statements: nitro mode refuses to start.
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_verity"))
        .args(["serve", "--attestation", "nitro", "--addr", "127.0.0.1:0"])
        .env("VERITY_DATA_DIR", tempfile::tempdir().unwrap().path())
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("VERITY_ATTESTATION=nitro"), "{stderr}");
}

async fn issue_nonce(server: &Server) -> Value {
    let resp = client()
        .post(server.url("/api/enclaves/nonce"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 201);
    resp.json().await.unwrap()
}

fn answering(id: &str, keys: &EnclaveKeys, nonce: &Value) -> Value {
    let id: EnclaveId = id.parse().unwrap();
    let nonce = hex::decode(nonce["nonce"].as_str().unwrap()).unwrap();
    let attestation = Attestation::Dev(DevAttestation::answering(&id, keys, 1, Some(nonce)));
    json!({ "enclaveId": id, "attestation": attestation })
}

#[tokio::test]
async fn nonces_are_issued_here_answered_once_and_expire() {
    let server = api_server(&[("VERITY_ATTESTATION_NONCE_TTL", "4s")]).await;
    let keys = EnclaveKeys::generate();

    let first = issue_nonce(&server).await;
    assert_eq!(first["success"], true);
    assert_eq!(first["nonce"].as_str().unwrap().len(), 64, "{first}");
    assert_eq!(first["expiresInMs"], 4000, "{first}");
    assert!(first["expiresAt"].is_string(), "{first}");
    let second = issue_nonce(&server).await;
    assert_ne!(first["nonce"], second["nonce"], "every nonce is fresh");

    // Answered once: registered.
    let registration = answering("enclave-1", &keys, &first);
    let (status, body) = post(&server, "/api/enclaves/register", &registration).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["attestation"], "dev-insecure");

    // The same registration replayed, or the nonce answered again by
    // another enclave, is refused as a replay.
    let (status, body) = post(&server, "/api/enclaves/register", &registration).await;
    assert_eq!(status, 409, "{body}");
    assert_eq!(body["success"], false);
    assert_eq!(body["error"]["code"], "attestation_nonce_used", "{body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("enclave-1"),
        "names the first use: {body}"
    );
    let other = answering("enclave-2", &EnclaveKeys::generate(), &first);
    let (status, body) = post(&server, "/api/enclaves/register", &other).await;
    assert_eq!(status, 409, "{body}");
    assert_eq!(body["error"]["code"], "attestation_nonce_used", "{body}");

    // A nonce this aggregator never issued.
    let made_up = json!({ "nonce": hex::encode([7u8; 32]) });
    let (status, body) = post(
        &server,
        "/api/enclaves/register",
        &answering("enclave-3", &keys, &made_up),
    )
    .await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["error"]["code"], "attestation_nonce_unknown", "{body}");

    // A statement that does not verify does not burn the nonce it names:
    // the genuine answer still registers.
    let keys2 = EnclaveKeys::generate();
    let mut forged = answering("enclave-2", &keys2, &second);
    forged["attestation"]["signature"] = hex::encode([0u8; 64]).into();
    let (status, body) = post(&server, "/api/enclaves/register", &forged).await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["error"]["code"], "bad_attestation", "{body}");
    let (status, body) = post(
        &server,
        "/api/enclaves/register",
        &answering("enclave-2", &keys2, &second),
    )
    .await;
    assert_eq!(status, 200, "{body}");

    // A real Nitro document that names a nonce (issued by someone else's
    // verifier) is refused for that before any signature work.
    let nitro = json!({
        "enclaveId": "enclave-4",
        "attestation": {
            "kind": "nitro",
            "signingKey": hex::encode(keys.public().signing),
            "encryptionKey": hex::encode(keys.public().encryption),
            "document": hex::encode(nitro_fixture("eternis_2024-09-09_debug_nonce")),
        }
    });
    let (status, body) = post(&server, "/api/enclaves/register", &nitro).await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["error"]["code"], "attestation_nonce_unknown", "{body}");

    // Unanswered, a nonce expires. (Waiting for time to pass, not for work.)
    let late = issue_nonce(&server).await;
    tokio::time::sleep(Duration::from_millis(
        late["expiresInMs"].as_u64().unwrap() + 250,
    ))
    .await;
    let (status, body) = post(
        &server,
        "/api/enclaves/register",
        &answering("enclave-5", &keys, &late),
    )
    .await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["error"]["code"], "attestation_nonce_expired", "{body}");

    let text = metrics(&server).await;
    assert_eq!(
        metric(&text, "verity_attestation_nonces_issued_total"),
        3.0,
        "{text}"
    );
    for (reason, count) in [
        ("attestation_nonce_used", 2.0),
        ("attestation_nonce_unknown", 2.0),
        ("attestation_nonce_expired", 1.0),
    ] {
        assert_eq!(
            metric(
                &text,
                &format!("verity_attestations_refused_total{{reason=\"{reason}\"}}")
            ),
            count,
            "{reason}: {text}"
        );
    }
    // Only the two answered registrations stand.
    let oracles = server.oracles().await;
    assert_eq!(oracles["oracles"].as_array().unwrap().len(), 2, "{oracles}");
}

#[tokio::test]
async fn an_aggregator_can_require_nitro_documents_to_answer_its_nonce() {
    let server = api_server(&[
        ("VERITY_ATTESTATION", "nitro"),
        ("VERITY_ATTESTATION_REQUIRE_NONCE", "true"),
    ])
    .await;
    let keys = EnclaveKeys::generate();
    let nitro = json!({
        "enclaveId": "enclave-1",
        "attestation": {
            "kind": "nitro",
            "signingKey": hex::encode(keys.public().signing),
            "encryptionKey": hex::encode(keys.public().encryption),
            "document": hex::encode(nitro_fixture("sui_2024-11-14_debug_pcr34")),
        }
    });
    let (status, body) = post(&server, "/api/enclaves/register", &nitro).await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(
        body["error"]["code"], "attestation_nonce_required",
        "{body}"
    );
}

#[test]
fn a_nitro_worker_outside_an_enclave_stops_with_the_reason() {
    // No queue or API is needed: the module is opened before anything else,
    // and a missing one never falls back to a dev statement.
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_verity"))
        .args([
            "worker",
            "--enclave-id",
            "enclave-n1",
            "--attestation",
            "nitro",
        ])
        .args([
            "--nsm-device",
            "/nonexistent/nsm",
            "--queue",
            "redis://127.0.0.1:1",
        ])
        .env("VERITY_DATA_DIR", tempfile::tempdir().unwrap().path())
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("--attestation nitro"), "{stderr}");
    assert!(
        stderr.contains("no Nitro Secure Module at /nonexistent/nsm"),
        "{stderr}"
    );
}

#[tokio::test]
async fn nonces_are_rate_limited_per_client_address() {
    // Each nonce is a stored row: an anonymous client cannot issue them without bound.
    let server = api_server(&[
        ("VERITY_RATE_LIMIT_LOOPBACK", "true"),
        ("VERITY_RATE_NONCE", "2/m:2"),
    ])
    .await;
    issue_nonce(&server).await;
    issue_nonce(&server).await;
    let refused = client()
        .post(server.url("/api/enclaves/nonce"))
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status().as_u16(), 429);
    assert!(refused.headers().contains_key("retry-after"));
    let body: Value = refused.json().await.unwrap();
    assert_eq!(body["error"]["code"], "rate_limited", "{body}");
}
