//! The [`ReportSink`] port: how an enclave reaches the aggregator.

use async_trait::async_trait;
use verity_core::{EnclaveId, JobId, SignedReport};

/// The aggregator's answer to a report.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SubmitOutcome {
    /// Stored and counted.
    Accepted,
    /// The same report was already stored (a retry after a crash).
    Duplicate,
}

/// Why a report did not get through.
#[derive(Debug, thiserror::Error)]
pub enum SinkError {
    /// The aggregator refused it for good (closed round, not in committee…):
    /// retrying the same report cannot help.
    #[error("report refused: {0}")]
    Refused(String),
    /// The aggregator could not be reached or failed; retry later.
    #[error("aggregator unavailable: {0}")]
    Unavailable(String),
}

/// Where an enclave sends what it does.
#[async_trait]
pub trait ReportSink: Send + Sync {
    /// Tells the aggregator that `enclave` started on a job round (progress only).
    async fn started(&self, job: &JobId, round: u32, enclave: &EnclaveId) -> Result<(), SinkError>;

    /// Delivers a signed report; returns only once it is stored.
    async fn submit(&self, report: &SignedReport) -> Result<SubmitOutcome, SinkError>;
}
