//! End-to-end throughput and latency of a local distributed cluster:
//! `verity serve --role api` + 3 `verity worker` processes on PostgreSQL,
//! Redis Streams and S3 (moto_server), all on this machine.
//!
//! `cargo bench -p verity-cli --bench cluster` (JOBS, CONCURRENCY to change
//! the load; MODE=pg-pgqueue-walrus for the other stack). Prints jobs/s and
//! p50/p99 upload-to-verdict latency (the job's `createdAt` → `updatedAt`).
//! A benchmark, not a test.

#[path = "../tests/blackbox/harness.rs"]
#[allow(dead_code)]
mod harness;

use std::time::Instant;

use futures::StreamExt;
use harness::{Mode, Options, Server, generated};

fn env(key: &str, default: usize) -> usize {
    std::env::var(key)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn millis(iso: &str) -> i64 {
    let t = humantime::parse_rfc3339(iso).expect("RFC 3339 time");
    t.duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() as i64
}

#[tokio::main]
async fn main() {
    let mode = match std::env::var("MODE").as_deref() {
        Ok("pg-pgqueue-walrus") => Mode::PgPgqueueWalrus,
        _ => Mode::PgRedisS3,
    };
    let (jobs, concurrency) = (env("JOBS", 200), env("CONCURRENCY", 8));
    let options = Options::default().env("VERITY_WORKER_CONCURRENCY", "4");
    let Some(server) = Server::start_in(mode, options).await else {
        println!("cluster benchmark: engines missing, not run");
        return;
    };
    let images: Vec<Vec<u8>> = (0..jobs)
        .map(|i| generated(image::ImageFormat::Png, 64, 48, (i % 250) as u8 + 1))
        .collect();
    let start = Instant::now();
    let ids: Vec<String> = futures::stream::iter(images)
        .map(|png| {
            let server = &server;
            async move { server.upload_ok(png, "b.png").await }
        })
        .buffer_unordered(concurrency)
        .collect()
        .await;
    let mut latencies = Vec::new();
    for id in &ids {
        let body = server.wait_decided(id).await;
        assert_eq!(body["status"], "COMPLETED", "{body}");
        let (created, updated) = (
            body["createdAt"].as_str().unwrap(),
            body["updatedAt"].as_str().unwrap(),
        );
        latencies.push(millis(updated) - millis(created));
    }
    let wall = start.elapsed().as_secs_f64();
    latencies.sort();
    let pct = |p: f64| latencies[((latencies.len() as f64 - 1.0) * p).round() as usize];
    println!(
        "cluster {mode:?}: {jobs} jobs, {concurrency} uploads in flight, 3 workers × 4 tasks: \
         {:.1} jobs/s, upload→verdict p50 {} ms, p99 {} ms, max {} ms",
        jobs as f64 / wall,
        pct(0.5),
        pct(0.99),
        latencies.last().unwrap()
    );
}
