//! `verity serve` attestation settings (docs/ATTESTATION.md).

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, ValueEnum};
use verity_node::{AttestationConfig, AttestationMode};

/// Which enclave attestations the aggregator accepts, and for how long.
#[derive(Debug, Clone, Args)]
pub struct AttestationArgs {
    /// `dev`: self-signed development statements (marked `dev-insecure`) and
    /// Nitro documents; `nitro`: AWS Nitro Enclaves documents only.
    #[arg(long, env = "VERITY_ATTESTATION", value_enum, default_value = "dev")]
    pub attestation: ModeArg,
    /// PCR allow-list for Nitro documents (JSON: `{"allowed": [{"pcr0", "pcr1",
    /// "pcr2", "pcr8"?}], "allowDebug": false}`); re-read on SIGHUP or
    /// `POST /api/admin/attestation/reload`.
    #[arg(long, env = "VERITY_NITRO_PCRS")]
    pub nitro_pcrs: Option<PathBuf>,
    /// Oldest Nitro document accepted at registration (e.g. `5m`).
    #[arg(long, env = "VERITY_ATTESTATION_MAX_AGE", default_value = "5m", value_parser = humantime::parse_duration)]
    pub attestation_max_age: Duration,
    /// How long a registration lasts before the enclave must renew it (e.g. `24h`).
    #[arg(long, env = "VERITY_ATTESTATION_TTL", default_value = "24h", value_parser = humantime::parse_duration)]
    pub attestation_ttl: Duration,
    /// How long a nonce from `POST /api/enclaves/nonce` may be answered (e.g. `5m`).
    #[arg(long, env = "VERITY_ATTESTATION_NONCE_TTL", default_value = "5m", value_parser = humantime::parse_duration)]
    pub attestation_nonce_ttl: Duration,
    /// Refuse Nitro documents that answer no nonce issued by this aggregator
    /// (freshness then rests on the challenge, not only on the timestamp window).
    #[arg(long, env = "VERITY_ATTESTATION_REQUIRE_NONCE", value_parser = clap::builder::BoolishValueParser::new())]
    pub attestation_require_nonce: bool,
}

/// `--attestation`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ModeArg {
    /// Development: dev statements accepted (insecure).
    Dev,
    /// Production: AWS Nitro documents only.
    Nitro,
}

impl AttestationArgs {
    /// The node's attestation configuration; `admin_token` (`VERITY_ADMIN_TOKEN`,
    /// shared by every admin endpoint) guards the reload endpoint.
    pub fn config(&self, admin_token: Option<String>) -> AttestationConfig {
        AttestationConfig {
            mode: match self.attestation {
                ModeArg::Dev => AttestationMode::Dev,
                ModeArg::Nitro => AttestationMode::Nitro,
            },
            pcr_file: self.nitro_pcrs.clone(),
            max_age: self.attestation_max_age,
            ttl: self.attestation_ttl.max(Duration::from_secs(1)),
            admin_token,
            nonce_ttl: self.attestation_nonce_ttl.max(Duration::from_secs(1)),
            require_nonce: self.attestation_require_nonce,
        }
    }
}
