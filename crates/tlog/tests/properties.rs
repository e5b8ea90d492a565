//! Property tests over random trees: every proof the tree gives verifies,
//! and a proof checked against the wrong leaf, index, size or root does not.

use proptest::prelude::*;
use verity_tlog::proof::{verify_consistency, verify_inclusion};
use verity_tlog::{EMPTY_ROOT, Hash, MerkleTree, leaf_hash, node_hash};

/// RFC 6962 §2.1 `MTH` straight from the definition.
fn reference_root(leaves: &[Hash]) -> Hash {
    match leaves.len() {
        0 => EMPTY_ROOT,
        1 => leaves[0],
        n => {
            let k = 1usize << (usize::BITS - 1 - (n - 1).leading_zeros());
            node_hash(&reference_root(&leaves[..k]), &reference_root(&leaves[k..]))
        }
    }
}

fn build(n: u64) -> (MerkleTree, Vec<Hash>) {
    let leaves: Vec<Hash> = (0..n).map(|i| leaf_hash(&i.to_be_bytes())).collect();
    (MerkleTree::from_leaf_hashes(leaves.clone()), leaves)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn roots_match_the_definition(n in 0u64..300) {
        let (tree, leaves) = build(n);
        for size in [0, n / 3, n / 2, n] {
            prop_assert_eq!(tree.root_at(size).unwrap(), reference_root(&leaves[..size as usize]));
        }
    }

    #[test]
    fn inclusion_proofs_verify_and_only_for_their_leaf(n in 1u64..300, seed in any::<u64>()) {
        let (tree, leaves) = build(n);
        let size = 1 + seed % n;
        let index = (seed / 7) % size;
        let root = tree.root_at(size).unwrap();
        let proof = tree.inclusion_proof(index, size).unwrap();
        verify_inclusion(&leaves[index as usize], index, size, &proof, &root).unwrap();
        let other = leaf_hash(b"not in the tree");
        prop_assert!(verify_inclusion(&other, index, size, &proof, &root).is_err());
        if size > 1 {
            let wrong_index = (index + 1) % size;
            prop_assert!(verify_inclusion(&leaves[index as usize], wrong_index, size, &proof, &root).is_err());
        }
        let mut bad_root = root;
        bad_root[0] ^= 1;
        prop_assert!(verify_inclusion(&leaves[index as usize], index, size, &proof, &bad_root).is_err());
        if let Some(first) = proof.first() {
            let mut tampered = proof.clone();
            tampered[0] = node_hash(first, first);
            prop_assert!(verify_inclusion(&leaves[index as usize], index, size, &tampered, &root).is_err());
        }
    }

    #[test]
    fn consistency_proofs_verify_between_any_two_sizes(n in 1u64..300, a in any::<u64>(), b in any::<u64>()) {
        let (tree, _) = build(n);
        let (x, y) = (a % (n + 1), b % (n + 1));
        let (m, k) = (x.min(y), x.max(y));
        let (r1, r2) = (tree.root_at(m).unwrap(), tree.root_at(k).unwrap());
        let proof = tree.consistency_proof(m, k).unwrap();
        if m == 0 {
            prop_assert!(proof.is_empty());
            prop_assert!(verify_consistency(m, k, &proof, &r1, &r2).is_err() || k == 0);
            return Ok(());
        }
        verify_consistency(m, k, &proof, &r1, &r2).unwrap();
        if m > 0 && m < k {
            let mut bad = r1;
            bad[31] ^= 0x80;
            prop_assert!(verify_consistency(m, k, &proof, &bad, &r2).is_err());
            prop_assert!(verify_consistency(m, k, &proof, &r1, &bad).is_err());
            prop_assert!(verify_consistency(m, k, &proof[..proof.len() - 1], &r1, &r2).is_err());
        }
    }
}

#[test]
fn out_of_range_requests_are_refused() {
    let (tree, _) = build(5);
    assert!(tree.root_at(6).is_err());
    assert!(tree.inclusion_proof(5, 5).is_err());
    assert!(tree.inclusion_proof(0, 6).is_err());
    assert!(tree.consistency_proof(4, 3).is_err());
    assert!(tree.consistency_proof(1, 6).is_err());
}
