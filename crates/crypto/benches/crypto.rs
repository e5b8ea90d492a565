//! Report sign + verify; the aggregator's per-job work (verify three reports,
//! consensus, assemble and sign the final report); encrypt + seal of a 5 MiB
//! blob to three enclaves.

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use verity_core::finalize::{RoundContext, assemble};
use verity_core::*;
use verity_crypto::{AggregatorKey, EnclaveKeys, encrypt_media, seal_data_key, verify_report};

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

    aggregate(c);

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

/// What the aggregator does per job once the reports are in (no I/O).
fn aggregate(c: &mut Criterion) {
    let enclaves: Vec<EnclaveKeys> = (0..3).map(|_| EnclaveKeys::generate()).collect();
    let template = report();
    let signed: Vec<SignedReport> = enclaves
        .iter()
        .enumerate()
        .map(|(i, k)| {
            let mut r = template.clone();
            r.enclave_id = format!("enclave-{}", i + 1).parse().unwrap();
            k.sign_report(r)
        })
        .collect();
    let keys: Vec<[u8; 32]> = enclaves.iter().map(|k| k.public().signing).collect();
    let aggregator = AggregatorKey::generate();
    let rule = ConsensusRule::default();
    c.bench_function("aggregate/verify3+consensus+sign_final", |b| {
        b.iter(|| {
            let mut ballots = Vec::with_capacity(3);
            for (s, key) in signed.iter().zip(&keys) {
                verify_report(key, s).unwrap();
                ballots.push(Ballot {
                    enclave_id: s.report.enclave_id.clone(),
                    verdict: s.report.verdict,
                    confidence: s.report.confidence,
                    reputation: 0.8,
                    stake: 1000,
                    report_digest: s.report.digest(),
                    attestation: s.report.attestation,
                });
            }
            let outcome = rule.decide(&ballots).unwrap();
            let ctx = RoundContext {
                job_id: template.job_id.clone(),
                round: 0,
                media_sha256: template.media_sha256,
                timestamp_ms: 1,
            };
            let reports: Vec<EnclaveReport> = signed.iter().map(|s| s.report.clone()).collect();
            let mut fr = assemble(&ctx, &rule, &outcome, &reports);
            aggregator.sign_final(&mut fr);
            black_box(fr)
        })
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
