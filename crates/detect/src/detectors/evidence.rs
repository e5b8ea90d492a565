//! Dispute evidence: does the challenger's file show the same picture, and
//! what does *its* provenance say?
//!
//! Only re-verification rounds carry evidence ([`Media::evidence`]). The
//! evidence must depict the disputed image: both are reduced to a 64-bit
//! difference hash (dHash: 9×8 grayscale, one bit per horizontally adjacent
//! pair) and match when at most [`MAX_DISTANCE`] bits differ, which survives
//! re-encoding, resizing and mild edits but not a different picture. A
//! matching file is then read by every provenance detector of the standard
//! set: an AI signal in it decides `AI_GENERATED`, a capture signal (for
//! example an IPTC `digitalCapture` source type) decides `REAL`; a camera
//! hint alone decides nothing. Evidence that does not match, cannot be
//! decoded or says nothing is reported and does not vote.

use image::imageops::FilterType;
use verity_core::{DetectorResult, DetectorVerdict};

use super::{finding, not_applicable};
use crate::detector::{Detector, DetectorKind, Media};
use crate::media::{MediaFormat, sniff};

/// Largest Hamming distance between two dHashes that still counts as the same picture.
pub const MAX_DISTANCE: u32 = 10;

/// Compares dispute evidence with the disputed image.
#[derive(Debug, Clone, Copy, Default)]
pub struct EvidenceMatch;

/// The 64-bit difference hash of an image.
pub fn dhash(img: &image::DynamicImage) -> u64 {
    let small = img
        .grayscale()
        .resize_exact(9, 8, FilterType::Triangle)
        .to_luma8();
    let mut bits = 0u64;
    for y in 0..8 {
        for x in 0..8 {
            let (a, b) = (small.get_pixel(x, y)[0], small.get_pixel(x + 1, y)[0]);
            bits = (bits << 1) | u64::from(a > b);
        }
    }
    bits
}

impl Detector for EvidenceMatch {
    fn name(&self) -> &str {
        "dispute-evidence"
    }

    fn version(&self) -> &str {
        "1.0.0"
    }

    fn kind(&self) -> DetectorKind {
        DetectorKind::Provenance
    }

    fn detect(&self, media: &Media<'_>) -> DetectorResult {
        let Some(evidence_bytes) = media.evidence() else {
            return not_applicable(self, vec!["no dispute evidence in this round".into()]);
        };
        let format: MediaFormat = match sniff(evidence_bytes) {
            Ok(f) => f,
            Err(e) => return not_applicable(self, vec![format!("evidence is not an image: {e}")]),
        };
        let evidence = Media::new(evidence_bytes, format);
        let (ours, theirs) = match (media.pixels(), evidence.pixels()) {
            (Ok(a), Ok(b)) => (dhash(a), dhash(b)),
            (Err(e), _) => {
                return not_applicable(
                    self,
                    vec![format!("disputed image cannot be decoded: {e}")],
                );
            }
            (_, Err(e)) => {
                return not_applicable(self, vec![format!("evidence cannot be decoded: {e}")]);
            }
        };
        let distance = (ours ^ theirs).count_ones();
        let matched = format!(
            "evidence dHash {theirs:016x} vs image {ours:016x}: {distance} of 64 bits differ (match ≤ {MAX_DISTANCE})"
        );
        if distance > MAX_DISTANCE {
            return finding(
                self,
                DetectorVerdict::NotApplicable,
                0.0,
                vec![
                    matched,
                    "the evidence shows a different picture; ignored".into(),
                ],
            );
        }
        let mut ai = Vec::new();
        let mut capture = Vec::new();
        for detector in super::standard() {
            if detector.kind() != DetectorKind::Provenance {
                continue;
            }
            let r = detector.detect(&evidence);
            let line = || format!("evidence {}: {}", r.name, r.evidence.join("; "));
            match r.verdict {
                DetectorVerdict::AiGenerated => ai.push(line()),
                DetectorVerdict::Real => capture.push(line()),
                _ => {}
            }
        }
        let mut lines = vec![matched];
        if !ai.is_empty() {
            lines.extend(ai);
            return finding(self, DetectorVerdict::AiGenerated, 0.9, lines);
        }
        if !capture.is_empty() {
            lines.extend(capture);
            lines.push("a matching file with a capture signal: the picture is a capture".into());
            return finding(self, DetectorVerdict::Real, 0.85, lines);
        }
        lines.push("the matching evidence carries no provenance signal".into());
        finding(self, DetectorVerdict::Uncertain, 0.5, lines)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A smooth picture (low-frequency waves) whose shapes depend on `seed`.
    fn picture(seed: u8, w: u32, h: u32) -> image::DynamicImage {
        let s = f32::from(seed);
        image::DynamicImage::ImageRgb8(image::RgbImage::from_fn(w, h, |x, y| {
            let (x, y) = (x as f32 / w as f32, y as f32 / h as f32);
            let v = 128.0
                + 60.0 * (x * (3.0 + s * 0.7) + s).sin()
                + 60.0 * (y * (2.0 + s * 0.3) * (1.0 + x) + s * 1.3).cos();
            let v = v.clamp(0.0, 255.0) as u8;
            image::Rgb([v, v / 2 + 40, 255 - v])
        }))
    }

    fn encode(img: &image::DynamicImage, format: image::ImageFormat) -> Vec<u8> {
        let mut out = std::io::Cursor::new(Vec::new());
        img.write_to(&mut out, format).unwrap();
        out.into_inner()
    }

    /// Inserts an XMP packet with a `DigitalSourceType` into a JPEG (APP1 after SOI).
    fn with_xmp(jpeg: &[u8], source_type: &str) -> Vec<u8> {
        let xmp = format!(
            "http://ns.adobe.com/xap/1.0/\0<x:xmpmeta xmlns:x=\"adobe:ns:meta/\"><rdf:RDF xmlns:rdf=\"http://www.w3.org/1999/02/22-rdf-syntax-ns#\">\
             <rdf:Description xmlns:Iptc4xmpExt=\"http://iptc.org/std/Iptc4xmpExt/2008-02-29/\" \
             Iptc4xmpExt:DigitalSourceType=\"http://cv.iptc.org/newscodes/digitalsourcetype/{source_type}\"/>\
             </rdf:RDF></x:xmpmeta>"
        );
        let mut out = jpeg[..2].to_vec();
        out.extend_from_slice(&[0xFF, 0xE1]);
        out.extend_from_slice(&((xmp.len() + 2) as u16).to_be_bytes());
        out.extend_from_slice(xmp.as_bytes());
        out.extend_from_slice(&jpeg[2..]);
        out
    }

    #[test]
    fn same_picture_reencoded_matches_and_a_different_one_does_not() {
        let a = picture(3, 64, 48);
        let png = encode(&a, image::ImageFormat::Png);
        let resized = a.resize_exact(128, 96, FilterType::Triangle);
        let jpeg = encode(&resized, image::ImageFormat::Jpeg);
        let decoded = image::load_from_memory(&jpeg).unwrap();
        assert!((dhash(&a) ^ dhash(&decoded)).count_ones() <= MAX_DISTANCE);
        let other = picture(11, 64, 48);
        assert!((dhash(&a) ^ dhash(&other)).count_ones() > MAX_DISTANCE);
        let m = Media::new(&png, MediaFormat::Png);
        assert_eq!(
            EvidenceMatch.detect(&m).verdict,
            DetectorVerdict::NotApplicable
        );
    }

    #[test]
    fn matching_capture_evidence_says_real_and_ai_evidence_says_ai() {
        let a = picture(5, 64, 48);
        let png = encode(&a, image::ImageFormat::Png);
        let jpeg = encode(&a, image::ImageFormat::Jpeg);
        let capture = with_xmp(&jpeg, "digitalCapture");
        let r = EvidenceMatch.detect(&Media::new(&png, MediaFormat::Png).with_evidence(&capture));
        assert_eq!(r.verdict, DetectorVerdict::Real, "{:?}", r.evidence);
        let ai = with_xmp(&jpeg, "trainedAlgorithmicMedia");
        let r = EvidenceMatch.detect(&Media::new(&png, MediaFormat::Png).with_evidence(&ai));
        assert_eq!(r.verdict, DetectorVerdict::AiGenerated);
        let plain = EvidenceMatch.detect(&Media::new(&png, MediaFormat::Png).with_evidence(&jpeg));
        assert_eq!(plain.verdict, DetectorVerdict::Uncertain);
    }

    #[test]
    fn unrelated_or_broken_evidence_does_not_vote() {
        let png = encode(&picture(5, 64, 48), image::ImageFormat::Png);
        let other = with_xmp(
            &encode(&picture(17, 64, 48), image::ImageFormat::Jpeg),
            "digitalCapture",
        );
        let r = EvidenceMatch.detect(&Media::new(&png, MediaFormat::Png).with_evidence(&other));
        assert_eq!(r.verdict, DetectorVerdict::NotApplicable);
        let r = EvidenceMatch
            .detect(&Media::new(&png, MediaFormat::Png).with_evidence(b"not an image"));
        assert_eq!(r.verdict, DetectorVerdict::NotApplicable);
    }
}
