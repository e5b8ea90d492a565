//! Disputes over HTTP (docs/DISPUTES.md): an overturned dispute against
//! lying oracles (the Byzantine simulation), an upheld one, a re-verification
//! that fails, equivocation, every rejection of `POST /api/dispute`, the
//! signed committee record and the oracles' counted reports.
//!
//! Every test runs in every mode: in a cluster the harness starts one worker
//! per identity (`VERITY_EMBEDDED_ENCLAVES` of them), kills the
//! `VERITY_OFFLINE_ENCLAVES` ones after they register, and the workers read
//! `VERITY_BYZANTINE_ENCLAVES` themselves.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use verity_core::SignedReport;
use verity_core::committee::CommitteeSelection;

use crate::harness::{DEADLINE, Options, Server, client, expect_error, fixture, generated};

const CHALLENGER: &str = "0x8f3a9c";
const ADMIN_TOKEN: &str = "test-admin-token-0123456789";

/// The signed committee record of a final report, rechecked.
fn committee_record(report: &Value) -> CommitteeSelection {
    let record: CommitteeSelection = serde_json::from_value(report["committee"].clone())
        .unwrap_or_else(|e| panic!("no committee record ({e}) in {report}"));
    record
        .check()
        .unwrap_or_else(|e| panic!("the committee record does not recompute: {e}"));
    assert_eq!(record.seed.as_str(), report["jobId"].as_str().unwrap());
    for v in report["consensusMetadata"]["votes"].as_array().unwrap() {
        let voter = v["enclaveId"].as_str().unwrap();
        assert!(
            record.members.iter().any(|m| m.as_str() == voter),
            "{voter} voted outside the committee"
        );
    }
    record
}

/// The capture fixture's pixels as a PNG without any metadata: honest
/// enclaves cannot tell (UNCERTAIN) until they see the evidence.
fn stripped_capture() -> Vec<u8> {
    let img = image::load_from_memory(&fixture("xmp_dst_digitalCapture.jpg")).unwrap();
    let mut out = std::io::Cursor::new(Vec::new());
    img.write_to(&mut out, image::ImageFormat::Png).unwrap();
    out.into_inner()
}

async fn post_json(server: &Server, path: &str, body: &Value) -> reqwest::Response {
    client()
        .post(server.url(path))
        .json(body)
        .send()
        .await
        .unwrap()
}

async fn get_json(server: &Server, path: &str) -> Value {
    client()
        .get(server.url(path))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

async fn upload_evidence(server: &Server, bytes: Vec<u8>) -> String {
    let form = reqwest::multipart::Form::new().part(
        "file",
        reqwest::multipart::Part::bytes(bytes).file_name("evidence.jpg"),
    );
    let response = client()
        .post(server.url("/api/evidence"))
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201);
    let body: Value = response.json().await.unwrap();
    body["evidenceCID"].as_str().unwrap().to_owned()
}

fn dispute_body(job: &str, evidence: &str) -> Value {
    json!({ "jobId": job, "challengerAddress": CHALLENGER, "evidenceCID": evidence,
            "reason": "this is my photograph; the original file carries its capture record" })
}

/// Polls the dispute until it is resolved.
async fn wait_resolved(server: &Server, job: &str) -> Value {
    poll_json(server, &format!("/api/dispute/{job}"), |view| {
        matches!(
            view["state"].as_str(),
            Some("upheld" | "overturned" | "rejected")
        )
    })
    .await
}

/// Polls `/api/oracles` until every oracle satisfies `ok` (or the deadline passes).
async fn wait_reputations(server: &Server, ok: impl Fn(&Value) -> bool) -> Value {
    poll_json(server, "/api/oracles", |oracles| {
        oracles["oracles"].as_array().unwrap().iter().all(&ok)
    })
    .await
}

/// GETs `path` until `done` accepts the body (or the deadline passes).
async fn poll_json(server: &Server, path: &str, done: impl Fn(&Value) -> bool) -> Value {
    let start = Instant::now();
    loop {
        let body = get_json(server, path).await;
        if done(&body) {
            return body;
        }
        assert!(
            start.elapsed() < DEADLINE,
            "{path} never got there: {body}\n{}",
            server.log()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn oracle<'a>(oracles: &'a Value, id: &str) -> &'a Value {
    oracles["oracles"]
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["enclaveId"] == id)
        .unwrap_or_else(|| panic!("no oracle {id} in {oracles}"))
}

fn assert_conserved(stake: &Value) {
    assert_eq!(stake["conserved"], true, "{stake}");
    assert_eq!(stake["total"], stake["deposited"], "{stake}");
}

#[tokio::test]
async fn lying_oracles_are_overturned_slashed_and_banned() {
    let server = Server::start(
        Options::default()
            .env("NUM_ENCLAVE_WORKERS", "3")
            .env("VERITY_EMBEDDED_ENCLAVES", "5")
            .env("VERITY_BYZANTINE_ENCLAVES", "enclave-4:lie,enclave-5:lie")
            .env("VERITY_BAN_AFTER_SLASHES", "2")
            .env("VERITY_DISPUTE_BOND", "100")
            .env("VERITY_SLASH_FRACTION", "0.1")
            .env("VERITY_DISPUTE_REWARD", "0.5"),
    )
    .await;
    assert_eq!(
        server.oracles().await["oracles"].as_array().unwrap().len(),
        5
    );

    // Committees are 3 of 5, chosen from the job id: upload until two jobs
    // have both liars on their committee (each does with probability 3/10).
    let png = stripped_capture();
    let mut captured = Vec::new();
    for _ in 0..80 {
        let job = server.upload_ok(png.clone(), "photo.png").await;
        let committee = server.job(&job).await["committee"].clone();
        let members: Vec<&str> = committee
            .as_array()
            .unwrap()
            .iter()
            .filter_map(Value::as_str)
            .collect();
        assert_eq!(members.len(), 3);
        if members.contains(&"enclave-4") && members.contains(&"enclave-5") {
            captured.push(job);
            if captured.len() == 2 {
                break;
            }
        }
    }
    assert_eq!(
        captured.len(),
        2,
        "no two committees with both liars in 80 uploads"
    );
    for job in &captured {
        let decided = server.wait_decided(job).await;
        assert_eq!(decided["status"], "COMPLETED", "{decided}");
        assert_eq!(
            decided["report"]["verdict"], "AI_GENERATED",
            "the liars won round 0: {decided}"
        );
        // 3 of the 5 by the stake-weighted sample, as signed.
        let sample = committee_record(&decided["report"]);
        assert!(!sample.escalated);
        assert_eq!((sample.members.len(), sample.candidates.len()), (3, 5));
    }

    // Dispute the first with real evidence: the original capture file.
    let evidence = upload_evidence(&server, fixture("xmp_dst_digitalCapture.jpg")).await;
    assert!(evidence.starts_with("ev_"));
    let first = &captured[0];
    let response = post_json(&server, "/api/dispute", &dispute_body(first, &evidence)).await;
    assert_eq!(response.status(), 202);
    let accepted: Value = response.json().await.unwrap();
    assert_eq!(accepted["success"], true);
    assert_eq!(accepted["jobId"], first.as_str());
    assert_eq!(accepted["status"], "pending_reverification");
    assert!(accepted["estimatedTime"].as_u64().is_some());
    assert!(accepted["disputeId"].as_str().unwrap().starts_with("dsp_"));
    assert_eq!(accepted["evidenceResolved"], true);
    assert_eq!(
        accepted["committee"].as_array().unwrap().len(),
        5,
        "escalated: every active oracle"
    );

    let view = wait_resolved(&server, first).await;
    assert_eq!(view["state"], "overturned", "{view}");
    assert_eq!(view["disputedVerdict"], "AI_GENERATED");
    assert_eq!(view["newVerdict"], "REAL");
    let rounds = view["rounds"].as_array().unwrap();
    assert_eq!(rounds[0]["round"], 0);
    assert_eq!(rounds[0]["verdict"], "AI_GENERATED");
    assert_eq!(rounds[0]["votes"].as_array().unwrap().len(), 3);
    assert_eq!(rounds[1]["round"], 1);
    assert_eq!(rounds[1]["verdict"], "REAL");
    let votes = rounds[1]["votes"].as_array().unwrap();
    assert_eq!(votes.len(), 5);
    for v in votes {
        let liar = matches!(v["enclaveId"].as_str(), Some("enclave-4" | "enclave-5"));
        assert_eq!(
            v["verdict"],
            if liar { "AI_GENERATED" } else { "REAL" },
            "{v}"
        );
    }
    let mut slashed: Vec<(String, u64)> = view["slashes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["enclaveId"].as_str().unwrap().to_owned(),
                s["amount"].as_u64().unwrap(),
            )
        })
        .collect();
    slashed.sort();
    assert_eq!(
        slashed,
        vec![("enclave-4".into(), 100), ("enclave-5".into(), 100)]
    );
    let kinds: Vec<&str> = view["bondMovements"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["bond", "refund", "reward"]);
    assert_eq!(
        view["challengerBalance"], 200,
        "bond 100 back + half of 200 slashed"
    );
    assert_eq!(view["escrowBalance"], 0);

    // The job shows the new verdict; the old round and its reports are archived.
    let job = server.job(first).await;
    assert_eq!(job["status"], "COMPLETED");
    assert_eq!(job["round"], 1);
    assert_eq!(job["report"]["verdict"], "REAL");
    // Its signed report records the escalated committee: all five.
    let escalated = committee_record(&job["report"]);
    assert!(escalated.escalated, "{escalated:?}");
    assert_eq!(
        (escalated.members.len(), escalated.candidates.len()),
        (5, 5)
    );
    let events: Vec<String> = server
        .events(first)
        .await
        .into_iter()
        .map(|(e, _)| e)
        .collect();
    assert!(events.contains(&"disputed".to_owned()), "{events:?}");
    assert!(
        events.contains(&"dispute_resolved".to_owned()),
        "{events:?}"
    );

    // Stakes and slash counts moved with the resolution; the liars are not banned yet.
    let oracles = server.oracles().await;
    for liar in ["enclave-4", "enclave-5"] {
        let o = oracle(&oracles, liar);
        assert_eq!(o["stake"], 900, "{o}");
        assert_eq!(o["slashes"], 1, "{o}");
        assert_eq!(o["banned"], false, "{o}");
    }
    for honest in ["enclave-1", "enclave-2", "enclave-3"] {
        assert_eq!(oracle(&oracles, honest)["stake"], 1000, "{oracles}");
    }
    // Reputations are recomputed right after the resolution is stored.
    let oracles = wait_reputations(&server, |o| {
        let liar = matches!(o["enclaveId"].as_str(), Some("enclave-4" | "enclave-5"));
        let rep = o["reputation"].as_f64().unwrap();
        if liar { rep < 0.8 } else { rep > 0.8 }
    })
    .await;
    assert_eq!(oracles["oracles"].as_array().unwrap().len(), 5);
    let stake = get_json(&server, "/api/stake").await;
    assert_conserved(&stake);
    assert_eq!(stake["deposited"], 5 * 1000 + 100);

    // The repeat liars lose the second dispute, through the CLI, and are banned.
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_verity"))
        .args(["dispute", &captured[1], "--evidence-cid", &evidence])
        .args([
            "--reason",
            "same photograph, same lie",
            "--challenger",
            CHALLENGER,
        ])
        .args([
            "--server",
            &server.base,
            "--wait",
            "--json",
            "--timeout",
            "60s",
        ])
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let second: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(second["state"], "overturned", "{second}");
    assert_eq!(second["challengerBalance"], 200 + 100 + 90, "{second}");
    let oracles = server.oracles().await;
    for liar in ["enclave-4", "enclave-5"] {
        let o = oracle(&oracles, liar);
        assert_eq!(o["stake"], 810, "{o}");
        assert_eq!(o["slashes"], 2, "{o}");
        assert_eq!(o["banned"], true, "{o}");
        assert!(
            o["banReason"].as_str().unwrap().contains("slashed 2 times"),
            "{o}"
        );
    }
    assert_conserved(&get_json(&server, "/api/stake").await);

    // Their later reports are ignored: a validly signed report of a banned
    // oracle is refused, and new committees leave them out.
    let reports = get_json(&server, &format!("/api/jobs/{}/reports", captured[1])).await;
    let liar_report: SignedReport = serde_json::from_value(
        reports["reports"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["report"]["enclaveId"] == "enclave-4")
            .unwrap()
            .clone(),
    )
    .unwrap();
    expect_error(
        "report of a banned oracle",
        client()
            .post(server.url("/api/enclaves/reports"))
            .json(&liar_report)
            .send()
            .await
            .unwrap(),
        403,
        "banned_enclave",
    )
    .await;
    let later = server.upload_ok(png.clone(), "later.png").await;
    let decided = server.wait_decided(&later).await;
    let voters: Vec<&str> = decided["report"]["consensusMetadata"]["votes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["enclaveId"].as_str().unwrap())
        .collect();
    assert_eq!(voters, ["enclave-1", "enclave-2", "enclave-3"], "{decided}");

    // A job is disputed once.
    expect_error(
        "second dispute",
        post_json(&server, "/api/dispute", &dispute_body(first, &evidence)).await,
        409,
        "already_disputed",
    )
    .await;
}

#[tokio::test]
async fn an_upheld_dispute_forfeits_the_bond_and_bad_disputes_are_refused() {
    // enclave-4 is registered but never reports, so re-verification rounds
    // (which include it) stay open until their deadline: DISPUTED is observable.
    let server = Server::start(
        Options::default()
            .env("NUM_ENCLAVE_WORKERS", "3")
            .env("VERITY_EMBEDDED_ENCLAVES", "4")
            .env("VERITY_OFFLINE_ENCLAVES", "enclave-4")
            .env("VERITY_ROUND_TIMEOUT", "8s")
            .env("VERITY_ADMIN_TOKEN", ADMIN_TOKEN),
    )
    .await;

    // A job still waiting for its round (enclave-4 is on its committee).
    let pending = loop {
        let job = server
            .upload_ok(fixture("xmp_dst_trainedAlgorithmicMedia.jpg"), "ai.jpg")
            .await;
        let body = server.job(&job).await;
        if body["committee"]
            .as_array()
            .unwrap()
            .iter()
            .any(|m| m == "enclave-4")
        {
            break job;
        }
    };
    expect_error(
        "job not completed",
        post_json(
            &server,
            "/api/dispute",
            &dispute_body(&pending, "evidence_blob"),
        )
        .await,
        409,
        "job_not_completed",
    )
    .await;

    let job = server
        .upload_ok(fixture("xmp_dst_trainedAlgorithmicMedia.jpg"), "ai.jpg")
        .await;
    let decided = server.wait_decided(&job).await;
    assert_eq!(decided["report"]["verdict"], "AI_GENERATED");

    // The seed's own free-form evidence id: accepted, recorded as unresolved.
    let response = post_json(
        &server,
        "/api/dispute",
        &dispute_body(&job, "evidence_blob"),
    )
    .await;
    assert_eq!(response.status(), 202);
    let accepted: Value = response.json().await.unwrap();
    assert_eq!(accepted["evidenceResolved"], false);
    assert_eq!(accepted["committee"].as_array().unwrap().len(), 4);

    let during = server.job(&job).await;
    assert_eq!(during["status"], "DISPUTED", "{during}");
    assert_eq!(during["verdictMayChange"], true);
    assert_eq!(during["report"]["mayChange"], true);
    expect_error(
        "dispute already open",
        post_json(
            &server,
            "/api/dispute",
            &dispute_body(&job, "evidence_blob"),
        )
        .await,
        409,
        "dispute_open",
    )
    .await;
    let open = get_json(&server, &format!("/api/dispute/{job}")).await;
    assert!(
        matches!(
            open["state"].as_str(),
            Some("pending_reverification" | "reverifying")
        ),
        "{open}"
    );
    // The stake of the oracles whose votes are disputed is locked.
    let voter = decided["report"]["consensusMetadata"]["votes"][0]["enclaveId"]
        .as_str()
        .unwrap()
        .to_owned();
    let withdraw = client()
        .post(server.url(&format!("/api/admin/oracles/{voter}/withdraw")))
        .bearer_auth(ADMIN_TOKEN)
        .json(&json!({ "amount": 10 }))
        .send()
        .await
        .unwrap();
    expect_error("withdraw while locked", withdraw, 409, "stake_locked").await;

    let view = wait_resolved(&server, &job).await;
    assert_eq!(view["state"], "upheld", "{view}");
    assert_eq!(view["evidenceResolved"], false);
    assert_eq!(view["newVerdict"], "AI_GENERATED");
    assert!(view["slashes"].as_array().unwrap().is_empty());
    let forfeits: Vec<&Value> = view["bondMovements"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["kind"] == "forfeit")
        .collect();
    assert_eq!(
        forfeits
            .iter()
            .map(|m| m["amount"].as_u64().unwrap())
            .sum::<u64>(),
        100
    );
    assert!(
        forfeits
            .iter()
            .all(|m| m["to"].as_str().unwrap().starts_with("oracle:"))
    );
    assert_eq!(view["challengerBalance"], 0);
    let stake = get_json(&server, "/api/stake").await;
    assert_conserved(&stake);
    let paid: u64 = stake["oracles"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["stake"].as_u64().unwrap())
        .sum();
    assert_eq!(paid, 4 * 1000 + 100, "the bond went to the oracles");

    // Rejections of POST /api/dispute.
    let unknown = "job_01jd0000000000000000000000";
    let cases: Vec<(&str, Value, u16, &str)> = vec![
        (
            "unknown job",
            dispute_body(unknown, "e"),
            404,
            "job_not_found",
        ),
        (
            "malformed job id",
            dispute_body("nope", "e"),
            400,
            "bad_job_id",
        ),
        (
            "missing jobId",
            json!({"challengerAddress": CHALLENGER, "evidenceCID": "e", "reason": "r"}),
            400,
            "missing_field",
        ),
        (
            "missing address",
            json!({"jobId": job, "evidenceCID": "e", "reason": "r"}),
            400,
            "missing_field",
        ),
        (
            "missing evidence",
            json!({"jobId": job, "challengerAddress": CHALLENGER, "reason": "r"}),
            400,
            "missing_field",
        ),
        (
            "empty evidence",
            json!({"jobId": job, "challengerAddress": CHALLENGER, "evidenceCID": "", "reason": "r"}),
            400,
            "missing_field",
        ),
        (
            "missing reason",
            json!({"jobId": job, "challengerAddress": CHALLENGER, "evidenceCID": "e"}),
            400,
            "missing_field",
        ),
        (
            "address without 0x",
            json!({"jobId": job, "challengerAddress": "8f3a", "evidenceCID": "e", "reason": "r"}),
            400,
            "bad_field",
        ),
        (
            "bare 0x",
            json!({"jobId": job, "challengerAddress": "0x", "evidenceCID": "e", "reason": "r"}),
            400,
            "bad_field",
        ),
        (
            "non-hex address",
            json!({"jobId": job, "challengerAddress": "0xzz", "evidenceCID": "e", "reason": "r"}),
            400,
            "bad_field",
        ),
        (
            "65 hex digits",
            json!({"jobId": job, "challengerAddress": format!("0x{}", "a".repeat(65)), "evidenceCID": "e", "reason": "r"}),
            400,
            "bad_field",
        ),
        (
            "oversized evidenceCID",
            json!({"jobId": job, "challengerAddress": CHALLENGER, "evidenceCID": "e".repeat(257), "reason": "r"}),
            400,
            "field_too_long",
        ),
        (
            "oversized reason",
            json!({"jobId": job, "challengerAddress": CHALLENGER, "evidenceCID": "e", "reason": "r".repeat(2001)}),
            400,
            "field_too_long",
        ),
        (
            "number as address",
            json!({"jobId": job, "challengerAddress": 7, "evidenceCID": "e", "reason": "r"}),
            400,
            "bad_field",
        ),
    ];
    for (what, body, status, code) in cases {
        expect_error(
            what,
            post_json(&server, "/api/dispute", &body).await,
            status,
            code,
        )
        .await;
    }
    let not_json = client()
        .post(server.url("/api/dispute"))
        .body("{not json")
        .send()
        .await
        .unwrap();
    expect_error("not JSON", not_json, 400, "bad_json").await;
    let huge = client()
        .post(server.url("/api/dispute"))
        .json(&json!({"jobId": job, "challengerAddress": CHALLENGER, "evidenceCID": "e", "reason": "r".repeat(100_000)}))
        .send()
        .await
        .unwrap();
    assert_eq!(huge.status(), 413);
    expect_error(
        "no dispute",
        client()
            .get(server.url(&format!("/api/dispute/{pending}")))
            .send()
            .await
            .unwrap(),
        404,
        "dispute_not_found",
    )
    .await;
    let form = reqwest::multipart::Form::new().part(
        "file",
        reqwest::multipart::Part::bytes(b"%PDF-1.4 not an image".to_vec()).file_name("x.pdf"),
    );
    expect_error(
        "evidence that is not an image",
        client()
            .post(server.url("/api/evidence"))
            .multipart(form)
            .send()
            .await
            .unwrap(),
        415,
        "unsupported_media_type",
    )
    .await;

    // Admin: 401 without the token; the seed's slashOracle with it.
    let slash = json!({ "reason": "manual review found forged reports", "slashAmount": 50 });
    let url = server.url("/api/admin/oracles/enclave-1/slash");
    expect_error(
        "no token",
        client().post(&url).json(&slash).send().await.unwrap(),
        401,
        "unauthorized",
    )
    .await;
    expect_error(
        "wrong token",
        client()
            .post(&url)
            .bearer_auth("not-the-token-at-all")
            .json(&slash)
            .send()
            .await
            .unwrap(),
        401,
        "unauthorized",
    )
    .await;
    let before = oracle(&server.oracles().await, "enclave-1")["stake"]
        .as_u64()
        .unwrap();
    let slashed: Value = client()
        .post(&url)
        .bearer_auth(ADMIN_TOKEN)
        .json(&slash)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(slashed["stake"].as_u64().unwrap(), before - 50, "{slashed}");
    assert_eq!(slashed["slashes"], 1);
    expect_error(
        "unknown oracle",
        client()
            .post(server.url("/api/admin/oracles/enclave-77/slash"))
            .bearer_auth(ADMIN_TOKEN)
            .json(&slash)
            .send()
            .await
            .unwrap(),
        404,
        "oracle_not_found",
    )
    .await;
    assert_conserved(&get_json(&server, "/api/stake").await);
}

#[tokio::test]
async fn disputes_after_the_window_are_refused() {
    let server = Server::start(Options::default().env("VERITY_DISPUTE_WINDOW", "1ms")).await;
    let job = server.upload_ok(fixture("no_metadata.jpg"), "a.jpg").await;
    server.wait_decided(&job).await;
    tokio::time::sleep(Duration::from_millis(5)).await;
    expect_error(
        "window closed",
        post_json(
            &server,
            "/api/dispute",
            &dispute_body(&job, "evidence_blob"),
        )
        .await,
        409,
        "dispute_window_closed",
    )
    .await;
}

#[tokio::test]
async fn an_equivocating_enclave_is_slashed_with_both_reports_as_proof() {
    let server = Server::start(
        Options::default()
            .env("VERITY_BYZANTINE_ENCLAVES", "enclave-3:equivocate")
            .env("VERITY_BAN_AFTER_SLASHES", "1"),
    )
    .await;
    let job = server
        .upload_ok(fixture("xmp_dst_trainedAlgorithmicMedia.jpg"), "ai.jpg")
        .await;
    let decided = server.wait_decided(&job).await;
    assert_eq!(decided["report"]["verdict"], "AI_GENERATED");
    let start = Instant::now();
    let proofs = loop {
        let body = get_json(&server, "/api/equivocations").await;
        let banned = oracle(&server.oracles().await, "enclave-3")["banned"] == true;
        if !body["equivocations"].as_array().unwrap().is_empty() && banned {
            break body;
        }
        assert!(
            start.elapsed() < DEADLINE,
            "no equivocation slashed: {body}\n{}",
            server.log()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let proof = &proofs["equivocations"][0];
    assert_eq!(proof["enclaveId"], "enclave-3");
    assert_eq!(proof["jobId"], job.as_str());
    assert_ne!(proof["firstDigest"], proof["secondDigest"]);
    let first: SignedReport = serde_json::from_value(proof["firstReport"].clone()).unwrap();
    let second: SignedReport = serde_json::from_value(proof["secondReport"].clone()).unwrap();
    assert_eq!((first.report.round, second.report.round), (0, 0));
    assert_ne!(first.report.verdict, second.report.verdict);
    let o = oracle(&server.oracles().await, "enclave-3").clone();
    assert_eq!(o["slashes"], 1, "{o}");
    assert_eq!(o["stake"], 900, "{o}");
    assert!(
        o["banReason"].as_str().unwrap().contains("slashed 1 time "),
        "{o}"
    );
    assert_conserved(&get_json(&server, "/api/stake").await);
}

#[tokio::test]
async fn a_failed_reverification_is_rejected_and_the_verdict_and_round_stand() {
    let mut server = Server::start(Options::default().env("VERITY_ROUND_TIMEOUT", "6s")).await;
    let job = server
        .upload_ok(fixture("xmp_dst_trainedAlgorithmicMedia.jpg"), "ai.jpg")
        .await;
    let decided = server.wait_decided(&job).await;
    assert_eq!(decided["status"], "COMPLETED", "{decided}");
    let reports_before = get_json(&server, &format!("/api/jobs/{job}/reports")).await;

    // Two of the three enclaves go down: the escalated round (all three)
    // cannot reach MIN_ENCLAVES (2) by its deadline.
    server
        .restart_with(&[("VERITY_OFFLINE_ENCLAVES", "enclave-2,enclave-3")])
        .await;
    let response = post_json(
        &server,
        "/api/dispute",
        &dispute_body(&job, "evidence_blob"),
    )
    .await;
    assert_eq!(response.status(), 202);
    let accepted: Value = response.json().await.unwrap();
    assert_eq!(accepted["round"], 1);
    assert_eq!(accepted["committee"].as_array().unwrap().len(), 3);

    let view = wait_resolved(&server, &job).await;
    assert_eq!(view["state"], "rejected", "{view}");
    assert!(view["newVerdict"].is_null(), "{view}");
    let outcome = view["outcome"].as_str().unwrap();
    assert!(
        outcome.starts_with("inconclusive: re-verification round 1 failed"),
        "{outcome}"
    );
    assert!(outcome.contains("the bond is refunded"), "{outcome}");
    assert!(
        outcome.contains("of round 0 (AI_GENERATED) stands"),
        "{outcome}"
    );
    assert!(view["slashes"].as_array().unwrap().is_empty(), "{view}");
    let kinds: Vec<&str> = view["bondMovements"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["bond", "refund"], "{view}");
    assert_eq!(view["challengerBalance"], 100, "the bond, refunded in full");
    assert_eq!(view["escrowBalance"], 0);
    let failed = &view["rounds"][1];
    assert_eq!(failed["round"], 1);
    assert_eq!(failed["status"], "FAILED", "{view}");
    assert!(
        failed["failureReason"]
            .as_str()
            .unwrap()
            .contains("MIN_ENCLAVES"),
        "{failed}"
    );

    // The job is back where it was: round 0's verdict, report and committee.
    let after = server.job(&job).await;
    assert_eq!(after["status"], "COMPLETED", "{after}");
    assert_eq!(after["round"], 0, "{after}");
    assert_eq!(after["report"], decided["report"]);
    assert_eq!(after["committee"], decided["committee"]);
    assert!(after.get("failureReason").is_none(), "{after}");
    assert!(after.get("verdictMayChange").is_none(), "{after}");
    let reports_after = get_json(&server, &format!("/api/jobs/{job}/reports")).await;
    assert_eq!(reports_after["round"], 0);
    assert_eq!(reports_after["reports"], reports_before["reports"]);
    assert_conserved(&get_json(&server, "/api/stake").await);
    expect_error(
        "a second dispute",
        post_json(
            &server,
            "/api/dispute",
            &dispute_body(&job, "evidence_blob"),
        )
        .await,
        409,
        "already_disputed",
    )
    .await;
}

#[tokio::test]
async fn final_reports_sign_their_committee_and_oracles_count_counted_reports() {
    let server = Server::start(Options::default().env("VERITY_EMBEDDED_ENCLAVES", "4")).await;
    let mut counted: BTreeMap<String, u64> = BTreeMap::new();
    for o in server.oracles().await["oracles"].as_array().unwrap() {
        assert_eq!(o["reportsCounted"], 0, "{o}");
        counted.insert(o["enclaveId"].as_str().unwrap().to_owned(), 0);
    }
    assert_eq!(counted.len(), 4);
    let mut jobs = Vec::new();
    for seed in 1..=4u8 {
        let png = generated(image::ImageFormat::Png, 24, 24, seed);
        jobs.push(server.upload_ok(png, "g.png").await);
    }
    for job in &jobs {
        let decided = server.wait_decided(job).await;
        assert_eq!(decided["status"], "COMPLETED", "{decided}");
        let record = committee_record(&decided["report"]);
        assert!(!record.escalated);
        assert_eq!((record.size, record.candidates.len()), (3, 4));
        assert_eq!(json!(record.members), decided["committee"]);
        for v in decided["report"]["consensusMetadata"]["votes"]
            .as_array()
            .unwrap()
        {
            *counted.get_mut(v["enclaveId"].as_str().unwrap()).unwrap() += 1;
        }
    }
    assert!(counted.values().sum::<u64>() >= 2 * jobs.len() as u64);
    let oracles = server.oracles().await;
    for (enclave, n) in &counted {
        assert_eq!(oracle(&oracles, enclave)["reportsCounted"], *n, "{oracles}");
    }
}
