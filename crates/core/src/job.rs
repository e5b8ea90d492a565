//! Job lifecycle.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// Where a job is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum JobStatus {
    /// Stored and queued; no enclave has started.
    Pending,
    /// At least one enclave is working on it.
    Processing,
    /// A final report exists.
    Completed,
    /// Too few reports by the deadline (or a fatal error); retryable.
    Failed,
    /// A dispute is open; the verdict may change.
    Disputed,
}

impl JobStatus {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            JobStatus::Pending => "PENDING",
            JobStatus::Processing => "PROCESSING",
            JobStatus::Completed => "COMPLETED",
            JobStatus::Failed => "FAILED",
            JobStatus::Disputed => "DISPUTED",
        }
    }

    /// Whether enclaves may still report for the current round.
    pub fn is_open(self) -> bool {
        matches!(
            self,
            JobStatus::Pending | JobStatus::Processing | JobStatus::Disputed
        )
    }
}

impl fmt::Display for JobStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An unknown status name.
#[derive(Debug, thiserror::Error)]
#[error("unknown job status {0:?}")]
pub struct UnknownStatus(pub String);

impl FromStr for JobStatus {
    type Err = UnknownStatus;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(match s {
            "PENDING" => JobStatus::Pending,
            "PROCESSING" => JobStatus::Processing,
            "COMPLETED" => JobStatus::Completed,
            "FAILED" => JobStatus::Failed,
            "DISPUTED" => JobStatus::Disputed,
            other => return Err(UnknownStatus(other.to_owned())),
        })
    }
}
