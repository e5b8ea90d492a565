//! AWS Nitro Enclaves attestation documents, verified fail-closed.
//!
//! A document is an (untagged or tag-18) COSE_Sign1 structure: a protected
//! header `{1: -35}` (ES384), an unprotected header, a CBOR payload and a
//! 96-byte `r‖s` ECDSA P-384 signature over
//! `["Signature1", protected, h"", payload]`. The payload names the module,
//! a timestamp, the PCRs, the signing (leaf) certificate, the CA bundle
//! (`cabundle[0]` is the AWS root, the last entry signs the leaf), and the
//! optional `public_key`, `user_data` and `nonce`.
//!
//! [`verify_document`] checks, in order, and refuses with its own
//! [`NitroError`] at the first failure:
//! 1. the structure ([`NitroError::Malformed`], [`NitroError::UnsupportedAlgorithm`]);
//! 2. the certificate chain from the pinned root ([`NitroRoot::aws`], the
//!    AWS Nitro root G1 checked in with its SHA-256 fingerprint) through the
//!    bundle to the leaf: names, ECDSA signatures, CA constraints
//!    ([`NitroError::UntrustedChain`]) and validity *as of the document's own
//!    timestamp* ([`NitroError::CertificateExpired`]); leaf certificates live
//!    about three hours, so wall-clock time is the wrong reference;
//! 3. the COSE signature with the leaf key ([`NitroError::BadSignature`]);
//! 4. freshness against the verifier's clock, a separate configurable window
//!    ([`NitroError::Stale`], [`NitroError::TimestampInFuture`]);
//! 5. PCR0/1/2 (and PCR8 when the allowed set names it) against the
//!    allow-list ([`NitroError::PcrNotAllowed`]); all-zero PCRs, a debug-mode
//!    enclave, are refused unless allowed ([`NitroError::DebugMode`]);
//! 6. the nonce, when one was requested ([`NitroError::NonceMismatch`]);
//! 7. the key binding, when keys are expected: `user_data` or `public_key`
//!    must equal [`key_binding`] of the enclave's id and Ed25519 and X25519
//!    keys ([`NitroError::KeyBindingMismatch`]).

use std::collections::BTreeMap;
use std::sync::OnceLock;

use ciborium::Value;
use p384::ecdsa::signature::Verifier;
use p384::ecdsa::{Signature, VerifyingKey};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use x509_cert::Certificate;
use x509_cert::der::asn1::{AnyRef, ObjectIdentifier};
use x509_cert::der::{Decode, DecodePem, Encode, Header, SliceReader};
use x509_cert::ext::pkix::BasicConstraints;

/// The AWS Nitro Enclaves root certificate G1 (PEM), as published by AWS.
pub const AWS_NITRO_ROOT_G1_PEM: &str = include_str!("nitro/aws_nitro_root_g1.pem");

/// SHA-256 of the DER of [`AWS_NITRO_ROOT_G1_PEM`], as documented by AWS
/// ("Verifying the root of trust", AWS Nitro Enclaves User Guide).
pub const AWS_NITRO_ROOT_G1_SHA256: &str =
    "641a0321a3e244efe456463195d606317ed7cdcc3c1756e09893f3c68f79bb5b";

/// Domain prefix of [`key_binding`].
pub const KEY_BINDING_DOMAIN: &[u8] = b"verity/nitro-keys/v1\0";

/// Documents larger than this are refused before parsing.
pub const MAX_DOCUMENT_BYTES: usize = 16 * 1024;

const ES384: i128 = -35;
const ECDSA_WITH_SHA384: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.4.3.3");
const EC_PUBLIC_KEY: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.2.1");
const SECP384R1: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.132.0.34");

/// Why a Nitro attestation document is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NitroError {
    /// Not a COSE_Sign1 Nitro attestation document.
    #[error("malformed attestation document: {0}")]
    Malformed(String),
    /// The COSE algorithm or a certificate's algorithm is not ES384 / P-384.
    #[error("unsupported algorithm: {0}")]
    UnsupportedAlgorithm(String),
    /// The COSE_Sign1 signature does not verify with the leaf certificate.
    #[error("the document's ES384 signature does not verify with its leaf certificate")]
    BadSignature,
    /// The certificate chain does not lead to the trusted root.
    #[error("untrusted certificate chain: {0}")]
    UntrustedChain(String),
    /// A certificate of the chain is not valid at the verification time.
    #[error(
        "certificate {subject} is valid from {not_before_ms} to {not_after_ms} (Unix ms), not at {at_ms}"
    )]
    CertificateExpired {
        /// The certificate's subject.
        subject: String,
        /// Start of validity (Unix ms).
        not_before_ms: u64,
        /// End of validity (Unix ms).
        not_after_ms: u64,
        /// The time the chain was verified as of (Unix ms).
        at_ms: u64,
    },
    /// The document is older than the freshness window.
    #[error(
        "stale document: made at {timestamp_ms}, now {now_ms}, older than the allowed {max_age_ms} ms"
    )]
    Stale {
        /// The document's timestamp (Unix ms).
        timestamp_ms: u64,
        /// The verifier's clock (Unix ms).
        now_ms: u64,
        /// The freshness window (ms).
        max_age_ms: u64,
    },
    /// The document is dated after the verifier's clock (beyond the allowed skew).
    #[error("document dated {timestamp_ms}, in the future of {now_ms}")]
    TimestampInFuture {
        /// The document's timestamp (Unix ms).
        timestamp_ms: u64,
        /// The verifier's clock (Unix ms).
        now_ms: u64,
    },
    /// PCR0, PCR1 and PCR2 are all zero: a debug-mode enclave, whose memory the host can read.
    #[error("all-zero PCR0/1/2: a debug-mode enclave, refused unless debug enclaves are allowed")]
    DebugMode,
    /// A PCR is not on the allow-list.
    #[error("PCR{index} {found} is not allowed (allowed: {})", if expected.is_empty() { "none".to_string() } else { expected.join(", ") })]
    PcrNotAllowed {
        /// The PCR.
        index: u8,
        /// The values the allow-list accepts there (hex).
        expected: Vec<String>,
        /// The document's value (hex).
        found: String,
    },
    /// Neither `user_data` nor `public_key` binds the expected keys.
    #[error(
        "key binding mismatch: expected {expected} in user_data or public_key, found user_data {found_user_data}, public_key {found_public_key}"
    )]
    KeyBindingMismatch {
        /// The expected binding (hex).
        expected: String,
        /// The document's `user_data` (hex, or `null`).
        found_user_data: String,
        /// The document's `public_key` (hex, or `null`).
        found_public_key: String,
    },
    /// The nonce is not the one requested.
    #[error("nonce mismatch: expected {expected}, found {}", found.as_deref().unwrap_or("none"))]
    NonceMismatch {
        /// The requested nonce (hex).
        expected: String,
        /// The document's nonce (hex), if any.
        found: Option<String>,
    },
}

impl NitroError {
    /// A stable machine-readable code (used in API errors and metrics).
    pub fn code(&self) -> &'static str {
        match self {
            NitroError::Malformed(_) => "attestation_malformed",
            NitroError::UnsupportedAlgorithm(_) => "attestation_unsupported_algorithm",
            NitroError::BadSignature => "attestation_bad_signature",
            NitroError::UntrustedChain(_) => "attestation_untrusted_chain",
            NitroError::CertificateExpired { .. } => "attestation_certificate_expired",
            NitroError::Stale { .. } => "attestation_stale",
            NitroError::TimestampInFuture { .. } => "attestation_in_future",
            NitroError::DebugMode => "attestation_debug_mode",
            NitroError::PcrNotAllowed { .. } => "attestation_pcr_mismatch",
            NitroError::KeyBindingMismatch { .. } => "attestation_key_binding_mismatch",
            NitroError::NonceMismatch { .. } => "attestation_nonce_mismatch",
        }
    }
}

fn malformed(what: impl Into<String>) -> NitroError {
    NitroError::Malformed(what.into())
}

/// The trust anchor documents must chain to.
#[derive(Debug, Clone)]
pub struct NitroRoot {
    der: Vec<u8>,
    cert: Certificate,
}

impl NitroRoot {
    /// The pinned AWS Nitro root G1 (its fingerprint is checked once).
    ///
    /// # Panics
    /// Never for the checked-in certificate: a test asserts it parses and
    /// hashes to [`AWS_NITRO_ROOT_G1_SHA256`].
    pub fn aws() -> NitroRoot {
        static ROOT: OnceLock<NitroRoot> = OnceLock::new();
        ROOT.get_or_init(|| {
            let root = NitroRoot::from_pem(AWS_NITRO_ROOT_G1_PEM)
                .expect("the checked-in AWS Nitro root parses");
            assert_eq!(
                root.sha256_hex(),
                AWS_NITRO_ROOT_G1_SHA256,
                "the checked-in AWS Nitro root has the documented fingerprint"
            );
            root
        })
        .clone()
    }

    /// A root from a PEM certificate (tests use other roots to check refusal).
    ///
    /// # Errors
    /// [`NitroError::Malformed`] when it is not a certificate.
    pub fn from_pem(pem: &str) -> Result<NitroRoot, NitroError> {
        let cert = Certificate::from_pem(pem.as_bytes())
            .map_err(|e| malformed(format!("root certificate: {e}")))?;
        let der = cert
            .to_der()
            .map_err(|e| malformed(format!("root certificate: {e}")))?;
        Ok(NitroRoot { der, cert })
    }

    /// A root from a DER certificate.
    ///
    /// # Errors
    /// [`NitroError::Malformed`] when it is not a certificate.
    pub fn from_der(der: &[u8]) -> Result<NitroRoot, NitroError> {
        let cert =
            Certificate::from_der(der).map_err(|e| malformed(format!("root certificate: {e}")))?;
        Ok(NitroRoot {
            der: der.to_vec(),
            cert,
        })
    }

    /// SHA-256 of the DER, hex.
    pub fn sha256_hex(&self) -> String {
        hex::encode(Sha256::digest(&self.der))
    }
}

/// One allowed enclave image: its PCR0/1/2 and optionally PCR8 (hex, 48 bytes each).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PcrSet {
    /// A label for people (e.g. the image's version).
    #[serde(default)]
    pub name: Option<String>,
    /// Enclave image file hash.
    pub pcr0: String,
    /// Kernel and boot ramdisk hash.
    pub pcr1: String,
    /// Application hash.
    pub pcr2: String,
    /// Hash of the signing certificate of the image, when images are signed.
    #[serde(default)]
    pub pcr8: Option<String>,
}

impl PcrSet {
    fn expected(&self, index: u8) -> Option<&str> {
        match index {
            0 => Some(&self.pcr0),
            1 => Some(&self.pcr1),
            2 => Some(&self.pcr2),
            8 => self.pcr8.as_deref(),
            _ => None,
        }
    }

    fn matches(&self, pcrs: &BTreeMap<u8, Vec<u8>>) -> bool {
        [0u8, 1, 2, 8].iter().all(|&i| match self.expected(i) {
            None => true,
            Some(want) => pcrs
                .get(&i)
                .is_some_and(|have| hex::encode(have).eq_ignore_ascii_case(want)),
        })
    }
}

/// Which measurements are accepted: the allow-list and the debug allowance.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PcrPolicy {
    /// Accepted images.
    #[serde(default)]
    pub allowed: Vec<PcrSet>,
    /// Accept debug-mode enclaves (all-zero PCR0/1/2). For development only:
    /// the host can read a debug enclave's memory.
    #[serde(default)]
    pub allow_debug: bool,
}

impl PcrPolicy {
    /// Checks `pcrs`; returns whether the enclave is in debug mode.
    ///
    /// # Errors
    /// [`NitroError::DebugMode`] or [`NitroError::PcrNotAllowed`].
    pub fn check(&self, pcrs: &BTreeMap<u8, Vec<u8>>) -> Result<bool, NitroError> {
        if is_debug(pcrs) {
            return if self.allow_debug {
                Ok(true)
            } else {
                Err(NitroError::DebugMode)
            };
        }
        if self.allowed.iter().any(|set| set.matches(pcrs)) {
            return Ok(false);
        }
        // Name the first PCR that no allowed set accepts; else the first
        // mismatch against the first set (each PCR matches some set, no set all).
        let found = |i: u8| pcrs.get(&i).map(hex::encode).unwrap_or_default();
        for i in [0u8, 1, 2, 8] {
            let expected: Vec<String> = self
                .allowed
                .iter()
                .filter_map(|s| s.expected(i).map(str::to_ascii_lowercase))
                .collect();
            if i == 8 && expected.is_empty() {
                continue;
            }
            if !expected.iter().any(|e| *e == found(i)) {
                return Err(NitroError::PcrNotAllowed {
                    index: i,
                    expected,
                    found: found(i),
                });
            }
        }
        let first = &self.allowed[0];
        let index = [0u8, 1, 2, 8]
            .into_iter()
            .find(|&i| {
                first
                    .expected(i)
                    .is_some_and(|e| !e.eq_ignore_ascii_case(&found(i)))
            })
            .unwrap_or(0);
        Err(NitroError::PcrNotAllowed {
            index,
            expected: first
                .expected(index)
                .map(str::to_string)
                .into_iter()
                .collect(),
            found: found(index),
        })
    }
}

/// Whether PCR0, PCR1 and PCR2 are all zero (or absent): a debug-mode enclave.
pub fn is_debug(pcrs: &BTreeMap<u8, Vec<u8>>) -> bool {
    [0u8, 1, 2]
        .iter()
        .all(|i| pcrs.get(i).is_none_or(|v| v.iter().all(|&b| b == 0)))
}

/// The decoded payload of an attestation document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NitroDocument {
    /// The enclave's module id (`i-…-enc…`).
    pub module_id: String,
    /// The PCR digest algorithm (`SHA384`).
    pub digest: String,
    /// When the Nitro Secure Module made it (Unix ms).
    pub timestamp_ms: u64,
    /// PCRs by index.
    pub pcrs: BTreeMap<u8, Vec<u8>>,
    /// The leaf certificate (DER).
    pub certificate: Vec<u8>,
    /// The CA bundle, root first (DER).
    pub cabundle: Vec<Vec<u8>>,
    /// Optional public key chosen by the enclave.
    pub public_key: Option<Vec<u8>>,
    /// Optional user data chosen by the enclave.
    pub user_data: Option<Vec<u8>>,
    /// Optional nonce chosen by the verifier.
    pub nonce: Option<Vec<u8>>,
}

impl NitroDocument {
    /// PCR `index`, hex (empty when absent).
    pub fn pcr_hex(&self, index: u8) -> String {
        self.pcrs.get(&index).map(hex::encode).unwrap_or_default()
    }
}

/// What a verified document establishes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedNitro {
    /// The document.
    pub document: NitroDocument,
    /// All-zero PCR0/1/2 (accepted only because debug enclaves are allowed).
    pub debug: bool,
    /// The time the chain was verified as of (Unix ms).
    pub chain_verified_at_ms: u64,
}

/// The expectations a document is verified against.
#[derive(Debug, Clone)]
pub struct NitroExpectations<'a> {
    /// The trust anchor.
    pub root: &'a NitroRoot,
    /// Accepted measurements.
    pub pcrs: &'a PcrPolicy,
    /// The verifier's clock (Unix ms), for freshness.
    pub now_ms: u64,
    /// Freshness window: older documents are [`NitroError::Stale`]; `None` skips
    /// the check (offline verification of an archived document).
    pub max_age_ms: Option<u64>,
    /// Verify the chain as of this time instead of the document's timestamp.
    pub chain_time_ms: Option<u64>,
    /// The nonce that was requested, if any.
    pub nonce: Option<&'a [u8]>,
    /// The binding `user_data` or `public_key` must carry ([`key_binding`]), if any.
    pub key_binding: Option<&'a [u8]>,
}

/// Allowed clock skew for documents dated in the verifier's future.
pub const MAX_FUTURE_SKEW_MS: u64 = 60_000;

/// The bytes an enclave puts in `user_data` (or `public_key`) to bind its
/// id and keys: [`KEY_BINDING_DOMAIN`] ‖ Ed25519 (32) ‖ X25519 (32) ‖ id (UTF-8).
pub fn key_binding(enclave_id: &str, signing: &[u8; 32], encryption: &[u8; 32]) -> Vec<u8> {
    let mut out = KEY_BINDING_DOMAIN.to_vec();
    out.extend_from_slice(signing);
    out.extend_from_slice(encryption);
    out.extend_from_slice(enclave_id.as_bytes());
    out
}

/// Verifies a COSE_Sign1 Nitro attestation document (see the module docs for the order of checks).
///
/// # Errors
/// The first check that fails, as its own [`NitroError`].
pub fn verify_document(
    bytes: &[u8],
    expect: &NitroExpectations<'_>,
) -> Result<VerifiedNitro, NitroError> {
    verify_measured(bytes, expect, Some(expect.pcrs))
}

/// Verifies an archived document offline, as of its own timestamp: the
/// structure, the chain to `root`, the signature and the key binding. No
/// freshness window or nonce applies, and the measurements are reported
/// (`debug` set for all-zero PCR0/1/2), not judged: an offline verifier
/// without an allow-list decides what to make of them.
///
/// # Errors
/// The first check that fails, as its own [`NitroError`].
pub fn verify_archived(
    bytes: &[u8],
    root: &NitroRoot,
    key_binding: &[u8],
) -> Result<VerifiedNitro, NitroError> {
    let unjudged = PcrPolicy::default();
    let expect = NitroExpectations {
        root,
        pcrs: &unjudged,
        now_ms: 0,
        max_age_ms: None,
        chain_time_ms: None,
        nonce: None,
        key_binding: Some(key_binding),
    };
    verify_measured(bytes, &expect, None)
}

/// [`verify_document`], with the PCRs judged by `pcrs` or, without one, only reported.
fn verify_measured(
    bytes: &[u8],
    expect: &NitroExpectations<'_>,
    pcrs: Option<&PcrPolicy>,
) -> Result<VerifiedNitro, NitroError> {
    let cose = CoseSign1::parse(bytes)?;
    let document = parse_payload(&cose.payload)?;
    let at_ms = expect.chain_time_ms.unwrap_or(document.timestamp_ms);
    let leaf = verify_chain(&document, expect.root, at_ms)?;
    cose.verify(&leaf)?;
    if let Some(max_age_ms) = expect.max_age_ms {
        if document.timestamp_ms > expect.now_ms.saturating_add(MAX_FUTURE_SKEW_MS) {
            return Err(NitroError::TimestampInFuture {
                timestamp_ms: document.timestamp_ms,
                now_ms: expect.now_ms,
            });
        }
        if expect.now_ms.saturating_sub(document.timestamp_ms) > max_age_ms {
            return Err(NitroError::Stale {
                timestamp_ms: document.timestamp_ms,
                now_ms: expect.now_ms,
                max_age_ms,
            });
        }
    }
    let debug = match pcrs {
        Some(policy) => policy.check(&document.pcrs)?,
        None => is_debug(&document.pcrs),
    };
    if let Some(nonce) = expect.nonce
        && document.nonce.as_deref() != Some(nonce)
    {
        return Err(NitroError::NonceMismatch {
            expected: hex::encode(nonce),
            found: document.nonce.as_ref().map(hex::encode),
        });
    }
    if let Some(binding) = expect.key_binding
        && document.user_data.as_deref() != Some(binding)
        && document.public_key.as_deref() != Some(binding)
    {
        let show = |v: &Option<Vec<u8>>| v.as_ref().map_or("null".into(), hex::encode);
        return Err(NitroError::KeyBindingMismatch {
            expected: hex::encode(binding),
            found_user_data: show(&document.user_data),
            found_public_key: show(&document.public_key),
        });
    }
    Ok(VerifiedNitro {
        document,
        debug,
        chain_verified_at_ms: at_ms,
    })
}

/// Decodes a document's payload without verifying anything (for display only).
///
/// # Errors
/// [`NitroError::Malformed`].
pub fn decode_unverified(bytes: &[u8]) -> Result<NitroDocument, NitroError> {
    parse_payload(&CoseSign1::parse(bytes)?.payload)
}

struct CoseSign1 {
    protected: Vec<u8>,
    payload: Vec<u8>,
    signature: Vec<u8>,
}

impl CoseSign1 {
    fn parse(bytes: &[u8]) -> Result<CoseSign1, NitroError> {
        if bytes.len() > MAX_DOCUMENT_BYTES {
            return Err(malformed(format!(
                "{} bytes, more than {MAX_DOCUMENT_BYTES}",
                bytes.len()
            )));
        }
        let mut rest = bytes;
        let value: Value = ciborium::de::from_reader(&mut rest)
            .map_err(|e| malformed(format!("not CBOR: {e}")))?;
        if !rest.is_empty() {
            return Err(malformed("trailing bytes after the COSE_Sign1 structure"));
        }
        let value = match value {
            Value::Tag(18, inner) => *inner,
            Value::Tag(tag, _) => {
                return Err(malformed(format!("CBOR tag {tag}, not COSE_Sign1 (18)")));
            }
            other => other,
        };
        let Value::Array(items) = value else {
            return Err(malformed("not a COSE_Sign1 array"));
        };
        let [protected, unprotected, payload, signature]: [Value; 4] = items
            .try_into()
            .map_err(|_| malformed("a COSE_Sign1 array has 4 items"))?;
        let (
            Value::Bytes(protected),
            Value::Map(_),
            Value::Bytes(payload),
            Value::Bytes(signature),
        ) = (protected, unprotected, payload, signature)
        else {
            return Err(malformed(
                "COSE_Sign1 items are protected bstr, unprotected map, payload bstr, signature bstr",
            ));
        };
        let header: Value = ciborium::de::from_reader(protected.as_slice())
            .map_err(|e| malformed(format!("protected header: {e}")))?;
        let alg = map_int_entry(&header, 1)
            .ok_or_else(|| malformed("protected header has no algorithm (1)"))?;
        match alg {
            Value::Integer(i) if i128::from(*i) == ES384 => {}
            other => {
                return Err(NitroError::UnsupportedAlgorithm(format!(
                    "COSE algorithm {other:?}, expected ES384 (-35)"
                )));
            }
        }
        Ok(CoseSign1 {
            protected,
            payload,
            signature,
        })
    }

    /// Sig_structure = ["Signature1", protected, h"", payload].
    fn to_be_signed(&self) -> Vec<u8> {
        let structure = Value::Array(vec![
            Value::Text("Signature1".into()),
            Value::Bytes(self.protected.clone()),
            Value::Bytes(Vec::new()),
            Value::Bytes(self.payload.clone()),
        ]);
        let mut out = Vec::with_capacity(self.payload.len() + 32);
        ciborium::ser::into_writer(&structure, &mut out)
            .expect("serializing CBOR into a Vec cannot fail");
        out
    }

    fn verify(&self, leaf: &VerifyingKey) -> Result<(), NitroError> {
        let signature =
            Signature::from_slice(&self.signature).map_err(|_| NitroError::BadSignature)?;
        leaf.verify(&self.to_be_signed(), &signature)
            .map_err(|_| NitroError::BadSignature)
    }
}

fn map_int_entry(map: &Value, key: i128) -> Option<&Value> {
    let Value::Map(entries) = map else {
        return None;
    };
    entries.iter().find_map(|(k, v)| match k {
        Value::Integer(i) if i128::from(*i) == key => Some(v),
        _ => None,
    })
}

fn parse_payload(payload: &[u8]) -> Result<NitroDocument, NitroError> {
    let value: Value = ciborium::de::from_reader(payload)
        .map_err(|e| malformed(format!("payload is not CBOR: {e}")))?;
    let Value::Map(entries) = value else {
        return Err(malformed("payload is not a map"));
    };
    let mut fields: BTreeMap<String, Value> = BTreeMap::new();
    for (k, v) in entries {
        let Value::Text(k) = k else {
            return Err(malformed("payload keys are text"));
        };
        if fields.insert(k.clone(), v).is_some() {
            return Err(malformed(format!("duplicate payload field {k}")));
        }
    }
    let mut take = |name: &str| {
        fields
            .remove(name)
            .ok_or_else(|| malformed(format!("payload has no {name}")))
    };
    let text = |v: Value, name: &str| match v {
        Value::Text(t) => Ok(t),
        _ => Err(malformed(format!("{name} is not text"))),
    };
    let bytes = |v: Value, name: &str| match v {
        Value::Bytes(b) => Ok(b),
        _ => Err(malformed(format!("{name} is not a byte string"))),
    };
    let optional = |v: Option<Value>, name: &str| match v {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Bytes(b)) => Ok(Some(b)),
        Some(_) => Err(malformed(format!("{name} is not a byte string or null"))),
    };
    let module_id = text(take("module_id")?, "module_id")?;
    let digest = text(take("digest")?, "digest")?;
    if digest != "SHA384" {
        return Err(NitroError::UnsupportedAlgorithm(format!(
            "PCR digest {digest}, expected SHA384"
        )));
    }
    let timestamp_ms = match take("timestamp")? {
        Value::Integer(i) => u64::try_from(i).map_err(|_| malformed("timestamp out of range"))?,
        _ => return Err(malformed("timestamp is not an integer")),
    };
    let Value::Map(pcr_entries) = take("pcrs")? else {
        return Err(malformed("pcrs is not a map"));
    };
    let mut pcrs = BTreeMap::new();
    for (k, v) in pcr_entries {
        let index = match k {
            Value::Integer(i) => u8::try_from(i)
                .ok()
                .filter(|i| *i < 32)
                .ok_or_else(|| malformed("PCR index out of range"))?,
            _ => return Err(malformed("PCR index is not an integer")),
        };
        let value = bytes(v, "a PCR")?;
        if value.len() != 48 {
            return Err(malformed(format!(
                "PCR{index} has {} bytes, SHA384 PCRs have 48",
                value.len()
            )));
        }
        pcrs.insert(index, value);
    }
    let certificate = bytes(take("certificate")?, "certificate")?;
    let Value::Array(bundle) = take("cabundle")? else {
        return Err(malformed("cabundle is not an array"));
    };
    let cabundle = bundle
        .into_iter()
        .map(|c| bytes(c, "a cabundle entry"))
        .collect::<Result<Vec<_>, _>>()?;
    let public_key = optional(fields.remove("public_key"), "public_key")?;
    let user_data = optional(fields.remove("user_data"), "user_data")?;
    let nonce = optional(fields.remove("nonce"), "nonce")?;
    Ok(NitroDocument {
        module_id,
        digest,
        timestamp_ms,
        pcrs,
        certificate,
        cabundle,
        public_key,
        user_data,
        nonce,
    })
}

/// The exact DER of a certificate's `tbsCertificate` (what its issuer signed).
fn tbs_der(cert_der: &[u8]) -> Result<Vec<u8>, NitroError> {
    let bad = |e: x509_cert::der::Error| malformed(format!("certificate: {e}"));
    let mut reader = SliceReader::new(cert_der).map_err(bad)?;
    Header::decode(&mut reader).map_err(bad)?;
    let tbs = AnyRef::decode(&mut reader).map_err(bad)?;
    tbs.to_der().map_err(bad)
}

fn p384_key(cert: &Certificate, role: &str) -> Result<VerifyingKey, NitroError> {
    let spki = &cert.tbs_certificate.subject_public_key_info;
    let curve = spki
        .algorithm
        .parameters
        .as_ref()
        .and_then(|p| p.decode_as::<ObjectIdentifier>().ok());
    if spki.algorithm.oid != EC_PUBLIC_KEY || curve != Some(SECP384R1) {
        return Err(NitroError::UnsupportedAlgorithm(format!(
            "{role} key is not ECDSA P-384"
        )));
    }
    VerifyingKey::from_sec1_bytes(spki.subject_public_key.raw_bytes())
        .map_err(|_| malformed(format!("{role} key is not a P-384 point")))
}

fn unix_ms(t: &x509_cert::time::Time) -> u64 {
    u64::try_from(t.to_unix_duration().as_millis()).unwrap_or(u64::MAX)
}

/// Verifies root → `cabundle[1..]` → leaf as of `at_ms`; returns the leaf's key.
fn verify_chain(
    doc: &NitroDocument,
    root: &NitroRoot,
    at_ms: u64,
) -> Result<VerifyingKey, NitroError> {
    if doc.cabundle.is_empty() || doc.cabundle.len() > 8 {
        return Err(NitroError::UntrustedChain(format!(
            "cabundle has {} certificates",
            doc.cabundle.len()
        )));
    }
    // cabundle[0] is the root; trust comes from the pinned anchor, never from the bundle.
    let mut chain: Vec<(&[u8], Certificate)> = Vec::with_capacity(doc.cabundle.len() + 1);
    for der in doc
        .cabundle
        .iter()
        .skip(1)
        .chain(std::iter::once(&doc.certificate))
    {
        let cert = Certificate::from_der(der)
            .map_err(|e| malformed(format!("certificate in the chain: {e}")))?;
        chain.push((der.as_slice(), cert));
    }
    let mut issuer = &root.cert;
    let count = chain.len();
    for (position, (der, cert)) in chain.iter().enumerate() {
        let subject = cert.tbs_certificate.subject.to_string();
        if cert.tbs_certificate.issuer != issuer.tbs_certificate.subject {
            return Err(NitroError::UntrustedChain(format!(
                "{subject} is issued by {}, not by {}",
                cert.tbs_certificate.issuer, issuer.tbs_certificate.subject
            )));
        }
        let below = count - position - 1; // certificates below `issuer`'s child
        check_ca(issuer, below)?;
        if cert.signature_algorithm.oid != ECDSA_WITH_SHA384 {
            return Err(NitroError::UnsupportedAlgorithm(format!(
                "{subject} is not signed with ecdsa-with-SHA384"
            )));
        }
        let key = p384_key(issuer, "issuer")?;
        let signature = cert
            .signature
            .as_bytes()
            .and_then(|der| Signature::from_der(der).ok())
            .ok_or_else(|| {
                NitroError::UntrustedChain(format!("{subject} has a malformed signature"))
            })?;
        key.verify(&tbs_der(der)?, &signature).map_err(|_| {
            NitroError::UntrustedChain(format!(
                "the signature on {subject} does not verify with {}'s key",
                issuer.tbs_certificate.subject
            ))
        })?;
        check_validity(cert, at_ms)?;
        issuer = cert;
    }
    check_validity(&root.cert, at_ms)?;
    p384_key(issuer, "leaf")
}

fn check_ca(cert: &Certificate, below: usize) -> Result<(), NitroError> {
    let subject = cert.tbs_certificate.subject.to_string();
    match cert.tbs_certificate.get::<BasicConstraints>() {
        Ok(Some((_, bc))) if bc.ca => match bc.path_len_constraint {
            Some(limit) if below > usize::from(limit) => Err(NitroError::UntrustedChain(format!(
                "{subject} allows {limit} intermediate CAs below it, the chain has {below}"
            ))),
            _ => Ok(()),
        },
        Ok(_) => Err(NitroError::UntrustedChain(format!(
            "{subject} signs a certificate but is not a CA"
        ))),
        Err(e) => Err(malformed(format!("{subject}: basic constraints: {e}"))),
    }
}

fn check_validity(cert: &Certificate, at_ms: u64) -> Result<(), NitroError> {
    let v = &cert.tbs_certificate.validity;
    let (not_before_ms, not_after_ms) = (unix_ms(&v.not_before), unix_ms(&v.not_after));
    if at_ms < not_before_ms || at_ms > not_after_ms {
        return Err(NitroError::CertificateExpired {
            subject: cert.tbs_certificate.subject.to_string(),
            not_before_ms,
            not_after_ms,
            at_ms,
        });
    }
    Ok(())
}
