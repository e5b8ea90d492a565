//! The Nitro verifier against real AWS Nitro Enclaves attestation documents
//! (`tests/fixtures/nitro/`, see its README for sources and licences) and the
//! expectations in the collector's `manifest.json`.

use ciborium::Value;
use serde_json::Value as Json;
use verity_crypto::nitro::{
    AWS_NITRO_ROOT_G1_SHA256, NitroExpectations, NitroRoot, PcrPolicy, PcrSet, VerifiedNitro,
    decode_unverified, key_binding, verify_document,
};
use verity_crypto::{EnclaveKeys, NitroError};

const DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/nitro");
const HOUR_MS: u64 = 3_600_000;

fn doc(name: &str) -> Vec<u8> {
    std::fs::read(format!("{DIR}/{name}.cose")).unwrap()
}

fn manifest() -> Json {
    serde_json::from_str(&std::fs::read_to_string(format!("{DIR}/manifest.json")).unwrap()).unwrap()
}

fn entry(name: &str) -> Json {
    manifest()["documents"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["file"] == format!("nitro/{name}.cose"))
        .unwrap()
        .clone()
}

fn timestamp(name: &str) -> u64 {
    entry(name)["decoded"]["timestamp_ms"].as_u64().unwrap()
}

fn pcr(name: &str, i: u8) -> String {
    entry(name)["decoded"]["pcrs"][i.to_string()]
        .as_str()
        .unwrap()
        .to_string()
}

fn set_of(name: &str) -> PcrSet {
    PcrSet {
        name: Some(name.into()),
        pcr0: pcr(name, 0),
        pcr1: pcr(name, 1),
        pcr2: pcr(name, 2),
        pcr8: None,
    }
}

/// Expectations with no freshness check (archived documents) and the AWS root.
fn as_of_timestamp<'a>(root: &'a NitroRoot, pcrs: &'a PcrPolicy) -> NitroExpectations<'a> {
    NitroExpectations {
        root,
        pcrs,
        now_ms: 0,
        max_age_ms: None,
        chain_time_ms: None,
        nonce: None,
        key_binding: None,
    }
}

fn debug_allowed() -> PcrPolicy {
    PcrPolicy {
        allowed: Vec::new(),
        allow_debug: true,
    }
}

const VALID: [&str; 6] = [
    "sui_2024-11-14_debug_pcr34",
    "evervault_2023-01-18_nondebug_pcrs",
    "evervault_2022-10-13_nondebug",
    "evervault_2022-10-12_debug_userdata",
    "evervault_2023-09-18_debug_nonce",
    "eternis_2024-09-09_debug_nonce",
];

#[test]
fn the_pinned_root_has_the_documented_fingerprint() {
    assert_eq!(
        AWS_NITRO_ROOT_G1_SHA256,
        manifest()["root_certificate"]["der_sha256_fingerprint"]
    );
    assert_eq!(NitroRoot::aws().sha256_hex(), AWS_NITRO_ROOT_G1_SHA256);
}

#[test]
fn real_documents_verify_as_of_their_timestamps_with_their_pcrs() {
    let root = NitroRoot::aws();
    for name in VALID {
        let e = entry(name);
        assert_eq!(e["expected"]["overall_valid_at_timestamp"], true, "{name}");
        let policy = PcrPolicy {
            allowed: vec![set_of(name)],
            allow_debug: name.contains("debug") && !name.contains("nondebug"),
        };
        let v: VerifiedNitro = verify_document(&doc(name), &as_of_timestamp(&root, &policy))
            .unwrap_or_else(|err| panic!("{name}: {err}"));
        let d = &v.document;
        assert_eq!(d.module_id, e["decoded"]["module_id"], "{name}");
        assert_eq!(d.digest, "SHA384");
        assert_eq!(d.timestamp_ms, timestamp(name), "{name}");
        assert_eq!(v.chain_verified_at_ms, d.timestamp_ms);
        assert_eq!(d.pcrs.len(), 16, "{name}: all 16 PCRs");
        for (i, want) in e["decoded"]["pcrs"].as_object().unwrap() {
            assert_eq!(d.pcr_hex(i.parse().unwrap()), *want, "{name} PCR{i}");
        }
        let hex_or_null =
            |v: &Option<Vec<u8>>| v.as_ref().map_or(Json::Null, |b| hex::encode(b).into());
        assert_eq!(
            hex_or_null(&d.user_data),
            e["decoded"]["user_data"],
            "{name}"
        );
        assert_eq!(
            hex_or_null(&d.public_key),
            e["decoded"]["public_key"],
            "{name}"
        );
        assert_eq!(hex_or_null(&d.nonce), e["decoded"]["nonce"], "{name}");
        assert_eq!(d.cabundle.len(), 4, "{name}");
        assert_eq!(v.debug, d.pcr_hex(0).chars().all(|c| c == '0'), "{name}");
    }
}

#[test]
fn invalid_documents_are_refused_for_their_signature() {
    let root = NitroRoot::aws();
    let policy = debug_allowed();
    for name in [
        "eternis_2024-07-23_INVALID_cose_signature",
        "DERIVED_sui_sigflip_INVALID",
        "DERIVED_sui_pcr3flip_INVALID",
    ] {
        let e = entry(name);
        assert_eq!(e["expected"]["cose_signature_valid"], false);
        assert_eq!(e["expected"]["chain_valid_at_timestamp"], true);
        assert_eq!(
            verify_document(&doc(name), &as_of_timestamp(&root, &policy)).unwrap_err(),
            NitroError::BadSignature,
            "{name}"
        );
    }
}

#[test]
fn a_flipped_signature_or_payload_byte_is_a_bad_signature() {
    let root = NitroRoot::aws();
    let policy = debug_allowed();
    let good = doc("evervault_2023-01-18_nondebug_pcrs");
    let policy_ok = PcrPolicy {
        allowed: vec![set_of("evervault_2023-01-18_nondebug_pcrs")],
        allow_debug: false,
    };
    verify_document(&good, &as_of_timestamp(&root, &policy_ok)).unwrap();

    let mut sig_flip = good.clone();
    *sig_flip.last_mut().unwrap() ^= 0x01; // last byte of the 96-byte signature
    assert_eq!(
        verify_document(&sig_flip, &as_of_timestamp(&root, &policy_ok)).unwrap_err(),
        NitroError::BadSignature
    );
    // The DERIVED fixture flips the first byte of PCR3 inside the signed payload;
    // a parser that skipped the signature would report PCR3 = 629a8b65….
    let flipped = decode_unverified(&doc("DERIVED_sui_pcr3flip_INVALID")).unwrap();
    assert!(flipped.pcr_hex(3).starts_with("629a8b65"));
    assert_eq!(
        verify_document(
            &doc("DERIVED_sui_pcr3flip_INVALID"),
            &as_of_timestamp(&root, &policy)
        )
        .unwrap_err(),
        NitroError::BadSignature
    );
}

#[test]
fn a_wrong_root_is_an_untrusted_chain() {
    // Another real certificate (an AWS intermediate) stands in for a wrong root.
    let policy = debug_allowed();
    let other = decode_unverified(&doc("evervault_2023-09-18_debug_nonce")).unwrap();
    let wrong = NitroRoot::from_der(&other.cabundle[1]).unwrap();
    let err = verify_document(
        &doc("sui_2024-11-14_debug_pcr34"),
        &as_of_timestamp(&wrong, &policy),
    )
    .unwrap_err();
    assert!(matches!(err, NitroError::UntrustedChain(_)), "{err}");
    assert_eq!(err.code(), "attestation_untrusted_chain");
}

#[test]
fn a_cabundle_missing_its_last_intermediate_is_an_untrusted_chain() {
    // As in Sui's upstream test: drop the last cabundle entry (re-encoding the
    // payload; the chain is checked before the signature).
    let root = NitroRoot::aws();
    let policy = debug_allowed();
    let bytes = doc("sui_2024-11-14_debug_pcr34");
    let Value::Array(mut items) = ciborium::de::from_reader::<Value, _>(bytes.as_slice()).unwrap()
    else {
        panic!("COSE_Sign1 is an array")
    };
    let Value::Bytes(payload) = &items[2] else {
        panic!("payload is bytes")
    };
    let Value::Map(mut fields) = ciborium::de::from_reader::<Value, _>(payload.as_slice()).unwrap()
    else {
        panic!("payload is a map")
    };
    for (k, v) in &mut fields {
        if *k == Value::Text("cabundle".into())
            && let Value::Array(bundle) = v
        {
            bundle.pop();
        }
    }
    let mut new_payload = Vec::new();
    ciborium::ser::into_writer(&Value::Map(fields), &mut new_payload).unwrap();
    items[2] = Value::Bytes(new_payload);
    let mut tampered = Vec::new();
    ciborium::ser::into_writer(&Value::Array(items), &mut tampered).unwrap();
    let err = verify_document(&tampered, &as_of_timestamp(&root, &policy)).unwrap_err();
    assert!(
        matches!(&err, NitroError::UntrustedChain(m) if m.contains("issued by")),
        "{err}"
    );
}

#[test]
fn after_the_leaf_expired_the_chain_is_expired() {
    let root = NitroRoot::aws();
    let policy = debug_allowed();
    let name = "sui_2024-11-14_debug_pcr34";
    let ts = timestamp(name);
    for at in [ts + 3 * HOUR_MS, ts - 3 * HOUR_MS] {
        let expect = NitroExpectations {
            chain_time_ms: Some(at),
            ..as_of_timestamp(&root, &policy)
        };
        match verify_document(&doc(name), &expect).unwrap_err() {
            NitroError::CertificateExpired {
                subject,
                at_ms,
                not_after_ms,
                ..
            } => {
                assert!(
                    subject.contains("enc0192e4188fef781d"),
                    "the leaf: {subject}"
                );
                assert_eq!(at_ms, at);
                assert_eq!(not_after_ms, 1_731_630_269_000); // 2024-11-15T00:24:29Z
            }
            other => panic!("expected CertificateExpired, got {other}"),
        }
    }
    // ±10 minutes is still inside the leaf's validity (as upstream checks).
    for at in [ts + 600_000, ts - 600_000] {
        let expect = NitroExpectations {
            chain_time_ms: Some(at),
            ..as_of_timestamp(&root, &policy)
        };
        verify_document(&doc(name), &expect).unwrap();
    }
}

#[test]
fn freshness_is_a_separate_configurable_window() {
    let root = NitroRoot::aws();
    let policy = debug_allowed();
    let name = "sui_2024-11-14_debug_pcr34";
    let ts = timestamp(name);
    let at_now = |now_ms: u64| NitroExpectations {
        now_ms,
        max_age_ms: Some(600_000),
        ..as_of_timestamp(&root, &policy)
    };
    verify_document(&doc(name), &at_now(ts + 300_000)).unwrap();
    assert_eq!(
        verify_document(&doc(name), &at_now(ts + HOUR_MS)).unwrap_err(),
        NitroError::Stale {
            timestamp_ms: ts,
            now_ms: ts + HOUR_MS,
            max_age_ms: 600_000
        }
    );
    assert!(matches!(
        verify_document(&doc(name), &at_now(ts - 10 * 60_000)).unwrap_err(),
        NitroError::TimestampInFuture { .. }
    ));
}

#[test]
fn a_pcr_not_on_the_allow_list_names_expected_and_found() {
    let root = NitroRoot::aws();
    let name = "evervault_2023-01-18_nondebug_pcrs";
    let other = "evervault_2022-10-13_nondebug";
    let policy = PcrPolicy {
        allowed: vec![set_of(other)],
        allow_debug: false,
    };
    assert_eq!(
        verify_document(&doc(name), &as_of_timestamp(&root, &policy)).unwrap_err(),
        NitroError::PcrNotAllowed {
            index: 0,
            expected: vec![pcr(other, 0)],
            found: pcr(name, 0),
        }
    );
    // Right image and kernel, wrong application: PCR2 is named.
    let mut almost = set_of(name);
    almost.pcr2 = pcr(other, 2);
    let policy = PcrPolicy {
        allowed: vec![almost],
        allow_debug: false,
    };
    let err = verify_document(&doc(name), &as_of_timestamp(&root, &policy)).unwrap_err();
    assert!(
        matches!(err, NitroError::PcrNotAllowed { index: 2, .. }),
        "{err}"
    );
    // PCR8 when the allowed set names it: these images are unsigned (PCR8 zero).
    let mut signed = set_of(name);
    signed.pcr8 = Some("ab".repeat(48));
    let policy = PcrPolicy {
        allowed: vec![signed],
        allow_debug: false,
    };
    let err = verify_document(&doc(name), &as_of_timestamp(&root, &policy)).unwrap_err();
    assert!(
        matches!(err, NitroError::PcrNotAllowed { index: 8, .. }),
        "{err}"
    );
    // An empty allow-list accepts nothing.
    let err =
        verify_document(&doc(name), &as_of_timestamp(&root, &PcrPolicy::default())).unwrap_err();
    assert_eq!(err.code(), "attestation_pcr_mismatch");
}

#[test]
fn all_zero_pcrs_are_refused_without_the_debug_allowance() {
    let root = NitroRoot::aws();
    let strict = PcrPolicy {
        allowed: vec![set_of("sui_2024-11-14_debug_pcr34")], // even if listed
        allow_debug: false,
    };
    for name in [
        "sui_2024-11-14_debug_pcr34",
        "evervault_2022-10-12_debug_userdata",
        "eternis_2024-09-09_debug_nonce",
    ] {
        assert_eq!(
            verify_document(&doc(name), &as_of_timestamp(&root, &strict)).unwrap_err(),
            NitroError::DebugMode,
            "{name}"
        );
    }
}

#[test]
fn key_binding_must_match_user_data_or_public_key() {
    let root = NitroRoot::aws();
    let policy = debug_allowed();
    let keys = EnclaveKeys::generate().public();
    let ours = key_binding("enclave-1", &keys.signing, &keys.encryption);
    let name = "sui_2024-11-14_debug_pcr34";
    let expect = NitroExpectations {
        key_binding: Some(&ours),
        ..as_of_timestamp(&root, &policy)
    };
    assert_eq!(
        verify_document(&doc(name), &expect).unwrap_err(),
        NitroError::KeyBindingMismatch {
            expected: hex::encode(&ours),
            found_user_data: entry(name)["decoded"]["user_data"].as_str().unwrap().into(),
            found_public_key: "null".into(),
        }
    );
    // The binding found in either field is accepted.
    let user_data = b"hello, world!".to_vec();
    let name = "evervault_2022-10-12_debug_userdata";
    assert_eq!(
        hex::encode(&user_data),
        entry(name)["decoded"]["user_data"].as_str().unwrap()
    );
    let expect = NitroExpectations {
        key_binding: Some(&user_data),
        ..as_of_timestamp(&root, &policy)
    };
    verify_document(&doc(name), &expect).unwrap();
    let expect = NitroExpectations {
        key_binding: Some(b"dummy"),
        ..as_of_timestamp(&root, &policy)
    };
    verify_document(&doc("eternis_2024-09-09_debug_nonce"), &expect).unwrap();
    // The binding layout: domain, Ed25519, X25519, enclave id.
    assert_eq!(ours.len(), 21 + 32 + 32 + "enclave-1".len());
    assert!(ours.starts_with(b"verity/nitro-keys/v1\0"));
}

#[test]
fn the_nonce_is_checked_when_one_was_requested() {
    let root = NitroRoot::aws();
    let policy = debug_allowed();
    let name = "eternis_2024-09-09_debug_nonce";
    let mut nonce = [0u8; 20];
    nonce[19] = 1;
    let with = |n: &'static [u8]| NitroExpectations {
        nonce: Some(n),
        ..as_of_timestamp(&root, &policy)
    };
    let right: &'static [u8] = Box::leak(Box::new(nonce));
    verify_document(&doc(name), &with(right)).unwrap();
    assert_eq!(
        verify_document(&doc(name), &with(&[0u8; 20])).unwrap_err(),
        NitroError::NonceMismatch {
            expected: "00".repeat(20),
            found: Some(hex::encode(nonce)),
        }
    );
    // A document without a nonce cannot answer a request for one.
    assert_eq!(
        verify_document(&doc("sui_2024-11-14_debug_pcr34"), &with(right)).unwrap_err(),
        NitroError::NonceMismatch {
            expected: hex::encode(nonce),
            found: None
        }
    );
}

#[test]
fn malformed_input_is_refused_without_panicking() {
    let root = NitroRoot::aws();
    let policy = debug_allowed();
    let good = doc("sui_2024-11-14_debug_pcr34");
    let mut cases: Vec<Vec<u8>> = vec![
        vec![],
        vec![0x00, 0x00],
        b"not cbor at all".to_vec(),
        good[..good.len() / 2].to_vec(),
        [good.clone(), vec![0]].concat(),
        vec![0x84, 0x40, 0xa0, 0x40, 0x40], // [h'', {}, h'', h'']
        vec![0u8; 20_000],
    ];
    // Every truncation point of the header region.
    cases.extend((1..64).map(|n| good[..n].to_vec()));
    for bytes in cases {
        let err = verify_document(&bytes, &as_of_timestamp(&root, &policy)).unwrap_err();
        assert!(
            matches!(
                err,
                NitroError::Malformed(_) | NitroError::UnsupportedAlgorithm(_)
            ),
            "{err}"
        );
    }
    // Tagged COSE_Sign1 (tag 18) is accepted like the untagged form.
    let mut tagged = vec![0xd2];
    tagged.extend_from_slice(&good);
    verify_document(&tagged, &as_of_timestamp(&root, &policy)).unwrap();
}

#[test]
fn pcr_policy_reads_from_json() {
    let json = r#"{"allowDebug": false, "allowed": [{"name": "v1", "pcr0": "aa", "pcr1": "bb", "pcr2": "cc"}]}"#;
    let policy: PcrPolicy = serde_json::from_str(json).unwrap();
    assert_eq!(policy.allowed[0].pcr8, None);
    assert!(serde_json::from_str::<PcrPolicy>(r#"{"alowDebug": true}"#).is_err());
}
