//! Attestation statements that bind an enclave's keys.
//!
//! The `dev` kind is a statement signed by the enclave's own Ed25519 key over
//! its id and both public keys. It proves possession of the signing key and
//! binds the X25519 key to it, and nothing else: not what code runs, not
//! where. Reports relying on it say `attestation: "dev-insecure"`.
//!
//! The `nitro` kind carries an AWS Nitro Enclaves attestation document whose
//! `user_data` (or `public_key`) is the [`key_binding`] of the enclave's id
//! and both keys; [`Attestation::verify_with`] checks it with
//! [`crate::nitro::verify_document`] against a [`NitroCheck`].

use serde::{Deserialize, Serialize};
use verity_core::{AttestationKind, EnclaveId};

use crate::CryptoError;
use crate::keys::{EnclaveKeys, PublicKeys};
use crate::nitro::{
    NitroExpectations, NitroRoot, PcrPolicy, VerifiedNitro, decode_unverified, key_binding,
    verify_archived, verify_document,
};
use crate::signing::verify;

/// Domain of dev attestation statements.
pub const DEV_ATTESTATION_DOMAIN: &[u8] = b"verity/dev-attestation/v1";

/// Length of an aggregator's attestation challenge ([`fresh_nonce`]).
pub const NONCE_BYTES: usize = 32;

/// A fresh random challenge from the operating system's CSPRNG: unguessable,
/// so only the one who was handed it can answer it.
pub fn fresh_nonce() -> [u8; NONCE_BYTES] {
    let mut nonce = [0u8; NONCE_BYTES];
    rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut nonce);
    nonce
}

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
    /// The aggregator's challenge (`POST /api/enclaves/nonce`) the statement
    /// answers, hex; signed with the rest when present.
    #[serde(default, skip_serializing_if = "Option::is_none", with = "opt_hex")]
    pub nonce: Option<Vec<u8>>,
}

/// Hex for optional byte strings.
mod opt_hex {
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(bytes: &Option<Vec<u8>>, s: S) -> Result<S::Ok, S::Error> {
        match bytes {
            Some(b) => s.serialize_str(&hex::encode(b)),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Vec<u8>>, D::Error> {
        Option::<String>::deserialize(d)?
            .map(|t| hex::decode(t).map_err(serde::de::Error::custom))
            .transpose()
    }
}

/// An attestation of either kind.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Attestation {
    /// Development mode: self-signed, insecure.
    #[serde(rename = "dev-insecure", alias = "dev")]
    Dev(DevAttestation),
    /// An AWS Nitro Enclaves attestation document binding the keys.
    #[serde(rename = "nitro")]
    Nitro(NitroAttestation),
}

/// A Nitro attestation as registered: the claimed keys and the document that binds them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NitroAttestation {
    /// The enclave's Ed25519 public key, hex.
    #[serde(with = "verity_core::report::hex_bytes")]
    pub signing_key: Vec<u8>,
    /// Its X25519 public key, hex.
    #[serde(with = "verity_core::report::hex_bytes")]
    pub encryption_key: Vec<u8>,
    /// The COSE_Sign1 attestation document from the Nitro Secure Module, hex.
    #[serde(with = "verity_core::report::hex_bytes")]
    pub document: Vec<u8>,
}

/// What Nitro documents are checked against (dev statements ignore it).
#[derive(Debug, Clone, Copy)]
pub struct NitroCheck<'a> {
    /// The trust anchor (normally [`NitroRoot::aws`]).
    pub root: &'a NitroRoot,
    /// Accepted measurements.
    pub pcrs: &'a PcrPolicy,
    /// The verifier's clock (Unix ms).
    pub now_ms: u64,
    /// Freshness window (ms); `None` for offline checks of archived documents.
    pub max_age_ms: Option<u64>,
    /// The nonce that was requested, if any.
    pub nonce: Option<&'a [u8]>,
}

/// What a verified attestation establishes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedAttestation {
    /// The keys it binds.
    pub keys: PublicKeys,
    /// Its kind.
    pub kind: AttestationKind,
    /// The verified Nitro document, for `nitro`.
    pub nitro: Option<VerifiedNitro>,
    /// The (signed) nonce it answers, if any.
    pub nonce: Option<Vec<u8>>,
}

impl Attestation {
    /// The kind, as reports show it.
    pub fn kind(&self) -> AttestationKind {
        match self {
            Attestation::Dev(_) => AttestationKind::DevInsecure,
            Attestation::Nitro(_) => AttestationKind::Nitro,
        }
    }

    /// Verifies a `dev` statement and returns the keys it binds; a `nitro`
    /// document needs [`Self::verify_with`].
    ///
    /// # Errors
    /// [`CryptoError::Attestation`] when the statement does not hold or is `nitro`.
    pub fn verify(&self, enclave_id: &EnclaveId) -> Result<PublicKeys, CryptoError> {
        match self {
            Attestation::Dev(dev) => dev.verify(enclave_id),
            Attestation::Nitro(_) => Err(CryptoError::Attestation(
                "a nitro document is verified against a PCR policy (verify_with)".into(),
            )),
        }
    }

    /// Verifies either kind; Nitro documents against `check`.
    ///
    /// # Errors
    /// [`CryptoError::Attestation`] for dev statements and malformed keys,
    /// [`CryptoError::Nitro`] with the specific reason for Nitro documents.
    pub fn verify_with(
        &self,
        enclave_id: &EnclaveId,
        check: &NitroCheck<'_>,
    ) -> Result<VerifiedAttestation, CryptoError> {
        match self {
            Attestation::Dev(dev) => dev.verified(enclave_id),
            Attestation::Nitro(n) => n.verify(enclave_id, check),
        }
    }

    /// Verifies either kind offline (receipts, `verity verify`) with the same
    /// checks as registration: a Nitro document against `root` as of its own
    /// timestamp, with no freshness window (archived documents are old by
    /// nature) and no nonce (it was spent at registration); its PCRs against
    /// `pcrs` when given, otherwise reported in the result, not judged.
    ///
    /// # Errors
    /// As [`Self::verify_with`].
    pub fn verify_offline(
        &self,
        enclave_id: &EnclaveId,
        root: &NitroRoot,
        pcrs: Option<&PcrPolicy>,
    ) -> Result<VerifiedAttestation, CryptoError> {
        match (self, pcrs) {
            (Attestation::Dev(dev), _) => dev.verified(enclave_id),
            (Attestation::Nitro(n), Some(pcrs)) => n.verify(
                enclave_id,
                &NitroCheck {
                    root,
                    pcrs,
                    now_ms: 0,
                    max_age_ms: None,
                    nonce: None,
                },
            ),
            (Attestation::Nitro(n), None) => n.verify_archived(enclave_id, root),
        }
    }

    /// The nonce the attestation claims to answer, read before verifying it
    /// (so a replayed or unknown challenge is refused cheaply); what counts
    /// is [`VerifiedAttestation::nonce`].
    ///
    /// # Errors
    /// [`CryptoError::Nitro`] when a Nitro document does not even parse.
    pub fn claimed_nonce(&self) -> Result<Option<Vec<u8>>, CryptoError> {
        match self {
            Attestation::Dev(dev) => Ok(dev.nonce.clone()),
            Attestation::Nitro(n) => Ok(decode_unverified(&n.document)?.nonce),
        }
    }
}

impl NitroAttestation {
    /// Checks the document and that it binds `enclave_id` and the claimed keys.
    ///
    /// # Errors
    /// [`CryptoError::Attestation`] for malformed keys, [`CryptoError::Nitro`] otherwise.
    pub fn verify(
        &self,
        enclave_id: &EnclaveId,
        check: &NitroCheck<'_>,
    ) -> Result<VerifiedAttestation, CryptoError> {
        let keys = public_keys(&self.signing_key, &self.encryption_key)?;
        let binding = key_binding(enclave_id.as_str(), &keys.signing, &keys.encryption);
        let verified = verify_document(
            &self.document,
            &NitroExpectations {
                root: check.root,
                pcrs: check.pcrs,
                now_ms: check.now_ms,
                max_age_ms: check.max_age_ms,
                chain_time_ms: None,
                nonce: check.nonce,
                key_binding: Some(&binding),
            },
        )?;
        Ok(VerifiedAttestation {
            keys,
            kind: AttestationKind::Nitro,
            nonce: verified.document.nonce.clone(),
            nitro: Some(verified),
        })
    }

    /// Checks an archived document offline ([`verify_archived`]): chain as of
    /// its timestamp, signature and key binding; PCRs reported, not judged.
    ///
    /// # Errors
    /// [`CryptoError::Attestation`] for malformed keys, [`CryptoError::Nitro`] otherwise.
    pub fn verify_archived(
        &self,
        enclave_id: &EnclaveId,
        root: &NitroRoot,
    ) -> Result<VerifiedAttestation, CryptoError> {
        let keys = public_keys(&self.signing_key, &self.encryption_key)?;
        let binding = key_binding(enclave_id.as_str(), &keys.signing, &keys.encryption);
        let verified = verify_archived(&self.document, root, &binding)?;
        Ok(VerifiedAttestation {
            keys,
            kind: AttestationKind::Nitro,
            nonce: verified.document.nonce.clone(),
            nitro: Some(verified),
        })
    }
}

fn public_keys(signing: &[u8], encryption: &[u8]) -> Result<PublicKeys, CryptoError> {
    let signing: [u8; 32] = signing
        .try_into()
        .map_err(|_| CryptoError::Attestation("signing key is not 32 bytes".into()))?;
    let encryption: [u8; 32] = encryption
        .try_into()
        .map_err(|_| CryptoError::Attestation("encryption key is not 32 bytes".into()))?;
    Ok(PublicKeys {
        signing,
        encryption,
    })
}

impl DevAttestation {
    /// A statement for `keys` as enclave `enclave_id`.
    pub fn issue(enclave_id: &EnclaveId, keys: &EnclaveKeys, issued_at_ms: u64) -> Self {
        Self::answering(enclave_id, keys, issued_at_ms, None)
    }

    /// A statement that also signs the aggregator's challenge `nonce`.
    pub fn answering(
        enclave_id: &EnclaveId,
        keys: &EnclaveKeys,
        issued_at_ms: u64,
        nonce: Option<Vec<u8>>,
    ) -> Self {
        let public = keys.public();
        let mut statement = DevAttestation {
            enclave_id: enclave_id.clone(),
            signing_key: public.signing.to_vec(),
            encryption_key: public.encryption.to_vec(),
            issued_at_ms,
            signature: Vec::new(),
            nonce,
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
        // Appended only when present, so statements without one keep their
        // bytes; the BCS body is self-delimiting, so this is unambiguous.
        if let Some(nonce) = &self.nonce {
            out.extend(bcs::to_bytes(nonce).expect("BCS encoding of bytes cannot fail"));
        }
        out
    }

    fn verified(&self, enclave_id: &EnclaveId) -> Result<VerifiedAttestation, CryptoError> {
        Ok(VerifiedAttestation {
            keys: self.verify(enclave_id)?,
            kind: AttestationKind::DevInsecure,
            nitro: None,
            nonce: self.nonce.clone(),
        })
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
        let keys = public_keys(&self.signing_key, &self.encryption_key)?;
        verify(&keys.signing, &self.statement_bytes(), &self.signature)
            .map_err(|_| CryptoError::Attestation("self-signature does not verify".into()))?;
        Ok(keys)
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

        let Attestation::Dev(mut swapped) = att.clone() else {
            unreachable!()
        };
        swapped.encryption_key = EnclaveKeys::generate().public().encryption.to_vec();
        assert!(
            swapped.verify(&id).is_err(),
            "a swapped X25519 key must break the statement"
        );
        assert!(att.verify(&"enclave-2".parse().unwrap()).is_err());

        let json = serde_json::to_string(&att).unwrap();
        assert!(json.contains("\"kind\":\"dev-insecure\""));
        assert_eq!(serde_json::from_str::<Attestation>(&json).unwrap(), att);
        let dev_alias = json.replace("dev-insecure", "dev");
        assert_eq!(
            serde_json::from_str::<Attestation>(&dev_alias).unwrap(),
            att
        );
    }

    #[test]
    fn a_dev_statement_signs_its_nonce() {
        let keys = EnclaveKeys::generate();
        let id: EnclaveId = "enclave-1".parse().unwrap();
        let plain = DevAttestation::issue(&id, &keys, 42);
        let answered = DevAttestation::answering(&id, &keys, 42, Some(vec![1, 2, 3]));
        assert_eq!(
            plain.signature,
            DevAttestation::answering(&id, &keys, 42, None).signature,
            "statements without a nonce keep their bytes"
        );
        let att = Attestation::Dev(answered.clone());
        assert_eq!(att.claimed_nonce().unwrap(), Some(vec![1, 2, 3]));
        let root = NitroRoot::aws();
        let verified = att.verify_offline(&id, &root, None).unwrap();
        assert_eq!(verified.nonce, Some(vec![1, 2, 3]));
        let json = serde_json::to_value(&att).unwrap();
        assert_eq!(json["nonce"], "010203");
        assert_eq!(serde_json::from_value::<Attestation>(json).unwrap(), att);
        assert!(
            serde_json::to_value(Attestation::Dev(plain))
                .unwrap()
                .get("nonce")
                .is_none()
        );

        let mut swapped = answered.clone();
        swapped.nonce = Some(vec![9]);
        assert!(swapped.verify(&id).is_err(), "the nonce is signed");
        let mut dropped = answered;
        dropped.nonce = None;
        assert!(dropped.verify(&id).is_err(), "the nonce cannot be dropped");
    }

    #[test]
    fn a_nitro_document_that_binds_other_keys_is_refused() {
        // A real document (Sui's test vector) whose user_data binds something
        // else: claiming our keys with it is a key binding mismatch.
        let document = std::fs::read(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fixtures/nitro/sui_2024-11-14_debug_pcr34.cose"
        ))
        .unwrap();
        let keys = EnclaveKeys::generate().public();
        let att = Attestation::Nitro(NitroAttestation {
            signing_key: keys.signing.to_vec(),
            encryption_key: keys.encryption.to_vec(),
            document,
        });
        assert_eq!(att.kind(), AttestationKind::Nitro);
        let id: EnclaveId = "enclave-1".parse().unwrap();
        assert!(att.verify(&id).is_err(), "nitro needs a policy");
        let root = NitroRoot::aws();
        let pcrs = PcrPolicy {
            allowed: vec![],
            allow_debug: true,
        };
        let check = NitroCheck {
            root: &root,
            pcrs: &pcrs,
            now_ms: 0,
            max_age_ms: None,
            nonce: None,
        };
        match att.verify_with(&id, &check) {
            Err(CryptoError::Nitro(e)) => {
                assert_eq!(e.code(), "attestation_key_binding_mismatch", "{e}")
            }
            other => panic!("expected a key binding mismatch, got {other:?}"),
        }
        // With a freshness window, the 2024 document is stale first.
        let fresh = NitroCheck {
            now_ms: 1_900_000_000_000,
            max_age_ms: Some(300_000),
            ..check
        };
        match att.verify_with(&id, &fresh) {
            Err(CryptoError::Nitro(e)) => assert_eq!(e.code(), "attestation_stale"),
            other => panic!("expected stale, got {other:?}"),
        }
        // Offline, with or without an allow-list, the binding still decides.
        for policy in [None, Some(&pcrs)] {
            match att.verify_offline(&id, &root, policy) {
                Err(CryptoError::Nitro(e)) => {
                    assert_eq!(e.code(), "attestation_key_binding_mismatch", "{e}")
                }
                other => panic!("expected a key binding mismatch, got {other:?}"),
            }
        }
        assert_eq!(att.claimed_nonce().unwrap(), None);
        let json = serde_json::to_value(&att).unwrap();
        assert_eq!(json["kind"], "nitro");
        assert_eq!(serde_json::from_value::<Attestation>(json).unwrap(), att);
    }
}
