//! Oracles: registered enclaves as the economy sees them.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::ids::EnclaveId;

/// How an enclave's keys are attested.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum AttestationKind {
    /// A self-signed development statement: proves nothing about where the key lives.
    #[serde(rename = "dev-insecure")]
    DevInsecure,
    /// An AWS Nitro Enclaves attestation document.
    #[serde(rename = "nitro")]
    Nitro,
}

impl AttestationKind {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            AttestationKind::DevInsecure => "dev-insecure",
            AttestationKind::Nitro => "nitro",
        }
    }

    /// Parses a wire name.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "dev-insecure" | "dev" => Some(AttestationKind::DevInsecure),
            "nitro" => Some(AttestationKind::Nitro),
            _ => None,
        }
    }
}

impl fmt::Display for AttestationKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A registered oracle (verifier enclave).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Oracle {
    /// Its identity.
    pub enclave_id: EnclaveId,
    /// Ed25519 public key that signs its reports.
    #[serde(with = "crate::report::hex_bytes")]
    pub signing_key: Vec<u8>,
    /// X25519 public key that data keys are sealed to.
    #[serde(with = "crate::report::hex_bytes")]
    pub encryption_key: Vec<u8>,
    /// Attestation kind.
    pub attestation: AttestationKind,
    /// Reputation in [0, 1].
    pub reputation: f64,
    /// Stake in whole tokens.
    pub stake: u64,
    /// Number of times slashed.
    pub slashes: u32,
    /// Banned oracles' reports are not counted.
    pub banned: bool,
    /// Why it was banned, when it is.
    pub ban_reason: Option<String>,
    /// When it registered (Unix milliseconds).
    pub registered_at_ms: u64,
}

impl Oracle {
    /// Consensus weight: `reputation × sqrt(stake / 100)`.
    pub fn weight(&self) -> f64 {
        crate::consensus::weight(self.reputation, self.stake)
    }

    /// Whether its reports may be counted.
    pub fn is_active(&self) -> bool {
        !self.banned
    }
}
