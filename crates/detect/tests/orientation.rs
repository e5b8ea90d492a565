//! EXIF orientation: every tag value is safe for every detector, and the
//! watermark decoder finds a mark both in the stored pixel orientation and
//! after an editor rotated the pixels and recorded the rotation in EXIF.
//!
//! Fixtures are made here from `watermark/rocket_sdxl_uint8.png` (SDXL mark,
//! 48/48 bits): pixels transformed by the inverse of orientation *o*, saved
//! as JPEG (quality 100) with an EXIF Orientation tag *o*, so that the image
//! a viewer displays is the original.

mod common;

use image::metadata::Orientation;
use image::{DynamicImage, RgbImage};
use img_parts::{Bytes, ImageEXIF};
use verity_core::DetectorVerdict;
use verity_detect::detectors::{InvisibleWatermark, standard};
use verity_detect::{Detector, Media, MediaFormat};

/// A big-endian TIFF block holding one IFD0 entry: Orientation = `value`.
fn exif_orientation(value: u16) -> Vec<u8> {
    let mut tiff = b"MM\x00\x2a".to_vec();
    tiff.extend_from_slice(&8u32.to_be_bytes()); // IFD0 right after the header
    tiff.extend_from_slice(&1u16.to_be_bytes()); // one entry
    tiff.extend_from_slice(&0x0112u16.to_be_bytes()); // Orientation
    tiff.extend_from_slice(&3u16.to_be_bytes()); // SHORT
    tiff.extend_from_slice(&1u32.to_be_bytes()); // count
    tiff.extend_from_slice(&value.to_be_bytes());
    tiff.extend_from_slice(&[0, 0]); // value padding
    tiff.extend_from_slice(&0u32.to_be_bytes()); // no next IFD
    tiff
}

/// `rgb` as a JPEG of `quality`, with an EXIF Orientation tag when given.
fn jpeg(rgb: &RgbImage, quality: u8, orientation: Option<u16>) -> Vec<u8> {
    let mut out = Vec::new();
    let encoder =
        image::codecs::jpeg::JpegEncoder::new_with_quality(std::io::Cursor::new(&mut out), quality);
    rgb.write_with_encoder(encoder).unwrap();
    let Some(value) = orientation else {
        return out;
    };
    let mut parsed = img_parts::jpeg::Jpeg::from_bytes(Bytes::from(out)).unwrap();
    parsed.set_exif(Some(Bytes::from(exif_orientation(value))));
    parsed.encoder().bytes().to_vec()
}

/// The transform whose application after `o` gives back the stored image.
fn inverse(o: Orientation) -> Orientation {
    match o {
        Orientation::Rotate90 => Orientation::Rotate270,
        Orientation::Rotate270 => Orientation::Rotate90,
        // Flips, 180° and the two transpositions are their own inverses.
        other => other,
    }
}

/// Pixels stored so that a viewer honouring `o` displays `original`.
fn stored_for(original: &RgbImage, o: Orientation) -> RgbImage {
    let mut stored = DynamicImage::ImageRgb8(original.clone());
    stored.apply_orientation(inverse(o));
    let stored = stored.into_rgb8();
    let mut shown = DynamicImage::ImageRgb8(stored.clone());
    shown.apply_orientation(o);
    assert_eq!(&shown.into_rgb8(), original, "inverse of {o:?} is wrong");
    stored
}

fn watermarked() -> RgbImage {
    image::open(common::crate_fixtures().join("watermark/rocket_sdxl_uint8.png"))
        .unwrap()
        .to_rgb8()
}

fn watermark(bytes: &[u8]) -> verity_core::DetectorResult {
    InvisibleWatermark.detect(&Media::new(bytes, MediaFormat::Jpeg))
}

#[test]
fn every_orientation_value_is_safe_for_every_detector() {
    let small = RgbImage::from_fn(40, 24, |x, y| {
        image::Rgb([(x * 6) as u8, (y * 9) as u8, 90])
    });
    for value in [0u16, 1, 2, 3, 4, 5, 6, 7, 8, 9, 0xFFFF] {
        let bytes = jpeg(&small, 90, Some(value));
        let media = Media::new(&bytes, MediaFormat::Jpeg);
        let want = u8::try_from(value)
            .ok()
            .and_then(Orientation::from_exif)
            .unwrap_or(Orientation::NoTransforms);
        assert_eq!(media.orientation(), Ok(want), "tag {value}");
        // Stored pixels are never rotated by the decoder.
        assert_eq!(media.pixels().unwrap().width(), 40, "tag {value}");
        for d in standard() {
            let r = d.detect(&media);
            assert!(!r.evidence.is_empty(), "{} on tag {value}", d.name());
        }
    }
}

#[test]
fn watermark_is_found_in_stored_orientation_whatever_the_tag() {
    let original = watermarked();
    for value in 1u16..=8 {
        let r = watermark(&jpeg(&original, 100, Some(value)));
        assert_eq!(
            r.verdict,
            DetectorVerdict::AiGenerated,
            "tag {value}: {:?}",
            r.evidence
        );
        assert!(
            r.evidence[0].contains("in the stored pixel orientation"),
            "tag {value}: {:?}",
            r.evidence
        );
    }
}

#[test]
fn watermark_is_found_after_exif_correction_of_rotated_pixels() {
    let original = watermarked();
    for value in 2u8..=8 {
        let o = Orientation::from_exif(value).unwrap();
        let bytes = jpeg(&stored_for(&original, o), 100, Some(u16::from(value)));
        let r = watermark(&bytes);
        assert_eq!(
            r.verdict,
            DetectorVerdict::AiGenerated,
            "tag {value}: {:?}",
            r.evidence
        );
        assert!(
            r.evidence[0].contains(&format!("EXIF-corrected orientation (Orientation {value};")),
            "tag {value}: {:?}",
            r.evidence
        );
        // Without the tag the stored pixels alone do not carry the mark.
        let untagged = watermark(&jpeg(&stored_for(&original, o), 100, None));
        assert_ne!(
            untagged.verdict,
            DetectorVerdict::AiGenerated,
            "tag {value}"
        );
    }
}

#[test]
fn rotated_clean_images_stay_clean() {
    let clean = image::open(common::crate_fixtures().join("watermark/rocket_clean.png"))
        .unwrap()
        .to_rgb8();
    for value in [3u8, 6, 8] {
        let o = Orientation::from_exif(value).unwrap();
        let r = watermark(&jpeg(&stored_for(&clean, o), 100, Some(u16::from(value))));
        assert_eq!(
            r.verdict,
            DetectorVerdict::NotApplicable,
            "tag {value}: {:?}",
            r.evidence
        );
        assert!(
            r.evidence[0].contains("EXIF Orientation"),
            "{:?}",
            r.evidence
        );
    }
}
