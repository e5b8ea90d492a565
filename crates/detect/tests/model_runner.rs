//! The ONNX runner on a real model: tract's output equals onnxruntime's on
//! the same input within 1e-4, and a configured slot runs in an ensemble.
//!
//! The model (open_nsfw, 23.6 MB) is fetched by `scripts/fetch-test-model.sh`
//! into `target/test-models/`; without it these tests print a reason and
//! pass, unless `VERITY_REQUIRE_MODELS=1` (CI) makes them fail.

mod common;

use std::path::{Path, PathBuf};

use serde_json::Value;
use verity_core::DetectorVerdict;
use verity_detect::config::DetectConfig;
use verity_detect::model::{
    Channels, LabelMeaning, Layout, ModelConfig, ModelDetector, ModelError,
};
use verity_detect::{Detector, Media, media};

const SHA256: &str = "864bb37bf8863564b87eb330ab8c785a79a773f4e7c43cb96db52ed8611305fa";

fn model_path() -> Option<PathBuf> {
    let path = match std::env::var("VERITY_TEST_MODELS") {
        Ok(dir) => PathBuf::from(dir).join("open-nsfw.onnx"),
        Err(_) => {
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/test-models/open-nsfw.onnx")
        }
    };
    if path.is_file() {
        return Some(path);
    }
    let reason = format!("{} absent: run scripts/fetch-test-model.sh", path.display());
    if std::env::var("VERITY_REQUIRE_MODELS").as_deref() == Ok("1") {
        panic!("VERITY_REQUIRE_MODELS=1 but {reason}");
    }
    eprintln!("skipped: {reason}");
    None
}

/// The open_nsfw slot. Its labels are NOT about AI: the test maps `nsfw` to
/// AI_GENERATED only to exercise the label → verdict path.
fn slot(path: &Path) -> ModelConfig {
    let mut c = ModelConfig::slot("primary");
    c.path = Some(path.to_owned());
    c.sha256 = Some(SHA256.into());
    c.version = "open_nsfw 1.1 (test stand-in)".into();
    c.layout = Layout::Nhwc;
    c.size = [224, 224];
    c.resize = Some(256);
    c.channels = Channels::Bgr;
    c.scale = 1.0;
    c.mean = [104.0, 117.0, 123.0];
    c.labels = vec!["sfw".into(), "nsfw".into()];
    c.map = [
        ("sfw".to_string(), LabelMeaning::Real),
        ("nsfw".to_string(), LabelMeaning::AiGenerated),
    ]
    .into();
    c
}

fn pattern(kind: &str) -> Vec<f32> {
    let mut v = Vec::with_capacity(224 * 224 * 3);
    for y in 0..224i64 {
        for x in 0..224i64 {
            for c in 0..3i64 {
                v.push(match kind {
                    "ramp" => (((y * 224 + x) * 3 + c) * 37 + 11) % 256 - 128,
                    _ => ((x * y) / 7 + c * 50) % 256 - 117,
                } as f32);
            }
        }
    }
    v
}

#[test]
fn tract_matches_onnxruntime_within_1e_4() {
    let Some(path) = model_path() else { return };
    let detector = ModelDetector::load(&slot(&path), Path::new(".")).unwrap();
    let model = detector.model().expect("loaded");
    let reference: Value = serde_json::from_slice(
        &std::fs::read(common::crate_fixtures().join("models/opennsfw_reference.json")).unwrap(),
    )
    .unwrap();
    for kind in ["ramp", "product"] {
        let input =
            verity_detect::model::Tensor::from_shape(&[1, 224, 224, 3], &pattern(kind)).unwrap();
        let ours = model.run_tensor(input).unwrap();
        let theirs: Vec<f64> = reference["outputs"][kind]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_f64().unwrap())
            .collect();
        assert_eq!(ours.len(), theirs.len());
        for (a, b) in ours.iter().zip(&theirs) {
            assert!(
                (f64::from(*a) - b).abs() < 1e-4,
                "{kind}: tract {ours:?} vs onnxruntime {theirs:?}"
            );
        }
    }
}

#[test]
fn configured_slot_runs_in_the_ensemble_with_evidence() {
    let Some(path) = model_path() else { return };
    let toml = format!(
        r#"
        [[models]]
        name = "primary"
        path = "{}"
        sha256 = "{SHA256}"
        version = "open_nsfw 1.1 (test stand-in)"
        layout = "nhwc"
        size = [224, 224]
        resize = 256
        channels = "bgr"
        scale = 1.0
        mean = [104.0, 117.0, 123.0]
        labels = ["sfw", "nsfw"]
        map = {{ sfw = "REAL", nsfw = "AI_GENERATED" }}
        threshold = 0.9

        [[models]]
        name = "deepfake"
        "#,
        path.display()
    );
    let catalog = DetectConfig::from_toml(&toml, Path::new("."))
        .unwrap()
        .instantiate()
        .unwrap();
    let ensemble = catalog.ensemble_for("enclave-1");
    let bytes = std::fs::read(common::crate_fixtures().join("watermark/rocket_clean.png")).unwrap();
    let out = ensemble.run(&Media::new(&bytes, media::sniff(&bytes).unwrap()));
    let primary = out.results.iter().find(|r| r.name == "primary").unwrap();
    assert_eq!(primary.version, "open_nsfw 1.1 (test stand-in)");
    assert_ne!(primary.verdict, DetectorVerdict::NotApplicable);
    assert!(
        primary.evidence[0].starts_with("p(AI) = "),
        "{:?}",
        primary.evidence
    );
    assert!(primary.evidence[0].contains("sfw="));
    let deepfake = out.results.iter().find(|r| r.name == "deepfake").unwrap();
    assert_eq!(deepfake.verdict, DetectorVerdict::NotApplicable);
    assert!(deepfake.evidence[0].contains("not configured"));
}

#[test]
fn a_model_that_does_not_match_its_digest_is_refused() {
    let Some(path) = model_path() else { return };
    let mut c = slot(&path);
    c.sha256 = Some("0".repeat(64));
    assert!(matches!(
        ModelDetector::load(&c, Path::new(".")),
        Err(ModelError::Digest { .. })
    ));
}

#[test]
fn detector_output_is_deterministic_across_threads() {
    let Some(path) = model_path() else { return };
    let detector = std::sync::Arc::new(ModelDetector::load(&slot(&path), Path::new(".")).unwrap());
    let bytes =
        std::fs::read(common::crate_fixtures().join("watermark/rocket_sdxl_uint8.png")).unwrap();
    let first = detector.detect(&Media::new(&bytes, media::MediaFormat::Png));
    let handles: Vec<_> = (0..2)
        .map(|_| {
            let d = detector.clone();
            let b = bytes.clone();
            std::thread::spawn(move || d.detect(&Media::new(&b, media::MediaFormat::Png)))
        })
        .collect();
    for h in handles {
        assert_eq!(h.join().unwrap(), first);
    }
}
