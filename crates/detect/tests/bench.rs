//! Timing of each detector on 512² and 1024² JPEGs (one thread).
//!
//! `cargo test -p verity-detect --release --test bench -- --ignored --nocapture`
//! (ignored by default: timings in the dev profile are not meaningful).
//! Prints the median of several runs per detector, and the total of the
//! non-ML detectors, whose goal is < 50 ms on a 1024² JPEG.

use std::time::{Duration, Instant};

use verity_detect::detectors::standard;
use verity_detect::{Media, MediaFormat};

fn jpeg(side: u32) -> Vec<u8> {
    let img = image::RgbImage::from_fn(side, side, |x, y| {
        let v = ((x * 7 + y * 13) % 256) as u8;
        image::Rgb([v, v.wrapping_mul(3), 255 - v])
    });
    let mut out = Vec::new();
    let encoder =
        image::codecs::jpeg::JpegEncoder::new_with_quality(std::io::Cursor::new(&mut out), 90);
    img.write_with_encoder(encoder).unwrap();
    out
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

#[test]
#[ignore = "timing; run in release with --ignored --nocapture"]
fn detector_timings() {
    let detectors = standard();
    for side in [512u32, 1024] {
        let bytes = jpeg(side);
        let mut total = Duration::ZERO;
        println!("{side}×{side} JPEG ({} bytes)", bytes.len());
        // Decoding is shared by the pixel detectors through `Media`; time it apart.
        let decode = median(
            (0..5)
                .map(|_| {
                    let m = Media::new(&bytes, MediaFormat::Jpeg);
                    let t = Instant::now();
                    let _ = m.pixels();
                    t.elapsed()
                })
                .collect(),
        );
        println!(
            "  {:<26} {:>8.2} ms",
            "(decode, shared)",
            decode.as_secs_f64() * 1e3
        );
        total += decode;
        for d in &detectors {
            let runs: Vec<Duration> = (0..5)
                .map(|_| {
                    let m = Media::new(&bytes, MediaFormat::Jpeg);
                    let _ = m.pixels();
                    let t = Instant::now();
                    let _ = d.detect(&m);
                    t.elapsed()
                })
                .collect();
            let m = median(runs);
            total += m;
            println!("  {:<26} {:>8.2} ms", d.name(), m.as_secs_f64() * 1e3);
        }
        println!(
            "  {:<26} {:>8.2} ms",
            "total (non-ML)",
            total.as_secs_f64() * 1e3
        );
    }
}
