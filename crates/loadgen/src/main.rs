//! `verity-load`: uploads K distinct images to a running Verity (loopback
//! only, bounded in count) and reports throughput and upload-to-verdict
//! latency.
//!
//! Latency is measured from the moment the client starts an upload to the
//! final report's `consensusTimestamp` (same machine, same clock), so polling
//! for results adds nothing to it. Throughput is jobs decided per second from
//! the first upload to the last decision.

use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{Context, Result, bail};
use clap::Parser;
use futures::StreamExt;
use serde_json::{Value, json};

/// Jobs checked per polling round.
const POLL_BATCH: usize = 100;
/// Pause between polling rounds (latency comes from server timestamps, not from polling).
const POLL_EVERY: Duration = Duration::from_millis(250);

/// Load generator options.
#[derive(Debug, Parser)]
#[command(name = "verity-load", about)]
struct Args {
    /// Server base URL (loopback).
    #[arg(long, default_value = "http://127.0.0.1:3001")]
    server: String,
    /// Number of uploads.
    #[arg(long, default_value_t = 500)]
    jobs: usize,
    /// Uploads in flight at once.
    #[arg(long, default_value_t = 16)]
    concurrency: usize,
    /// Side of the generated square PNGs, in pixels.
    #[arg(long, default_value_t = 64)]
    size: u32,
    /// Give up waiting for verdicts after this long.
    #[arg(long, default_value = "5m", value_parser = humantime::parse_duration)]
    timeout: Duration,
    /// Print the summary as JSON.
    #[arg(long)]
    json: bool,
}

fn now_ms() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs_f64() * 1000.0)
        .unwrap_or(0.0)
}

/// A distinct PNG per index, so every upload is new media.
fn image(i: usize, size: u32) -> Vec<u8> {
    let img = image::RgbImage::from_fn(size, size, |x, y| {
        let v = (i as u32).wrapping_mul(2_654_435_761) ^ (x * 31 + y * 17);
        image::Rgb([v as u8, (v >> 8) as u8, (v >> 16) as u8])
    });
    let mut out = std::io::Cursor::new(Vec::new());
    img.write_to(&mut out, image::ImageFormat::Png)
        .expect("PNG encoding");
    out.into_inner()
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = ((p / 100.0) * (sorted.len() - 1) as f64).round() as usize;
    sorted[rank.min(sorted.len() - 1)]
}

#[tokio::main]
async fn main() -> Result<()> {
    let args = Args::parse();
    if !(args.server.contains("127.0.0.1")
        || args.server.contains("localhost")
        || args.server.contains("[::1]"))
    {
        bail!("verity-load only targets loopback servers");
    }
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(args.concurrency)
        .build()?;
    let server: Arc<str> = args.server.trim_end_matches('/').into();
    let images: Vec<Vec<u8>> = (0..args.jobs).map(|i| image(i, args.size)).collect();

    let started = Instant::now();
    let first_upload_ms = now_ms();
    let uploads = futures::stream::iter(images.into_iter().map(|bytes| {
        let (http, server) = (http.clone(), server.clone());
        async move {
            let sent_ms = now_ms();
            let t = Instant::now();
            let form = reqwest::multipart::Form::new().part(
                "file",
                reqwest::multipart::Part::bytes(bytes).file_name("load.png"),
            );
            let response = http
                .post(format!("{server}/api/upload"))
                .multipart(form)
                .send()
                .await;
            let upload_ms = t.elapsed().as_secs_f64() * 1000.0;
            match response {
                Ok(r) if r.status() == 202 => {
                    let body: Value = r.json().await.ok()?;
                    Some((body["jobId"].as_str()?.to_owned(), sent_ms, upload_ms))
                }
                _ => None,
            }
        }
    }))
    .buffer_unordered(args.concurrency)
    .collect::<Vec<_>>()
    .await;
    let upload_secs = started.elapsed().as_secs_f64();
    let accepted: Vec<(String, f64, f64)> = uploads.into_iter().flatten().collect();
    let errors = args.jobs - accepted.len();

    let (latencies, last_decision_ms, failed) =
        collect(&http, &server, &accepted, args.timeout).await?;
    let mut upload_lat: Vec<f64> = accepted.iter().map(|a| a.2).collect();
    upload_lat.sort_by(f64::total_cmp);
    let mut verdict_lat = latencies;
    verdict_lat.sort_by(f64::total_cmp);
    let span = (last_decision_ms - first_upload_ms) / 1000.0;
    let summary = json!({
        "jobs": args.jobs,
        "accepted": accepted.len(),
        "uploadErrors": errors,
        "failedJobs": failed,
        "decided": verdict_lat.len(),
        "uploadsPerSecond": accepted.len() as f64 / upload_secs,
        "jobsPerSecond": verdict_lat.len() as f64 / span,
        "uploadLatencyMs": { "p50": percentile(&upload_lat, 50.0), "p99": percentile(&upload_lat, 99.0) },
        "uploadToVerdictMs": {
            "p50": percentile(&verdict_lat, 50.0),
            "p95": percentile(&verdict_lat, 95.0),
            "p99": percentile(&verdict_lat, 99.0),
            "max": verdict_lat.last().copied().unwrap_or(f64::NAN),
        },
    });
    if args.json {
        println!("{}", serde_json::to_string_pretty(&summary)?);
    } else {
        println!(
            "{} jobs ({} accepted, {} upload errors, {} failed): {:.0} uploads/s, {:.0} jobs/s decided; \
             upload p50 {:.1} ms p99 {:.1} ms; upload→verdict p50 {:.1} ms p95 {:.1} ms p99 {:.1} ms",
            args.jobs,
            accepted.len(),
            errors,
            failed,
            summary["uploadsPerSecond"].as_f64().unwrap_or(0.0),
            summary["jobsPerSecond"].as_f64().unwrap_or(0.0),
            percentile(&upload_lat, 50.0),
            percentile(&upload_lat, 99.0),
            percentile(&verdict_lat, 50.0),
            percentile(&verdict_lat, 95.0),
            percentile(&verdict_lat, 99.0),
        );
    }
    Ok(())
}

/// Polls until every accepted job is decided; returns latencies (ms), the last
/// decision time (Unix ms) and the number of failed jobs.
async fn collect(
    http: &reqwest::Client,
    server: &str,
    accepted: &[(String, f64, f64)],
    timeout: Duration,
) -> Result<(Vec<f64>, f64, usize)> {
    let deadline = Instant::now() + timeout;
    let mut pending: Vec<&(String, f64, f64)> = accepted.iter().collect();
    let (mut latencies, mut last, mut failed) = (Vec::new(), 0.0f64, 0);
    while !pending.is_empty() {
        if Instant::now() > deadline {
            bail!("{} jobs still undecided after {timeout:?}", pending.len());
        }
        // Jobs are decided roughly in upload order: checking only the oldest few
        // keeps the polling from loading the server it measures.
        let checks = futures::stream::iter(pending.iter().take(POLL_BATCH).map(
            |(job, sent, _)| async move {
                let body: Value = http
                    .get(format!("{server}/api/jobs/{job}"))
                    .send()
                    .await
                    .ok()?
                    .json()
                    .await
                    .ok()?;
                Some((job.clone(), *sent, body))
            },
        ))
        .buffer_unordered(8)
        .collect::<Vec<_>>()
        .await;
        let mut done = std::collections::HashSet::new();
        for (job, sent, body) in checks.into_iter().flatten() {
            match body["status"].as_str() {
                Some("COMPLETED") => {
                    let decided = body["report"]["consensusMetadata"]["consensusTimestamp"]
                        .as_f64()
                        .context("completed job without consensusTimestamp")?;
                    latencies.push(decided - sent);
                    last = last.max(decided);
                    done.insert(job);
                }
                Some("FAILED") => {
                    failed += 1;
                    done.insert(job);
                }
                _ => {}
            }
        }
        pending.retain(|(job, _, _)| !done.contains(job));
        if !pending.is_empty() {
            tokio::time::sleep(POLL_EVERY).await;
        }
    }
    Ok((latencies, last, failed))
}
