//! Upload gate and pixel detectors: `inspect` (sniffing, container walks,
//! dimension limits) on any bytes; what it accepts (when small enough to
//! decode quickly) is decoded and run through the pixel detectors, as an
//! enclave would.
#![no_main]

use libfuzzer_sys::fuzz_target;
use verity_detect::detectors::{EvidenceMatch, InvisibleWatermark, StealthPngInfo};
use verity_detect::{Detector, Media, MediaLimits, inspect, media::sniff};

/// Larger images are accepted by the gate but too slow to decode per input.
const DECODE_PIXELS: u64 = 1 << 20;

fuzz_target!(|data: &[u8]| {
    let _ = sniff(data);
    let Ok(info) = inspect(data, &MediaLimits::default()) else {
        return;
    };
    assert!(info.width > 0 && info.height > 0);
    if u64::from(info.width) * u64::from(info.height) > DECODE_PIXELS {
        return;
    }
    let media = Media::new(data, info.format).with_evidence(data);
    let detectors: [&dyn Detector; 3] = [&StealthPngInfo, &InvisibleWatermark, &EvidenceMatch];
    for d in detectors {
        let _ = d.detect(&media);
    }
});
