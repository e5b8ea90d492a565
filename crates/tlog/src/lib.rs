//! A transparency log's building blocks, with no I/O.
//!
//! - [`hash`]: RFC 6962 hashing (SHA-256; leaf `0x00 || data`, node
//!   `0x01 || left || right`, the empty tree hashes to `SHA-256("")`).
//! - [`tree`]: [`MerkleTree`], an append-only in-memory tree that caches every
//!   complete subtree so roots of any prefix and inclusion and consistency
//!   proofs cost `O(log² n)` hashes at most.
//! - [`proof`]: verification of inclusion and consistency proofs (RFC 9162
//!   §2.1.3.2 and §2.1.4.2), the half a client needs.
//! - [`checkpoint`]: the C2SP `tlog-checkpoint` body (origin, size, root).
//! - [`note`]: C2SP `signed-note` with Ed25519 keys: signing, verifier keys,
//!   and `open`, which follows `golang.org/x/mod/sumdb/note` to the error.
//!
//! Every fallible function returns [`TlogError`].

pub mod checkpoint;
pub mod hash;
pub mod note;
pub mod proof;
pub mod tree;

pub use checkpoint::Checkpoint;
pub use hash::{EMPTY_ROOT, Hash, leaf_hash, node_hash};
pub use note::{NoteSigner, NoteVerifier, OpenedNote, sign_note};
pub use proof::{verify_consistency, verify_inclusion};
pub use tree::MerkleTree;

/// What can go wrong in this crate.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TlogError {
    /// An index or size is outside the tree, or sizes are in the wrong order.
    #[error("out of range: {0}")]
    OutOfRange(String),
    /// A proof does not lead to the expected root.
    #[error("proof does not verify: {0}")]
    BadProof(String),
    /// A checkpoint body could not be parsed.
    #[error("malformed checkpoint: {0}")]
    MalformedCheckpoint(String),
    /// A note is not in the signed-note format (Go: `malformed note`).
    #[error("malformed note")]
    MalformedNote,
    /// A verifier or signer key string is malformed.
    #[error("malformed key: {0}")]
    MalformedKey(String),
    /// A signature by a known key does not verify (Go: `invalid signature for key NAME+HASH`).
    #[error("invalid signature for key {name}+{key_id:08x}")]
    InvalidSignature {
        /// The key name.
        name: String,
        /// The key id.
        key_id: u32,
    },
    /// No signature in the note is by a known key (Go: `note has no verifiable signatures`).
    #[error("note has no verifiable signatures")]
    NoVerifiableSignatures,
}
