//! Settings the node's services run with.

use std::time::Duration;

use verity_core::ConsensusRule;
use verity_detect::MediaLimits;

/// Everything the aggregator and the upload service need to know.
#[derive(Debug, Clone)]
pub struct NodeSettings {
    /// `CONSENSUS_THRESHOLD` and `MIN_ENCLAVES`.
    pub rule: ConsensusRule,
    /// Enclaves per job committee (`NUM_ENCLAVE_WORKERS`).
    pub committee_size: usize,
    /// How long a round waits for stragglers.
    pub round_timeout: Duration,
    /// Upload limits.
    pub limits: MediaLimits,
    /// Stake of a newly registered oracle (`ORACLE_STAKE`).
    pub oracle_stake: u64,
    /// Reputation of a newly registered oracle (`ORACLE_REPUTATION`).
    pub oracle_reputation: f64,
    /// How often overdue rounds are looked for.
    pub sweep_every: Duration,
    /// HTTP request limits: timeouts, sizes, rate limits.
    pub http: crate::http::limits::HttpLimits,
}

impl Default for NodeSettings {
    fn default() -> Self {
        NodeSettings {
            rule: ConsensusRule::default(),
            committee_size: 3,
            round_timeout: Duration::from_secs(30),
            limits: MediaLimits::default(),
            oracle_stake: 1000,
            oracle_reputation: 0.8,
            sweep_every: Duration::from_millis(250),
            http: crate::http::limits::HttpLimits::default(),
        }
    }
}
