//! Consensus cost per job: the pure rule, for 3 and 32 reports.

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use verity_core::{AttestationKind, Ballot, Confidence, ConsensusRule, Sha256Digest, Verdict};

fn ballots(n: usize) -> Vec<Ballot> {
    (0..n)
        .map(|i| Ballot {
            enclave_id: format!("enclave-{i}").parse().unwrap(),
            verdict: Verdict::ALL[i % 2],
            confidence: Confidence::from_f64(0.9),
            reputation: 0.5 + (i % 5) as f64 / 10.0,
            stake: 500 + 100 * i as u64,
            report_digest: Sha256Digest::of(&i.to_le_bytes()),
            attestation: AttestationKind::DevInsecure,
        })
        .collect()
}

fn bench(c: &mut Criterion) {
    let rule = ConsensusRule::default();
    for n in [3, 32] {
        let input = ballots(n);
        c.bench_function(&format!("consensus/{n}_reports"), |b| {
            b.iter(|| rule.decide(black_box(&input)).unwrap())
        });
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
