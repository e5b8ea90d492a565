//! Mints Nitro-shaped attestation documents under a test certificate
//! authority, so receipts whose enclaves bind their own keys can be built
//! (only AWS hardware signs real ones, and those bind other keys). The
//! verifier is the production one, given this CA's root as its anchor.

use std::str::FromStr;
use std::time::Duration;

use ciborium::Value;
use p384::ecdsa::signature::Signer;
use p384::ecdsa::{Signature, SigningKey};
use verity_crypto::NitroRoot;
use x509_cert::Certificate;
use x509_cert::certificate::{TbsCertificate, Version};
use x509_cert::der::Encode;
use x509_cert::der::asn1::{Any, BitString, ObjectIdentifier, OctetString, UtcTime};
use x509_cert::ext::Extension;
use x509_cert::ext::pkix::BasicConstraints;
use x509_cert::name::Name;
use x509_cert::serial_number::SerialNumber;
use x509_cert::spki::{AlgorithmIdentifierOwned, SubjectPublicKeyInfoOwned};
use x509_cert::time::{Time, Validity};

const ECDSA_WITH_SHA384: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.4.3.3");
const EC_PUBLIC_KEY: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.2.1");
const SECP384R1: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.132.0.34");
const BASIC_CONSTRAINTS: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.19");

/// A test CA: a self-signed P-384 root that signs leaf certificates.
pub struct TestCa {
    key: SigningKey,
    der: Vec<u8>,
}

fn time(ms: u64) -> Time {
    Time::UtcTime(UtcTime::from_unix_duration(Duration::from_millis(ms)).unwrap())
}

fn certificate(
    subject: &str,
    issuer: &str,
    subject_key: &SigningKey,
    issuer_key: &SigningKey,
    (not_before_ms, not_after_ms): (u64, u64),
    ca: bool,
) -> Vec<u8> {
    let point = subject_key.verifying_key().to_encoded_point(false);
    let extensions = ca.then(|| {
        vec![Extension {
            extn_id: BASIC_CONSTRAINTS,
            critical: true,
            extn_value: OctetString::new(
                BasicConstraints {
                    ca: true,
                    path_len_constraint: None,
                }
                .to_der()
                .unwrap(),
            )
            .unwrap(),
        }]
    });
    let algorithm = AlgorithmIdentifierOwned {
        oid: ECDSA_WITH_SHA384,
        parameters: None,
    };
    let tbs = TbsCertificate {
        version: Version::V3,
        serial_number: SerialNumber::new(&[1]).unwrap(),
        signature: algorithm.clone(),
        issuer: Name::from_str(issuer).unwrap(),
        validity: Validity {
            not_before: time(not_before_ms),
            not_after: time(not_after_ms),
        },
        subject: Name::from_str(subject).unwrap(),
        subject_public_key_info: SubjectPublicKeyInfoOwned {
            algorithm: AlgorithmIdentifierOwned {
                oid: EC_PUBLIC_KEY,
                parameters: Some(Any::encode_from(&SECP384R1).unwrap()),
            },
            subject_public_key: BitString::from_bytes(point.as_bytes()).unwrap(),
        },
        issuer_unique_id: None,
        subject_unique_id: None,
        extensions,
    };
    let signature: Signature = issuer_key.sign(&tbs.to_der().unwrap());
    Certificate {
        tbs_certificate: tbs,
        signature_algorithm: algorithm,
        signature: BitString::from_bytes(signature.to_der().as_bytes()).unwrap(),
    }
    .to_der()
    .unwrap()
}

/// What goes into a minted document.
pub struct Claims<'a> {
    /// The document's timestamp (Unix ms).
    pub timestamp_ms: u64,
    /// PCR0, PCR1 and PCR2 (each repeated to 48 bytes).
    pub pcrs: [u8; 3],
    /// `user_data`.
    pub user_data: &'a [u8],
    /// The leaf's validity (Unix ms), default: an hour either side of the timestamp.
    pub leaf_validity: Option<(u64, u64)>,
}

impl TestCa {
    /// A fixed CA (the same key every run).
    pub fn new() -> TestCa {
        let key = SigningKey::from_slice(&[0x11; 48]).unwrap();
        let der = certificate(
            "CN=verity test nitro root",
            "CN=verity test nitro root",
            &key,
            &key,
            (946_684_800_000, 2_500_000_000_000), // 2000 .. 2049
            true,
        );
        TestCa { key, der }
    }

    /// Its root, as the verifier's trust anchor.
    pub fn root(&self) -> NitroRoot {
        NitroRoot::from_der(&self.der).unwrap()
    }

    /// A COSE_Sign1 document with `claims`, signed by a fresh leaf of this CA.
    pub fn document(&self, claims: &Claims<'_>) -> Vec<u8> {
        let leaf_key = SigningKey::from_slice(&[0x22; 48]).unwrap();
        let validity = claims.leaf_validity.unwrap_or((
            claims.timestamp_ms - 3_600_000,
            claims.timestamp_ms + 3_600_000,
        ));
        let leaf = certificate(
            "CN=verity test enclave",
            "CN=verity test nitro root",
            &leaf_key,
            &self.key,
            validity,
            false,
        );
        let text = |s: &str| Value::Text(s.into());
        let pcrs = (0u8..16)
            .map(|i| {
                let v = claims.pcrs.get(usize::from(i)).copied().unwrap_or(0);
                (Value::Integer(i.into()), Value::Bytes(vec![v; 48]))
            })
            .collect();
        let payload = Value::Map(vec![
            (
                text("module_id"),
                text("i-0123456789abcdef0-enc0123456789abcdef"),
            ),
            (text("digest"), text("SHA384")),
            (
                text("timestamp"),
                Value::Integer(claims.timestamp_ms.into()),
            ),
            (text("pcrs"), Value::Map(pcrs)),
            (text("certificate"), Value::Bytes(leaf)),
            (
                text("cabundle"),
                Value::Array(vec![Value::Bytes(self.der.clone())]),
            ),
            (text("public_key"), Value::Null),
            (text("user_data"), Value::Bytes(claims.user_data.to_vec())),
            (text("nonce"), Value::Null),
        ]);
        let cbor = |v: &Value| {
            let mut out = Vec::new();
            ciborium::ser::into_writer(v, &mut out).unwrap();
            out
        };
        let protected = cbor(&Value::Map(vec![(
            Value::Integer(1.into()),
            Value::Integer((-35).into()),
        )]));
        let payload = cbor(&payload);
        let to_be_signed = cbor(&Value::Array(vec![
            text("Signature1"),
            Value::Bytes(protected.clone()),
            Value::Bytes(Vec::new()),
            Value::Bytes(payload.clone()),
        ]));
        let signature: Signature = leaf_key.sign(&to_be_signed);
        cbor(&Value::Tag(
            18,
            Box::new(Value::Array(vec![
                Value::Bytes(protected),
                Value::Map(vec![]),
                Value::Bytes(payload),
                Value::Bytes(signature.to_bytes().to_vec()),
            ])),
        ))
    }
}
