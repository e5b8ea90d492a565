//! Faults a distributed Verity survives, on real engines: `verity serve
//! --role api` plus one `verity worker` process per enclave, PostgreSQL,
//! Redis Streams and S3 (moto_server). Each test skips with a printed reason
//! when an engine is missing, and fails instead under `VERITY_REQUIRE_SERVICES=1`.

#[path = "blackbox/harness.rs"]
#[allow(dead_code)]
mod harness;

use std::time::{Duration, Instant};

use futures::StreamExt;
use harness::{Mode, Options, Server, client, fixture, generated};
use serde_json::Value;
use verity_testkit as kit;

async fn cluster(options: Options) -> Option<Server> {
    Server::start_in(Mode::PgRedisS3, options).await
}

/// Reads the job's event stream until an event matches `want`.
async fn wait_event(server: &Server, job: &str, want: impl Fn(&str, &Value) -> bool) {
    let response = client()
        .get(server.url(&format!("/api/jobs/{job}/events")))
        .send()
        .await
        .unwrap();
    let mut stream = eventsource_stream::Eventsource::eventsource(response.bytes_stream());
    let found = tokio::time::timeout(harness::DEADLINE, async {
        while let Some(Ok(event)) = stream.next().await {
            let data: Value = serde_json::from_str(&event.data).unwrap_or(Value::Null);
            if want(&event.event, &data) {
                return true;
            }
        }
        false
    })
    .await;
    assert!(
        matches!(found, Ok(true)),
        "event not seen for {job}:\n{}",
        server.log()
    );
}

fn started_by(enclave: &'static str) -> impl Fn(&str, &Value) -> bool {
    move |kind, data| kind == "enclave_started" && data["enclaveId"] == enclave
}

fn voters(body: &Value) -> Vec<String> {
    body["report"]["consensusMetadata"]["votes"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|v| v["enclaveId"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn worker_killed_mid_job_is_reclaimed_and_the_job_completes() {
    let Some(mut server) = cluster(Options::default().env("VERITY_LEASE", "2s")).await else {
        return;
    };
    // enclave-3's only process stalls before reporting: it is mid-job when killed.
    server.kill_worker("enclave-3");
    server.spawn_worker("enclave-3", &[("VERITY_WORKER_FAULT", "slow:120s")]);
    let job = server
        .upload_ok(fixture("a1111_parameters.png"), "a.png")
        .await;
    wait_event(&server, &job, started_by("enclave-3")).await;
    server.kill_worker("enclave-3");
    server.spawn_worker("enclave-3", &[]);
    let body = server.wait_decided(&job).await;
    assert_eq!(body["status"], "COMPLETED", "{body}");
    assert_eq!(voters(&body), ["enclave-1", "enclave-2", "enclave-3"]);
}

#[tokio::test]
async fn sigterm_releases_the_lease_for_another_process_at_once() {
    // A 60 s lease: only a release (not expiry) lets the job finish in time.
    let options = Options::default()
        .env("VERITY_LEASE", "60s")
        .env("VERITY_ROUND_TIMEOUT", "50s");
    let Some(mut server) = cluster(options).await else {
        return;
    };
    server.kill_worker("enclave-2");
    server.spawn_worker(
        "enclave-2",
        &[
            ("VERITY_WORKER_FAULT", "slow:120s"),
            ("VERITY_DRAIN", "500ms"),
        ],
    );
    let job = server.upload_ok(fixture("no_metadata.jpg"), "n.jpg").await;
    wait_event(&server, &job, started_by("enclave-2")).await;
    let started = Instant::now();
    let exits = server.terminate_worker("enclave-2");
    assert!(exits.iter().all(|s| s.success()), "{exits:?}");
    server.spawn_worker("enclave-2", &[]);
    let body = server.wait_decided(&job).await;
    assert_eq!(body["status"], "COMPLETED", "{body}");
    assert_eq!(voters(&body).len(), 3);
    assert!(
        started.elapsed() < Duration::from_secs(30),
        "released, not expired"
    );
}

#[tokio::test]
async fn api_killed_after_202_completes_after_restart() {
    let Some(mut server) = cluster(Options::default()).await else {
        return;
    };
    let jobs = [
        server
            .upload_ok(fixture("a1111_parameters.png"), "a.png")
            .await,
        server
            .upload_ok(generated(image::ImageFormat::Png, 40, 30, 7), "g.png")
            .await,
    ];
    server.kill_api();
    server.restart_api().await;
    for job in &jobs {
        let body = server.wait_decided(job).await;
        assert_eq!(body["status"], "COMPLETED", "{body}");
        assert_eq!(voters(&body).len(), 3, "{body}");
    }
}

#[tokio::test]
async fn redis_restarted_mid_run_loses_no_job() {
    let Some(mut redis) = kit::RedisServer::start() else {
        return;
    };
    let Some(server) = cluster(Options::default().redis(&redis.url())).await else {
        return;
    };
    let mut jobs = Vec::new();
    for seed in 1..=3u8 {
        let png = generated(image::ImageFormat::Png, 32, 24, seed);
        jobs.push(server.upload_ok(png, "p.png").await);
    }
    redis.restart();
    // Uploads during the reconnect may be refused (503, nothing accepted); accepted ones must finish.
    let deadline = Instant::now() + harness::DEADLINE;
    for seed in 4..=6u8 {
        let png = generated(image::ImageFormat::Png, 32, 24, seed);
        loop {
            let response = server.upload(png.clone(), "p.png").await;
            if response.status() == 202 {
                jobs.push(
                    response.json::<Value>().await.unwrap()["jobId"]
                        .as_str()
                        .unwrap()
                        .to_owned(),
                );
                break;
            }
            assert_eq!(response.status(), 503, "only 'retry later' is acceptable");
            assert!(
                Instant::now() < deadline,
                "Redis never came back:\n{}",
                server.log()
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
    for job in &jobs {
        let body = server.wait_decided(job).await;
        assert_eq!(body["status"], "COMPLETED", "{body}");
        assert_eq!(voters(&body).len(), 3, "{body}");
    }
}

#[tokio::test]
async fn one_of_three_enclaves_down_gives_consensus_from_two() {
    let options = Options::default()
        .env("VERITY_OFFLINE_ENCLAVES", "enclave-3")
        .env("VERITY_ROUND_TIMEOUT", "3s");
    let Some(server) = cluster(options).await else {
        return;
    };
    let job = server
        .upload_ok(fixture("a1111_parameters.png"), "a.png")
        .await;
    let body = server.wait_decided(&job).await;
    assert_eq!(body["status"], "COMPLETED", "{body}");
    assert_eq!(voters(&body), ["enclave-1", "enclave-2"]);
    assert_eq!(
        body["report"]["consensusMetadata"]["participatingEnclaves"],
        2
    );
}

#[tokio::test]
async fn garbage_reports_are_rejected_and_the_job_still_completes() {
    let Some(mut server) = cluster(Options::default().env("VERITY_ROUND_TIMEOUT", "4s")).await
    else {
        return;
    };
    server.kill_worker("enclave-2");
    server.spawn_worker("enclave-2", &[("VERITY_WORKER_FAULT", "garbage-report")]);
    let job = server
        .upload_ok(fixture("a1111_parameters.png"), "a.png")
        .await;
    let body = server.wait_decided(&job).await;
    assert_eq!(body["status"], "COMPLETED", "{body}");
    assert_eq!(voters(&body), ["enclave-1", "enclave-3"]);
    assert_eq!(
        body["report"]["verdict"], "AI_GENERATED",
        "the garbage vote did not count"
    );
    let metrics = client()
        .get(server.url("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics
            .lines()
            .any(|l| l.starts_with("verity_reports_rejected_total") && l.contains("bad_signature")),
        "{metrics}"
    );
}

#[tokio::test]
async fn unknown_schemes_and_unreachable_services_name_the_setting() {
    let cases = [
        ("VERITY_DB", "mysql://x", "VERITY_DB"),
        ("VERITY_QUEUE", "amqp://x", "VERITY_QUEUE"),
        ("VERITY_BLOBS", "ftp://x", "VERITY_BLOBS"),
        (
            "VERITY_DB",
            "postgres://postgres@127.0.0.1:1/x",
            "VERITY_DB",
        ),
        ("VERITY_QUEUE", "redis://127.0.0.1:1", "VERITY_QUEUE"),
    ];
    for (key, value, named) in cases {
        let dir = tempfile::tempdir().unwrap();
        let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_verity"));
        cmd.arg("serve")
            .env("VERITY_ADDR", "127.0.0.1:0")
            .env("VERITY_DATA_DIR", dir.path())
            .env(key, value);
        if key == "VERITY_QUEUE" {
            cmd.env(
                "VERITY_DB",
                format!("sqlite://{}", dir.path().join("v.db").display()),
            );
        }
        let out = cmd.output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{key}={value} must fail start-up");
        assert!(stderr.contains(named), "{key}={value}: {stderr}");
    }
}
