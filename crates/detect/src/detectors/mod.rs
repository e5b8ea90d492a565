//! The detectors, and the standard set every enclave runs.
//!
//! Metadata detectors read only the container; pixel detectors ask
//! [`Media::pixels`](crate::Media::pixels), which decodes once for all.

mod content_credentials;
mod evidence;
mod exif;
mod png_text;
mod stealth;
mod watermark;
mod xmp;

pub use content_credentials::{
    C2paConfig, C2paConfigError, C2paDetector, C2paSummary, SourceDeclaration, Validity, judge,
    read_summary,
};
pub use evidence::{EvidenceMatch, MAX_DISTANCE, dhash};
pub use exif::{ExifCamera, ExifGenerator, user_comment as exif_user_comment};
pub use png_text::PngText;
pub use stealth::StealthPngInfo;
pub use watermark::{
    InvisibleWatermark, Payload, Strength, Variant, WatermarkMatch, best_match, bit_string,
    block_bits, decode as decode_watermark, known_payloads, vote,
};
pub use xmp::{XmpSourceType, source_types as xmp_source_types};

use verity_core::{Confidence, DetectorResult, DetectorVerdict};

use crate::detector::Detector;

/// The standard set every enclave runs unless configured otherwise.
pub fn standard() -> Vec<Box<dyn Detector>> {
    vec![
        Box::new(C2paDetector::default()),
        Box::new(XmpSourceType),
        Box::new(PngText),
        Box::new(ExifGenerator),
        Box::new(StealthPngInfo),
        Box::new(InvisibleWatermark),
        Box::new(ExifCamera),
        Box::new(EvidenceMatch),
    ]
}

/// A result of `detector` with its name and version filled in.
pub(crate) fn finding(
    detector: &dyn Detector,
    verdict: DetectorVerdict,
    confidence: f64,
    evidence: Vec<String>,
) -> DetectorResult {
    DetectorResult {
        name: detector.name().to_owned(),
        version: detector.version().to_owned(),
        verdict,
        confidence: Confidence::from_f64(confidence),
        evidence,
    }
}

/// A result saying `detector` found nothing it applies to.
pub(crate) fn not_applicable(detector: &dyn Detector, evidence: Vec<String>) -> DetectorResult {
    finding(detector, DetectorVerdict::NotApplicable, 0.0, evidence)
}
