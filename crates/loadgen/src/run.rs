//! One load run: the open-loop uploader, the verdict poller and the memory
//! sampler, sharing a [`Tally`].

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{Context, Result};
use futures::StreamExt;
use hdrhistogram::Histogram;
use serde_json::{Value, json};
use tokio::sync::Semaphore;
use tokio::time::MissedTickBehavior;

use crate::Args;
use crate::rss::{self, Growth, Sample};

/// Jobs checked per polling round.
const POLL_BATCH: usize = 64;
/// Concurrent status requests per polling round.
const POLL_CONCURRENCY: usize = 8;
/// Pause between polling rounds (latency comes from server timestamps, not from polling).
const POLL_EVERY: Duration = Duration::from_millis(250);

fn now_ms() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs_f64() * 1000.0)
        .unwrap_or(0.0)
}

/// A distinct PNG per (run, index), so every upload is new media.
fn image(seed: u32, i: u64, size: u32) -> Vec<u8> {
    let salt = seed ^ (i as u32).wrapping_mul(2_654_435_761) ^ ((i >> 32) as u32);
    let img = image::RgbImage::from_fn(size, size, |x, y| {
        let v = salt ^ (x * 31 + y * 17);
        image::Rgb([v as u8, (v >> 8) as u8, (v >> 16) as u8])
    });
    let mut out = std::io::Cursor::new(Vec::new());
    img.write_to(&mut out, image::ImageFormat::Png)
        .expect("PNG encoding");
    out.into_inner()
}

fn histogram() -> Histogram<u64> {
    // Microseconds, 1 µs to 1 h, three significant digits.
    Histogram::new_with_bounds(1, 3_600_000_000, 3).expect("histogram bounds")
}

/// Everything counted during a run.
struct Tally {
    /// Accepted jobs without a verdict yet, by upload sequence number: (job id, sent at, Unix ms).
    pending: BTreeMap<u64, (String, f64)>,
    upload_us: Histogram<u64>,
    verdict_us: Histogram<u64>,
    started: u64,
    skipped: u64,
    accepted: u64,
    errors: BTreeMap<String, u64>,
    decided: u64,
    failed: u64,
    last_decision_ms: f64,
    samples: Vec<Sample>,
}

impl Tally {
    fn new() -> Self {
        Tally {
            pending: BTreeMap::new(),
            upload_us: histogram(),
            verdict_us: histogram(),
            started: 0,
            skipped: 0,
            accepted: 0,
            errors: BTreeMap::new(),
            decided: 0,
            failed: 0,
            last_decision_ms: 0.0,
            samples: Vec::new(),
        }
    }

    fn error(&mut self, kind: String) {
        *self.errors.entry(kind).or_default() += 1;
    }
}

type Shared = Arc<Mutex<Tally>>;

fn lock(t: &Shared) -> std::sync::MutexGuard<'_, Tally> {
    t.lock().unwrap_or_else(|p| p.into_inner())
}

/// The result of a run.
pub struct Summary {
    rate: f64,
    duration: Duration,
    upload_secs: f64,
    span_secs: f64,
    started: u64,
    skipped: u64,
    accepted: u64,
    errors: BTreeMap<String, u64>,
    decided: u64,
    /// Accepted jobs that ended FAILED.
    pub failed: u64,
    /// Accepted jobs with no verdict by the end of the grace period.
    pub lost: u64,
    upload_us: Histogram<u64>,
    verdict_us: Histogram<u64>,
    growth: Option<Growth>,
    rss_alive: bool,
}

/// Runs the load described by `args` to the end.
pub async fn run(args: &Args) -> Result<Summary> {
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(args.max_in_flight.min(64))
        .timeout(Duration::from_secs(60))
        .build()?;
    let server: Arc<str> = args.server.trim_end_matches('/').into();
    let tally: Shared = Arc::new(Mutex::new(Tally::new()));
    let start = Instant::now();
    let start_ms = now_ms();
    let uploads_end = start + args.duration;
    let give_up = uploads_end + args.grace;

    let sampler = (!args.server_pids.is_empty()).then(|| {
        tokio::spawn(sample(
            tally.clone(),
            args.server_pids.clone(),
            args.sample_every,
            start,
        ))
    });
    let progress = (!args.progress.is_zero())
        .then(|| tokio::spawn(report_progress(tally.clone(), args.progress, start)));
    let uploading = Arc::new(std::sync::atomic::AtomicBool::new(true));
    let poller = tokio::spawn(poll(
        http.clone(),
        server.clone(),
        tally.clone(),
        uploading.clone(),
        give_up,
    ));

    upload_all(args, &http, &server, &tally, uploads_end).await;
    let upload_secs = start.elapsed().as_secs_f64();
    uploading.store(false, std::sync::atomic::Ordering::SeqCst);
    poller.await.context("poller")?;
    if let Some(p) = progress {
        p.abort();
    }
    let rss_alive = match sampler {
        Some(s) => {
            s.abort();
            let now = rss::total_kib(&args.server_pids);
            if let Some(kib) = now {
                let at_s = start.elapsed().as_secs_f64();
                lock(&tally).samples.push(Sample { at_s, kib });
            }
            now.is_some()
        }
        None => true,
    };

    let t = std::mem::replace(&mut *lock(&tally), Tally::new());
    if let Some(path) = &args.rss_csv {
        let mut csv = String::from("seconds,rss_kib\n");
        for s in &t.samples {
            csv.push_str(&format!("{:.1},{}\n", s.at_s, s.kib));
        }
        std::fs::write(path, csv).with_context(|| format!("writing {}", path.display()))?;
    }
    let warmup = args.warmup.unwrap_or(args.duration / 6);
    Ok(Summary {
        rate: args.rate,
        duration: args.duration,
        upload_secs,
        span_secs: ((t.last_decision_ms - start_ms) / 1000.0).max(0.0),
        started: t.started,
        skipped: t.skipped,
        accepted: t.accepted,
        errors: t.errors,
        decided: t.decided,
        failed: t.failed,
        lost: t.pending.len() as u64,
        upload_us: t.upload_us,
        verdict_us: t.verdict_us,
        growth: Growth::of(&t.samples, warmup),
        rss_alive,
    })
}

/// Starts one upload per tick until `end`, then waits for those in flight.
async fn upload_all(
    args: &Args,
    http: &reqwest::Client,
    server: &Arc<str>,
    tally: &Shared,
    end: Instant,
) {
    let slots = Arc::new(Semaphore::new(args.max_in_flight));
    let seed: u32 = std::process::id() ^ (now_ms() as u64 as u32);
    let mut ticks = tokio::time::interval(Duration::from_secs_f64(1.0 / args.rate));
    // Open loop: a late tick is made up at once, not dropped.
    ticks.set_missed_tick_behavior(MissedTickBehavior::Burst);
    let mut seq: u64 = 0;
    loop {
        ticks.tick().await;
        if Instant::now() >= end {
            break;
        }
        seq += 1;
        let Ok(slot) = slots.clone().try_acquire_owned() else {
            lock(tally).skipped += 1;
            continue;
        };
        lock(tally).started += 1;
        let (http, server, tally, size) = (http.clone(), server.clone(), tally.clone(), args.size);
        tokio::spawn(async move {
            let _slot = slot;
            upload(&http, &server, &tally, seq, image(seed, seq, size)).await;
        });
    }
    // Every slot back means every upload has finished.
    let _ = slots.acquire_many(args.max_in_flight as u32).await;
}

async fn upload(http: &reqwest::Client, server: &str, tally: &Shared, seq: u64, bytes: Vec<u8>) {
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
    let outcome = match response {
        Ok(r) if r.status() == 202 => match r.json::<Value>().await {
            Ok(body) => body["jobId"]
                .as_str()
                .map(str::to_owned)
                .ok_or_else(|| "202 without jobId".to_owned()),
            Err(e) => Err(format!("202 body: {e}")),
        },
        Ok(r) => Err(format!("HTTP {}", r.status().as_u16())),
        Err(e) if e.is_timeout() => Err("timeout".into()),
        Err(e) if e.is_connect() => Err("connect".into()),
        Err(_) => Err("transport".into()),
    };
    let elapsed_us = (t.elapsed().as_micros() as u64).max(1);
    let mut t = lock(tally);
    match outcome {
        Ok(job) => {
            t.accepted += 1;
            let _ = t.upload_us.record(elapsed_us);
            t.pending.insert(seq, (job, sent_ms));
        }
        Err(kind) => t.error(kind),
    }
}

/// Checks pending jobs in rounds (a rotating window, so a stuck job cannot
/// hide the others) until uploads are over and every job is decided, or `give_up`.
async fn poll(
    http: reqwest::Client,
    server: Arc<str>,
    tally: Shared,
    uploading: Arc<std::sync::atomic::AtomicBool>,
    give_up: Instant,
) {
    let mut cursor = 0u64;
    loop {
        let done_uploading = !uploading.load(std::sync::atomic::Ordering::SeqCst);
        let batch: Vec<(u64, String, f64)> = {
            let t = lock(&tally);
            if done_uploading && t.pending.is_empty() {
                return;
            }
            let mut batch: Vec<_> = t
                .pending
                .range(cursor..)
                .chain(t.pending.range(..cursor))
                .take(POLL_BATCH)
                .map(|(seq, (job, sent))| (*seq, job.clone(), *sent))
                .collect();
            batch.dedup_by_key(|b| b.0);
            batch
        };
        if Instant::now() >= give_up {
            return;
        }
        cursor = batch.last().map_or(0, |b| b.0 + 1);
        let checks = futures::stream::iter(batch.into_iter().map(|(seq, job, sent)| {
            let (http, server) = (&http, &server);
            async move {
                let body: Value = http
                    .get(format!("{server}/api/jobs/{job}"))
                    .send()
                    .await
                    .ok()?
                    .json()
                    .await
                    .ok()?;
                Some((seq, sent, body))
            }
        }))
        .buffer_unordered(POLL_CONCURRENCY)
        .collect::<Vec<_>>()
        .await;
        {
            let mut t = lock(&tally);
            for (seq, sent, body) in checks.into_iter().flatten() {
                settle(&mut t, seq, sent, &body);
            }
        }
        tokio::time::sleep(POLL_EVERY).await;
    }
}

/// Records a job's verdict if it has one.
fn settle(t: &mut Tally, seq: u64, sent_ms: f64, body: &Value) {
    match body["status"].as_str() {
        Some("COMPLETED") => {
            let decided = body["report"]["consensusMetadata"]["consensusTimestamp"].as_f64();
            match decided {
                Some(decided) => {
                    let _ = t
                        .verdict_us
                        .record((((decided - sent_ms) * 1000.0).max(1.0)) as u64);
                    t.last_decision_ms = t.last_decision_ms.max(decided);
                    t.decided += 1;
                }
                None => t.error("completed job without consensusTimestamp".into()),
            }
            t.pending.remove(&seq);
        }
        Some("FAILED") => {
            t.failed += 1;
            t.pending.remove(&seq);
        }
        _ => {}
    }
}

async fn sample(tally: Shared, pids: Vec<u32>, every: Duration, start: Instant) {
    let mut ticks = tokio::time::interval(every);
    ticks.set_missed_tick_behavior(MissedTickBehavior::Delay);
    loop {
        ticks.tick().await;
        let Some(kib) = rss::total_kib(&pids) else {
            eprintln!("verity-load: a watched server process is gone");
            return;
        };
        let at_s = start.elapsed().as_secs_f64();
        lock(&tally).samples.push(Sample { at_s, kib });
    }
}

async fn report_progress(tally: Shared, every: Duration, start: Instant) {
    let mut ticks = tokio::time::interval_at(tokio::time::Instant::now() + every, every);
    loop {
        ticks.tick().await;
        let t = lock(&tally);
        let errors: u64 = t.errors.values().sum();
        let rss = t.samples.last().map_or(String::new(), |s| {
            format!(", server RSS {} MiB", s.kib / 1024)
        });
        eprintln!(
            "[{:>6.0} s] started {} accepted {} errors {} skipped {} decided {} failed {} pending {}; \
             upload→verdict p50 {:.1} ms p99 {:.1} ms{rss}",
            start.elapsed().as_secs_f64(),
            t.started,
            t.accepted,
            errors,
            t.skipped,
            t.decided,
            t.failed,
            t.pending.len(),
            t.verdict_us.value_at_quantile(0.5) as f64 / 1000.0,
            t.verdict_us.value_at_quantile(0.99) as f64 / 1000.0,
        );
    }
}

fn ms(h: &Histogram<u64>, q: f64) -> f64 {
    if h.is_empty() {
        return f64::NAN;
    }
    h.value_at_quantile(q) as f64 / 1000.0
}

impl Summary {
    /// The summary as JSON (what `--json` prints).
    pub fn to_json(&self) -> Value {
        let latency = |h: &Histogram<u64>| {
            json!({
                "p50": ms(h, 0.5), "p95": ms(h, 0.95), "p99": ms(h, 0.99),
                "max": if h.is_empty() { f64::NAN } else { h.max() as f64 / 1000.0 },
            })
        };
        let mut out = json!({
            "targetRate": self.rate,
            "durationSeconds": self.duration.as_secs_f64(),
            "started": self.started,
            "skipped": self.skipped,
            "accepted": self.accepted,
            "uploadErrors": self.errors.values().sum::<u64>(),
            "errorsByKind": self.errors,
            "decided": self.decided,
            "failedJobs": self.failed,
            "lostJobs": self.lost,
            "uploadsPerSecond": self.accepted as f64 / self.upload_secs,
            "verdictsPerSecond": self.verdicts_per_second(),
            "uploadLatencyMs": latency(&self.upload_us),
            "uploadToVerdictMs": latency(&self.verdict_us),
        });
        if let Some(g) = &self.growth {
            out["serverRssKib"] = json!({
                "start": g.start, "afterWarmup": g.warm, "end": g.end, "max": g.max,
                "maxAfterWarmup": g.max_after_warm,
                "growthAfterWarmupPct": g.after_warm_pct(),
                "endVsWarmupPct": g.end_vs_warm_pct(),
                "serverAliveAtEnd": self.rss_alive,
            });
        }
        out
    }

    fn verdicts_per_second(&self) -> f64 {
        if self.span_secs > 0.0 {
            self.decided as f64 / self.span_secs
        } else {
            0.0
        }
    }

    /// The summary as lines of text.
    pub fn text(&self) -> String {
        let errors: u64 = self.errors.values().sum();
        let mut out = format!(
            "{:.1} uploads/s for {:.0} s: {} started, {} accepted, {} upload errors {:?}, {} skipped (in-flight cap)\n\
             verdicts: {} decided, {} failed, {} lost (no verdict by the end of the grace period)\n\
             throughput: {:.1} uploads/s accepted, {:.1} verdicts/s\n\
             upload latency: p50 {:.1} ms, p95 {:.1} ms, p99 {:.1} ms\n\
             upload→verdict: p50 {:.1} ms, p95 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
            self.rate,
            self.duration.as_secs_f64(),
            self.started,
            self.accepted,
            errors,
            self.errors,
            self.skipped,
            self.decided,
            self.failed,
            self.lost,
            self.accepted as f64 / self.upload_secs,
            self.verdicts_per_second(),
            ms(&self.upload_us, 0.5),
            ms(&self.upload_us, 0.95),
            ms(&self.upload_us, 0.99),
            ms(&self.verdict_us, 0.5),
            ms(&self.verdict_us, 0.95),
            ms(&self.verdict_us, 0.99),
            if self.verdict_us.is_empty() {
                f64::NAN
            } else {
                self.verdict_us.max() as f64 / 1000.0
            },
        );
        if let Some(g) = &self.growth {
            out.push_str(&format!(
                "\nserver RSS: start {} MiB, after warm-up {} MiB, end {} MiB, max {} MiB; \
                 growth after warm-up {:+.1} % (max), {:+.1} % (end){}",
                g.start / 1024,
                g.warm / 1024,
                g.end / 1024,
                g.max / 1024,
                g.after_warm_pct(),
                g.end_vs_warm_pct(),
                if self.rss_alive {
                    ""
                } else {
                    "; a server process exited during the run"
                },
            ));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn images_differ_by_index_and_run() {
        assert_ne!(image(1, 1, 16), image(1, 2, 16));
        assert_ne!(image(1, 1, 16), image(2, 1, 16));
    }

    #[test]
    fn a_completed_job_leaves_pending_with_its_latency() {
        let mut t = Tally::new();
        t.pending.insert(7, ("job_x".into(), 1000.0));
        t.pending.insert(8, ("job_y".into(), 1000.0));
        let done = json!({"status": "COMPLETED", "report": {"consensusMetadata": {"consensusTimestamp": 1250.0}}});
        settle(&mut t, 7, 1000.0, &done);
        settle(&mut t, 8, 1000.0, &json!({"status": "PROCESSING"}));
        assert_eq!((t.decided, t.pending.len()), (1, 1));
        assert!((249_000..=251_000).contains(&t.verdict_us.value_at_quantile(0.5)));
        settle(&mut t, 8, 1000.0, &json!({"status": "FAILED"}));
        assert_eq!((t.failed, t.pending.len()), (1, 0));
    }
}
