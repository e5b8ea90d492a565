//! C2PA fixtures reach the conclusions their manifests state: validation
//! state, signer, claim generator and source types, with and without the test
//! CA as a trust anchor.

mod common;

use std::path::Path;

use verity_core::{DetectorResult, DetectorVerdict};
use verity_detect::detectors::{C2paConfig, C2paDetector};
use verity_detect::{Detector, Media, media};

fn detect(detector: &C2paDetector, path: &Path) -> DetectorResult {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let format = media::sniff(&bytes).expect("an image");
    detector.detect(&Media::new(&bytes, format))
}

fn anchored() -> C2paDetector {
    let pem = std::fs::read_to_string(common::crate_fixtures().join("c2pa/test_ca.pem")).unwrap();
    C2paDetector::new(&C2paConfig {
        trust_anchors_pem: Some(pem),
    })
    .unwrap()
}

fn has(r: &DetectorResult, text: &str) -> bool {
    r.evidence.iter().any(|e| e.contains(text))
}

#[test]
fn ai_generated_manifest_is_ai_and_untrusted_without_anchors() {
    let r = detect(
        &C2paDetector::default(),
        &common::crate_fixtures().join("c2pa/ai_trainedAlgorithmicMedia_c2pa.jpg"),
    );
    assert_eq!(r.verdict, DetectorVerdict::AiGenerated, "{:#?}", r.evidence);
    assert!(has(&r, "signer untrusted"), "{:#?}", r.evidence);
    assert!(has(
        &r,
        "signer: TEST C2PA SIGNER (issued by detect test vectors)"
    ));
    assert!(has(&r, "claim generator: detect-test-vectors"));
    assert!(has(
        &r,
        "c2pa.created: digitalSourceType = trainedAlgorithmicMedia"
    ));
}

#[test]
fn trust_anchor_makes_the_signer_trusted_and_raises_confidence() {
    let path = common::crate_fixtures().join("c2pa/ai_trainedAlgorithmicMedia_c2pa.jpg");
    let untrusted = detect(&C2paDetector::default(), &path);
    let trusted = detect(&anchored(), &path);
    assert!(has(&trusted, "signer trusted"), "{:#?}", trusted.evidence);
    assert_eq!(trusted.verdict, DetectorVerdict::AiGenerated);
    assert!(trusted.confidence > untrusted.confidence);
}

#[test]
fn capture_is_real_only_from_a_trusted_signer() {
    let path = common::crate_fixtures().join("c2pa/camera_digitalCapture_c2pa.jpg");
    let untrusted = detect(&C2paDetector::default(), &path);
    assert_eq!(untrusted.verdict, DetectorVerdict::Uncertain);
    assert!(has(&untrusted, "not trusted"), "{:#?}", untrusted.evidence);
    let trusted = detect(&anchored(), &path);
    assert_eq!(
        trusted.verdict,
        DetectorVerdict::Real,
        "{:#?}",
        trusted.evidence
    );
    assert!(has(&trusted, "digitalSourceType = digitalCapture"));
}

#[test]
fn composite_is_ai_edited() {
    let r = detect(
        &C2paDetector::default(),
        &common::crate_fixtures().join("c2pa/ai_compositeWithTrainedAlgorithmicMedia_c2pa.jpg"),
    );
    assert_eq!(r.verdict, DetectorVerdict::AiGenerated);
    assert!(has(&r, "AI-edited"), "{:#?}", r.evidence);
}

#[test]
fn tampered_manifest_is_evidence_not_a_crash() {
    let path = common::crate_fixtures().join("c2pa/ai_trainedAlgorithmicMedia_c2pa_TAMPERED.jpg");
    for detector in [C2paDetector::default(), anchored()] {
        let r = detect(&detector, &path);
        assert!(has(&r, "INVALID (tampered)"), "{:#?}", r.evidence);
        assert!(has(&r, "assertion.dataHash.mismatch"), "{:#?}", r.evidence);
        // Still an AI declaration, at a lower confidence than an intact one.
        assert_eq!(r.verdict, DetectorVerdict::AiGenerated);
        assert!(r.confidence.as_f64() < 0.7);
    }
}

#[test]
fn no_manifest_is_not_applicable() {
    let r = detect(
        &C2paDetector::default(),
        &common::crate_fixtures().join("metadata/no_metadata.jpg"),
    );
    assert_eq!(r.verdict, DetectorVerdict::NotApplicable);
    assert!(has(&r, "no C2PA manifest"));
}

#[test]
fn corrupt_manifest_bytes_never_panic() {
    let bytes =
        std::fs::read(common::crate_fixtures().join("c2pa/ai_trainedAlgorithmicMedia_c2pa.jpg"))
            .unwrap();
    let detector = C2paDetector::default();
    // Flip bytes across the APP11 (JUMBF) segments and truncate at many
    // points: each gives a result with evidence.
    let app11: Vec<usize> = bytes
        .windows(2)
        .enumerate()
        .filter(|(_, w)| w == &[0xFF, 0xEB])
        .map(|(i, _)| i)
        .collect();
    assert!(!app11.is_empty(), "the fixture has APP11 segments");
    for (k, &start) in app11.iter().enumerate() {
        for offset in [4usize, 12, 40, 200, 1000] {
            let mut copy = bytes.clone();
            if start + offset < copy.len() {
                copy[start + offset] ^= 0x5A + k as u8;
            }
            let r = detector.detect(&Media::new(&copy, media::MediaFormat::Jpeg));
            assert!(!r.evidence.is_empty());
        }
    }
    for cut in [100usize, 2_000, 20_000, 60_000] {
        let r = detector.detect(&Media::new(&bytes[..cut], media::MediaFormat::Jpeg));
        assert!(!r.evidence.is_empty());
    }
}

/// The shared set: upstream c2pa-rs files and the PNG vector.
#[test]
fn shared_c2pa_fixtures_reach_their_expected_conclusions() {
    let Some(media_dir) = common::shared_media() else {
        return;
    };
    let d = C2paDetector::default();
    let up = media_dir.join("c2pa-upstream");
    let c = detect(&d, &up.join("C.jpg"));
    assert_eq!(c.verdict, DetectorVerdict::Uncertain, "{:#?}", c.evidence);
    assert!(has(
        &c,
        "claim generator: make_test_images/0.33.1 c2pa-rs/0.33.1"
    ));
    assert!(has(&c, "digitalSourceType = algorithmicMedia"));
    assert!(has(&c, "C2PA Signer (issued by C2PA Test Signing Cert)"));

    let ca = detect(&d, &up.join("CA.jpg"));
    assert_eq!(ca.verdict, DetectorVerdict::Uncertain);
    assert!(has(&ca, "manifest valid"), "{:#?}", ca.evidence);
    assert!(has(&ca, "no digitalSourceType"));

    let xca = detect(&d, &up.join("XCA.jpg"));
    assert!(
        has(&xca, "assertion.dataHash.mismatch"),
        "{:#?}",
        xca.evidence
    );
    assert!(has(&xca, "INVALID"));

    let none = detect(&d, &up.join("libpng-test.png"));
    assert_eq!(none.verdict, DetectorVerdict::NotApplicable);

    let ocsp = detect(&d, &up.join("ocsp.jpg"));
    assert_eq!(
        ocsp.verdict,
        DetectorVerdict::AiGenerated,
        "{:#?}",
        ocsp.evidence
    );
    assert!(has(&ocsp, "compositeWithTrainedAlgorithmicMedia"));
    assert!(has(&ocsp, "ingredient manifest"));
    assert!(has(&ocsp, "trainedAlgorithmicMedia"));

    let firefly = detect(&d, &up.join("firefly_thirdparty_gemini.png"));
    assert_eq!(
        firefly.verdict,
        DetectorVerdict::AiGenerated,
        "{:#?}",
        firefly.evidence
    );
    assert!(has(&firefly, "parameters.com.adobe.digitalSourceType"));

    let png = detect(
        &d,
        &media_dir.join("c2pa/ai_trainedAlgorithmicMedia_c2pa.png"),
    );
    assert_eq!(
        png.verdict,
        DetectorVerdict::AiGenerated,
        "{:#?}",
        png.evidence
    );

    let stripped = detect(&d, &media_dir.join("c2pa/ai_c2pa_STRIPPED_by_reencode.jpg"));
    assert_eq!(stripped.verdict, DetectorVerdict::NotApplicable);
}
