//! [`MerkleTree`]: an append-only RFC 6962 tree held in memory.
//!
//! `levels[k][i]` is the hash of the complete subtree of `2^k` leaves
//! starting at leaf `i · 2^k`; appending a leaf adds at most one hash per
//! level. Any subtree hash `MTH(D[start..start+len])` that RFC 6962's
//! recursion asks for is then one cached hash plus one recursion on the
//! right-hand part, so a root of any prefix, an inclusion proof or a
//! consistency proof costs `O(log² n)` hash operations at most (and 32
//! bytes × 2n of memory).

use crate::TlogError;
use crate::hash::{EMPTY_ROOT, Hash, leaf_hash, node_hash, split_point};

/// An append-only Merkle tree (RFC 6962, SHA-256).
#[derive(Debug, Clone, Default)]
pub struct MerkleTree {
    levels: Vec<Vec<Hash>>,
}

impl MerkleTree {
    /// An empty tree.
    pub fn new() -> Self {
        MerkleTree::default()
    }

    /// A tree of the given leaf hashes, in order.
    pub fn from_leaf_hashes(hashes: impl IntoIterator<Item = Hash>) -> Self {
        let mut tree = MerkleTree::new();
        for h in hashes {
            tree.push_leaf_hash(h);
        }
        tree
    }

    /// Number of leaves.
    pub fn size(&self) -> u64 {
        self.levels.first().map_or(0, |l| l.len() as u64)
    }

    /// Appends a leaf by its data; returns its index.
    pub fn push(&mut self, data: &[u8]) -> u64 {
        self.push_leaf_hash(leaf_hash(data))
    }

    /// Appends a leaf by its leaf hash; returns its index.
    pub fn push_leaf_hash(&mut self, hash: Hash) -> u64 {
        if self.levels.is_empty() {
            self.levels.push(Vec::new());
        }
        let index = self.levels[0].len() as u64;
        self.levels[0].push(hash);
        let mut level = 0;
        while self.levels[level].len().is_multiple_of(2) {
            let n = self.levels[level].len();
            let parent = node_hash(&self.levels[level][n - 2], &self.levels[level][n - 1]);
            if self.levels.len() == level + 1 {
                self.levels.push(Vec::new());
            }
            self.levels[level + 1].push(parent);
            level += 1;
        }
        index
    }

    /// The leaf hash at `index`.
    pub fn leaf(&self, index: u64) -> Option<Hash> {
        self.levels
            .first()?
            .get(usize::try_from(index).ok()?)
            .copied()
    }

    /// The root of the whole tree.
    pub fn root(&self) -> Hash {
        self.root_at(self.size()).unwrap_or(EMPTY_ROOT)
    }

    /// The root of the tree's first `size` leaves.
    ///
    /// # Errors
    /// [`TlogError::OutOfRange`] when `size` exceeds the tree.
    pub fn root_at(&self, size: u64) -> Result<Hash, TlogError> {
        self.check_size(size)?;
        Ok(if size == 0 {
            EMPTY_ROOT
        } else {
            self.subtree(0, size)
        })
    }

    /// The inclusion proof of leaf `index` in the tree of the first `size`
    /// leaves (RFC 6962 §2.1.1 `PATH`), nearest sibling first.
    ///
    /// # Errors
    /// [`TlogError::OutOfRange`] unless `index < size ≤ self.size()`.
    pub fn inclusion_proof(&self, index: u64, size: u64) -> Result<Vec<Hash>, TlogError> {
        self.check_size(size)?;
        if index >= size {
            return Err(TlogError::OutOfRange(format!(
                "leaf {index} is not in a tree of size {size}"
            )));
        }
        let mut out = Vec::new();
        self.path(index, 0, size, &mut out);
        Ok(out)
    }

    /// The consistency proof between the trees of the first `size1` and the
    /// first `size2` leaves (RFC 6962 §2.1.2 `PROOF`); empty when
    /// `size1` is 0 or equals `size2`.
    ///
    /// # Errors
    /// [`TlogError::OutOfRange`] unless `size1 ≤ size2 ≤ self.size()`.
    pub fn consistency_proof(&self, size1: u64, size2: u64) -> Result<Vec<Hash>, TlogError> {
        self.check_size(size2)?;
        if size1 > size2 {
            return Err(TlogError::OutOfRange(format!(
                "size1 {size1} is larger than size2 {size2}"
            )));
        }
        let mut out = Vec::new();
        if size1 > 0 && size1 < size2 {
            self.subproof(size1, 0, size2, true, &mut out);
        }
        Ok(out)
    }

    fn check_size(&self, size: u64) -> Result<(), TlogError> {
        if size > self.size() {
            return Err(TlogError::OutOfRange(format!(
                "size {size} exceeds the tree's {}",
                self.size()
            )));
        }
        Ok(())
    }

    /// `MTH(D[start .. start + len])`, `len ≥ 1`, within the tree.
    fn subtree(&self, start: u64, len: u64) -> Hash {
        if len.is_power_of_two() && start.is_multiple_of(len) {
            let level = len.trailing_zeros() as usize;
            return self.levels[level][(start >> level) as usize];
        }
        let k = split_point(len);
        node_hash(&self.subtree(start, k), &self.subtree(start + k, len - k))
    }

    fn path(&self, m: u64, start: u64, n: u64, out: &mut Vec<Hash>) {
        if n <= 1 {
            return;
        }
        let k = split_point(n);
        if m < k {
            self.path(m, start, k, out);
            out.push(self.subtree(start + k, n - k));
        } else {
            self.path(m - k, start + k, n - k, out);
            out.push(self.subtree(start, k));
        }
    }

    fn subproof(&self, m: u64, start: u64, n: u64, whole: bool, out: &mut Vec<Hash>) {
        if m == n {
            if !whole {
                out.push(self.subtree(start, n));
            }
            return;
        }
        let k = split_point(n);
        if m <= k {
            self.subproof(m, start, k, whole, out);
            out.push(self.subtree(start + k, n - k));
        } else {
            self.subproof(m - k, start + k, n - k, false, out);
            out.push(self.subtree(start, k));
        }
    }
}
