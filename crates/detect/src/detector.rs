//! The [`Detector`] trait and the [`Media`] it analyses.

use std::sync::OnceLock;

use image::DynamicImage;
use image::metadata::Orientation;
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

/// Pixels as stored, and the EXIF orientation read in the same pass.
struct Decoded {
    image: DynamicImage,
    orientation: Orientation,
}

/// A decrypted image as detectors see it, decoded at most once and only when a
/// detector asks for pixels.
pub struct Media<'a> {
    bytes: &'a [u8],
    format: MediaFormat,
    decoded: OnceLock<Result<Decoded, String>>,
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

    /// The decoded pixels in stored order, as a raw decoder (OpenCV with
    /// `IMREAD_IGNORE_ORIENTATION`, PIL without `exif_transpose`) returns
    /// them; decoded on first use, shared by every detector.
    ///
    /// # Errors
    /// The decoder's message when the image cannot be decoded.
    pub fn pixels(&self) -> Result<&DynamicImage, &str> {
        self.decoded().map(|d| &d.image)
    }

    /// The EXIF orientation of the stored pixels (`NoTransforms` when there
    /// is no tag, or a value outside 1–8), read while decoding.
    ///
    /// # Errors
    /// The decoder's message when the image cannot be decoded.
    pub fn orientation(&self) -> Result<Orientation, &str> {
        self.decoded().map(|d| d.orientation)
    }

    fn decoded(&self) -> Result<&Decoded, &str> {
        self.decoded
            .get_or_init(|| decode(self.bytes, self.format))
            .as_ref()
            .map_err(String::as_str)
    }
}

/// Decodes once, keeping the orientation the decoder read from EXIF.
fn decode(bytes: &[u8], format: MediaFormat) -> Result<Decoded, String> {
    let reader =
        image::ImageReader::with_format(std::io::Cursor::new(bytes), format.image_format());
    let mut decoder = reader.into_decoder().map_err(|e| e.to_string())?;
    // A malformed EXIF block must not make the pixels unreadable.
    let orientation =
        image::ImageDecoder::orientation(&mut decoder).unwrap_or(Orientation::NoTransforms);
    let image = DynamicImage::from_decoder(decoder).map_err(|e| e.to_string())?;
    Ok(Decoded { image, orientation })
}
