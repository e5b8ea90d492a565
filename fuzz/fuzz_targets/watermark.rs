//! The invisible-watermark decoder on arbitrary pixels: the first four bytes
//! choose the size (any shape, including thin and under-sized ones), the rest
//! are the RGB samples, repeated to fill the image.
#![no_main]

use image::RgbImage;
use libfuzzer_sys::fuzz_target;
use verity_detect::detectors::{Variant, best_match, block_bits, decode_watermark, vote};

/// Bounds the work per input; the decoder's cost is linear in pixels.
const MAX_PIXELS: usize = 600_000;

fuzz_target!(|data: &[u8]| {
    let Some((size, samples)) = data.split_first_chunk::<4>() else {
        return;
    };
    let w = 1 + usize::from(u16::from_le_bytes([size[0], size[1]])) % 4096;
    let h = 1 + usize::from(u16::from_le_bytes([size[2], size[3]])) % 4096;
    if w * h > MAX_PIXELS {
        return;
    }
    let raw: Vec<u8> = if samples.is_empty() {
        vec![0; w * h * 3]
    } else {
        samples.iter().copied().cycle().take(w * h * 3).collect()
    };
    let rgb = RgbImage::from_raw(w as u32, h as u32, raw).expect("buffer sized for the image");
    let Some(best) = best_match(&rgb) else {
        assert!(block_bits(&rgb, Variant::EightBit).is_none());
        return;
    };
    assert!(best.matched <= best.len);
    assert_eq!(best.decoded.len(), best.len);
    // The best match is exactly what a plain decode of its variant reads.
    assert_eq!(
        decode_watermark(&rgb, best.len, best.variant),
        Some(best.decoded.clone())
    );
    let blocks = block_bits(&rgb, best.variant).expect("decoded above");
    assert_eq!(vote(&blocks, best.len), best.decoded);
});
