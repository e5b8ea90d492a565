//! The [`Detector`] trait and the [`Media`] it analyses.

use std::sync::OnceLock;

use image::DynamicImage;
use verity_core::DetectorResult;

use crate::media::MediaFormat;

/// How much a detector's signal counts in the ensemble.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum DetectorKind {
    /// Provenance that decides on its own: C2PA, IPTC/XMP source type,
    /// generator metadata, invisible watermarks.
    Provenance,
    /// A statistical opinion: ML models, reverse search similarity.
    Statistical,
    /// A weak hint that never decides alone (camera make/model).
    Hint,
}

/// One detector of the ensemble.
///
/// Detectors are synchronous and CPU-bound; the enclave runs the ensemble on a
/// blocking thread. A detector never panics on bad input: it reports what it
/// could not read as evidence with [`verity_core::DetectorVerdict::NotApplicable`]
/// or `Uncertain`.
pub trait Detector: Send + Sync {
    /// Stable name, used as the key of the report's `models` map.
    fn name(&self) -> &str;
    /// Version of the detector (or model) logic.
    fn version(&self) -> &str;
    /// How its signal counts.
    fn kind(&self) -> DetectorKind;
    /// Analyses `media`.
    fn detect(&self, media: &Media<'_>) -> DetectorResult;
}

/// A decrypted image as detectors see it, decoded at most once and only when a
/// detector asks for pixels.
pub struct Media<'a> {
    bytes: &'a [u8],
    format: MediaFormat,
    decoded: OnceLock<Result<DynamicImage, String>>,
    evidence: Option<&'a [u8]>,
}

impl<'a> Media<'a> {
    /// Wraps the bytes of an image already sniffed as `format`.
    pub fn new(bytes: &'a [u8], format: MediaFormat) -> Self {
        Media {
            bytes,
            format,
            decoded: OnceLock::new(),
            evidence: None,
        }
    }

    /// Attaches dispute evidence (another file) for detectors that compare.
    pub fn with_evidence(mut self, evidence: &'a [u8]) -> Self {
        self.evidence = Some(evidence);
        self
    }

    /// The encoded bytes.
    pub fn bytes(&self) -> &'a [u8] {
        self.bytes
    }

    /// The sniffed format.
    pub fn format(&self) -> MediaFormat {
        self.format
    }

    /// Dispute evidence, when the round carries some.
    pub fn evidence(&self) -> Option<&'a [u8]> {
        self.evidence
    }

    /// The decoded pixels (decoded on first use).
    ///
    /// # Errors
    /// The decoder's message when the image cannot be decoded.
    pub fn pixels(&self) -> Result<&DynamicImage, &str> {
        self.decoded
            .get_or_init(|| {
                image::load_from_memory_with_format(self.bytes, self.format.image_format())
                    .map_err(|e| e.to_string())
            })
            .as_ref()
            .map_err(String::as_str)
    }
}
