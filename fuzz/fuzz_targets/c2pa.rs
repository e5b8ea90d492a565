//! The C2PA reader entry point: the Content Credentials detector (manifest
//! store discovery, JUMBF and claim decoding, validation) on any bytes, as
//! the sniffed type or, for unknown bytes, as a type picked from the input.
#![no_main]

use std::sync::{Once, OnceLock};

use libfuzzer_sys::fuzz_target;
use verity_detect::detectors::C2paDetector;
use verity_detect::{Detector, Media, MediaFormat, media::sniff};

static DETECTOR: OnceLock<C2paDetector> = OnceLock::new();
static QUIET: Once = Once::new();

fuzz_target!(|data: &[u8]| {
    // The detector catches panics inside the `c2pa` crate and reports the
    // file as malformed; libFuzzer's hook would abort on them first. A panic
    // that escapes the detector still aborts (libfuzzer-sys catches it).
    QUIET.call_once(|| std::panic::set_hook(Box::new(|_| {})));
    let detector = DETECTOR.get_or_init(C2paDetector::default);
    let format = sniff(data).unwrap_or(match data.len() % 3 {
        0 => MediaFormat::Jpeg,
        1 => MediaFormat::Png,
        _ => MediaFormat::WebP,
    });
    let result = detector.detect(&Media::new(data, format));
    assert_eq!(result.name, detector.name());
});
