//! Verifying inclusion and consistency proofs (RFC 9162 §2.1.3.2, §2.1.4.2).
//!
//! Both refuse every malformed input instead of guessing: an index outside
//! the tree, sizes out of order, a proof with too many or too few hashes.

use crate::TlogError;
use crate::hash::{Hash, node_hash};

fn bad(why: impl Into<String>) -> TlogError {
    TlogError::BadProof(why.into())
}

/// The root an inclusion proof leads to from `leaf_hash` at `index` in a tree of `size`.
///
/// # Errors
/// [`TlogError::BadProof`] when the index is outside the tree or the proof has the wrong length.
pub fn root_from_inclusion_proof(
    leaf_hash: &Hash,
    index: u64,
    size: u64,
    proof: &[Hash],
) -> Result<Hash, TlogError> {
    if index >= size {
        return Err(bad(format!(
            "leaf index {index} is not below tree size {size}"
        )));
    }
    let mut fnode = index;
    let mut snode = size - 1;
    let mut r = *leaf_hash;
    for p in proof {
        if snode == 0 {
            return Err(bad("inclusion proof is too long"));
        }
        if fnode & 1 == 1 || fnode == snode {
            r = node_hash(p, &r);
            while fnode & 1 == 0 && fnode != 0 {
                fnode >>= 1;
                snode >>= 1;
            }
        } else {
            r = node_hash(&r, p);
        }
        fnode >>= 1;
        snode >>= 1;
    }
    if snode != 0 {
        return Err(bad("inclusion proof is too short"));
    }
    Ok(r)
}

/// Checks that `leaf_hash` is leaf `index` of the tree of `size` with root `root`.
///
/// # Errors
/// [`TlogError::BadProof`] naming why it does not hold.
pub fn verify_inclusion(
    leaf_hash: &Hash,
    index: u64,
    size: u64,
    proof: &[Hash],
    root: &Hash,
) -> Result<(), TlogError> {
    let computed = root_from_inclusion_proof(leaf_hash, index, size, proof)?;
    if &computed != root {
        return Err(bad("inclusion proof leads to a different root"));
    }
    Ok(())
}

/// Checks that the tree of `size2` with `root2` extends the tree of `size1` with `root1`.
/// `size1` must be at least 1 (every tree extends the empty tree).
///
/// # Errors
/// [`TlogError::BadProof`] naming why it does not hold.
pub fn verify_consistency(
    size1: u64,
    size2: u64,
    proof: &[Hash],
    root1: &Hash,
    root2: &Hash,
) -> Result<(), TlogError> {
    if size2 < size1 {
        return Err(bad(format!("size2 {size2} is smaller than size1 {size1}")));
    }
    if size1 == size2 {
        if !proof.is_empty() {
            return Err(bad("equal sizes need an empty proof"));
        }
        if root1 != root2 {
            return Err(bad("equal sizes but different roots"));
        }
        return Ok(());
    }
    if size1 == 0 {
        // Every tree extends the empty one, so such a "proof" shows nothing;
        // as transparency-dev/merkle's test data require, it is refused.
        return Err(bad("consistency with the empty tree proves nothing"));
    }
    if proof.is_empty() {
        return Err(bad("empty consistency proof"));
    }
    let mut path: Vec<Hash> = Vec::with_capacity(proof.len() + 1);
    if size1.is_power_of_two() {
        path.push(*root1);
    }
    path.extend_from_slice(proof);
    let mut fnode = size1 - 1;
    let mut snode = size2 - 1;
    while fnode & 1 == 1 {
        fnode >>= 1;
        snode >>= 1;
    }
    let mut fr = path[0];
    let mut sr = path[0];
    for c in &path[1..] {
        if snode == 0 {
            return Err(bad("consistency proof is too long"));
        }
        if fnode & 1 == 1 || fnode == snode {
            fr = node_hash(c, &fr);
            sr = node_hash(c, &sr);
            while fnode & 1 == 0 && fnode != 0 {
                fnode >>= 1;
                snode >>= 1;
            }
        } else {
            sr = node_hash(&sr, c);
        }
        fnode >>= 1;
        snode >>= 1;
    }
    if snode != 0 {
        return Err(bad("consistency proof is too short"));
    }
    if &fr != root1 {
        return Err(bad("consistency proof does not lead to the first root"));
    }
    if &sr != root2 {
        return Err(bad("consistency proof does not lead to the second root"));
    }
    Ok(())
}
