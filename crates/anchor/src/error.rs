//! Errors of anchoring.

/// Why a checkpoint could not be anchored.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AnchorError {
    /// The signing key is missing, unreadable or malformed.
    #[error("Sui key: {0}")]
    Key(String),
    /// A setting is invalid (object ids, URLs…).
    #[error("Sui anchoring setting: {0}")]
    Config(String),
    /// The node could not be reached or answered with a server error
    /// (worth retrying with the same transaction).
    #[error("Sui node unreachable: {0}")]
    Transport(String),
    /// The node refused the request (stale object versions, bad signature…;
    /// worth rebuilding the transaction).
    #[error("Sui node refused the request: {0}")]
    Rejected(String),
    /// The node's answer is not what the protocol says.
    #[error("unexpected answer from the Sui node: {0}")]
    Protocol(String),
    /// The transaction could not be built or signed.
    #[error("building the anchor transaction: {0}")]
    Build(String),
    /// The transaction executed and failed on chain (for example the
    /// checkpoint's size is not larger than the latest anchored one).
    #[error("anchor transaction {digest} failed on chain: {message}")]
    Failed {
        /// The failed transaction's digest.
        digest: String,
        /// The chain's error message.
        message: String,
    },
    /// Every attempt failed; the last error is kept.
    #[error("gave up after {attempts} attempts: {last}")]
    Exhausted {
        /// Attempts made.
        attempts: u32,
        /// The last attempt's error.
        last: Box<AnchorError>,
    },
}
