//! Report signatures.
//!
//! Enclave reports and final reports are signed with Ed25519 over the
//! canonical bytes of `verity_core::canonical`, which start with a
//! domain-separation prefix. Verification uses `verify_strict` (no
//! malleable or small-order edge cases).

use ed25519_dalek::{Signature, VerifyingKey};
use verity_core::{EnclaveReport, FinalReport, Sha256Digest, SignedReport};

use crate::CryptoError;
use crate::keys::{AggregatorKey, EnclaveKeys};

impl EnclaveKeys {
    /// Signs `report` with this enclave's Ed25519 key, in Verity's canonical
    /// layout and in the Nautilus layout (checkable on Sui).
    pub fn sign_report(&self, report: EnclaveReport) -> SignedReport {
        let signature = self.sign(&report.signing_bytes()).to_vec();
        let nautilus_signature = Some(self.sign_report_nautilus(&report).to_vec());
        SignedReport {
            report,
            signature,
            nautilus_signature,
        }
    }
}

impl AggregatorKey {
    /// Fills in `aggregator_key`, `report_digest` and `aggregator_signature`.
    pub fn sign_final(&self, report: &mut FinalReport) {
        report.aggregator_key = self.public().to_vec();
        let bytes = report.signing_bytes();
        report.report_digest = Sha256Digest::of(&bytes);
        report.aggregator_signature = self.sign(&bytes).to_vec();
    }
}

/// Verifies an enclave report against the enclave's registered Ed25519 key.
///
/// # Errors
/// [`CryptoError::Malformed`] for a bad key or signature encoding,
/// [`CryptoError::BadSignature`] when it does not verify.
pub fn verify_report(signing_key: &[u8], signed: &SignedReport) -> Result<(), CryptoError> {
    verify(
        signing_key,
        &signed.report.signing_bytes(),
        &signed.signature,
    )?;
    // Optional, but when present it must be right: a chain would trust it.
    if let Some(nautilus) = &signed.nautilus_signature {
        crate::nautilus::verify_nautilus(
            signing_key,
            crate::nautilus::INTENT_VERITY_REPORT,
            signed.report.timestamp_ms,
            &crate::nautilus::NautilusReport::of(&signed.report),
            nautilus,
        )?;
    }
    Ok(())
}

/// Verifies a final report's digest and signature, against `expected_key` when given
/// (otherwise against the key the report names).
///
/// # Errors
/// [`CryptoError::BadSignature`] when the digest, the key or the signature do not match.
pub fn verify_final_report(
    report: &FinalReport,
    expected_key: Option<&[u8]>,
) -> Result<(), CryptoError> {
    if expected_key.is_some_and(|key| key != report.aggregator_key.as_slice()) {
        return Err(CryptoError::BadSignature);
    }
    let bytes = report.signing_bytes();
    if Sha256Digest::of(&bytes) != report.report_digest {
        return Err(CryptoError::BadSignature);
    }
    verify(&report.aggregator_key, &bytes, &report.aggregator_signature)
}

pub(crate) fn verify(key: &[u8], message: &[u8], signature: &[u8]) -> Result<(), CryptoError> {
    let key: [u8; 32] = key
        .try_into()
        .map_err(|_| CryptoError::Malformed("Ed25519 public key"))?;
    let key =
        VerifyingKey::from_bytes(&key).map_err(|_| CryptoError::Malformed("Ed25519 public key"))?;
    let signature: [u8; 64] = signature
        .try_into()
        .map_err(|_| CryptoError::Malformed("Ed25519 signature"))?;
    key.verify_strict(message, &Signature::from_bytes(&signature))
        .map_err(|_| CryptoError::BadSignature)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;
    use verity_core::*;

    fn report(job: &JobId) -> EnclaveReport {
        EnclaveReport {
            job_id: job.clone(),
            round: 0,
            enclave_id: "enclave-1".parse().unwrap(),
            media_sha256: Sha256Digest::of(b"media"),
            verdict: Verdict::Real,
            confidence: Confidence::from_f64(0.7),
            detectors: vec![],
            attestation: AttestationKind::DevInsecure,
            timestamp_ms: 1,
        }
    }

    #[test]
    fn signed_report_verifies_only_unchanged_and_with_its_key() {
        let keys = EnclaveKeys::generate();
        let signed = keys.sign_report(report(&JobId::generate()));
        let pk = keys.public().signing;
        verify_report(&pk, &signed).unwrap();

        let mut tampered = signed.clone();
        tampered.report.verdict = Verdict::AiGenerated;
        assert!(matches!(
            verify_report(&pk, &tampered),
            Err(CryptoError::BadSignature)
        ));

        let mut bad_sig = signed.clone();
        bad_sig.signature[10] ^= 1;
        assert!(matches!(
            verify_report(&pk, &bad_sig),
            Err(CryptoError::BadSignature)
        ));

        let other = EnclaveKeys::generate().public().signing;
        assert!(matches!(
            verify_report(&other, &signed),
            Err(CryptoError::BadSignature)
        ));
        assert!(matches!(
            verify_report(&pk[..31], &signed),
            Err(CryptoError::Malformed(_))
        ));
    }

    #[test]
    fn nautilus_signature_is_attached_checked_and_optional() {
        let keys = EnclaveKeys::generate();
        let signed = keys.sign_report(report(&JobId::generate()));
        let pk = keys.public().signing;
        let nautilus = signed.nautilus_signature.clone().expect("attached");
        assert_eq!(nautilus, keys.sign_report_nautilus(&signed.report).to_vec());
        crate::nautilus::verify_nautilus(
            &pk,
            crate::nautilus::INTENT_VERITY_REPORT,
            signed.report.timestamp_ms,
            &crate::nautilus::NautilusReport::of(&signed.report),
            &nautilus,
        )
        .unwrap();

        let mut bad = signed.clone();
        bad.nautilus_signature.as_mut().unwrap()[3] ^= 1;
        assert!(matches!(
            verify_report(&pk, &bad),
            Err(CryptoError::BadSignature)
        ));
        let mut absent = signed.clone();
        absent.nautilus_signature = None;
        verify_report(&pk, &absent).unwrap();
        let json = serde_json::to_value(&absent).unwrap();
        assert!(json.get("nautilusSignature").is_none());
        let round_trip: SignedReport =
            serde_json::from_value(serde_json::to_value(&signed).unwrap()).unwrap();
        assert_eq!(round_trip, signed);
    }

    #[test]
    fn report_for_job_a_does_not_verify_for_job_b() {
        let keys = EnclaveKeys::generate();
        let signed_for_a = keys.sign_report(report(&JobId::generate()));
        let mut claimed_for_b = signed_for_a.clone();
        claimed_for_b.report.job_id = JobId::generate();
        assert!(matches!(
            verify_report(&keys.public().signing, &claimed_for_b),
            Err(CryptoError::BadSignature)
        ));
    }

    fn final_report(agreement_rate: f64, weight: f64) -> FinalReport {
        FinalReport {
            job_id: JobId::generate(),
            round: 0,
            verdict: Verdict::Real,
            confidence: Confidence::from_f64(0.6),
            consensus_metadata: ConsensusMetadata {
                agreement_rate,
                participating_enclaves: 1,
                consensus_timestamp: 5,
                threshold: 0.66,
                threshold_met: true,
                min_enclaves: 1,
                tie: false,
                votes: vec![Vote {
                    enclave_id: "e".parse().unwrap(),
                    verdict: Verdict::Real,
                    confidence: Confidence::from_f64(0.6),
                    reputation: 0.8,
                    stake: 1000,
                    weight,
                    report_digest: Sha256Digest::of(b"r"),
                    attestation: AttestationKind::DevInsecure,
                }],
            },
            models: BTreeMap::new(),
            evidence: vec![],
            media_sha256: Sha256Digest::of(b"m"),
            committee: None,
            report_digest: Sha256Digest::of(b""),
            aggregator_signature: vec![],
            aggregator_key: vec![],
        }
    }

    #[test]
    fn final_report_signature_covers_every_vote() {
        let agg = AggregatorKey::generate();
        let mut fr = final_report(1.0, 2.5);
        agg.sign_final(&mut fr);
        verify_final_report(&fr, Some(&agg.public())).unwrap();
        let mut tampered = fr.clone();
        tampered.consensus_metadata.votes[0].weight = 9.0;
        assert!(verify_final_report(&tampered, None).is_err());
        let other = AggregatorKey::generate().public();
        assert!(verify_final_report(&fr, Some(&other)).is_err());
    }

    /// Signed floats are covered by their bit pattern, so JSON must give back
    /// the very same bits. These two came from the `report` and `receipt`
    /// fuzz targets: serde_json's default (fast) float parser reads their
    /// shortest representation one ULP off; `float_roundtrip` reads it exactly.
    #[test]
    fn final_report_verifies_after_json_for_floats_the_fast_parser_misreads() {
        let agg = AggregatorKey::generate();
        let rate: f64 = "1.6309432253554519".parse().unwrap();
        let weight: f64 = "2.6666666666666665e44".parse().unwrap();
        let mut fr = final_report(rate, weight);
        agg.sign_final(&mut fr);
        let back: FinalReport = serde_json::from_str(&serde_json::to_string(&fr).unwrap()).unwrap();
        assert_eq!(
            back.consensus_metadata.agreement_rate.to_bits(),
            rate.to_bits()
        );
        assert_eq!(
            back.consensus_metadata.votes[0].weight.to_bits(),
            weight.to_bits()
        );
        verify_final_report(&back, Some(&agg.public())).unwrap();
    }
}
