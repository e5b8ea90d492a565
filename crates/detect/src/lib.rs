//! Detection: what an enclave runs on a decrypted image.
//!
//! - [`media`]: sniffing the real type from the bytes, structural checks and
//!   pixel limits ([`inspect`]), used by the API before anything is stored.
//! - [`detector`]: the [`Detector`] trait and the [`Media`] a detector sees.
//! - [`ensemble`]: the per-enclave [`Ensemble`] that runs detectors and turns
//!   their results into one verdict under an [`EnsemblePolicy`].
//! - [`detectors`]: the detectors themselves and [`detectors::standard`], the
//!   set an enclave runs by default: C2PA Content Credentials, XMP
//!   `DigitalSourceType`, PNG generator text, EXIF generator fields, NovelAI
//!   stealth LSB metadata, the Stable Diffusion invisible watermark, and the
//!   EXIF camera hint.
//! - [`metadata`]: bounded readers of container metadata (PNG text chunks,
//!   XMP packets) shared by the detectors.
//! - [`generator`]: fingerprints of generators in metadata text (product
//!   names, AUTOMATIC1111 infotext, ComfyUI graphs, NovelAI settings).
//! - [`model`]: the ONNX model runner (tract) behind the model slots.
//! - [`reverse`]: reverse search by perceptual hash over a local index.
//! - [`external`]: the optional port to an external reverse-image search
//!   provider (TinEye's REST API), off unless configured.
//! - [`config`]: the detection configuration (`detect.toml`) and the
//!   [`config::DetectorCatalog`] each enclave's ensemble is built from.
//! - [`eval`]: confusion matrices, precision/recall/F1 and robustness tables
//!   of an ensemble over a labelled set (`verity eval`).

pub mod config;
pub mod detector;
pub mod detectors;
pub mod ensemble;
pub mod eval;
pub mod external;
pub mod generator;
pub mod media;
pub mod metadata;
pub mod model;
pub mod reverse;

pub use detector::{Detector, DetectorKind, Media};
pub use ensemble::{Ensemble, EnsembleOutcome, EnsemblePolicy};
pub use media::{MediaError, MediaFormat, MediaInfo, MediaLimits, inspect};
