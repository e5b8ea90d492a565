//! Detection configuration end to end: per-enclave ensembles from
//! `VERITY_DETECT_CONFIG`, a bad configuration stopping start-up, and the
//! `verity index` / `verity eval` commands.

use std::process::Command;

use serde_json::Value;
use verity_core::SignedReport;

use crate::harness::{Options, Server, fixture};

fn verity() -> Command {
    Command::new(env!("CARGO_BIN_EXE_verity"))
}

#[tokio::test]
async fn enclaves_run_the_detectors_their_configuration_gives_them() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("detect.toml");
    std::fs::write(
        &config,
        "[enclaves.enclave-2]\ndisable = [\"png-text\"]\nmodels = [\"sdxl\"]\n",
    )
    .unwrap();
    let server =
        Server::start(Options::default().env("VERITY_DETECT_CONFIG", config.to_str().unwrap()))
            .await;
    let job = server
        .upload_ok(fixture("a1111_parameters.png"), "a1111.png")
        .await;
    let done = server.wait_decided(&job).await;
    let reports: Value = crate::harness::client()
        .get(server.url(&format!("/api/jobs/{job}/reports")))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let signed: Vec<SignedReport> = serde_json::from_value(reports["reports"].clone()).unwrap();
    assert!(signed.len() >= 2, "{reports}");
    for s in &signed {
        let names: Vec<&str> = s.report.detectors.iter().map(|d| d.name.as_str()).collect();
        assert!(names.contains(&"c2pa") && names.contains(&"sd-invisible-watermark"));
        if s.report.enclave_id.as_str() == "enclave-2" {
            assert!(!names.contains(&"png-text"), "{names:?}");
            assert!(!names.contains(&"primary") && names.contains(&"sdxl"));
        } else {
            assert!(names.contains(&"png-text") && names.contains(&"primary"));
            let primary = s
                .report
                .detectors
                .iter()
                .find(|d| d.name == "primary")
                .unwrap();
            assert!(primary.evidence[0].contains("not configured"));
        }
    }
    assert!(done["report"]["models"]["c2pa"].is_object(), "{done}");
}

#[test]
fn a_bad_detection_config_stops_start_up_naming_the_setting() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("detect.toml");
    std::fs::write(&config, "disable = [\"no-such-detector\"]\n").unwrap();
    let image = dir.path().join("x.png");
    std::fs::write(&image, fixture("a1111_parameters.png")).unwrap();
    let out = verity()
        .args(["check", image.to_str().unwrap()])
        .env("VERITY_DATA_DIR", dir.path())
        .env("VERITY_DETECT_CONFIG", &config)
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("VERITY_DETECT_CONFIG"), "{stderr}");
    assert!(stderr.contains("no-such-detector"), "{stderr}");
}

#[test]
fn index_add_then_search_finds_the_image_with_its_recorded_date() {
    let dir = tempfile::tempdir().unwrap();
    let images = dir.path().join("known");
    std::fs::create_dir_all(images.join("sub")).unwrap();
    std::fs::write(images.join("a.png"), fixture("a1111_parameters.png")).unwrap();
    std::fs::write(images.join("sub/b.jpg"), fixture("no_metadata.jpg")).unwrap();
    std::fs::write(images.join("notes.txt"), "not an image").unwrap();
    let index = dir.path().join("index.jsonl");
    let add = verity()
        .args([
            "index",
            "--index",
            index.to_str().unwrap(),
            "add",
            images.to_str().unwrap(),
        ])
        .args(["--label", "real", "--first-seen", "2024-05-06T07:08:09Z"])
        .output()
        .unwrap();
    assert!(
        add.status.success(),
        "{}",
        String::from_utf8_lossy(&add.stderr)
    );
    assert!(String::from_utf8_lossy(&add.stdout).contains("indexed 2 images"));
    // Adding again indexes nothing new.
    let again = verity()
        .args([
            "index",
            "--index",
            index.to_str().unwrap(),
            "add",
            images.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&again.stdout).contains("indexed 0 images"));

    let search = verity()
        .args(["index", "--index", index.to_str().unwrap(), "search"])
        .arg(images.join("sub/b.jpg"))
        .arg("--json")
        .output()
        .unwrap();
    assert!(
        search.status.success(),
        "{}",
        String::from_utf8_lossy(&search.stderr)
    );
    let found: Value = serde_json::from_slice(&search.stdout).unwrap();
    let first = &found["matches"][0];
    assert_eq!(first["distance"], 0);
    assert_eq!(first["entry"]["first_seen"], "2024-05-06T07:08:09Z");
    assert!(
        first["entry"]["source"]
            .as_str()
            .unwrap()
            .ends_with("b.jpg")
    );
    assert_eq!(first["entry"]["label"], "REAL");

    let bad_date = verity()
        .args([
            "index",
            "--index",
            index.to_str().unwrap(),
            "add",
            images.to_str().unwrap(),
        ])
        .args(["--first-seen", "yesterday"])
        .output()
        .unwrap();
    assert!(!bad_date.status.success());
}

#[test]
fn eval_writes_confusion_matrices_for_a_labelled_folder() {
    let dir = tempfile::tempdir().unwrap();
    let set = dir.path().join("set");
    std::fs::create_dir_all(set.join("ai")).unwrap();
    std::fs::create_dir_all(set.join("real")).unwrap();
    std::fs::write(set.join("ai/a1111.png"), fixture("a1111_parameters.png")).unwrap();
    std::fs::write(
        set.join("ai/xmp.jpg"),
        fixture("xmp_dst_trainedAlgorithmicMedia.jpg"),
    )
    .unwrap();
    std::fs::write(set.join("real/plain.jpg"), fixture("no_metadata.jpg")).unwrap();
    let out_dir = dir.path().join("out");
    let out = verity()
        .arg("eval")
        .arg(&set)
        .arg("--out")
        .arg(&out_dir)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: Value =
        serde_json::from_slice(&std::fs::read(out_dir.join("eval.json")).unwrap()).unwrap();
    assert_eq!(report["items"], 3);
    assert_eq!(report["ensemble"]["true_positive"], 2);
    assert_eq!(report["ensemble"]["abstain_real"], 1);
    assert_eq!(report["detectors"]["png-text"]["true_positive"], 1);
    let md = std::fs::read_to_string(out_dir.join("eval.md")).unwrap();
    assert!(md.contains("| **ensemble** | 2 | 0 | 0 | 0 | 1 |"), "{md}");
}
