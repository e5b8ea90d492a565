//! Helpers shared by the integration tests: where fixtures live, and running
//! the standard ensemble on a file.

#![allow(dead_code)]

use std::path::{Path, PathBuf};

use verity_detect::{Ensemble, EnsembleOutcome, EnsemblePolicy, Media, detectors, media};

/// The fixtures copied into this crate.
pub fn crate_fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

/// The team's shared fixture folder (`shared/fixtures/media`), found from
/// `VERITY_SHARED_FIXTURES` or by walking up from this crate; `None` (with a
/// printed reason) when it is absent, so the larger sets can be skipped.
pub fn shared_media() -> Option<PathBuf> {
    if let Ok(dir) = std::env::var("VERITY_SHARED_FIXTURES") {
        return Some(PathBuf::from(dir).join("media"));
    }
    let found = Path::new(env!("CARGO_MANIFEST_DIR"))
        .ancestors()
        .map(|a| a.join("shared/fixtures/media"))
        .find(|p| p.is_dir());
    if found.is_none() {
        eprintln!("skipped: shared/fixtures/media not found (set VERITY_SHARED_FIXTURES)");
    }
    found
}

/// Runs the standard ensemble on a file.
pub fn run_standard(path: &Path) -> EnsembleOutcome {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let format = media::sniff(&bytes).expect("fixture is an image");
    Ensemble::new(detectors::standard(), EnsemblePolicy::default()).run(&Media::new(&bytes, format))
}
