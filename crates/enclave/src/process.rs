//! Processing one verification task, without I/O.

use verity_core::{
    AttestationKind, EnclaveId, EnclaveReport, Sha256Digest, SignedReport, TaskEvidence,
    VerificationTask,
};
use verity_crypto::{EnclaveKeys, SealedKey, decrypt_media};
use verity_detect::{Ensemble, Media, MediaFormat};

/// Who this enclave is: its id, keys and attestation kind.
pub struct EnclaveIdentity {
    /// Its id.
    pub id: EnclaveId,
    /// Its secret keys.
    pub keys: EnclaveKeys,
    /// How its keys are attested (stated in every report).
    pub attestation: AttestationKind,
}

/// Why a task could not be turned into a report.
#[derive(Debug, thiserror::Error)]
pub enum TaskError {
    /// The task message is not a `VerificationTask`, or is for someone else.
    #[error("bad task message: {0}")]
    BadTask(String),
    /// The data key could not be opened (sealed to another key, or tampered).
    #[error("cannot open the sealed data key: {0}")]
    SealedKey(verity_crypto::CryptoError),
    /// The blob does not decrypt under the data key (tampered or wrong blob).
    #[error("cannot decrypt the media: {0}")]
    Decrypt(verity_crypto::CryptoError),
    /// The plaintext is not the media the job names.
    #[error("decrypted media has SHA-256 {found}, the job names {expected}")]
    DigestMismatch {
        /// What the job says.
        expected: Sha256Digest,
        /// What was decrypted.
        found: Sha256Digest,
    },
    /// The MIME type is not one Verity accepts.
    #[error("unsupported media type {0}")]
    UnsupportedType(String),
}

/// Decrypts, verifies and analyses the task's media, and signs the report.
///
/// # Errors
/// Any [`TaskError`]; none of them is worth retrying on the same inputs.
pub fn process_task(
    identity: &EnclaveIdentity,
    ensemble: &Ensemble,
    task: &VerificationTask,
    blob: &[u8],
    now_ms: u64,
) -> Result<SignedReport, TaskError> {
    process_task_with(identity, ensemble, task, blob, None, now_ms)
}

/// Decrypts a re-verification round's evidence with this enclave's sealed
/// key and checks its digest; `None` (with the reason) when the task carries
/// no evidence for this enclave or it cannot be opened.
///
/// # Errors
/// Why the evidence is unusable, as text (the round goes on without it).
pub fn open_evidence(
    identity: &EnclaveIdentity,
    evidence: &TaskEvidence,
    blob: &[u8],
) -> Result<Vec<u8>, String> {
    let (Some(sha), Some(sealed)) = (evidence.sha256, evidence.sealed_key.as_ref()) else {
        return Err(format!("evidence {} did not resolve", evidence.evidence_id));
    };
    let key = identity
        .keys
        .open_data_key(
            &SealedKey {
                enc: sealed.enc.clone(),
                ciphertext: sealed.ciphertext.clone(),
            },
            &sha.0,
        )
        .map_err(|e| format!("evidence key: {e}"))?;
    let plain = decrypt_media(blob, &key, &sha.0).map_err(|e| format!("evidence: {e}"))?;
    if Sha256Digest::of(&plain) != sha {
        return Err("evidence digest mismatch".into());
    }
    Ok(plain)
}

/// [`process_task`] with decrypted dispute `evidence` given to the detectors.
///
/// # Errors
/// Any [`TaskError`]; none of them is worth retrying on the same inputs.
pub fn process_task_with(
    identity: &EnclaveIdentity,
    ensemble: &Ensemble,
    task: &VerificationTask,
    blob: &[u8],
    evidence: Option<&[u8]>,
    now_ms: u64,
) -> Result<SignedReport, TaskError> {
    if task.enclave_id != identity.id {
        return Err(TaskError::BadTask(format!(
            "task is for {}, this enclave is {}",
            task.enclave_id, identity.id
        )));
    }
    let aad = task.media_sha256.0;
    let sealed = SealedKey {
        enc: task.sealed_key.enc.clone(),
        ciphertext: task.sealed_key.ciphertext.clone(),
    };
    let key = identity
        .keys
        .open_data_key(&sealed, &aad)
        .map_err(TaskError::SealedKey)?;
    let media = decrypt_media(blob, &key, &aad).map_err(TaskError::Decrypt)?;
    let found = Sha256Digest::of(&media);
    if found != task.media_sha256 {
        return Err(TaskError::DigestMismatch {
            expected: task.media_sha256,
            found,
        });
    }
    let format = MediaFormat::from_mime(&task.mime)
        .ok_or_else(|| TaskError::UnsupportedType(task.mime.clone()))?;
    let mut subject = Media::new(&media, format);
    if let Some(evidence) = evidence {
        subject = subject.with_evidence(evidence);
    }
    let outcome = ensemble.run(&subject);
    let report = EnclaveReport {
        job_id: task.job_id.clone(),
        round: task.round,
        enclave_id: identity.id.clone(),
        media_sha256: task.media_sha256,
        verdict: outcome.verdict,
        confidence: outcome.confidence,
        detectors: outcome.results,
        attestation: identity.attestation,
        timestamp_ms: now_ms,
    };
    Ok(identity.keys.sign_report(report))
}

#[cfg(test)]
mod tests {
    use super::*;
    use verity_core::{JobId, SealedKeyWire, Verdict};
    use verity_crypto::{encrypt_media, seal_data_key, verify_report};
    use verity_detect::EnsemblePolicy;

    fn png() -> Vec<u8> {
        let img = image::RgbImage::from_pixel(8, 8, image::Rgb([1, 2, 3]));
        let mut out = std::io::Cursor::new(Vec::new());
        img.write_to(&mut out, image::ImageFormat::Png).unwrap();
        out.into_inner()
    }

    fn setup() -> (EnclaveIdentity, VerificationTask, Vec<u8>) {
        let identity = EnclaveIdentity {
            id: "enclave-1".parse().unwrap(),
            keys: EnclaveKeys::generate(),
            attestation: AttestationKind::DevInsecure,
        };
        let media = png();
        let digest = Sha256Digest::of(&media);
        let (blob, key) = encrypt_media(&media, &digest.0);
        let sealed = seal_data_key(&key, &identity.keys.public().encryption, &digest.0).unwrap();
        let task = VerificationTask {
            job_id: JobId::generate(),
            round: 0,
            enclave_id: identity.id.clone(),
            blob_id: "b".into(),
            media_sha256: digest,
            mime: "image/png".into(),
            sealed_key: SealedKeyWire {
                enc: sealed.enc,
                ciphertext: sealed.ciphertext,
            },
            evidence: None,
            deadline_ms: 0,
        };
        (identity, task, blob)
    }

    #[test]
    fn signs_a_report_that_verifies() {
        let (identity, task, blob) = setup();
        let ensemble = Ensemble::new(vec![], EnsemblePolicy::default());
        let signed = process_task(&identity, &ensemble, &task, &blob, 7).unwrap();
        verify_report(&identity.keys.public().signing, &signed).unwrap();
        assert_eq!(
            signed.report.verdict,
            Verdict::Uncertain,
            "no signal means UNCERTAIN"
        );
        assert_eq!(signed.report.job_id, task.job_id);
    }

    #[test]
    fn refuses_wrong_enclave_tampering_and_digest_mismatch() {
        let (identity, task, blob) = setup();
        let ensemble = Ensemble::new(vec![], EnsemblePolicy::default());
        let mut other = task.clone();
        other.enclave_id = "enclave-2".parse().unwrap();
        assert!(matches!(
            process_task(&identity, &ensemble, &other, &blob, 0),
            Err(TaskError::BadTask(_))
        ));
        let mut bad_blob = blob.clone();
        let last = bad_blob.len() - 1;
        bad_blob[last] ^= 1;
        assert!(matches!(
            process_task(&identity, &ensemble, &task, &bad_blob, 0),
            Err(TaskError::Decrypt(_))
        ));
        let mut wrong_digest = task.clone();
        wrong_digest.media_sha256 = Sha256Digest::of(b"another image");
        assert!(matches!(
            process_task(&identity, &ensemble, &wrong_digest, &blob, 0),
            Err(TaskError::SealedKey(_))
        ));
    }
}
