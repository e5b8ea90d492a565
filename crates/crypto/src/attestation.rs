//! Attestation statements that bind an enclave's keys.
//!
//! The `dev` kind is a statement signed by the enclave's own Ed25519 key over
//! its id and both public keys. It proves possession of the signing key and
//! binds the X25519 key to it, and nothing else: not what code runs, not
//! where. Reports relying on it say `attestation: "dev-insecure"`.

use serde::{Deserialize, Serialize};
use verity_core::{AttestationKind, EnclaveId};

use crate::CryptoError;
use crate::keys::{EnclaveKeys, PublicKeys};
use crate::signing::verify;

/// Domain of dev attestation statements.
pub const DEV_ATTESTATION_DOMAIN: &[u8] = b"verity/dev-attestation/v1";

/// A self-signed development attestation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DevAttestation {
    /// The enclave's identity.
    pub enclave_id: EnclaveId,
    /// Its Ed25519 public key, hex.
    #[serde(with = "verity_core::report::hex_bytes")]
    pub signing_key: Vec<u8>,
    /// Its X25519 public key, hex.
    #[serde(with = "verity_core::report::hex_bytes")]
    pub encryption_key: Vec<u8>,
    /// When it was made (Unix milliseconds).
    pub issued_at_ms: u64,
    /// Ed25519 signature by `signing_key` over the statement, hex.
    #[serde(with = "verity_core::report::hex_bytes")]
    pub signature: Vec<u8>,
}

/// An attestation of either kind.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Attestation {
    /// Development mode: self-signed, insecure.
    #[serde(rename = "dev-insecure")]
    Dev(DevAttestation),
}

impl Attestation {
    /// The kind, as reports show it.
    pub fn kind(&self) -> AttestationKind {
        match self {
            Attestation::Dev(_) => AttestationKind::DevInsecure,
        }
    }

    /// Verifies the statement and returns the keys it binds.
    ///
    /// # Errors
    /// [`CryptoError::Attestation`] when the statement does not hold.
    pub fn verify(&self, enclave_id: &EnclaveId) -> Result<PublicKeys, CryptoError> {
        match self {
            Attestation::Dev(dev) => dev.verify(enclave_id),
        }
    }
}

impl DevAttestation {
    /// A statement for `keys` as enclave `enclave_id`.
    pub fn issue(enclave_id: &EnclaveId, keys: &EnclaveKeys, issued_at_ms: u64) -> Self {
        let public = keys.public();
        let mut statement = DevAttestation {
            enclave_id: enclave_id.clone(),
            signing_key: public.signing.to_vec(),
            encryption_key: public.encryption.to_vec(),
            issued_at_ms,
            signature: Vec::new(),
        };
        statement.signature = keys.sign(&statement.statement_bytes()).to_vec();
        statement
    }

    fn statement_bytes(&self) -> Vec<u8> {
        let body = (
            self.enclave_id.as_str(),
            &self.signing_key,
            &self.encryption_key,
            self.issued_at_ms,
        );
        let mut out = DEV_ATTESTATION_DOMAIN.to_vec();
        out.push(0);
        out.extend(bcs::to_bytes(&body).expect("BCS encoding of plain tuples cannot fail"));
        out
    }

    /// Checks the self-signature and that it names `enclave_id`.
    ///
    /// # Errors
    /// [`CryptoError::Attestation`] naming what failed.
    pub fn verify(&self, enclave_id: &EnclaveId) -> Result<PublicKeys, CryptoError> {
        if &self.enclave_id != enclave_id {
            return Err(CryptoError::Attestation(format!(
                "statement is for {}, not {enclave_id}",
                self.enclave_id
            )));
        }
        let signing: [u8; 32] = self
            .signing_key
            .as_slice()
            .try_into()
            .map_err(|_| CryptoError::Attestation("signing key is not 32 bytes".into()))?;
        let encryption: [u8; 32] = self
            .encryption_key
            .as_slice()
            .try_into()
            .map_err(|_| CryptoError::Attestation("encryption key is not 32 bytes".into()))?;
        verify(&signing, &self.statement_bytes(), &self.signature)
            .map_err(|_| CryptoError::Attestation("self-signature does not verify".into()))?;
        Ok(PublicKeys {
            signing,
            encryption,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dev_attestation_binds_both_keys() {
        let keys = EnclaveKeys::generate();
        let id: EnclaveId = "enclave-1".parse().unwrap();
        let att = Attestation::Dev(DevAttestation::issue(&id, &keys, 42));
        assert_eq!(att.verify(&id).unwrap(), keys.public());
        assert_eq!(att.kind(), AttestationKind::DevInsecure);

        let Attestation::Dev(mut swapped) = att.clone();
        swapped.encryption_key = EnclaveKeys::generate().public().encryption.to_vec();
        assert!(
            swapped.verify(&id).is_err(),
            "a swapped X25519 key must break the statement"
        );
        assert!(att.verify(&"enclave-2".parse().unwrap()).is_err());

        let json = serde_json::to_string(&att).unwrap();
        assert!(json.contains("\"kind\":\"dev-insecure\""));
        assert_eq!(serde_json::from_str::<Attestation>(&json).unwrap(), att);
    }
}
