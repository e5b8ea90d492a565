//! Hostile and unusual inputs give evidence, never a panic.

mod common;

use proptest::prelude::*;
use verity_core::DetectorVerdict;
use verity_detect::{Media, MediaFormat, detectors};

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(common::crate_fixtures().join("metadata").join(name)).unwrap()
}

/// Runs every standard detector; each must give at least one evidence line.
fn run_all(bytes: &[u8], format: MediaFormat) -> Vec<verity_core::DetectorResult> {
    let media = Media::new(bytes, format);
    detectors::standard()
        .iter()
        .map(|d| {
            let r = d.detect(&media);
            assert!(!r.evidence.is_empty(), "{} gave no evidence", d.name());
            r
        })
        .collect()
}

fn result<'a>(
    results: &'a [verity_core::DetectorResult],
    name: &str,
) -> &'a verity_core::DetectorResult {
    results.iter().find(|r| r.name == name).unwrap()
}

/// A PNG with the given text chunks, bit depth and colour type.
fn png(
    text: &[(&str, &str)],
    depth: png::BitDepth,
    color: png::ColorType,
    animated: bool,
) -> Vec<u8> {
    let (w, h) = (8u32, 8u32);
    let samples = match color {
        png::ColorType::Rgba => 4,
        png::ColorType::Rgb => 3,
        _ => 1,
    };
    let bytes_per = if depth == png::BitDepth::Sixteen {
        2
    } else {
        1
    };
    let frame = vec![0x7Fu8; (w * h) as usize * samples * bytes_per];
    let mut out = Vec::new();
    {
        let mut enc = png::Encoder::new(&mut out, w, h);
        enc.set_color(color);
        enc.set_depth(depth);
        if animated {
            enc.set_animated(2, 0).unwrap();
        }
        for (k, v) in text {
            enc.add_itxt_chunk((*k).into(), (*v).into()).unwrap();
        }
        let mut writer = enc.write_header().unwrap();
        writer.write_image_data(&frame).unwrap();
        if animated {
            writer.write_image_data(&frame).unwrap();
        }
    }
    out
}

const INFOTEXT: &str = "a cat\nSteps: 20, Sampler: Euler a, CFG scale: 7, Seed: 1, Model: v1-5";

#[test]
fn sixteen_bit_and_animated_pngs_still_give_their_metadata() {
    for (depth, color, animated) in [
        (png::BitDepth::Sixteen, png::ColorType::Rgba, false),
        (png::BitDepth::Sixteen, png::ColorType::Grayscale, false),
        (png::BitDepth::Eight, png::ColorType::Rgb, true),
    ] {
        let bytes = png(&[("parameters", INFOTEXT)], depth, color, animated);
        let results = run_all(&bytes, MediaFormat::Png);
        assert_eq!(
            result(&results, "png-text").verdict,
            DetectorVerdict::AiGenerated,
            "{depth:?} {color:?} animated={animated}"
        );
    }
}

#[test]
fn oversized_xmp_is_skipped_with_evidence() {
    let huge = format!(
        "<x:xmpmeta xmlns:x='adobe:ns:meta/' xmlns:I='i' I:DigitalSourceType='trainedAlgorithmicMedia'>{}</x:xmpmeta>",
        " ".repeat(2 << 20)
    );
    let bytes = png(
        &[("XML:com.adobe.xmp", &huge)],
        png::BitDepth::Eight,
        png::ColorType::Rgb,
        false,
    );
    let results = run_all(&bytes, MediaFormat::Png);
    let xmp = result(&results, "xmp-digital-source-type");
    assert_eq!(xmp.verdict, DetectorVerdict::NotApplicable);
    assert!(
        xmp.evidence.iter().any(|e| e.contains("limit")),
        "{:?}",
        xmp.evidence
    );
}

#[test]
fn truncated_text_chunk_is_reported() {
    let bytes = fixture("a1111_parameters.png");
    // Cut inside the tEXt chunk (it starts right after the 33-byte IHDR).
    let cut = &bytes[..33 + 60];
    let results = run_all(cut, MediaFormat::Png);
    let text = result(&results, "png-text");
    assert_eq!(text.verdict, DetectorVerdict::NotApplicable);
    assert!(
        text.evidence.iter().any(|e| e.contains("unreadable")),
        "{:?}",
        text.evidence
    );
}

#[test]
fn corrupt_exif_gives_evidence() {
    let mut bytes = fixture("exif_camera_canon.jpg");
    let tiff = bytes.windows(6).position(|w| w == b"Exif\0\0").unwrap() + 6;
    // IFD0 offset far past the end of the segment.
    bytes[tiff + 4..tiff + 8].copy_from_slice(&0x7FFF_FFF0u32.to_be_bytes());
    let results = run_all(&bytes, MediaFormat::Jpeg);
    let camera = result(&results, "exif-camera");
    assert_eq!(camera.verdict, DetectorVerdict::NotApplicable);
    assert!(camera.evidence[0].contains("EXIF"), "{:?}", camera.evidence);
    // An entry count larger than the segment.
    let mut bytes = fixture("exif_camera_canon.jpg");
    bytes[tiff + 8..tiff + 10].copy_from_slice(&0xFFFFu16.to_be_bytes());
    run_all(&bytes, MediaFormat::Jpeg);
}

#[test]
fn wrong_format_claims_do_not_panic() {
    // Bytes of one format presented as another (the caller sniffed wrongly).
    for (name, claimed) in [
        ("a1111_parameters.png", MediaFormat::Jpeg),
        ("a1111_usercomment.jpg", MediaFormat::WebP),
        ("xmp_dst_digitalCapture.jpg", MediaFormat::Png),
    ] {
        run_all(&fixture(name), claimed);
    }
}

const FILES: [&str; 6] = [
    "a1111_parameters.png",
    "a1111_usercomment.jpg",
    "comfyui_prompt_workflow.png",
    "novelai_text_and_stealth.png",
    "xmp_dst_trainedAlgorithmicMedia.jpg",
    "exif_camera_canon.jpg",
];

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn mangled_fixtures_never_panic(file in 0usize..FILES.len(), flips in proptest::collection::vec((0usize..40_000, any::<u8>()), 1..8), cut in 0usize..40_000) {
        let mut bytes = fixture(FILES[file]);
        for (at, xor) in flips {
            let i = at % bytes.len();
            bytes[i] ^= xor;
        }
        bytes.truncate(cut.max(1).min(bytes.len()));
        let format = if FILES[file].ends_with(".png") { MediaFormat::Png } else { MediaFormat::Jpeg };
        run_all(&bytes, format);
    }

    #[test]
    fn garbage_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..2048)) {
        for format in [MediaFormat::Jpeg, MediaFormat::Png, MediaFormat::WebP] {
            run_all(&bytes, format);
        }
    }
}

#[test]
fn webp_xmp_chunk_is_read() {
    use img_parts::Bytes;
    use img_parts::riff::{RiffChunk, RiffContent};
    use img_parts::webp::WebP;
    let img = image::RgbImage::from_pixel(16, 16, image::Rgb([9, 9, 9]));
    let mut plain = std::io::Cursor::new(Vec::new());
    img.write_to(&mut plain, image::ImageFormat::WebP).unwrap();
    let mut webp = WebP::from_bytes(Bytes::from(plain.into_inner())).unwrap();
    let xmp = "<x:xmpmeta xmlns:x='adobe:ns:meta/' xmlns:I='i' I:DigitalSourceType='http://cv.iptc.org/newscodes/digitalsourcetype/trainedAlgorithmicMedia'/>";
    webp.chunks_mut().push(RiffChunk::new(
        *b"XMP ",
        RiffContent::Data(Bytes::from(xmp)),
    ));
    let mut bytes = Vec::new();
    webp.encoder().write_to(&mut bytes).unwrap();
    let results = run_all(&bytes, MediaFormat::WebP);
    assert_eq!(
        result(&results, "xmp-digital-source-type").verdict,
        DetectorVerdict::AiGenerated
    );
}

#[test]
fn cmyk_jpeg_gives_evidence_from_every_detector() {
    let bytes = std::fs::read(common::crate_fixtures().join("bad/cmyk.jpg")).unwrap();
    let results = run_all(&bytes, MediaFormat::Jpeg);
    let wm = result(&results, "sd-invisible-watermark");
    // Decoded (converted to RGB) or refused with the decoder's reason: never a panic.
    assert!(
        wm.evidence[0].contains("bits match") || wm.evidence[0].contains("undecodable"),
        "{:?}",
        wm.evidence
    );
    assert_eq!(
        result(&results, "c2pa").verdict,
        DetectorVerdict::NotApplicable
    );
}
