//! Verity's Redis Streams queue against BullMQ on the same Redis, side by side.
//!
//! `cargo bench -p verity-store --bench queue_vs_bullmq` (Redis at
//! `VERITY_TEST_REDIS`, default 127.0.0.1:6379; `npm ci` in scripts/node).
//! Both push JOBS fan-outs to 3 enclaves (3 × JOBS tasks) with the same
//! payload size and CONCURRENCY consumers per enclave, and count tasks
//! leased (processed, empty work) and acknowledged per second. A benchmark,
//! not a test: it prints and never fails.

use std::sync::Arc;
use std::time::{Duration, Instant};

use verity_core::{EnclaveId, JobId};
use verity_store::{Delivery, FanOut, JobQueue, QueuePolicy, RedisQueue};

const ENCLAVES: usize = 3;

fn env(key: &str, default: usize) -> usize {
    std::env::var(key)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

async fn verity(url: &str, jobs: usize, payload: usize, concurrency: usize) -> (usize, f64) {
    let prefix = format!("bench{:x}", rand::random::<u32>());
    let queue = Arc::new(
        RedisQueue::connect(url, &prefix, QueuePolicy::default(), Duration::from_secs(5))
            .await
            .expect("redis"),
    );
    let enclaves: Vec<EnclaveId> = (1..=ENCLAVES)
        .map(|i| format!("enclave-{i}").parse().unwrap())
        .collect();
    let body = vec![b'x'; payload];
    let total = jobs * ENCLAVES;
    let done = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let start = Instant::now();
    let mut consumers = Vec::new();
    for e in &enclaves {
        for c in 0..concurrency {
            let (queue, e, done) = (queue.clone(), e.clone(), done.clone());
            consumers.push(tokio::spawn(async move {
                let name = format!("w{c}");
                while done.load(std::sync::atomic::Ordering::Relaxed) < total {
                    if let Some(t) = queue
                        .lease(&e, &name, Duration::from_millis(100))
                        .await
                        .unwrap()
                    {
                        queue.ack(&t).await.unwrap();
                        done.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    }
                }
            }));
        }
    }
    let publishes = futures::stream::iter(0..jobs).map(|_| {
        let fanout = FanOut {
            job_id: JobId::generate(),
            round: 0,
            priority: 0,
            deliveries: enclaves
                .iter()
                .map(|e| Delivery {
                    enclave_id: e.clone(),
                    payload: body.clone(),
                })
                .collect(),
        };
        let queue = queue.clone();
        async move { queue.publish(&fanout).await.unwrap() }
    });
    use futures::StreamExt;
    publishes.buffer_unordered(16).for_each(|_| async {}).await;
    for c in consumers {
        c.await.unwrap();
    }
    (total, start.elapsed().as_secs_f64())
}

fn bullmq(port: u16, jobs: usize, payload: usize, concurrency: usize) -> Option<(usize, f64)> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scripts/node");
    let out = std::process::Command::new("node")
        .arg(dir.join("bullmq-bench.mjs"))
        .args([
            port.to_string(),
            jobs.to_string(),
            ENCLAVES.to_string(),
            payload.to_string(),
        ])
        .args([
            concurrency.to_string(),
            format!("bench{:x}", rand::random::<u32>()),
        ])
        .current_dir(&dir)
        .output()
        .ok()?;
    let line = String::from_utf8_lossy(&out.stdout);
    let v: serde_json::Value = serde_json::from_str(line.trim()).ok()?;
    Some((v["tasks"].as_u64()? as usize, v["seconds"].as_f64()?))
}

#[tokio::main]
async fn main() {
    let url =
        std::env::var("VERITY_TEST_REDIS").unwrap_or_else(|_| "redis://127.0.0.1:6379".into());
    let port: u16 = url
        .rsplit(':')
        .next()
        .and_then(|p| p.trim_end_matches('/').parse().ok())
        .unwrap_or(6379);
    let (jobs, payload, concurrency) = (
        env("JOBS", 5000),
        env("PAYLOAD", 1024),
        env("CONCURRENCY", 8),
    );
    println!(
        "queue benchmark: {jobs} fan-outs × {ENCLAVES} enclaves, {payload} B payload, {concurrency} consumers per enclave, {url}"
    );
    let (vt, vs) = verity(&url, jobs, payload, concurrency).await;
    let verity_rate = vt as f64 / vs;
    println!(
        "{:<24} {:>8} tasks {:>8.2} s {:>10.0} tasks/s",
        "verity (Redis Streams)", vt, vs, verity_rate
    );
    match bullmq(port, jobs, payload, concurrency) {
        Some((bt, bs)) => {
            let rate = bt as f64 / bs;
            println!(
                "{:<24} {:>8} tasks {:>8.2} s {:>10.0} tasks/s",
                "bullmq", bt, bs, rate
            );
            println!("ratio verity / bullmq: {:.2}×", verity_rate / rate);
        }
        None => println!("bullmq: not run (node and `npm ci` in scripts/node needed)"),
    }
}
