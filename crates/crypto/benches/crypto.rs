//! Report sign + verify, and encrypt + seal of a 5 MiB blob to three enclaves.

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use verity_core::*;
use verity_crypto::{EnclaveKeys, encrypt_media, seal_data_key, verify_report};

fn report() -> EnclaveReport {
    EnclaveReport {
        job_id: JobId::generate(),
        round: 0,
        enclave_id: "enclave-1".parse().unwrap(),
        media_sha256: Sha256Digest::of(b"media"),
        verdict: Verdict::AiGenerated,
        confidence: Confidence::from_f64(0.93),
        detectors: (0..6)
            .map(|i| DetectorResult {
                name: format!("detector-{i}"),
                version: "1.0.0".into(),
                verdict: DetectorVerdict::AiGenerated,
                confidence: Confidence::from_f64(0.9),
                evidence: vec!["a readable piece of evidence".into()],
            })
            .collect(),
        attestation: AttestationKind::DevInsecure,
        timestamp_ms: 1_700_000_000_000,
    }
}

fn bench(c: &mut Criterion) {
    let keys = EnclaveKeys::generate();
    let pk = keys.public().signing;
    let r = report();
    c.bench_function("report/sign+verify", |b| {
        b.iter(|| {
            let signed = keys.sign_report(black_box(r.clone()));
            verify_report(&pk, &signed).unwrap();
        })
    });

    let media = vec![0x5Au8; 5 * 1024 * 1024];
    let enclaves: Vec<[u8; 32]> = (0..3)
        .map(|_| EnclaveKeys::generate().public().encryption)
        .collect();
    let mut group = c.benchmark_group("envelope");
    group.throughput(Throughput::Bytes(media.len() as u64));
    group.sample_size(20);
    group.bench_function("sha256+encrypt+seal_x3/5MiB", |b| {
        b.iter(|| {
            let digest = Sha256Digest::of(black_box(&media));
            let (blob, key) = encrypt_media(&media, &digest.0);
            for pk in &enclaves {
                seal_data_key(&key, pk, &digest.0).unwrap();
            }
            blob
        })
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
