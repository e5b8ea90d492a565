//! `verity-load`: an open-loop load generator for a running Verity (loopback
//! only, bounded in time, stops by itself).
//!
//! It starts one upload every `1/rate` seconds for `--duration`, whatever the
//! server's answers (open loop: a slow server meets the same arrival rate, so
//! its queueing shows in the latency instead of slowing the client down).
//! Every accepted job must reach a verdict before the end plus `--grace`; the
//! ones that do not are reported as lost. Latency runs from the start of the
//! upload to the final report's `consensusTimestamp` (same machine, same
//! clock), so how often the client polls adds nothing to it. With
//! `--server-pid` the resident memory of the server process(es) is sampled
//! from `/proc` for the memory-growth figures.

mod rss;
mod run;

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Result, bail};
use clap::Parser;

/// Load generator options.
#[derive(Debug, Clone, Parser)]
#[command(name = "verity-load", about)]
pub struct Args {
    /// Server base URL (loopback only).
    #[arg(long, default_value = "http://127.0.0.1:3001")]
    pub server: String,
    /// Uploads started per second (open loop).
    #[arg(long, default_value_t = 10.0)]
    pub rate: f64,
    /// How long to upload: minutes as a plain number (`30`), or a duration (`90s`, `1h`).
    #[arg(long, default_value = "1", value_parser = minutes)]
    pub duration: Duration,
    /// After the last upload, how long accepted jobs may take to reach a verdict
    /// before they count as lost.
    #[arg(long, default_value = "2m", value_parser = humantime::parse_duration)]
    pub grace: Duration,
    /// Uploads in flight at most; a tick that finds them all busy is counted
    /// as skipped rather than queued (keeps the client bounded).
    #[arg(long, default_value_t = 256)]
    pub max_in_flight: usize,
    /// Side of the generated square PNGs, in pixels.
    #[arg(long, default_value_t = 64)]
    pub size: u32,
    /// Server process to watch (`VmRSS` from /proc); repeat for a cluster.
    #[arg(long = "server-pid")]
    pub server_pids: Vec<u32>,
    /// Memory sampling period.
    #[arg(long, default_value = "5s", value_parser = humantime::parse_duration)]
    pub sample_every: Duration,
    /// Memory growth is judged from the first sample after this much of the
    /// run (default: a sixth of `--duration`).
    #[arg(long, value_parser = humantime::parse_duration)]
    pub warmup: Option<Duration>,
    /// Write every memory sample here as CSV (`seconds,rss_kib`).
    #[arg(long)]
    pub rss_csv: Option<PathBuf>,
    /// Progress line on stderr this often (0s: none).
    #[arg(long, default_value = "60s", value_parser = humantime::parse_duration)]
    pub progress: Duration,
    /// Print the summary as JSON.
    #[arg(long)]
    pub json: bool,
}

/// A plain number is minutes; anything else is a humantime duration.
fn minutes(s: &str) -> Result<Duration, String> {
    match s.parse::<f64>() {
        Ok(m) if m > 0.0 && m.is_finite() => Ok(Duration::from_secs_f64(m * 60.0)),
        Ok(_) => Err("the duration must be positive".into()),
        Err(_) => humantime::parse_duration(s).map_err(|e| e.to_string()),
    }
}

/// Only loopback hosts: this tool must never load someone else's server.
fn check_loopback(server: &str) -> Result<()> {
    let url = reqwest::Url::parse(server)?;
    let host = url.host_str().unwrap_or_default();
    let host = host.trim_start_matches('[').trim_end_matches(']');
    let loopback = host == "localhost"
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback());
    if !loopback {
        bail!("verity-load only targets loopback servers, not {server}");
    }
    Ok(())
}

#[tokio::main]
async fn main() -> Result<()> {
    let args = Args::parse();
    check_loopback(&args.server)?;
    if !(args.rate > 0.0 && args.rate.is_finite()) {
        bail!("--rate must be a positive number of uploads per second");
    }
    let summary = run::run(&args).await?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&summary.to_json())?);
    } else {
        println!("{}", summary.text());
    }
    if summary.lost > 0 || summary.failed > 0 {
        std::process::exit(1);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_durations_are_minutes() {
        assert_eq!(minutes("30").unwrap(), Duration::from_secs(1800));
        assert_eq!(minutes("90s").unwrap(), Duration::from_secs(90));
        assert!(minutes("0").is_err());
        assert!(minutes("soon").is_err());
    }

    #[test]
    fn only_loopback_servers_are_accepted() {
        for ok in [
            "http://127.0.0.1:3001",
            "http://localhost:3001/",
            "http://[::1]:80",
        ] {
            check_loopback(ok).unwrap();
        }
        for bad in [
            "http://example.com",
            "http://10.0.0.1:3001",
            "http://127.0.0.1.example.com",
        ] {
            assert!(check_loopback(bad).is_err(), "{bad}");
        }
    }
}
