//! Verity's server.
//!
//! - [`uploads`]: the [`UploadService`]: inspect, encrypt, seal, store,
//!   enqueue, and only then 202; retries and re-publishing of rounds.
//! - [`aggregator`]: the [`Aggregator`]: verifies enclave reports, records
//!   equivocation, decides rounds by weighted consensus and signs the final
//!   report; a sweeper decides rounds whose deadline passed.
//! - [`anchoring`]: the task anchoring published checkpoints on a chain
//!   through a `verity_anchor::ChainAnchor` (`--anchor sui`).
//! - [`attest`]: the [`AttestationService`]: enclave registration by
//!   attestation (`dev` or AWS Nitro), expiry, PCR allow-list reload and
//!   revocation; reports from unattested keys are refused.
//! - [`disputes`]: the [`DisputeService`]: evidence, disputes and their
//!   re-verification rounds, settlement, bans, equivocation slashing,
//!   reputation from history, admin stake operations.
//! - [`events`]: the [`EventBus`] behind Server-Sent Events.
//! - [`http`]: routes and handlers (DESIGN.md §6), errors as JSON ([`error`]).
//! - [`ledger`]: the transparency log service ([`ledger::Ledger`]): batched
//!   appends, signed checkpoints, proofs and receipts.
//! - [`metrics`]: Prometheus metric names and recorder.
//! - [`runtime`]: the [`Node`] (`verity serve` embedded or `--role api`,
//!   `verity check`), storage chosen by URL.
//! - [`NodeSettings`] in [`settings`]; secrets in `Debug` output are
//!   hidden by [`redact`].
//!
//! Domain rules (consensus, committee choice, report assembly) live in
//! `verity-core`; this crate only applies them.

pub mod aggregator;
pub mod anchoring;
pub mod attest;
pub mod disputes;
pub mod error;
pub mod events;
pub mod http;
pub mod ledger;
pub mod metrics;
pub mod redact;
pub mod runtime;
pub mod settings;
pub mod uploads;

pub use aggregator::Aggregator;
pub use attest::{AttestationConfig, AttestationMode, AttestationService};
pub use disputes::{DisputeService, DisputeSettings};
pub use error::ApiError;
pub use events::EventBus;
pub use runtime::{EmbeddedConfig, Node, Role, StartError};
pub use settings::NodeSettings;
pub use uploads::{UploadAccepted, UploadService};
