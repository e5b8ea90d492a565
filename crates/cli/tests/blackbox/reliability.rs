//! The bad-input catalogue (docs/RELIABILITY.md, "Bad-input catalogue") rows
//! that other modules do not cover: crafted files, JSON the parsers must
//! refuse, malformed and oversized request heads and slow bodies over raw TCP,
//! odd ids, the per-client rate limits, key file modes and secrets in logs.

use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::harness::{DEADLINE, Options, Server, client, expect_error, fixture, generated};

fn file_form(bytes: Vec<u8>, name: &str) -> reqwest::multipart::Form {
    reqwest::multipart::Form::new().part(
        "file",
        reqwest::multipart::Part::bytes(bytes).file_name(name.to_owned()),
    )
}

/// CRC-32 (IEEE) for hand-made PNG chunks.
fn crc32(data: &[u8]) -> u32 {
    let mut crc = 0xFFFF_FFFFu32;
    for &b in data {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

fn png_chunk(out: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) {
    out.extend_from_slice(&(data.len() as u32).to_be_bytes());
    let mut crced = kind.to_vec();
    crced.extend_from_slice(data);
    out.extend_from_slice(&crced);
    out.extend_from_slice(&crc32(&crced).to_be_bytes());
}

/// A PNG of a few hundred bytes that declares `width`×`height` pixels: a
/// decompression bomb if anything decoded it before checking the size.
fn png_bomb(width: u32, height: u32) -> Vec<u8> {
    let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
    let mut ihdr = Vec::new();
    ihdr.extend_from_slice(&width.to_be_bytes());
    ihdr.extend_from_slice(&height.to_be_bytes());
    ihdr.extend_from_slice(&[8, 2, 0, 0, 0]); // 8-bit RGB
    png_chunk(&mut out, b"IHDR", &ihdr);
    // A few zlib bytes standing in for gigabytes of zeros.
    png_chunk(
        &mut out,
        b"IDAT",
        &[0x78, 0x9c, 0x03, 0x00, 0x00, 0x00, 0x00, 0x01],
    );
    png_chunk(&mut out, b"IEND", &[]);
    out
}

/// The JPEG fixture with its frame header claiming `width`×`height`.
fn jpeg_claiming(width: u16, height: u16) -> Vec<u8> {
    let mut jpeg = fixture("no_metadata.jpg");
    let sof = jpeg
        .windows(2)
        .position(|w| w[0] == 0xFF && matches!(w[1], 0xC0..=0xC2))
        .expect("a SOF marker");
    jpeg[sof + 5..sof + 7].copy_from_slice(&height.to_be_bytes());
    jpeg[sof + 7..sof + 9].copy_from_slice(&width.to_be_bytes());
    jpeg
}

#[tokio::test]
async fn crafted_files_are_refused_or_handled_as_images() {
    let server = Server::start(Options::default()).await;
    let http = client();
    let upload = server.url("/api/upload");
    let send = |form: reqwest::multipart::Form| http.post(&upload).multipart(form).send();

    let cases: Vec<(&str, Vec<u8>, &str, u16, &str)> = vec![
        (
            "PNG declaring 60000×60000 in 60 bytes",
            png_bomb(60_000, 60_000),
            "bomb.png",
            400,
            "image_too_large",
        ),
        (
            "PNG declaring 10000×10000 (100 Mpx > 50 Mpx)",
            png_bomb(10_000, 10_000),
            "bomb.png",
            400,
            "image_too_large",
        ),
        (
            "JPEG frame header claiming 65000×65000",
            jpeg_claiming(65_000, 65_000),
            "huge.jpg",
            400,
            "image_too_large",
        ),
        (
            "ZIP archive named .png",
            b"PK\x03\x04\x14\x00\x00\x00\x08\x00".repeat(20),
            "a.png",
            415,
            "unsupported_media_type",
        ),
        (
            "HTML page named .jpg",
            b"<!doctype html><html><script>alert(1)</script></html>".to_vec(),
            "a.jpg",
            415,
            "unsupported_media_type",
        ),
        (
            "GIF header followed by script (GIFAR-style polyglot)",
            b"GIF89a/*\x01\x00\x01\x00*/=1;alert(1);".to_vec(),
            "a.gif",
            415,
            "unsupported_media_type",
        ),
        (
            "PNG signature alone",
            b"\x89PNG\r\n\x1a\n".to_vec(),
            "sig.png",
            400,
            "malformed_image",
        ),
    ];
    for (what, bytes, name, status, code) in cases {
        expect_error(
            what,
            send(file_form(bytes, name)).await.unwrap(),
            status,
            code,
        )
        .await;
    }

    // A polyglot that is a valid JPEG with a ZIP and a script appended: the
    // server only ever treats it as the image it decodes to.
    let mut polyglot = fixture("no_metadata.jpg");
    polyglot.extend_from_slice(b"<script>alert(1)</script>PK\x03\x04");
    polyglot.extend_from_slice(&[0u8; 64]);
    let response = send(file_form(polyglot, "poly.jpg")).await.unwrap();
    assert_eq!(response.status(), 202, "{}", response.text().await.unwrap());
    let job: Value = response.json().await.unwrap();
    let decided = server.wait_decided(job["jobId"].as_str().unwrap()).await;
    assert_eq!(decided["status"], "COMPLETED", "{decided}");
    assert_eq!(decided["mimeType"], "image/jpeg", "{decided}");
}

#[tokio::test]
async fn malformed_requests_get_json_errors() {
    let server = Server::start(Options::default()).await;
    let http = client();
    let deep = format!("{}{}", "[".repeat(5000), "]".repeat(5000));
    let cases: Vec<(&str, reqwest::RequestBuilder, u16, &str)> = vec![
        (
            "multipart without a boundary",
            http.post(server.url("/api/upload"))
                .header("content-type", "multipart/form-data")
                .body("--x\r\n\r\n"),
            400,
            "bad_multipart",
        ),
        (
            "upload as text/plain",
            http.post(server.url("/api/upload"))
                .header("content-type", "text/plain")
                .body("hello"),
            400,
            "bad_multipart",
        ),
        (
            "multipart cut before its closing boundary",
            http.post(server.url("/api/upload"))
                .header("content-type", "multipart/form-data; boundary=XYZ")
                .body("--XYZ\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.png\"\r\n\r\nPNG"),
            400,
            "bad_multipart",
        ),
        (
            "JSON nested 5000 deep (dispute)",
            http.post(server.url("/api/dispute")).body(deep.clone()),
            400,
            "bad_json",
        ),
        (
            "JSON nested 5000 deep (report)",
            http.post(server.url("/api/enclaves/reports")).body(deep),
            400,
            "bad_json",
        ),
        (
            "invalid UTF-8 in a JSON body",
            http.post(server.url("/api/dispute"))
                .body(b"{\"jobId\": \"\xff\xfe\"}".to_vec()),
            400,
            "bad_json",
        ),
        (
            "empty body (dispute)",
            http.post(server.url("/api/dispute")),
            400,
            "bad_json",
        ),
        (
            "JSON array instead of an object (dispute)",
            http.post(server.url("/api/dispute")).json(&json!([1, 2, 3])),
            400,
            "missing_field",
        ),
        (
            "report body over 64 KiB",
            http.post(server.url("/api/enclaves/reports"))
                .json(&json!({ "padding": "x".repeat(70_000) })),
            413,
            "body_too_large",
        ),
        (
            "registration body over 64 KiB",
            http.post(server.url("/api/enclaves/register"))
                .json(&json!({ "padding": "x".repeat(70_000) })),
            413,
            "body_too_large",
        ),
        (
            "job id of 10 000 characters",
            http.get(server.url(&format!("/api/jobs/job_{}", "A".repeat(10_000)))),
            400,
            "bad_job_id",
        ),
        (
            "percent-encoded invalid UTF-8 in a path",
            http.get(server.url("/api/jobs/%FF%FE")),
            400,
            "bad_request",
        ),
        (
            "non-numeric ?after= on the event stream",
            http.get(server.url(
                "/api/jobs/job_01jf0000000000000000000000/events?after=yesterday",
            )),
            400,
            "bad_request",
        ),
        (
            "admin call while the admin API is off",
            http.post(server.url("/api/admin/oracles/enclave-1/ban")),
            401,
            "unauthorized",
        ),
    ];
    for (what, request, status, code) in cases {
        expect_error(what, request.send().await.unwrap(), status, code).await;
    }
    assert_eq!(
        http.get(server.url("/readyz"))
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::OK
    );
}

/// Writes `head` (and then `body` pieces) on a raw connection and returns
/// what the server sent back before closing, and when it closed.
struct Raw {
    received: Vec<u8>,
    closed_after: Duration,
}

/// Connects, writes `first`, then one of `trickle` every `every` until the
/// server answers or closes; reads until the server closes (or `DEADLINE`).
async fn raw_exchange(server: &Server, first: &[u8], trickle: &[u8], every: Duration) -> Raw {
    let addr = server.base.trim_start_matches("http://").to_owned();
    let stream = TcpStream::connect(&addr).await.unwrap();
    let (mut reader, mut writer) = stream.into_split();
    let started = Instant::now();
    let answered = Arc::new(AtomicBool::new(false));
    writer.write_all(first).await.unwrap();
    let trickle = trickle.to_vec();
    let stop = answered.clone();
    let writing = tokio::spawn(async move {
        if trickle.is_empty() {
            // Keep the connection open without sending anything more.
            tokio::time::sleep(DEADLINE).await;
            return writer;
        }
        while !stop.load(Ordering::Acquire) && started.elapsed() < DEADLINE {
            tokio::time::sleep(every).await;
            if stop.load(Ordering::Acquire) || writer.write_all(&trickle).await.is_err() {
                break;
            }
        }
        writer
    });
    let mut received = Vec::new();
    let mut buf = [0u8; 8192];
    let read = async {
        loop {
            match reader.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    answered.store(true, Ordering::Release);
                    received.extend_from_slice(&buf[..n]);
                }
            }
        }
    };
    tokio::time::timeout(DEADLINE, read)
        .await
        .expect("the server closes the connection");
    let closed_after = started.elapsed();
    writing.abort();
    Raw {
        received,
        closed_after,
    }
}

fn status_line(raw: &Raw) -> String {
    String::from_utf8_lossy(&raw.received)
        .lines()
        .next()
        .unwrap_or("")
        .to_owned()
}

fn json_body(raw: &Raw) -> Value {
    let text = String::from_utf8_lossy(&raw.received);
    let (_, body) = text.split_once("\r\n\r\n").expect("a response head");
    serde_json::from_str(body.trim()).unwrap_or_else(|_| panic!("not JSON: {text}"))
}

#[tokio::test]
async fn slow_and_oversized_requests_are_cut() {
    let server = Server::start(
        Options::default()
            .env("VERITY_HEADER_READ_TIMEOUT", "2s")
            .env("VERITY_MAX_HEADER_BYTES", "4096")
            .env("VERITY_BODY_IDLE_TIMEOUT", "1s")
            .env("VERITY_BODY_TIMEOUT", "3s"),
    )
    .await;
    let slack = Duration::from_secs(5);

    // Slowloris head: a header line every 200 ms, never the blank line.
    let raw = raw_exchange(
        &server,
        b"GET /health HTTP/1.1\r\nHost: verity\r\n",
        b"X-Slow: y\r\n",
        Duration::from_millis(200),
    )
    .await;
    assert!(raw.received.is_empty(), "{}", status_line(&raw));
    assert!(
        raw.closed_after >= Duration::from_secs(2)
            && raw.closed_after < Duration::from_secs(2) + slack,
        "closed after {:?}",
        raw.closed_after
    );

    // A connection that sends nothing is closed by the same timeout.
    let raw = raw_exchange(&server, b"", b"", Duration::ZERO).await;
    assert!(raw.received.is_empty());
    assert!(raw.closed_after < Duration::from_secs(2) + slack);

    // A request head over VERITY_MAX_HEADER_BYTES: 431.
    let head = format!(
        "GET /health HTTP/1.1\r\nHost: verity\r\nCookie: {}\r\n\r\n",
        "c".repeat(6000)
    );
    let raw = raw_exchange(&server, head.as_bytes(), b"", Duration::ZERO).await;
    assert!(
        status_line(&raw).starts_with("HTTP/1.1 431"),
        "{}",
        status_line(&raw)
    );

    // Garbage instead of a request line: 400.
    let raw = raw_exchange(&server, b"HELLO THERE\r\n\r\n", b"", Duration::ZERO).await;
    assert!(
        status_line(&raw).starts_with("HTTP/1.1 400"),
        "{}",
        status_line(&raw)
    );

    // A Content-Length that is not a number: 400.
    let raw = raw_exchange(
        &server,
        b"POST /api/dispute HTTP/1.1\r\nHost: verity\r\nContent-Length: abc\r\n\r\n{}",
        b"",
        Duration::ZERO,
    )
    .await;
    assert!(
        status_line(&raw).starts_with("HTTP/1.1 400"),
        "{}",
        status_line(&raw)
    );

    let upload_head = |length: u64| {
        format!(
            "POST /api/upload HTTP/1.1\r\nHost: verity\r\n\
             Content-Type: multipart/form-data; boundary=XYZ\r\nContent-Length: {length}\r\n\r\n\
             --XYZ\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.png\"\r\n\r\n\
             PNG"
        )
    };

    // Slowloris body: a byte every 250 ms (never idle for 1 s) is cut by the 3 s total.
    let raw = raw_exchange(
        &server,
        upload_head(100_000).as_bytes(),
        b"x",
        Duration::from_millis(250),
    )
    .await;
    assert!(
        status_line(&raw).starts_with("HTTP/1.1 408"),
        "{}",
        String::from_utf8_lossy(&raw.received)
    );
    assert_eq!(json_body(&raw)["error"]["code"], "body_timeout");
    assert!(
        raw.closed_after >= Duration::from_secs(3),
        "{:?}",
        raw.closed_after
    );
    assert!(raw.closed_after < Duration::from_secs(3) + slack);

    // A body that stalls (here: 30 GB announced, a few bytes sent): cut after 1 s idle.
    let raw = raw_exchange(
        &server,
        upload_head(30_000_000_000).as_bytes(),
        b"",
        Duration::ZERO,
    )
    .await;
    assert!(
        status_line(&raw).starts_with("HTTP/1.1 408"),
        "{}",
        String::from_utf8_lossy(&raw.received)
    );
    assert_eq!(json_body(&raw)["error"]["code"], "body_timeout");
    assert!(raw.closed_after < Duration::from_secs(1) + slack);

    // A stalled JSON body gets the same answer.
    let raw = raw_exchange(
        &server,
        b"POST /api/dispute HTTP/1.1\r\nHost: verity\r\nContent-Type: application/json\r\nContent-Length: 500\r\n\r\n{\"jobId\":",
        b"",
        Duration::ZERO,
    )
    .await;
    assert!(
        status_line(&raw).starts_with("HTTP/1.1 408"),
        "{}",
        status_line(&raw)
    );
    assert_eq!(json_body(&raw)["error"]["code"], "body_timeout");

    // None of it hurt the server.
    let job = server
        .upload_ok(generated(image::ImageFormat::Png, 32, 32, 9), "a.png")
        .await;
    assert_eq!(server.wait_decided(&job).await["status"], "COMPLETED");
}

#[tokio::test]
async fn rate_limits_answer_429_with_retry_after() {
    let server = Server::start(
        Options::default()
            .env("VERITY_RATE_LIMIT_LOOPBACK", "true")
            .env("VERITY_RATE_UPLOAD", "2/m:2")
            .env("VERITY_RATE_DISPUTE", "1/m:1")
            .env("VERITY_RATE_EVIDENCE", "1/m:1"),
    )
    .await;
    let png = generated(image::ImageFormat::Png, 16, 16, 4);
    let first = server.upload_ok(png.clone(), "a.png").await;
    server.upload_ok(png.clone(), "b.png").await;
    let refused = server.upload(png.clone(), "c.png").await;
    let retry_after: u64 = refused.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=60).contains(&retry_after), "Retry-After {retry_after}");
    expect_error("third upload", refused, 429, "rate_limited").await;

    // Disputes and evidence have buckets of their own (bad requests count too).
    let dispute = || {
        client()
            .post(server.url("/api/dispute"))
            .json(&json!({ "jobId": first }))
            .send()
    };
    expect_error(
        "first dispute",
        dispute().await.unwrap(),
        400,
        "missing_field",
    )
    .await;
    let refused = dispute().await.unwrap();
    assert!(refused.headers().contains_key("retry-after"));
    expect_error("second dispute", refused, 429, "rate_limited").await;

    let evidence = || {
        client()
            .post(server.url("/api/evidence"))
            .multipart(file_form(b"%PDF-1.4".to_vec(), "e.pdf"))
            .send()
    };
    expect_error(
        "first evidence",
        evidence().await.unwrap(),
        415,
        "unsupported_media_type",
    )
    .await;
    expect_error(
        "second evidence",
        evidence().await.unwrap(),
        429,
        "rate_limited",
    )
    .await;

    // Reads are not limited.
    for _ in 0..5 {
        assert_eq!(server.job(&first).await["jobId"], first.as_str());
    }
    let metrics = client()
        .get(server.url("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains("verity_http_rate_limited_total{route=\"upload\"} 1"),
        "{metrics}"
    );
}

#[tokio::test]
async fn loopback_clients_are_exempt_by_default() {
    let server = Server::start(Options::default().env("VERITY_RATE_UPLOAD", "1/m:1")).await;
    let png = generated(image::ImageFormat::Png, 16, 16, 6);
    for name in ["a.png", "b.png", "c.png"] {
        server.upload_ok(png.clone(), name).await;
    }
}

#[tokio::test]
async fn key_files_are_private_and_secrets_stay_out_of_logs() {
    const TOKEN: &str = "admin-token-must-not-leak-0123456789";
    let server = Server::start(
        Options::default()
            .env("VERITY_ADMIN_TOKEN", TOKEN)
            .env("RUST_LOG", "debug,hyper=info,h2=info"),
    )
    .await;
    server.upload_ok(fixture("no_metadata.jpg"), "a.jpg").await;
    let keys: Vec<_> = std::fs::read_dir(server.data_dir.join("keys"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert!(
        keys.len() >= 5,
        "aggregator, log and three enclave keys: {keys:?}"
    );
    #[cfg(unix)]
    for key in &keys {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(key).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "{}", key.display());
    }
    // A wrong token is refused without echoing either token.
    let refused = client()
        .post(server.url("/api/admin/oracles/enclave-1/ban"))
        .bearer_auth("wrong-token-also-secret")
        .send()
        .await
        .unwrap();
    let text = refused.text().await.unwrap();
    assert!(
        !text.contains(TOKEN) && !text.contains("wrong-token-also-secret"),
        "{text}"
    );
    expect_error(
        "control character in an oracle id",
        client()
            .post(server.url("/api/admin/oracles/%01x/ban"))
            .bearer_auth(TOKEN)
            .json(&json!({ "reason": "r" }))
            .send()
            .await
            .unwrap(),
        400,
        "bad_enclave_id",
    )
    .await;
    let log = server.log();
    assert!(!log.is_empty());
    assert!(!log.contains(TOKEN), "the admin token is in the log");
    assert!(!log.contains("wrong-token-also-secret"));
    let cmdline_secret = secret_in_failed_start();
    assert!(cmdline_secret.is_empty(), "{cmdline_secret}");
}

/// Starts `verity serve` against a PostgreSQL URL with a password that
/// cannot connect; returns the start-up error output if it shows the password.
fn secret_in_failed_start() -> String {
    let dir = tempfile::tempdir().unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_verity"))
        .arg("serve")
        .env("VERITY_DATA_DIR", dir.path())
        .env("VERITY_ADDR", "127.0.0.1:0")
        .env(
            "VERITY_DB",
            "postgres://verity:pg-password-must-not-leak@127.0.0.1:1/verity",
        )
        .env("RUST_LOG", "debug")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(!output.status.success(), "started without a database");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        text.contains("VERITY_DB"),
        "the error names the setting: {text}"
    );
    if text.contains("pg-password-must-not-leak") {
        text
    } else {
        String::new()
    }
}
