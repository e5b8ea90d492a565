//! `verity serve` request limits (docs/SECURITY.md, "Limits").

use std::time::Duration;

use anyhow::{Result, bail};
use clap::Args;
use clap::builder::BoolishValueParser;
use verity_node::http::limits::{HttpLimits, RateLimit};

/// Timeouts, sizes and per-client rate limits of the HTTP server.
#[derive(Debug, Clone, Args)]
pub struct LimitArgs {
    /// A client must send a whole request head within this (then the connection is closed).
    #[arg(long, env = "VERITY_HEADER_READ_TIMEOUT", default_value = "10s", value_parser = humantime::parse_duration)]
    pub header_read_timeout: Duration,
    /// Largest request head in bytes, request line included (larger: 431).
    #[arg(long, env = "VERITY_MAX_HEADER_BYTES", default_value_t = 32 * 1024, value_parser = clap::value_parser!(u32).range(1024..=1024 * 1024))]
    pub max_header_bytes: u32,
    /// Longest pause between two pieces of a request body (then 408 `body_timeout`).
    #[arg(long, env = "VERITY_BODY_IDLE_TIMEOUT", default_value = "30s", value_parser = humantime::parse_duration)]
    pub body_idle_timeout: Duration,
    /// Longest time to receive a whole request body (then 408 `body_timeout`).
    #[arg(long, env = "VERITY_BODY_TIMEOUT", default_value = "120s", value_parser = humantime::parse_duration)]
    pub body_timeout: Duration,
    /// Largest JSON (non-upload) request body in bytes (larger: 413).
    #[arg(long, env = "VERITY_MAX_JSON_BYTES", default_value_t = 64 * 1024, value_parser = clap::value_parser!(u32).range(1024..=16 * 1024 * 1024))]
    pub max_json_bytes: u32,
    /// Uploads per client address, `COUNT/UNIT[:BURST]` (`s`, `m`, `h`) or `off`.
    #[arg(long, env = "VERITY_RATE_UPLOAD", default_value = "60/m:20")]
    pub rate_upload: RateLimit,
    /// Disputes per client address, `COUNT/UNIT[:BURST]` or `off`.
    #[arg(long, env = "VERITY_RATE_DISPUTE", default_value = "10/m:5")]
    pub rate_dispute: RateLimit,
    /// Evidence uploads per client address, `COUNT/UNIT[:BURST]` or `off`.
    #[arg(long, env = "VERITY_RATE_EVIDENCE", default_value = "30/m:10")]
    pub rate_evidence: RateLimit,
    /// Attestation nonces (`POST /api/enclaves/nonce`) per client address, `COUNT/UNIT[:BURST]` or `off`.
    #[arg(long, env = "VERITY_RATE_NONCE", default_value = "60/m:20")]
    pub rate_nonce: RateLimit,
    /// Apply the rate limits to loopback clients too (off: local benchmarks,
    /// load and schema tests run unthrottled).
    #[arg(long, env = "VERITY_RATE_LIMIT_LOOPBACK", default_value = "false", action = clap::ArgAction::Set, value_parser = BoolishValueParser::new())]
    pub rate_limit_loopback: bool,
}

impl LimitArgs {
    /// The node's HTTP limits.
    ///
    /// # Errors
    /// A timeout of zero, which would refuse every request.
    pub fn config(&self) -> Result<HttpLimits> {
        for (name, value) in [
            ("VERITY_HEADER_READ_TIMEOUT", self.header_read_timeout),
            ("VERITY_BODY_IDLE_TIMEOUT", self.body_idle_timeout),
            ("VERITY_BODY_TIMEOUT", self.body_timeout),
        ] {
            if value.is_zero() {
                bail!("{name} must be longer than zero");
            }
        }
        Ok(HttpLimits {
            header_read_timeout: self.header_read_timeout,
            max_header_bytes: self.max_header_bytes as usize,
            body_idle_timeout: self.body_idle_timeout,
            body_timeout: self.body_timeout,
            max_json_bytes: self.max_json_bytes as usize,
            upload_rate: self.rate_upload,
            dispute_rate: self.rate_dispute,
            evidence_rate: self.rate_evidence,
            nonce_rate: self.rate_nonce,
            rate_limit_loopback: self.rate_limit_loopback,
        })
    }
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        limits: LimitArgs,
    }

    #[test]
    fn the_defaults_are_the_nodes_defaults() {
        let cli = Cli::try_parse_from(["verity"]).unwrap();
        assert_eq!(cli.limits.config().unwrap(), HttpLimits::default());
    }

    #[test]
    fn flags_set_every_limit() {
        let cli = Cli::try_parse_from([
            "verity",
            "--header-read-timeout",
            "2s",
            "--max-header-bytes",
            "4096",
            "--body-idle-timeout",
            "1s",
            "--body-timeout",
            "3s",
            "--max-json-bytes",
            "2048",
            "--rate-upload",
            "5/s:2",
            "--rate-dispute",
            "off",
            "--rate-evidence",
            "1/h",
            "--rate-nonce",
            "2/m:1",
            "--rate-limit-loopback",
            "true",
        ])
        .unwrap();
        let limits = cli.limits.config().unwrap();
        assert_eq!(limits.header_read_timeout, Duration::from_secs(2));
        assert_eq!(limits.max_header_bytes, 4096);
        assert_eq!(limits.body_idle_timeout, Duration::from_secs(1));
        assert_eq!(limits.body_timeout, Duration::from_secs(3));
        assert_eq!(limits.max_json_bytes, 2048);
        assert_eq!(limits.upload_rate.to_string(), "5/s:2");
        assert!(limits.dispute_rate.is_off());
        assert_eq!(limits.evidence_rate.to_string(), "1/h:1");
        assert_eq!(limits.nonce_rate.to_string(), "2/m:1");
        assert!(limits.rate_limit_loopback);
    }

    #[test]
    fn bad_values_are_refused() {
        assert!(Cli::try_parse_from(["verity", "--rate-upload", "lots"]).is_err());
        assert!(Cli::try_parse_from(["verity", "--max-header-bytes", "10"]).is_err());
        let zero = Cli::try_parse_from(["verity", "--body-timeout", "0s"]).unwrap();
        assert!(zero.limits.config().is_err());
    }
}
