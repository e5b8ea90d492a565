//! Behaviour every adapter of a port must show, as reusable checks.
//!
//! Adapter test suites call these with a fresh, empty adapter; a failed
//! expectation panics with what went wrong.
//! - [`queue_contract`] ([`JobQueue`](crate::JobQueue), with [`contract_policy`]);
//! - [`repository_contract`] ([`Repository`](crate::Repository));
//! - [`dispute_contract`] ([`DisputeRepository`](crate::DisputeRepository));
//! - [`attestation_contract`] ([`AttestationStore`](crate::AttestationStore));
//! - [`blob_contract`] ([`BlobStore`](crate::BlobStore));
//! - [`log_contract`] ([`LogStore`](crate::LogStore)).

mod attestation;
mod blobs;
mod disputes;
mod log;
mod queue;
mod repo;

pub use attestation::attestation_contract;
pub use blobs::blob_contract;
pub use disputes::dispute_contract;
pub use log::log_contract;
pub use queue::{contract_policy, queue_contract};
pub use repo::repository_contract;
