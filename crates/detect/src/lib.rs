//! Detection: what an enclave runs on a decrypted image.
//!
//! - [`media`]: sniffing the real type from the bytes, structural checks and
//!   pixel limits ([`inspect`]), used by the API before anything is stored.
//! - [`detector`]: the [`Detector`] trait and the [`Media`] a detector sees.
//! - [`ensemble`]: the per-enclave [`Ensemble`] that runs detectors and turns
//!   their results into one verdict under an [`EnsemblePolicy`].
//! - [`detectors`]: the detectors themselves.

pub mod detector;
pub mod detectors;
pub mod ensemble;
pub mod media;

pub use detector::{Detector, DetectorKind, Media};
pub use ensemble::{Ensemble, EnsembleOutcome, EnsemblePolicy};
pub use media::{MediaError, MediaFormat, MediaInfo, MediaLimits, inspect};
