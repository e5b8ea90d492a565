//! Cost of each non-ML detector on 512² and 1024² JPEGs, one thread.
//!
//! `cargo bench -p verity-detect --bench detectors`
//!
//! Per size: `decode` (the shared decode every pixel detector reuses through
//! `Media`), each detector on an already decoded image, the local reverse
//! search over a 1,000-entry index, and `total_non_ml`: a fresh `Media`,
//! one decode and every non-ML detector, which is what an enclave pays per
//! image before any model runs (goal: < 50 ms at 1024²).

use std::hint::black_box;
use std::time::Duration;

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use image::imageops::FilterType;
use verity_detect::detectors::standard;
use verity_detect::reverse::{HashIndex, IndexEntry, ReverseSearch};
use verity_detect::{Detector, Media, MediaFormat};

/// A photo (the rocket fixture) scaled to `side`², encoded as JPEG q90.
fn jpeg(side: u32) -> Vec<u8> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    let photo = image::open(dir.join("watermark/rocket_clean.png")).expect("fixture");
    let rgb = photo
        .resize_exact(side, side, FilterType::Triangle)
        .to_rgb8();
    let mut out = Vec::new();
    let encoder =
        image::codecs::jpeg::JpegEncoder::new_with_quality(std::io::Cursor::new(&mut out), 90);
    rgb.write_with_encoder(encoder).expect("encode");
    out
}

/// A local index of `n` unrelated hashes (a deterministic LCG).
fn index(n: usize) -> HashIndex {
    let mut index = HashIndex::default();
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    for i in 0..n {
        x = x
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        index
            .push(IndexEntry {
                phash: format!("{x:016x}"),
                sha256: format!("{i:064x}"),
                source: format!("collection/{i}.jpg"),
                first_seen: "2024-01-01T00:00:00Z".into(),
                label: None,
            })
            .expect("valid entry");
    }
    index
}

fn bench(c: &mut Criterion) {
    let mut detectors: Vec<Box<dyn Detector>> = standard();
    detectors.push(Box::new(ReverseSearch::new(index(1000), 8)));
    for side in [512u32, 1024] {
        let bytes = jpeg(side);
        let mut group = c.benchmark_group(format!("detectors/{side}x{side}_jpeg"));
        group.bench_function("decode", |b| {
            b.iter(|| {
                let media = Media::new(black_box(&bytes), MediaFormat::Jpeg);
                black_box(media.pixels().is_ok())
            })
        });
        let decoded = Media::new(&bytes, MediaFormat::Jpeg);
        decoded.pixels().expect("decodes");
        for d in &detectors {
            group.bench_function(BenchmarkId::from_parameter(d.name()), |b| {
                b.iter(|| black_box(d.detect(black_box(&decoded))))
            });
        }
        group.bench_function("total_non_ml", |b| {
            b.iter(|| {
                let media = Media::new(black_box(&bytes), MediaFormat::Jpeg);
                for d in &detectors {
                    black_box(d.detect(&media));
                }
            })
        });
        group.finish();
    }
}

criterion_group! {
    name = benches;
    // Short runs: the numbers are per image, milliseconds, and stable enough.
    config = Criterion::default()
        .sample_size(20)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));
    targets = bench
}
criterion_main!(benches);
