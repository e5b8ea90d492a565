//! Signatures in the Sui Nautilus layout.
//!
//! A Nautilus enclave signs `bcs(IntentMessage { intent, timestamp_ms,
//! payload })` with its Ed25519 key, and the Move function
//! `enclave::verify_signature(enclave, intent_scope, timestamp_ms, payload,
//! signature)` rebuilds the same bytes on chain from a Move value of the
//! payload's type. So the payload's BCS must be exactly what Move's
//! `bcs::to_bytes` gives for the struct declared on chain: here
//! [`NautilusReport`], mirrored by `verity::report::VerityReport` in
//! `contracts/sui`.
//!
//! These signatures are an additional, chain-checkable form of an enclave's
//! report: the domain-separated signature of [`crate::signing`] stays the one
//! the aggregator counts.

use ed25519_dalek::{Signature, Signer, Verifier, VerifyingKey};
use serde::{Deserialize, Serialize};
use verity_core::{EnclaveReport, canonical};

use crate::CryptoError;
use crate::keys::EnclaveKeys;

/// Intent scope of Verity enclave reports (the first byte of the signed message).
pub const INTENT_VERITY_REPORT: u8 = 0;

/// Nautilus' `IntentMessage<T>`: what the enclave key signs, BCS-encoded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IntentMessage<T> {
    /// The intent scope.
    pub intent: u8,
    /// When it was signed (Unix milliseconds).
    pub timestamp_ms: u64,
    /// The payload, laid out as its Move struct.
    pub data: T,
}

/// The BCS bytes Nautilus signs for `payload`.
///
/// # Errors
/// [`CryptoError::Malformed`] when the payload cannot be BCS-encoded.
pub fn intent_message_bytes<T: Serialize>(
    intent: u8,
    timestamp_ms: u64,
    payload: &T,
) -> Result<Vec<u8>, CryptoError> {
    bcs::to_bytes(&IntentMessage {
        intent,
        timestamp_ms,
        data: payload,
    })
    .map_err(|_| CryptoError::Malformed("Nautilus payload"))
}

/// A Verity enclave report as the Move struct `verity::report::VerityReport`:
/// `{ job_id: String, round: u64, enclave_id: String, media_sha256:
/// vector<u8>, verdict: u8, confidence_bp: u64, report_digest: vector<u8> }`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NautilusReport {
    /// The job id.
    pub job_id: String,
    /// The round.
    pub round: u64,
    /// The signing enclave.
    pub enclave_id: String,
    /// SHA-256 of the media (32 bytes).
    pub media_sha256: Vec<u8>,
    /// The verdict code (`verity_core::canonical::verdict_code`).
    pub verdict: u8,
    /// Confidence in basis points.
    pub confidence_bp: u64,
    /// SHA-256 of the report's canonical bytes (its `reportDigest`).
    pub report_digest: Vec<u8>,
}

impl NautilusReport {
    /// The chain-checkable summary of `report`.
    pub fn of(report: &EnclaveReport) -> Self {
        NautilusReport {
            job_id: report.job_id.to_string(),
            round: u64::from(report.round),
            enclave_id: report.enclave_id.to_string(),
            media_sha256: report.media_sha256.0.to_vec(),
            verdict: canonical::verdict_code(report.verdict),
            confidence_bp: u64::from(report.confidence.basis_points()),
            report_digest: report.digest().0.to_vec(),
        }
    }
}

impl EnclaveKeys {
    /// Signs `payload` in the Nautilus layout.
    ///
    /// # Errors
    /// As [`intent_message_bytes`].
    pub fn sign_nautilus<T: Serialize>(
        &self,
        intent: u8,
        timestamp_ms: u64,
        payload: &T,
    ) -> Result<[u8; 64], CryptoError> {
        let bytes = intent_message_bytes(intent, timestamp_ms, payload)?;
        Ok(self.signing.sign(&bytes).to_bytes())
    }

    /// Signs `report`'s [`NautilusReport`] with [`INTENT_VERITY_REPORT`] at its own timestamp.
    pub fn sign_report_nautilus(&self, report: &EnclaveReport) -> [u8; 64] {
        self.sign_nautilus(
            INTENT_VERITY_REPORT,
            report.timestamp_ms,
            &NautilusReport::of(report),
        )
        .expect("a NautilusReport always encodes")
    }
}

/// Verifies a Nautilus-layout signature, as `enclave::verify_signature` does on chain.
///
/// # Errors
/// [`CryptoError::Malformed`] for a bad key or signature encoding,
/// [`CryptoError::BadSignature`] when it does not verify.
pub fn verify_nautilus<T: Serialize>(
    public_key: &[u8],
    intent: u8,
    timestamp_ms: u64,
    payload: &T,
    signature: &[u8],
) -> Result<(), CryptoError> {
    let key: [u8; 32] = public_key
        .try_into()
        .map_err(|_| CryptoError::Malformed("Ed25519 public key"))?;
    let key =
        VerifyingKey::from_bytes(&key).map_err(|_| CryptoError::Malformed("Ed25519 public key"))?;
    let signature: [u8; 64] = signature
        .try_into()
        .map_err(|_| CryptoError::Malformed("Ed25519 signature"))?;
    let bytes = intent_message_bytes(intent, timestamp_ms, payload)?;
    // Sui's ed25519_verify is the standard (non-strict) RFC 8032 check.
    key.verify(&bytes, &Signature::from_bytes(&signature))
        .map_err(|_| CryptoError::BadSignature)
}

#[cfg(test)]
mod tests {
    use super::*;
    use verity_core::*;

    /// The upstream Nautilus example payload (`weather-example`).
    #[derive(Serialize)]
    struct WeatherResponse {
        location: String,
        temperature: u64,
    }

    #[test]
    fn intent_message_bytes_match_the_upstream_vector() {
        let bytes = intent_message_bytes(
            0,
            1_744_038_900_000,
            &WeatherResponse {
                location: "San Francisco".into(),
                temperature: 13,
            },
        )
        .unwrap();
        assert_eq!(
            hex::encode(bytes),
            "0020b1d110960100000d53616e204672616e636973636f0d00000000000000"
        );
    }

    /// The same bytes as `contracts/sui/tests/anchor_tests.move`
    /// (`report_bytes_match_the_rust_encoding`).
    #[test]
    fn move_layout_is_pinned() {
        let payload = NautilusReport {
            job_id: "job_01jf0000000000000000000000".into(),
            round: 1,
            enclave_id: "enclave-1".into(),
            media_sha256: vec![0x11; 32],
            verdict: 2,
            confidence_bp: 9300,
            report_digest: vec![0x22; 32],
        };
        assert_eq!(
            hex::encode(
                intent_message_bytes(INTENT_VERITY_REPORT, 1_744_038_900_000, &payload).unwrap()
            ),
            "0020b1d110960100001e6a6f625f30316a6630303030303030303030303030303030303030303030\
             010000000000000009656e636c6176652d3120111111111111111111111111111111111111111111\
             1111111111111111111111025424000000000000202222222222222222222222222222222222222222\
             222222222222222222222222"
        );
    }

    #[test]
    fn report_signatures_verify_only_for_their_report_and_key() {
        let keys = EnclaveKeys::generate();
        let report = EnclaveReport {
            job_id: JobId::generate(),
            round: 1,
            enclave_id: "enclave-1".parse().unwrap(),
            media_sha256: Sha256Digest::of(b"m"),
            verdict: Verdict::AiGenerated,
            confidence: Confidence::from_f64(0.93),
            detectors: vec![],
            attestation: AttestationKind::DevInsecure,
            timestamp_ms: 1_744_038_900_000,
        };
        let sig = keys.sign_report_nautilus(&report);
        let payload = NautilusReport::of(&report);
        let pk = keys.public().signing;
        verify_nautilus(
            &pk,
            INTENT_VERITY_REPORT,
            report.timestamp_ms,
            &payload,
            &sig,
        )
        .unwrap();
        assert!(verify_nautilus(&pk, 1, report.timestamp_ms, &payload, &sig).is_err());
        assert!(verify_nautilus(&pk, 0, report.timestamp_ms + 1, &payload, &sig).is_err());
        let mut other = payload.clone();
        other.verdict = canonical::verdict_code(Verdict::Real);
        assert!(verify_nautilus(&pk, 0, report.timestamp_ms, &other, &sig).is_err());
        let stranger = EnclaveKeys::generate().public().signing;
        assert!(verify_nautilus(&stranger, 0, report.timestamp_ms, &payload, &sig).is_err());

        // The payload layout is pinned: strings and vectors are ULEB128-length-prefixed,
        // integers little-endian, fields in declaration order (as Move's bcs::to_bytes).
        let bytes = bcs::to_bytes(&payload).unwrap();
        let mut want = vec![report.job_id.as_str().len() as u8];
        want.extend_from_slice(report.job_id.as_str().as_bytes());
        want.extend_from_slice(&1u64.to_le_bytes());
        want.push(9);
        want.extend_from_slice(b"enclave-1");
        want.push(32);
        want.extend_from_slice(&report.media_sha256.0);
        want.push(canonical::verdict_code(Verdict::AiGenerated));
        want.extend_from_slice(&9300u64.to_le_bytes());
        want.push(32);
        want.extend_from_slice(&report.digest().0);
        assert_eq!(bytes, want);
    }
}
