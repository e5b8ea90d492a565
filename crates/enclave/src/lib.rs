//! The enclave: Verity's verifier worker.
//!
//! - [`process`]: one task, start to finish and without I/O: open the sealed
//!   data key, decrypt the media, check its digest, run the detection
//!   ensemble and sign the [`verity_core::EnclaveReport`].
//! - [`sink`]: the [`ReportSink`] port through which signed reports (and
//!   "started" notices) reach the aggregator — in-process when embedded, over
//!   HTTP when distributed.
//! - [`http_sink`]: [`HttpSink`], that port over HTTP for worker processes
//!   (registration, signed "started" notices, reports).
//! - [`byzantine`]: the Byzantine simulation (lying or equivocating
//!   enclaves) used by the dispute tests and demos; off unless enabled.
//! - [`worker`]: the [`EnclaveWorker`] loop: lease, fetch, process, submit,
//!   acknowledge; leases are extended while detection runs and released on
//!   shutdown.
//!
//! An enclave keeps no state of its own outside its key file: everything else
//! is in the queue and the blob store.

pub mod byzantine;
pub mod http_sink;
pub mod process;
pub mod sink;
pub mod worker;

pub use byzantine::Byzantine;
pub use http_sink::HttpSink;
pub use process::{EnclaveIdentity, TaskError, open_evidence, process_task, process_task_with};
pub use sink::{ReportSink, SinkError, SubmitOutcome};
pub use worker::{EnclaveWorker, WorkerSettings};
