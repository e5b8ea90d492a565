//! Verity's cryptography, with no knowledge of HTTP or storage.
//!
//! - [`keys`]: an enclave's key pair ([`EnclaveKeys`]: Ed25519 for signing,
//!   X25519 for receiving data keys), the aggregator's [`AggregatorKey`], and
//!   key files written with mode 0600.
//! - [`signing`]: signing and verifying enclave reports and final reports over
//!   the canonical, domain-separated bytes defined in `verity-core`.
//! - [`envelope`]: media encryption with a fresh data key (XChaCha20-Poly1305)
//!   and sealing that key to each enclave with HPKE (RFC 9180, DHKEM(X25519,
//!   HKDF-SHA256), HKDF-SHA256, ChaCha20-Poly1305, base mode).
//! - [`attestation`]: attestation statements binding an enclave's keys; the
//!   `dev` kind is explicit and insecure.
//! - [`nautilus`]: signatures in the Sui Nautilus layout (Ed25519 over
//!   `bcs(IntentMessage { intent, timestamp_ms, payload })`), checkable on chain.
//! - [`nitro`]: AWS Nitro Enclaves attestation documents (COSE_Sign1, ES384,
//!   certificate chain to the pinned AWS root), verified fail-closed.
//! - [`notice`]: signed "started" notices from remote enclaves.
//!
//! Every fallible function returns [`CryptoError`].

pub mod attestation;
pub mod envelope;
pub mod keys;
pub mod nautilus;
pub mod nitro;
pub mod notice;
pub mod signing;

pub use attestation::{
    Attestation, DevAttestation, NONCE_BYTES, NitroAttestation, NitroCheck, VerifiedAttestation,
    fresh_nonce,
};
pub use envelope::{DataKey, SealedKey, decrypt_media, encrypt_media, seal_data_key};
pub use keys::{AggregatorKey, EnclaveKeys, PublicKeys};
pub use nitro::{NitroError, NitroRoot, PcrPolicy, PcrSet};
pub use notice::StartedNotice;
pub use signing::{verify_final_report, verify_report};

/// What can go wrong in this crate.
#[derive(Debug, thiserror::Error)]
pub enum CryptoError {
    /// A signature does not verify.
    #[error("signature does not verify")]
    BadSignature,
    /// A public key or signature has the wrong length or is not a valid point.
    #[error("malformed {0}")]
    Malformed(&'static str),
    /// Authenticated decryption failed: wrong key, wrong context or tampered data.
    #[error("decryption failed: wrong key or tampered data")]
    Decrypt,
    /// HPKE sealing failed.
    #[error("sealing the data key failed: {0}")]
    Seal(String),
    /// A key file could not be read or written.
    #[error("key file {path}: {source}")]
    KeyFile {
        /// The file.
        path: String,
        /// The I/O error.
        source: std::io::Error,
    },
    /// A key file is readable by others, or is not a Verity key file.
    #[error("key file {path}: {reason}")]
    BadKeyFile {
        /// The file.
        path: String,
        /// What is wrong.
        reason: String,
    },
    /// An attestation statement does not hold.
    #[error("attestation refused: {0}")]
    Attestation(String),
    /// A Nitro attestation document is refused.
    #[error("nitro attestation refused: {0}")]
    Nitro(#[from] NitroError),
}
