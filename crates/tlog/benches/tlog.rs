//! Appending leaves and making proofs at 10^6 entries.

use criterion::{Criterion, criterion_group, criterion_main};
use verity_tlog::proof::verify_inclusion;
use verity_tlog::{MerkleTree, leaf_hash};

fn bench(c: &mut Criterion) {
    let n: u64 = 1_000_000;
    let tree = MerkleTree::from_leaf_hashes((0..n).map(|i| leaf_hash(&i.to_be_bytes())));
    let root = tree.root();
    c.bench_function("append 1 leaf (tree of 10^6)", |b| {
        let mut t = tree.clone();
        let mut i = n;
        b.iter(|| {
            i += 1;
            t.push(&i.to_be_bytes())
        })
    });
    c.bench_function("inclusion proof at 10^6", |b| {
        let mut i = 0u64;
        b.iter(|| {
            i = (i + 7919) % n;
            tree.inclusion_proof(i, n).unwrap()
        })
    });
    c.bench_function("consistency proof 10^6/2 -> 10^6", |b| {
        b.iter(|| tree.consistency_proof(n / 2 + 17, n).unwrap())
    });
    let proof = tree.inclusion_proof(123_456, n).unwrap();
    let leaf = tree.leaf(123_456).unwrap();
    c.bench_function("verify inclusion at 10^6", |b| {
        b.iter(|| verify_inclusion(&leaf, 123_456, n, &proof, &root).unwrap())
    });
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(20);
    targets = bench
}
criterion_main!(benches);
