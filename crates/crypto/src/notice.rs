//! Signed "started" notices: a remote enclave telling the aggregator that it
//! began work on a job round (progress only, but only the enclave may say so).

use serde::{Deserialize, Serialize};
use verity_core::{EnclaveId, JobId};

use crate::CryptoError;
use crate::keys::EnclaveKeys;
use crate::signing::verify;

/// Domain of started notices.
pub const STARTED_DOMAIN: &[u8] = b"verity/started-notice/v1";

/// "Enclave E started on round R of job J at T."
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StartedNotice {
    /// The job.
    pub job_id: JobId,
    /// The round.
    pub round: u32,
    /// The enclave.
    pub enclave_id: EnclaveId,
    /// When (Unix milliseconds).
    pub timestamp_ms: u64,
    /// Ed25519 signature by the enclave over the notice, hex.
    #[serde(with = "verity_core::report::hex_bytes")]
    pub signature: Vec<u8>,
}

impl StartedNotice {
    fn signing_bytes(&self) -> Vec<u8> {
        let body = (
            self.job_id.as_str(),
            self.round,
            self.enclave_id.as_str(),
            self.timestamp_ms,
        );
        let mut out = STARTED_DOMAIN.to_vec();
        out.push(0);
        out.extend(bcs::to_bytes(&body).expect("BCS encoding of plain tuples cannot fail"));
        out
    }

    /// Verifies the signature against the enclave's registered key.
    ///
    /// # Errors
    /// [`CryptoError`] when it does not verify.
    pub fn verify(&self, signing_key: &[u8]) -> Result<(), CryptoError> {
        verify(signing_key, &self.signing_bytes(), &self.signature)
    }
}

impl EnclaveKeys {
    /// A signed notice that `enclave_id` started on `job_id`/`round`.
    pub fn sign_started(
        &self,
        job_id: &JobId,
        round: u32,
        enclave_id: &EnclaveId,
        timestamp_ms: u64,
    ) -> StartedNotice {
        let mut notice = StartedNotice {
            job_id: job_id.clone(),
            round,
            enclave_id: enclave_id.clone(),
            timestamp_ms,
            signature: Vec::new(),
        };
        notice.signature = self.sign(&notice.signing_bytes()).to_vec();
        notice
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn notices_verify_and_bind_every_field() {
        let keys = EnclaveKeys::generate();
        let job = JobId::generate();
        let id: EnclaveId = "enclave-1".parse().unwrap();
        let notice = keys.sign_started(&job, 2, &id, 99);
        notice.verify(&keys.public().signing).unwrap();
        let mut other_round = notice.clone();
        other_round.round = 3;
        assert!(other_round.verify(&keys.public().signing).is_err());
        let mut other_enclave = notice.clone();
        other_enclave.enclave_id = "enclave-2".parse().unwrap();
        assert!(other_enclave.verify(&keys.public().signing).is_err());
        assert!(
            notice
                .verify(&EnclaveKeys::generate().public().signing)
                .is_err()
        );
        let json = serde_json::to_string(&notice).unwrap();
        assert_eq!(
            serde_json::from_str::<StartedNotice>(&json).unwrap(),
            notice
        );
    }
}
