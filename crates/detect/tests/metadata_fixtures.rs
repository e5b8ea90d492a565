//! Every file of the metadata manifest reaches its expected conclusion.

mod common;

use serde_json::Value;
use verity_core::{DetectorVerdict, Verdict};

/// What a manifest label requires of the ensemble, and of one detector.
struct Expectation {
    verdict: Verdict,
    /// A detector that must vote this way (name, verdict).
    detector: Option<(&'static str, DetectorVerdict)>,
    /// Text some evidence line must contain.
    evidence: Option<&'static str>,
}

fn expectation(label: &str) -> Expectation {
    let plain = |verdict| Expectation {
        verdict,
        detector: None,
        evidence: None,
    };
    match label {
        "AI_GENERATED (partly)" => Expectation {
            evidence: Some("AI-edited"),
            ..plain(Verdict::AiGenerated)
        },
        l if l.starts_with("AI_GENERATED") => plain(Verdict::AiGenerated),
        "REAL (claimed)" => plain(Verdict::Real),
        "REAL (weak hint)" => Expectation {
            detector: Some(("exif-camera", DetectorVerdict::Real)),
            evidence: Some("weak hint"),
            ..plain(Verdict::Uncertain)
        },
        l if l.starts_with("SYNTHETIC_NOT_ML") => Expectation {
            evidence: Some("not ML-generated"),
            ..plain(Verdict::Uncertain)
        },
        "UNKNOWN" => plain(Verdict::Uncertain),
        other => panic!("manifest label {other:?} has no expectation"),
    }
}

#[test]
fn every_metadata_fixture_reaches_its_expected_conclusion() {
    let dir = common::crate_fixtures();
    let manifest: Vec<Value> =
        serde_json::from_slice(&std::fs::read(dir.join("metadata/manifest.json")).unwrap())
            .unwrap();
    assert_eq!(manifest.len(), 13, "the manifest lists 13 files");
    for entry in &manifest {
        let file = entry["file"].as_str().unwrap();
        let label = entry["expected_label"].as_str().unwrap();
        let want = expectation(label);
        let out = common::run_standard(&dir.join(file));
        assert_eq!(
            out.verdict, want.verdict,
            "{file} ({label}): {:#?}",
            out.results
        );
        if let Some((name, verdict)) = want.detector {
            let r = out.results.iter().find(|r| r.name == name).unwrap();
            assert_eq!(r.verdict, verdict, "{file}: {name}");
        }
        if let Some(text) = want.evidence {
            let all: Vec<&String> = out.results.iter().flat_map(|r| &r.evidence).collect();
            assert!(
                all.iter().any(|e| e.contains(text)),
                "{file}: no evidence with {text:?}: {all:#?}"
            );
        }
        for r in &out.results {
            assert!(
                !r.evidence.is_empty(),
                "{file}: {} gave no evidence",
                r.name
            );
        }
    }
}

#[test]
fn stealth_only_png_is_found_by_the_lsb_detector_alone() {
    let out =
        common::run_standard(&common::crate_fixtures().join("metadata/novelai_stealth_only.png"));
    let voting: Vec<&str> = out
        .results
        .iter()
        .filter(|r| r.verdict == DetectorVerdict::AiGenerated)
        .map(|r| r.name.as_str())
        .collect();
    assert_eq!(voting, ["stealth-pnginfo"]);
    let stealth = out
        .results
        .iter()
        .find(|r| r.name == "stealth-pnginfo")
        .unwrap();
    assert!(
        stealth
            .evidence
            .iter()
            .any(|e| e.contains("stealth_pngcomp"))
    );
    assert!(
        stealth.evidence.iter().any(|e| e.contains("NovelAI")),
        "{:?}",
        stealth.evidence
    );
}

#[test]
fn a1111_jpeg_user_comment_is_read_from_utf16() {
    let out =
        common::run_standard(&common::crate_fixtures().join("metadata/a1111_usercomment.jpg"));
    let exif = out
        .results
        .iter()
        .find(|r| r.name == "exif-generator")
        .unwrap();
    assert_eq!(exif.verdict, DetectorVerdict::AiGenerated);
    assert!(
        exif.evidence[0].contains("UserComment") && exif.evidence[0].contains("Steps:"),
        "{:?}",
        exif.evidence
    );
}
